// The file store: each session in its own dbm file,
// <dataDir>/<id[0:2]>/<id[2:4]>/<id>.dbm, so sessions never contend with each
// other, files stay small, directories stay small (two hex levels: 65,536
// shards), and old sessions can be removed by modification time
// (`find <dataDir> -name '*.dbm' -mmin +60 -delete`): every load and save
// writes the file, so its mtime is the last access.
//
// One operation = take the file's handle (from a bounded process-wide cache
// of idle handles, else open the file), one transaction, give it back. A
// small session lives in the dbm's meta page, so that is one read and one
// meta-pair write. A cached handle is checked after it has its lock (fstat:
// link count 0 = the file was deleted, by a logout, a cleanup job or
// another process): what it read is discarded, and nothing is written.
//
// The create/update rule (namespace.ts). A save in mode 'create' creates the
// file exclusively (O_EXCL); mode 'update' and touch() open without create
// and write only into the file this instance last read or created. Which
// file that was is told by the dbm's random seed (meta page), chosen anew
// for every file: a file deleted and created again has another seed, while
// its inode number may well be the same (file systems hand freed inodes out
// again at once). A handle that waited for the lock of a file someone
// unlinked meanwhile sees it in the fstat taken once the lock is held (link
// count 0): that file is gone, and nothing is written into the orphan.
// remove() unlinks without taking the lock, so a logout never waits.
//
// The directory is not trusted blindly. dataDir is checked once per process
// (a directory of this user that others cannot write, or refused with an
// UnsafeDataDirError); shard directories are made 0700 and checked with
// lstat (a real directory of this user) when this process first creates a
// file in them; session files are opened without following a link or
// blocking (O_NOFOLLOW | O_NONBLOCK) and must then be regular files of this
// user with one link (one fstat per open, taken under the lock). Anything
// else at a session path is corruption (DbmCorruptError naming the path and
// what is there), which invalidateCorrupt recovers by remove().

import fs from 'node:fs';
import nodePath from 'node:path';
import { Dbm, DbmCorruptError, type DbmTransaction } from '../../dbm/index.js';
import type {
  NamespaceManager,
  OwnedSession,
  SessionChanges,
  SessionOwner,
  StoreOptions,
  StoredSession,
  SweepPolicy,
  SweepResult,
  WriteResult,
} from '../namespace.js';
import { UnsafeDataDirError } from '../errors.js';
import { DEFAULT_MAX_SESSION_BYTES, defaultOpenFiles } from '../options.js';
import { isValidId } from '../ids.js';
import type { DbmModuleHandle, DbmModuleOpenOptions } from '../dbm-module.js';
import { walkOwnerDir, walkOwnerEntries, walkSessionFiles } from './dbm-files.js';
import { dropEntry, entryPath, type HeldEntry, holdEntry, ownerDirs, tryHoldEntry } from './dbm-owners.js';
import { checkOwnerId, decodeOwner, encodeOwner, ownerHash } from '../owner.js';

export type SessionDbm = Dbm<unknown, string>;

/**
 * Opens a session file with the configured engine (option dbmModule, see
 * ../dbm-module.ts), or the built-in one. The store uses only what that
 * interface names, so another engine's handle stands in for a Dbm.
 */
export function openDbm(options: StoreOptions, path: string, open: DbmModuleOpenOptions): Promise<SessionDbm> {
  const engine = options.dbmModule;
  if (engine === null || engine === undefined) return Dbm.open<unknown, string>(path, open);
  return engine.open(path, open) as Promise<DbmModuleHandle> as unknown as Promise<SessionDbm>;
}

/** Page size of new session files (FORMAT.md: what 2 KiB pages give a session-sized file). */
export const SESSION_PAGE_SIZE = 2048;

/** Why no file could be used: nothing at the path, an empty file (nothing stored), or unlinked while we waited for its lock. */
type Absent = 'missing' | 'empty' | 'vanished';

/** What an opened file is for; decides which facts about it are acceptable. */
type Use = 'read' | 'write' | 'create';

/** The process user, whose files and directories are the only ones trusted (-1: a platform without uids). */
const UID = typeof process.geteuid === 'function' ? process.geteuid() : -1;

/**
 * Room a file may take beyond its data: record headers (12 bytes per key),
 * buckets about two thirds full, values just over the inline limit taking
 * a whole overflow page, and the pages copy-on-write leaves free in the
 * file. Measured worst cases of a 1 MiB session stay under 16 times its
 * bytes; anything above 32 times (plus 1 MiB) is not a session file.
 */
export function maxSessionFileBytes(maxSessionBytes: number): number {
  return 32 * maxSessionBytes + 1024 * 1024;
}

