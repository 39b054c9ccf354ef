// The dbm store's owner index: which session files belong to which owner,
// so listSessions() and revokeSessions() read one directory instead of
// every session. FORMAT.md ("Session files and the owner index") has the
// layout:
//
//   <dataDir>/owners/<h[0:2]>/<h>/<id>
//
// h = ownerHash(owner id) (32 hex of SHA-256: owner ids are application data
// and never become paths as they are), id the session id; each entry is an
// empty regular file (0600), the directories 0700, all of this user,
// created and checked like the session shards, never opened through a
// link. The owner is also stored in the session file itself (under the
// empty key, which no session key can be: dbm.ts), and that is the truth:
// an entry only says that the session may be the owner's, and every reader
// checks it against the session (so a stale entry, or two owners sharing a
// hash, never shows one owner's session to another).
//
// The entry protocol makes sure that no race and no crash leaves a session
// bound to its owner without an entry (a revoke would miss it):
//  - A binder (a save that binds a session to an owner) holds the session
//    file's exclusive lock, then creates or opens the entry and takes the
//    entry's exclusive flock, checks that it is still linked (else makes it
//    again), commits the session with its owner record, and only then lets
//    the entry go.
//  - A cleaner (gc, a rebind dropping the old owner's entry, remove())
//    takes the entry's flock without waiting, checks that it is still
//    linked, decides from the session whether the entry is stale (the
//    session is missing, unbound, or bound to someone else; a session it
//    cannot read at once is not stale), and unlinks the entry while still
//    holding the entry's flock.
// So a cleaner's decision and a binder's commit never interleave: either
// the cleaner decided before the binder took the entry (the binder then
// finds it unlinked and makes it again), or after the binder committed
// (and the cleaner sees the owner). Lock order: the session, then its
// entry; a cleaner never waits for a session while holding an entry.
// Crashes: a binder killed before its commit leaves an entry for a
// session that is not (yet) the owner's, which is stale and harmless; a
// cleaner killed leaves the entry or not, each correct. gc also makes an
// entry for any bound session that lacks one (a data directory restored
// from a backup without its index), which is `wasm-session owners rebuild`.

import fs from 'node:fs';
import nodePath from 'node:path';
import { FileLock } from '../../dbm/lock.js';
import { UnsafeDataDirError } from '../errors.js';
import { OWNERS_DIR } from './dbm-files.js';

/** The process user, whose files and directories are the only ones trusted (-1: a platform without uids). */
const UID = typeof process.geteuid === 'function' ? process.geteuid() : -1;

const C = fs.constants;
/** Never through a link, never blocking (a FIFO at the path opens at once, and is refused). */
const OPEN_ENTRY = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

/** How often a binder makes its directories and entry again when a cleaner removed them meanwhile. */
const MAX_ATTEMPTS = 16;

/** Makes sure a directory of the store exists and is ours (0700); throws UnsafeDataDirError when it is not. */
export type EnsureDir = (dir: string) => void;
/** Forgets that a directory was checked (it was removed meanwhile), so it is made and checked again. */
export type ForgetDir = (dir: string) => void;

/** The directories of an owner's index, outermost first: owners, owners/<h[0:2]>, owners/<h[0:2]>/<h>. */
export function ownerDirs(dataDir: string, hash: string): [string, string, string] {
  const top = nodePath.join(dataDir, OWNERS_DIR);
  const shard = `${top}${nodePath.sep}${hash.slice(0, 2)}`;
  return [top, shard, `${shard}${nodePath.sep}${hash}`];
}

/** The entry saying that session `id` may be the owner's (by the owner's hash). */
export function entryPath(dataDir: string, hash: string, id: string): string {
  return `${ownerDirs(dataDir, hash)[2]}${nodePath.sep}${id}`;
}

function errCode(err: unknown): string | undefined {
  return (err as { code?: string })?.code;
}

function refuse(path: string, reason: string): never {
  throw new UnsafeDataDirError(path, reason, 'an entry of the owner index must be an empty regular file of this user; remove what is there');
}

/** Refuses what open() found at an entry path unless it is a regular file of ours with at most one link. */
function checkEntry(path: string, st: fs.Stats): void {
  if (!st.isFile()) refuse(path, 'it is not a regular file');
  if (st.nlink > 1) refuse(path, `it has ${st.nlink} hard links`);
  if (UID >= 0 && st.uid !== UID) refuse(path, `it is owned by uid ${st.uid}, not by this process's user (uid ${UID})`);
}

/** An entry whose flock is held: release() it after the session's commit, or unlink() it (stale) and release. */
export interface HeldEntry {
  readonly path: string;
  release(): void;
  /** Removes the entry (if still linked), then releases it. */
  unlink(): void;
}

function heldEntry(path: string, fd: number, lock: FileLock): HeldEntry {
  const release = (): void => {
    lock.releasedByClose();
    fs.closeSync(fd);
  };
  return {
    path,
    release,
    unlink() {
      try {
        if (fs.fstatSync(fd).nlink > 0) fs.unlinkSync(path);
      } finally {
        release();
      }
    },
  };
}

