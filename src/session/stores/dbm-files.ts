// Walking the dbm store's session files: <dataDir>/<xx>/<yy>/<id>.dbm, where
// id is 32 lowercase hex and xx, yy are its first two pairs. One streamed
// pass (fs.opendir: at most three directory handles open, a few entries in
// memory), used by DbmNamespace.ids() and clear() and by maintenance tools
// (gc, stat) that want every session file of a data directory.
//
// What it yields is exactly what DbmNamespace would open for an id: a
// regular file, named <id>.dbm, in the directories its id names. Anything
// else is skipped without a sound: other files, misplaced session files,
// names that are not 32-hex, and symbolic links (neither followed nor
// yielded: entries are judged by their own type, as lstat sees them).

import type { Dir, Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import nodePath from 'node:path';

/** One session file found by walkSessionFiles(). */
export interface SessionFileEntry {
  /** The session id: 32 lowercase hex characters. */
  readonly id: string;
  /** The file's path: <dataDir>/<id[0:2]>/<id[2:4]>/<id>.dbm. */
  readonly path: string;
}

const SHARD = /^[0-9a-f]{2}$/;
const FILE = /^[0-9a-f]{32}\.dbm$/;

/** The entry's type as lstat sees it; asks lstat when the directory listing did not say. */
async function kind(entry: Dirent, parent: string): Promise<'file' | 'directory' | 'other'> {
  if (entry.isSymbolicLink()) return 'other';
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isBlockDevice() || entry.isCharacterDevice() || entry.isFIFO() || entry.isSocket()) return 'other';
  // DT_UNKNOWN (some file systems): look at the entry itself, not through it.
  try {
    const st = await fs.lstat(nodePath.join(parent, entry.name));
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'other';
  }
}

/** The entries of `dir`, streamed; nothing when it does not exist (or stopped being a directory). */
async function* entries(dir: string): AsyncGenerator<Dirent> {
  let handle: Dir;
  try {
    handle = await fs.opendir(dir, { bufferSize: 64 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  // for await closes the handle when the loop ends, also early (break, throw).
  yield* handle;
}

/**
 * Every session file under `dataDir`, in directory order, as { id, path }.
 * Files added or removed while it runs may or may not appear; removing the
 * file just yielded is safe. A missing dataDir yields nothing. Stop early
 * with `break`: the open directory handles are closed.
 */
export async function* walkSessionFiles(dataDir: string): AsyncGenerator<SessionFileEntry> {
  for await (const first of entries(dataDir)) {
    if (!SHARD.test(first.name) || (await kind(first, dataDir)) !== 'directory') continue;
    const firstDir = nodePath.join(dataDir, first.name);
    for await (const second of entries(firstDir)) {
      if (!SHARD.test(second.name) || (await kind(second, firstDir)) !== 'directory') continue;
      const secondDir = nodePath.join(firstDir, second.name);
      const prefix = first.name + second.name;
      for await (const file of entries(secondDir)) {
        if (!FILE.test(file.name) || !file.name.startsWith(prefix) || (await kind(file, secondDir)) !== 'file') continue;
        yield { id: file.name.slice(0, 32), path: nodePath.join(secondDir, file.name) };
      }
    }
  }
}