/**
 * Idle handles on session files, least recently used first, so a request
 * on a session used lately skips open(2), the handle's setup and close(2).
 * A handle is taken out while an operation uses it (never shared) and given
 * back after; one on a file that turns out deleted is closed, not given
 * back. Bounded by StoreOptions.dbm.openFiles, and emptied when open(2)
 * runs out of descriptors.
 */
class IdleHandles {
  readonly #idle = new Map<string, SessionDbm>();

  take(path: string): SessionDbm | undefined {
    const db = this.#idle.get(path);
    if (db !== undefined) this.#idle.delete(path);
    return db;
  }

  give(path: string, db: SessionDbm, limit: number): void {
    if (limit <= 0 || db.closed || db.locked || this.#idle.has(path)) {
      closeQuietly(db);
      return;
    }
    this.#idle.set(path, db);
    for (const [oldest, old] of this.#idle) {
      if (this.#idle.size <= limit) break;
      this.#idle.delete(oldest);
      closeQuietly(old);
    }
  }

  /** Closes the idle handle of `path` (its file is being removed). */
  drop(path: string): void {
    const db = this.take(path);
    if (db !== undefined) closeQuietly(db);
  }

  /** Closes every idle handle (the process ran out of descriptors, or for tests). */
  clear(): void {
    for (const db of this.#idle.values()) closeQuietly(db);
    this.#idle.clear();
  }

  get size(): number {
    return this.#idle.size;
  }
}

/** An idle handle of `path` for an operation waiting at most `lockTimeout` ms for its lock, or undefined. */
function takeIdle(path: string, lockTimeout: number): SessionDbm | undefined {
  const db = idleHandles.take(path);
  if (db !== undefined) db.lockTimeout = lockTimeout;
  return db;
}

function closeQuietly(db: SessionDbm): void {
  db.close().catch(() => {});
}

const idleHandles = new IdleHandles();

/** Data directories this process has verified (or created). */
const verifiedDataDirs = new Set<string>();
/** Shard directories this process has created or verified: checked once each. */
const verifiedShards = new Set<string>();

/** Signals from the open-time inspection: not errors, states. */
class NotUsable extends Error {
  constructor(readonly absent: Absent) {
    super(absent);
  }
}
const EMPTY = new NotUsable('empty');
const VANISHED = new NotUsable('vanished');

/** Errors of open(2) that mean "something other than a session file of ours is at the path", and what. */
const NOT_A_SESSION_FILE: Readonly<Record<string, string>> = {
  ELOOP: 'it is a symbolic link (session files are never opened through links)',
  EMLINK: 'it is a symbolic link (session files are never opened through links)',
  EFTYPE: 'it is a symbolic link (session files are never opened through links)',
  EISDIR: 'it is a directory, not a session file',
  ENXIO: 'it is a socket or a device, not a session file',
  EACCES: 'this process may not open it (EACCES)',
  EPERM: 'this process may not open it (EPERM)',
};

function errCode(err: unknown): string | undefined {
  return (err as { code?: string })?.code;
}

/** The file system's code of an error, also when the dbm wrapped it (a missing file is a DbmError with the ENOENT as cause). */
function osCode(err: unknown): string | undefined {
  const code = errCode(err);
  return code === 'ERR_DBM' ? errCode((err as { cause?: unknown }).cause) : code;
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/** lstat, or null when nothing is there. */
function lstatOrNull(path: string): fs.Stats | null {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Sets the mode of a directory lstat just found to be a real directory of
 * ours to 0700. By path: a directory of mode 0 cannot be opened for an
 * fchmod. Only someone who can write in its parent (dataDir or a shard:
 * this user) could swap it for a link in between, and chmod changes only
 * files of this user anyway.
 */
function fixDirMode(dir: string): void {
  fs.chmodSync(dir, 0o700);
}

/**
 * Checks dataDir (creating it 0700 when missing) once per process: a
 * directory, owned by this user and not writable by group or others, unless
 * allowUnsafeDataDir. It may be a symbolic link only if the link is this
 * user's or root's (nobody else can then point it elsewhere). Only a
 * success is remembered: a refused directory is looked at again next time.
 */
export function verifyDataDir(dir: string, allowUnsafe: boolean): void {
  if (verifiedDataDirs.has(dir)) return;
  const hint = 'use a directory of this user with mode 0700, or pass allowUnsafeDataDir: true to accept the risk';
  const refuse = (reason: string): never => {
    throw new UnsafeDataDirError(dir, reason, hint);
  };
  let st = lstatOrNull(dir);
  if (st === null) {
    // Parents are the administrator's business; only dataDir itself is ours.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = fs.lstatSync(dir);
    if (st.isDirectory() && (st.mode & 0o777) !== 0o700 && (UID < 0 || st.uid === UID)) {
      fixDirMode(dir); // the umask took bits away
      st = fs.lstatSync(dir);
    }
  }
  if (st.isSymbolicLink()) {
    if (!allowUnsafe && UID >= 0 && st.uid !== UID && st.uid !== 0) {
      refuse(`it is a symbolic link owned by uid ${st.uid}, who can point it elsewhere (this process runs as uid ${UID})`);
    }
    st = fs.statSync(dir);
  }
  if (!st.isDirectory()) refuse(`it is ${kindOf(st)}, not a directory`);
  if (!allowUnsafe) {
    if (UID >= 0 && st.uid !== UID) refuse(`it is owned by uid ${st.uid}, not by this process's user (uid ${UID})`);
    if ((st.mode & 0o022) !== 0) refuse(`it is writable by ${st.mode & 0o002 ? 'all users' : 'its group'} (mode ${octal(st.mode)})`);
  }
  verifiedDataDirs.add(dir);
}

/**
 * Makes sure a shard directory exists and is a real directory (not a link)
 * of this user with mode 0700: created so, a wrong mode fixed (the
 * directory is ours, only its permissions are off), anything else refused.
 */
export function verifyShard(dir: string): void {
  if (verifiedShards.has(dir)) return;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  const refuse = (reason: string): never => {
    throw new UnsafeDataDirError(dir, reason, 'a shard directory of the session store must be a real directory of this user; remove or fix it');
  };
  if (!st.isDirectory()) refuse(`it is ${kindOf(st)}, not a directory`);
  if (UID >= 0 && st.uid !== UID) refuse(`it is owned by uid ${st.uid}, not by this process's user (uid ${UID}): someone else made it`);
  // Ours, only its permissions are off (a umask, a chmod): fix them.
  if ((st.mode & 0o7777) !== 0o700) fixDirMode(dir);
  verifiedShards.add(dir);
}

/** Forgets that a directory of the store was checked (it was removed, e.g. by gc): the next use makes and checks it again. */
export function forgetShard(dir: string): void {
  verifiedShards.delete(dir);
}

/**
 * The key the owner record is kept under in a session file (owner.ts
 * encodes it): the empty key, which no session key can be (they are
 * non-empty), so it never shows in the session's data.
 */
export const OWNER_KEY = '';

/**
 * Takes the owner record out of what was read from a session file; null
 * when there is none. A record that does not decode is corruption.
 */
export function takeOwner(data: Map<string, Uint8Array>, path: string): SessionOwner | null {
  const bytes = data.get(OWNER_KEY);
  if (bytes === undefined) return null;
  data.delete(OWNER_KEY);
  try {
    return decodeOwner(bytes);
  } catch (err) {
    throw new DbmCorruptError(path, -1, (err as Error).message, { cause: err });
  }
}

/** How often #create makes the shard directories again when they vanish under it (gc removing empty shards). */
const MAX_CREATE_ATTEMPTS = 16;

/** How long listing an owner's sessions waits for a session's lock before leaving it out (ms). */
const LIST_LOCK_WAIT = 250;

/** Files of one session, as Myghty documented them: `namespace.file.path`, `namespace.file.getFilenames()`. */
export interface SessionFile {
  readonly path: string;
  getFilenames(): string[];
}

export class DbmNamespace implements NamespaceManager {
  readonly id: string;
  readonly file: SessionFile;
  readonly #options: StoreOptions;
  readonly #shards: readonly [string, string];
  /** Larger files are not session files (see maxSessionFileBytes). */
  readonly #maxFileBytes: number;
  /** How many idle handles the process may keep (StoreOptions.dbm.openFiles). */
  readonly #openFiles: number;
  /**
   * The seed of the file this instance last read or created (its
   * incarnation): the only file mode 'update' and touch() may write. Null
   * when the last read found nothing, or this instance removed it.
   */
  #known: string | null = null;
  /** Between lock() and unlock(). */
  #locked = false;
  /**
   * While locked: the handle whose exclusive lock we hold, on the file that
   * was at our path when we took it (or created it); null when there was
   * none. Whether it is still linked is checked (fstat) before each use.
   */
  #held: SessionDbm | null = null;
  /** While locked: lock() found a corrupt file; reads under the lock report it. */
  #corruption: unknown = null;
  /** The owner stored in the file this instance last read or wrote (#known), whose index entry remove() drops. */
  #knownOwner: SessionOwner | null = null;

  constructor(id: string, options: StoreOptions) {
    // Defence in depth: only a validated id may become a path.
    if (!isValidId(id)) throw new TypeError('wasm-session: DbmNamespace needs a 32-hex-character session id');
    if (typeof options?.dataDir !== 'string' || options.dataDir === '') throw new TypeError('wasm-session: DbmNamespace needs options.dataDir');
    this.id = id;
    this.#options = options;
    // dataDir is absolute and normalized (options resolve it); the hex parts need no join.
    const top = `${options.dataDir}${nodePath.sep}${id.slice(0, 2)}`;
    const shard = `${top}${nodePath.sep}${id.slice(2, 4)}`;
    this.#shards = [top, shard];
    this.#maxFileBytes = maxSessionFileBytes(options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES);
    this.#openFiles = options.dbm?.openFiles ?? defaultOpenFiles();
    const path = `${shard}${nodePath.sep}${id}.dbm`;
    this.file = { path, getFilenames: () => [path] };
  }

  /** True between lock() and unlock(). */
  get locked(): boolean {
    return this.#locked;
  }

  /** Closes the session files this process keeps open for reuse (dbm.openFiles); they are opened again as needed. */
  static closeIdleFiles(): void {
    idleHandles.clear();
  }

  #checkDataDir(): void {
    verifyDataDir(this.#options.dataDir, this.#options.allowUnsafeDataDir === true);
  }

  #corrupt(reason: string, cause?: unknown): DbmCorruptError {
    return new DbmCorruptError(this.file.path, -1, reason, cause === undefined ? undefined : { cause });
  }

  /**
   * The open-time check, with the lock held and before anything is read or
   * written: one fstat tells type, links, owner, size and mode.
   */
  #inspect(st: fs.Stats, chmod: (mode: number) => void, use: Use): void {
    if (!st.isFile()) throw this.#corrupt(`it is ${kindOf(st)}, not a session file`);
    if (st.nlink === 0) throw VANISHED;
    if (st.nlink > 1) throw this.#corrupt(`it has ${st.nlink} hard links (a session file has exactly one)`);
    if (UID >= 0 && st.uid !== UID) throw this.#corrupt(`it is owned by uid ${st.uid}, not by this process's user (uid ${UID})`);
    if (use !== 'create') {
      if (st.size === 0) throw EMPTY;
      if (st.size > this.#maxFileBytes) {
        throw this.#corrupt(`it is ${st.size} bytes, more than the ${this.#maxFileBytes} a session within maxSessionBytes can take; not read`);
      }
    }
    // Ours, but readable by others (copied in, or a umask at work): fix it.
    if ((st.mode & 0o7777) !== 0o600) chmod(0o600);
  }

  /**
   * The same check for a handle taken from the cache, now that its
   * operation holds the lock: the file may have been deleted, truncated,
   * linked or handed to another owner since the handle was last used.
   */
  #recheck(db: SessionDbm, use: Use): void {
    this.#inspect(db.fstat(), (mode) => db.chmod(mode), use);
  }

  /**
   * Opens the session file (never creating it) under its lock, or tells why
   * there is none. Read-write even for reads, so the handle can be cached
   * for any later operation.
   */
  async #open(use: 'read' | 'write', lockTimeout = this.#options.lockTimeout, retried = false): Promise<SessionDbm | Absent> {
    try {
      return await openDbm(this.#options, this.file.path, {
        flag: 'w',
        noFollow: true,
        noAtime: true,
        lockTimeout,
        sync: this.#options.sync,
        inspect: (st, fd) => this.#inspect(st, (mode) => fs.fchmodSync(fd, mode), use),
      });
    } catch (err) {
      if (err instanceof NotUsable) return err.absent;
      const code = osCode(err);
      if ((code === 'EMFILE' || code === 'ENFILE') && !retried && idleHandles.size > 0) {
        // Out of descriptors: the idle ones go first.
        idleHandles.clear();
        return this.#open(use, lockTimeout, true);
      }
      // ENOTDIR: a shard is not a directory, so nothing can be stored below it.
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
      const what = code === undefined ? undefined : NOT_A_SESSION_FILE[code];
      if (what !== undefined) throw this.#corrupt(what, err);
      throw err;
    }
  }

  /** The held handle, if it is still a linked file; a handle on an unlinked file is let go. */
  #live(): SessionDbm | null {
    const held = this.#held;
    if (held === null) return null;
    if (held.fstat().nlink > 0) return held;
    this.#held = null;
    held.close().catch(() => {}); // nothing of ours is in an unlinked file
    return null;
  }

  async load(accessed: number): Promise<StoredSession | null> {
    this.#checkDataDir();
    const read = (db: SessionDbm): Promise<StoredSession> =>
      db.transaction((tx) => {
        // Under the exclusive lock: a file deleted or changed since the handle was cached is not written to.
        this.#recheck(db, 'write');
        const data = new Map<string, Uint8Array>(tx.entriesRaw());
        const owner = takeOwner(data, this.file.path);
        const { created, accessed: previous } = tx.times;
        tx.setTimes({ accessed });
        return { data, created, accessed: previous, owner };
      });
    if (this.#locked) return this.#readHeld(read);
    return this.#readWith(read);
  }

  /** load() without recording the access: a read under a shared lock. */
  async read(): Promise<StoredSession | null> {
    this.#checkDataDir();
    const read = (db: SessionDbm): Promise<StoredSession> => storedFrom(db, this.file.path);
    if (this.#locked) return this.#readHeld(read);
    return this.#readWith(async (db) => {
      const stored = await read(db);
      // Still under the lock the read took (it is kept until the event loop turns): is it still the file it was?
      this.#recheck(db, 'read');
      return stored;
    });
  }

  /** Runs a read on the file's handle (cached or opened), looking at the path again when a cached handle's file was deleted. */
  async #readWith(read: (db: SessionDbm) => Promise<StoredSession>): Promise<StoredSession | null> {
    const path = this.file.path;
    for (let attempt = 0; ; attempt++) {
      const cached = attempt === 0 ? takeIdle(path, this.#options.lockTimeout) : undefined;
      const db = cached ?? (await this.#open('read'));
      if (typeof db === 'string') return this.#nothing();
      let stored: StoredSession;
      try {
        stored = await read(db);
      } catch (err) {
        closeQuietly(db);
        if (err === VANISHED && cached !== undefined) continue; // a new file may be at the path
        if (err instanceof NotUsable) return this.#nothing();
        throw err;
      }
      this.#adopt(db, stored);
      idleHandles.give(path, db, this.#openFiles);
      return stored;
    }
  }

  /** What was read becomes this instance's known file: its seed is the generation. */
  #adopt(db: SessionDbm, stored: StoredSession): StoredSession {
    const seed = db.seed;
    this.#known = seed;
    this.#knownOwner = stored.owner ?? null;
    stored.generation = seed;
    return stored;
  }

  #nothing(): null {
    this.#known = null;
    this.#knownOwner = null;
    return null;
  }

  async #readHeld(read: (db: SessionDbm) => Promise<StoredSession>): Promise<StoredSession | null> {
    if (this.#corruption !== null) throw this.#corruption;
    const db = this.#live();
    if (db === null) return this.#nothing();
    return this.#adopt(db, await read(db));
  }

  async save(changes: SessionChanges): Promise<WriteResult> {
    this.#checkDataDir();
    const owner = changes.owner;
    const apply = (tx: DbmTransaction<unknown, string>): void => {
      for (const key of changes.delete) tx.delete(key);
      for (const [key, bytes] of changes.set) tx.setRaw(key, bytes);
      tx.setTimes({ created: changes.created, accessed: changes.accessed });
      if (owner === null) tx.delete(OWNER_KEY);
      else if (owner !== undefined) tx.setRaw(OWNER_KEY, encodeOwner(owner));
    };
    if (changes.mode !== 'create' && changes.mode !== 'update') {
      throw new TypeError(`wasm-session: save() needs mode 'create' or 'update', got ${JSON.stringify(changes.mode)}`);
    }
    if (owner !== undefined) return this.#saveOwner(changes.mode, owner, apply);
    if (changes.mode === 'create') return this.#create((db) => db.transaction(apply));
    return this.#update(apply);
  }

  /**
   * A save that binds the session to an owner, rebinds or unbinds it: the
   * binder's side of the entry protocol (dbm-owners.ts). Under the session
   * file's exclusive lock and before the commit, the new owner's entry is
   * made and held, and the old owner's entry is held (if no one else holds
   * it); after the commit the old one is removed, stale for sure now.
   */
  async #saveOwner(mode: 'create' | 'update', owner: SessionOwner | null, apply: (tx: DbmTransaction<unknown, string>) => void): Promise<WriteResult> {
    if (owner !== null) checkOwnerId(owner.id);
    const { dataDir, lockTimeout } = this.#options;
    const previous = mode === 'create' ? null : this.#knownOwner;
    const entries: { made?: HeldEntry; stale?: HeldEntry | null } = {};
    const bind = async (tx: DbmTransaction<unknown, string>): Promise<void> => {
      if (owner !== null) entries.made = await holdEntry(dataDir, ownerHash(owner.id), this.id, lockTimeout, verifyShard, forgetShard);
      if (previous !== null && previous.id !== owner?.id) entries.stale = tryHoldEntry(entryPath(dataDir, ownerHash(previous.id), this.id));
      apply(tx);
    };
    let result: WriteResult;
    try {
      result = mode === 'create' ? await this.#create((db) => db.transaction(bind)) : await this.#update(bind);
    } catch (err) {
      entries.made?.release();
      entries.stale?.release();
      throw err;
    }
    entries.made?.release();
    if (result === 'ok') {
      entries.stale?.unlink();
      this.#knownOwner = owner;
    } else {
      entries.stale?.release();
    }
    return result;
  }

  async touch(accessed: number): Promise<WriteResult> {
    this.#checkDataDir();
    return this.#update((tx) => tx.setTimes({ accessed }));
  }

  /** Writes into the file this instance last read or created, and only that one; 'gone' when it is not at our path any more. */
  async #update(apply: (tx: DbmTransaction<unknown, string>) => void | Promise<void>): Promise<WriteResult> {
    if (this.#locked && this.#corruption !== null) throw this.#corruption;
    const known = this.#known;
    if (known === null) return 'gone';
    if (this.#locked) {
      const held = this.#live();
      if (held === null || held.seed !== known) return this.#gone();
      await held.transaction(apply);
      return 'ok';
    }
    const path = this.file.path;
    const db = takeIdle(path, this.#options.lockTimeout) ?? (await this.#open('write'));
    if (typeof db === 'string') return this.#gone();
    try {
      if (db.seed !== known) {
        closeQuietly(db);
        return this.#gone();
      }
      await db.transaction((tx) => {
        // Under the exclusive lock, before anything is written: a file deleted or changed meanwhile gets nothing.
        this.#recheck(db, 'write');
        return apply(tx);
      });
    } catch (err) {
      closeQuietly(db);
      if (err instanceof NotUsable) return this.#gone();
      throw err;
    }
    idleHandles.give(path, db, this.#openFiles);
    return 'ok';
  }

  #gone(): 'gone' {
    this.#known = null;
    this.#knownOwner = null;
    return 'gone';
  }

  /** Creates the file exclusively (O_EXCL): 'exists' when anything is at the path. */
  async #create(apply: (db: SessionDbm) => Promise<void>): Promise<WriteResult> {
    if (this.#locked && this.#live() !== null) return 'exists';
    let db: SessionDbm | undefined;
    for (let attempt = 0; db === undefined; attempt++) {
      try {
        for (const shard of this.#shards) verifyShard(shard);
        db = await openDbm(this.#options, this.file.path, {
          flag: 'c',
          exclusive: true,
          noFollow: true,
          noAtime: true,
          // 2 KiB pages: the meta pair is one 4 KiB block, which holds a session of up to about 1.6 KiB.
          pageSize: SESSION_PAGE_SIZE,
          lockTimeout: this.#options.lockTimeout,
          sync: this.#options.sync,
          inspect: (st, fd) => this.#inspect(st, (mode) => fs.fchmodSync(fd, mode), 'create'),
        });
      } catch (err) {
        // Removed the moment it was made: as if created, then removed.
        if (err === VANISHED) return 'ok';
        const code = osCode(err);
        if (code === 'EEXIST') return 'exists';
        // A shard (or dataDir) was deleted after this process checked it (gc removes the shards it
        // empties, and may do so again while we make them): check again, a few times.
        if (code !== 'ENOENT' || attempt >= MAX_CREATE_ATTEMPTS) throw err;
        for (const shard of this.#shards) verifiedShards.delete(shard);
        verifiedDataDirs.delete(this.#options.dataDir);
        this.#checkDataDir();
      }
    }
    try {
      await apply(db);
      if (this.#locked) await db.lock();
    } catch (err) {
      // Leave no empty file behind: it would stand for this id ('exists').
      this.#unlinkIfSame(db);
      await db.close();
      throw err;
    }
    this.#known = db.seed;
    this.#knownOwner = null;
    if (!this.#locked) {
      idleHandles.give(this.file.path, db, this.#openFiles);
      return 'ok';
    }
    // Locked: hold the lock of the file we made from now on.
    const old = this.#held;
    this.#held = db;
    this.#corruption = null;
    if (old !== null) await old.close();
    return 'ok';
  }

  #unlinkIfSame(db: SessionDbm): void {
    try {
      const mine = db.fstat();
      const there = fs.lstatSync(this.file.path);
      if (mine.ino === there.ino && mine.dev === there.dev) fs.unlinkSync(this.file.path);
    } catch {
      // Best effort: the caller reports the original error.
    }
  }

  /**
   * Removes whatever is at the path, without waiting for its lock (the
   * logout wins) and without following links: a link at the path is
   * removed itself, a shard that is a link is refused (UnsafeDataDirError),
   * a directory at the path is removed only if empty (else left, with a
   * process warning: it is not ours to delete recursively).
   */
  async remove(): Promise<void> {
    this.#checkDataDir();
    this.#known = null;
    this.#corruption = null;
    const owner = this.#knownOwner;
    this.#knownOwner = null;
    this.#removeFile();
    // The owner's index entry is stale now (as long as nothing is at the path again): a cleaner's drop.
    if (owner !== null) {
      const path = this.file.path;
      await dropEntry(entryPath(this.#options.dataDir, ownerHash(owner.id), this.id), () => lstatOrNull(path) === null);
    }
  }

  /** remove() without its bookkeeping: whatever is at the path goes. */
  #removeFile(): void {
    idleHandles.drop(this.file.path);
    for (const shard of this.#shards) {
      const st = lstatOrNull(shard);
      // Nothing can be stored below a missing shard or a file.
      if (st === null || (!st.isDirectory() && !st.isSymbolicLink())) return;
      if (st.isSymbolicLink()) {
        throw new UnsafeDataDirError(
          shard,
          'it is a symbolic link: the session file is not removed through it',
          'a shard directory of the session store must be a real directory of this user; remove or fix it',
        );
      }
      // Ours but with its permissions off (e.g. mode 0): fix, or the unlink fails.
      if ((UID < 0 || st.uid === UID) && (st.mode & 0o7777) !== 0o700) fixDirMode(shard);
    }
    const path = this.file.path;
    try {
      fs.unlinkSync(path);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      if (code !== 'EISDIR' && code !== 'EPERM') throw err;
      try {
        fs.rmdirSync(path);
      } catch (dirErr) {
        const dirCode = errCode(dirErr);
        if (dirCode === 'ENOENT') return;
        if (dirCode !== 'ENOTEMPTY' && dirCode !== 'EEXIST') throw dirErr;
        process.emitWarning(`wasm-session: a non-empty directory is at the session path ${path}; it was left in place (not ours to delete)`, {
          code: 'WASM_SESSION_DIRECTORY_LEFT',
        });
      }
    }
  }

  /**
   * Holds the file's exclusive lock until unlock(). If the file is removed
   * or replaced while we wait for its lock, the lock we got is on a file
   * nobody will read again: look again. A missing (or empty) file has
   * nothing to lock: this instance then holds nothing, reads null, and a
   * save in mode 'create' creates the file and holds its lock. A corrupt
   * file is held as nothing too, and reported by the reads under the lock
   * (so invalidateCorrupt can recover it).
   */
  async lock(timeoutMs: number): Promise<void> {
    if (this.#locked) return;
    this.#checkDataDir();
    // Real time, not options.now: that clock is for session ages.
    const deadline = Date.now() + timeoutMs;
    let corruption: unknown = null;
    let held: SessionDbm | null = null;
    for (let attempt = 0; attempt < 8 && held === null; attempt++) {
      let db: SessionDbm | Absent;
      try {
        db = (attempt === 0 ? takeIdle(this.file.path, timeoutMs) : undefined) ?? (await this.#open('write', Math.max(0, deadline - Date.now())));
      } catch (err) {
        if (errCode(err) !== 'ERR_DBM_CORRUPT') throw err;
        corruption = err;
        break;
      }
      if (db === 'vanished') continue;
      if (typeof db === 'string') break;
      let same = false;
      try {
        await db.lock();
        // A cached handle's file may have changed since its last use; a fresh one was checked at open.
        this.#recheck(db, 'write');
        // Still the file at our path (not renamed away or replaced)?
        const there = lstatOrNull(this.file.path);
        const mine = db.fstat();
        same = there !== null && there.ino === mine.ino && there.dev === mine.dev;
      } catch (err) {
        if (err instanceof NotUsable) {
          same = false;
        } else if (errCode(err) === 'ERR_DBM_CORRUPT') {
          corruption = err;
          await db.close();
          break;
        } else {
          await db.close();
          throw err;
        }
      } finally {
        if (same) held = db;
        else if (!db.closed) await db.close();
      }
      if (held === null && fs.existsSync(this.file.path) === false) break;
    }
    this.#locked = true;
    this.#held = held;
    this.#corruption = corruption;
  }

  async unlock(): Promise<void> {
    const db = this.#held;
    this.#locked = false;
    this.#held = null;
    this.#corruption = null;
    if (db !== null) {
      await db.unlock();
      if (db.fstat().nlink > 0) idleHandles.give(this.file.path, db, this.#openFiles);
      else await db.close();
    }
  }

  async close(): Promise<void> {
    await this.unlock();
  }

  /** Every id with a session file under options.dataDir (a streamed walk, see dbm-files.ts). */
  static async *ids(options: StoreOptions): AsyncIterable<string> {
    for await (const { id } of walkSessionFiles(options.dataDir)) yield id;
  }

  /** Removes every session file under options.dataDir, each through its DbmNamespace's remove(), and the owner index entries that named them. */
  static async clear(options: StoreOptions): Promise<void> {
    for await (const { id } of walkSessionFiles(options.dataDir)) await new DbmNamespace(id, options).remove();
    for await (const entry of walkOwnerEntries(options.dataDir)) {
      const session = new DbmNamespace(entry.id, options).file.path;
      await dropEntry(entry.path, () => lstatOrNull(session) === null);
    }
  }

  /**
   * The sessions bound to `owner` (see NamespaceClass.ownedSessions): the
   * entries of the owner's index directory, each read (without recording
   * an access, waiting at most LIST_LOCK_WAIT ms for a locked one) and
   * yielded only if its stored owner is exactly `owner`. Damaged and
   * locked sessions are left out.
   */
  static async *ownedSessions(owner: string, options: StoreOptions): AsyncIterable<OwnedSession> {
    const dir = DbmNamespace.#ownerDir(owner, options);
    if (dir === null) return;
    const listing: StoreOptions = { ...options, lockTimeout: Math.min(options.lockTimeout, LIST_LOCK_WAIT) };
    for await (const { id } of walkOwnerDir(dir)) {
      let stored: StoredSession | null;
      try {
        stored = await new DbmNamespace(id, listing).read();
      } catch (err) {
        const code = errCode(err);
        if (code === 'ERR_LOCK_TIMEOUT' || code === 'ERR_DBM_CORRUPT') continue;
        throw err;
      }
      if (stored?.owner?.id === owner) yield { id, created: stored.created, accessed: stored.accessed, owner: stored.owner };
    }
  }

  /**
   * Removes the sessions bound to `owner` except those in `except` (see
   * NamespaceClass.revokeOwned): each under its exclusive lock (waiting at
   * most options.lockTimeout), only if it is still the owner's, with its
   * index entry. A session that stays locked longer is not removed: the
   * others are, then the LockTimeoutError is thrown (with `removed`).
   */
  static async revokeOwned(owner: string, options: StoreOptions, except: ReadonlySet<string>): Promise<number> {
    const dir = DbmNamespace.#ownerDir(owner, options);
    if (dir === null) return 0;
    let removed = 0;
    let timedOut: unknown = null;
    for await (const { id } of walkOwnerDir(dir)) {
      if (except.has(id)) continue;
      const ns = new DbmNamespace(id, options);
      try {
        await ns.lock(options.lockTimeout);
        const stored = await ns.read();
        if (stored?.owner?.id === owner) {
          await ns.remove();
          removed++;
        }
      } catch (err) {
        const code = errCode(err);
        if (code === 'ERR_LOCK_TIMEOUT') timedOut ??= err;
        else if (code !== 'ERR_DBM_CORRUPT') throw err;
      } finally {
        await ns.unlock();
      }
    }
    if (timedOut !== null) throw Object.assign(timedOut as Error, { removed });
    return removed;
  }

  /** The owner's index directory, or null when there is none; refuses one that is a link or not ours. */
  static #ownerDir(owner: string, options: StoreOptions): string | null {
    checkOwnerId(owner);
    verifyDataDir(options.dataDir, options.allowUnsafeDataDir === true);
    const dirs = ownerDirs(options.dataDir, ownerHash(owner));
    for (const dir of dirs) {
      const st = lstatOrNull(dir);
      if (st === null) return null;
      if (!st.isDirectory() || (UID >= 0 && st.uid !== UID)) {
        throw new UnsafeDataDirError(
          dir,
          st.isDirectory() ? `it is owned by uid ${st.uid}` : 'it is not a directory (never followed through a link)',
          'a directory of the owner index must be a real directory of this user; remove or fix it',
        );
      }
    }
    return dirs[2];
  }

  /** Removes the sessions `policy` says are over, and cleans the owner index and empty shards (dbm-gc.ts). */
  static async sweep(options: StoreOptions, policy: SweepPolicy): Promise<SweepResult> {
    // Loaded when used: servers that never sweep do not load the collector.
    const { sweepDataDir } = await import('./dbm-gc.js');
    return sweepDataDir(options, policy);
  }
}

async function storedFrom(db: SessionDbm, path: string): Promise<StoredSession> {
  const data: Map<string, Uint8Array> = await db.getAllRaw();
  const owner = takeOwner(data, path);
  const { created, accessed } = db.times;
  return { data, created, accessed, owner };
}