/**
 * The binder's half of the entry protocol (see the top of this file): makes
 * the entry for session `id` under the owner's `hash` if there is none,
 * and holds its flock (waiting at most `lockTimeout` ms) until release().
 * Call it while holding the session file's exclusive lock, and release
 * after the commit that stores the owner in the session. Directories a
 * cleaner removes meanwhile are made again.
 */
export async function holdEntry(
  dataDir: string,
  hash: string,
  id: string,
  lockTimeout: number,
  ensureDir: EnsureDir,
  forgetDir: ForgetDir,
): Promise<HeldEntry> {
  const dirs = ownerDirs(dataDir, hash);
  const path = `${dirs[2]}${nodePath.sep}${id}`;
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      for (const dir of dirs) ensureDir(dir);
      fd = fs.openSync(path, OPEN_ENTRY | C.O_CREAT, 0o600);
    } catch (err) {
      // A cleaner removed an empty directory of the index after we checked it: make it again.
      if ((errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') && attempt < MAX_ATTEMPTS) {
        for (const dir of dirs) forgetDir(dir);
        continue;
      }
      if (errCode(err) === 'ELOOP' || errCode(err) === 'EISDIR' || errCode(err) === 'ENXIO') refuse(path, `open(2) says ${errCode(err)}`);
      throw err;
    }
    const lock = new FileLock(fd, path);
    let linked = false;
    try {
      const st = fs.fstatSync(fd);
      checkEntry(path, st);
      if ((st.mode & 0o7777) !== 0o600) fs.fchmodSync(fd, 0o600);
      if (!lock.tryAcquire('exclusive')) await lock.acquire('exclusive', lockTimeout);
      // A cleaner unlinked it while we waited: it decided before we came, so make it again.
      linked = fs.fstatSync(fd).nlink > 0;
    } finally {
      if (!linked) {
        lock.releasedByClose();
        fs.closeSync(fd);
      }
    }
    if (linked) return heldEntry(path, fd, lock);
  }
}

/**
 * The entry at `path` with its flock, taken without waiting, for a binder
 * that is about to make it stale (a rebind or unbind of the session it
 * names, under the session's lock): unlink() it after the commit. Null
 * when there is no such entry or someone else holds it (it stays: stale,
 * harmless, cleaned by gc).
 */
export function tryHoldEntry(path: string): HeldEntry | null {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_ENTRY);
  } catch {
    return null;
  }
  const lock = new FileLock(fd, path);
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.nlink === 1 && (UID < 0 || st.uid === UID) && lock.tryAcquire('exclusive')) return heldEntry(path, fd, lock);
  } catch {
    // not usable: left alone
  }
  lock.releasedByClose();
  fs.closeSync(fd);
  return null;
}

/**
 * Whether the entry is stale, decided while its flock is held: true when
 * the session it names is surely not the owner's (missing, unbound, bound
 * to another owner), false when it is or when that cannot be told at once
 * (the session is locked, damaged, being created).
 */
export type StaleCheck = () => boolean | Promise<boolean>;

/**
 * The cleaner's half of the entry protocol: removes the entry at `path` if
 * `isStale()` says so while the entry's flock is held (taken without
 * waiting: an entry a binder holds is left alone). Resolves to whether it
 * was removed. `dryRun`: decide, remove nothing.
 */
export async function dropEntry(path: string, isStale: StaleCheck, dryRun = false): Promise<boolean> {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_ENTRY);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'EACCES') return false; // not an entry: not ours to remove
    throw err;
  }
  const lock = new FileLock(fd, path);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1 || (UID >= 0 && st.uid !== UID)) return false;
    if (!lock.tryAcquire('exclusive')) return false;
    if (!(await isStale())) return false;
    if (fs.fstatSync(fd).nlink === 0) return false; // someone else removed it meanwhile
    if (!dryRun) fs.unlinkSync(path);
    return true;
  } finally {
    lock.releasedByClose();
    fs.closeSync(fd);
  }
}

/**
 * Makes the entry for a session found bound to the owner of `hash` when it
 * has none (gc and `owners rebuild`); call it holding the session file's
 * lock, as a binder would. Resolves to whether it was missing (and, unless
 * `dryRun`, is now made).
 */
export function restoreEntry(dataDir: string, hash: string, id: string, ensureDir: EnsureDir, forgetDir: ForgetDir, dryRun = false): boolean {
  const dirs = ownerDirs(dataDir, hash);
  const path = `${dirs[2]}${nodePath.sep}${id}`;
  try {
    const st = fs.lstatSync(path);
    if (st.isFile()) return false;
    refuse(path, 'it is not a regular file');
  } catch (err) {
    if (errCode(err) !== 'ENOENT' && errCode(err) !== 'ENOTDIR') throw err;
  }
  if (dryRun) return true;
  for (let attempt = 1; ; attempt++) {
    try {
      for (const dir of dirs) ensureDir(dir);
      fs.closeSync(fs.openSync(path, OPEN_ENTRY | C.O_CREAT, 0o600));
      return true;
    } catch (err) {
      if ((errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') && attempt < MAX_ATTEMPTS) {
        for (const dir of dirs) forgetDir(dir);
        continue;
      }
      throw err;
    }
  }
}
