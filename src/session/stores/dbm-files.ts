// Walking the dbm store's session files: <dataDir>/<xx>/<yy>/<id>.dbm, where
// id is 32 lowercase hex and xx, yy are its first two pairs. One streamed
// pass (fs.opendir: at most three directory handles open, a few entries in
// memory), used by DbmNamespace.ids() and clear() and by maintenance tools
// (gc, stat) that want every session file of a data directory. The owner
// index (<dataDir>/owners/..., see dbm-owners.ts) is walked the same way.
//
// What it yields is exactly what DbmNamespace would open for an id: a
// regular file, named <id>.dbm, in the directories its id names. Anything
// else is skipped (and, for tools that report it, passed to onOther): other
// files, misplaced session files, names that are not 32-hex, and symbolic
// links (neither followed nor yielded: entries are judged by their own
// type, as lstat sees them).
//
// Directories are read synchronously, 64 entries at a time: a read takes
// microseconds, a round trip through the thread pool (fs.promises) costs
// ten times that, and a data directory of a million sessions has 65,536
// shards (measured: 65k shard directories walk in ~1 s instead of ~12 s).
// The walk lets the event loop turn every YIELD_EVERY entries, so an
// application sweeping in its own process keeps serving requests.

import type { Dir, Dirent } from 'node:fs';
import fs from 'node:fs';
import nodePath from 'node:path';

/** One session file found by walkSessionFiles(). */
export interface SessionFileEntry {
  /** The session id: 32 lowercase hex characters. */
  readonly id: string;
  /** The file's path: <dataDir>/<id[0:2]>/<id[2:4]>/<id>.dbm. */
  readonly path: string;
}

/** Hooks of a walk, for maintenance tools. */
export interface WalkOptions {
  /**
   * Called for each entry that is skipped although it sits where the store
   * keeps its files (in dataDir, a shard directory, the owner index), with
   * why: a link, a FIFO, a misplaced or misnamed file. Never followed.
   */
  onOther?: (path: string, why: string) => void;
  /**
   * Called (and awaited) once every entry below a directory of the store
   * (a shard, an owner's directory) has been yielded and handled, with the
   * directory's level (1: <xx>, 2: <xx>/<yy>), e.g. to remove it if it is
   * now empty. The walk holds no handle of it then.
   */
  onDirDone?: (dir: string, level: 1 | 2) => void | Promise<void>;
}

const SHARD = /^[0-9a-f]{2}$/;
const FILE = /^[0-9a-f]{32}\.dbm$/;
const HEX32 = /^[0-9a-f]{32}$/;
/** The top-level directory of the owner index: not a shard (dbm-owners.ts). */
export const OWNERS_DIR = 'owners';

type Kind = 'file' | 'directory' | 'link' | 'other';

/** The entry's type as lstat sees it; asks lstat when the directory listing did not say. */
function kind(entry: Dirent, parent: string): Kind {
  if (entry.isSymbolicLink()) return 'link';
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isBlockDevice() || entry.isCharacterDevice() || entry.isFIFO() || entry.isSocket()) return 'other';
  // DT_UNKNOWN (some file systems): look at the entry itself, not through it.
  try {
    const st = fs.lstatSync(nodePath.join(parent, entry.name));
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'link' : 'other';
  } catch {
    return 'other';
  }
}

const WHY: Record<Kind, string> = {
  link: 'a symbolic link (never followed)',
  other: 'not a regular file or directory',
  file: 'a file with a name the store does not use here',
  directory: 'a directory with a name the store does not use here',
};

/** Entries read since the walk last let the event loop turn. */
const YIELD_EVERY = 64;
let sinceYield = 0;

/** Lets the event loop turn now and then (every YIELD_EVERY entries read, by any walk). */
async function breathe(): Promise<void> {
  if (++sinceYield < YIELD_EVERY) return;
  sinceYield = 0;
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The entries of `dir`, streamed, 64 at a time; nothing when it does not exist (or stopped being a directory). */
async function* entries(dir: string): AsyncGenerator<Dirent> {
  let handle: Dir;
  try {
    handle = fs.opendirSync(dir, { bufferSize: 64 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  // Closed when the loop ends, also early (break, throw).
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      await breathe();
      yield entry;
    }
  } finally {
    handle.closeSync();
  }
}

/**
 * The two directory levels <a>/<b> under `root` whose names pass `first`
 * and `second(name, a)`, then every entry of each <b> that passes
 * `leaf(name, a, b)`: a regular file yielded as [b, file name, path]. What
 * does not pass goes to onOther (except what `quiet` names at the top).
 */
async function* walkTwoLevels(
  root: string,
  first: (name: string) => boolean,
  second: (name: string, parent: string) => boolean,
  leaf: (name: string, a: string, b: string) => boolean,
  options: WalkOptions,
  quiet: (name: string) => boolean = () => false,
): AsyncGenerator<[string, string, string]> {
  const { onOther, onDirDone } = options;
  for await (const a of entries(root)) {
    const aKind = kind(a, root);
    const aPath = nodePath.join(root, a.name);
    if (!first(a.name) || aKind !== 'directory') {
      if (!quiet(a.name)) onOther?.(aPath, WHY[aKind]);
      continue;
    }
    for await (const b of entries(aPath)) {
      const bKind = kind(b, aPath);
      const bPath = nodePath.join(aPath, b.name);
      if (!second(b.name, a.name) || bKind !== 'directory') {
        onOther?.(bPath, WHY[bKind]);
        continue;
      }
      for await (const file of entries(bPath)) {
        const fileKind = kind(file, bPath);
        const path = nodePath.join(bPath, file.name);
        if (!leaf(file.name, a.name, b.name) || fileKind !== 'file') {
          onOther?.(path, fileKind === 'file' ? WHY.file : fileKind === 'directory' ? WHY.directory : WHY[fileKind]);
          continue;
        }
        yield [b.name, file.name, path];
      }
      await onDirDone?.(bPath, 2);
    }
    await onDirDone?.(aPath, 1);
  }
}

/**
 * Every session file under `dataDir`, in directory order, as { id, path }.
 * Files added or removed while it runs may or may not appear; removing the
 * file just yielded is safe. A missing dataDir yields nothing. Stop early
 * with `break`: the open directory handles are closed.
 */
export async function* walkSessionFiles(dataDir: string, options: WalkOptions = {}): AsyncGenerator<SessionFileEntry> {
  const walk = walkTwoLevels(
    dataDir,
    (name) => SHARD.test(name),
    (name) => SHARD.test(name),
    // <xx>/<yy>/<xxyy...>.dbm: a file in the shard its id does not name is not a session file.
    (name, a, b) => FILE.test(name) && name.startsWith(a) && name.startsWith(b, 2),
    options,
    (name) => name === OWNERS_DIR,
  );
  for await (const [, name, path] of walk) yield { id: name.slice(0, 32), path };
}

/** One entry of the owner index found by walkOwnerEntries(). */
export interface OwnerEntryFile {
  /** The owner's hash (ownerHash(): 32 hex), from the directory's name. */
  readonly hash: string;
  /** The session id the entry names. */
  readonly id: string;
  readonly path: string;
}

/**
 * Every entry of the owner index under `dataDir`
 * (<dataDir>/owners/<h[0:2]>/<h>/<id>, see dbm-owners.ts), streamed like
 * walkSessionFiles(); onDirDone gets each owner's directory (level 2) and
 * each <h[0:2]> (level 1).
 */
export async function* walkOwnerEntries(dataDir: string, options: WalkOptions = {}): AsyncGenerator<OwnerEntryFile> {
  const walk = walkTwoLevels(
    nodePath.join(dataDir, OWNERS_DIR),
    (name) => SHARD.test(name),
    (name, parent) => HEX32.test(name) && name.startsWith(parent),
    (name) => HEX32.test(name),
    options,
  );
  for await (const [hash, id, path] of walk) yield { hash, id, path };
}

/**
 * The entries of one owner's directory of the index
 * (<dataDir>/owners/<h[0:2]>/<h>: the caller checks that it is a real
 * directory), streamed; nothing when it is missing.
 */
export async function* walkOwnerDir(dir: string, options: WalkOptions = {}): AsyncGenerator<OwnerEntryFile> {
  const hash = nodePath.basename(dir);
  for await (const entry of entries(dir)) {
    const entryKind = kind(entry, dir);
    const path = nodePath.join(dir, entry.name);
    if (!HEX32.test(entry.name) || entryKind !== 'file') {
      options.onOther?.(path, WHY[entryKind]);
      continue;
    }
    yield { hash, id: entry.name, path };
  }
}
