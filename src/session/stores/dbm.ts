// The file store: each session in its own dbm file,
// <dataDir>/<id[0:2]>/<id[2:4]>/<id>.dbm, so sessions never contend with each
// other, files stay small, directories stay small (two hex levels: 65,536
// shards), and old sessions can be removed by modification time
// (`find <dataDir> -name '*.dbm' -mmin +60 -delete`): every load and save
// writes the file, so its mtime is the last access.
//
// One operation = open, one transaction, close. A small session lives in the
// dbm's meta page, so that is one read and one two-page write.

import fs from 'node:fs';
import nodePath from 'node:path';
import { Dbm } from '../../dbm/index.js';
import type { NamespaceManager, SessionChanges, StoreOptions, StoredSession, WriteResult } from '../namespace.js';
import { isValidId } from '../ids.js';
import { walkSessionFiles } from './dbm-files.js';

type SessionDbm = Dbm<unknown, string>;

function isMissingFile(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === 'ENOENT' || e?.cause?.code === 'ENOENT';
}

/** Files of one session, as Myghty documented them: `namespace.file.path`, `namespace.file.getFilenames()`. */
export interface SessionFile {
  readonly path: string;
  getFilenames(): string[];
}

export class DbmNamespace implements NamespaceManager {
  readonly id: string;
  readonly file: SessionFile;
  readonly #options: StoreOptions;
  /** Between lock() and unlock(). */
  #locked = false;
  /** While locked: the handle whose exclusive lock we hold, if any. */
  #held: SessionDbm | null = null;
  /**
   * While locked: no file at our path is locked by us (lock() found none, or
   * remove() unlinked the one we hold). The next save() creates the file and
   * locks it. A removed file's handle stays open until then, so requests
   * waiting for its lock keep waiting and then see that it is gone.
   */
  #fileGone = false;

  constructor(id: string, options: StoreOptions) {
    // Defence in depth: only a validated id may become a path.
    if (!isValidId(id)) throw new TypeError('wasm-session: DbmNamespace needs a 32-hex-character session id');
    if (typeof options?.dataDir !== 'string' || options.dataDir === '') throw new TypeError('wasm-session: DbmNamespace needs options.dataDir');
    this.id = id;
    this.#options = options;
    const path = nodePath.join(options.dataDir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);
    this.file = { path, getFilenames: () => [path] };
  }

  /** True between lock() and unlock(). */
  get locked(): boolean {
    return this.#locked;
  }

  /** The held handle when it still is the file at our path. */
  get #current(): SessionDbm | null {
    return this.#fileGone ? null : this.#held;
  }

  async #open(flag: 'w' | 'c', lockTimeout = this.#options.lockTimeout): Promise<SessionDbm | null> {
    const options = { flag, lockTimeout, sync: this.#options.sync } as const;
    try {
      return await Dbm.open<unknown, string>(this.file.path, options);
    } catch (err) {
      if (!isMissingFile(err)) throw err;
      if (flag === 'w') return null;
      // First save in this shard: make the directories (0700: ids are secrets).
      fs.mkdirSync(nodePath.dirname(this.file.path), { recursive: true, mode: 0o700 });
      return Dbm.open<unknown, string>(this.file.path, options);
    }
  }

  /** Runs `fn` on the held handle, or on one opened (and closed) for it; null when there is no file. */
  async #withExisting<R>(fn: (db: SessionDbm) => Promise<R>): Promise<R | null> {
    if (this.#locked) {
      const held = this.#current;
      return held === null ? null : fn(held);
    }
    const db = await this.#open('w');
    if (db === null) return null;
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  async load(accessed: number): Promise<StoredSession | null> {
    return this.#withExisting((db) =>
      db.transaction((tx) => {
        const data = new Map<string, Uint8Array>(tx.entriesRaw());
        const { created, accessed: previous } = tx.times;
        tx.setTimes({ accessed });
        return { data, created, accessed: previous };
      }),
    );
  }

  /** load() without recording the access: a read-only open under a shared lock. */
  async read(): Promise<StoredSession | null> {
    if (this.#locked) {
      const held = this.#current;
      return held === null ? null : storedFrom(held);
    }
    let db: SessionDbm;
    try {
      db = await Dbm.open<unknown, string>(this.file.path, { flag: 'r', lockTimeout: this.#options.lockTimeout });
    } catch (err) {
      if (isMissingFile(err)) return null;
      throw err;
    }
    try {
      return await storedFrom(db);
    } finally {
      await db.close();
    }
  }

  async save(changes: SessionChanges): Promise<WriteResult> {
    const apply = (db: SessionDbm): Promise<void> =>
      db.transaction((tx) => {
        for (const key of changes.delete) tx.delete(key);
        for (const [key, bytes] of changes.set) tx.setRaw(key, bytes);
        tx.setTimes({ created: changes.created, accessed: changes.accessed });
      });
    const held = this.#locked ? this.#current : null;
    if (held !== null) {
      await apply(held);
      return 'ok';
    }
    const db = (await this.#open('c'))!;
    if (!this.#locked) {
      try {
        await apply(db);
        return 'ok';
      } finally {
        await db.close();
      }
    }
    // Locked with no file: this save creates it; hold its lock from now on.
    try {
      await apply(db);
      await db.lock();
    } catch (err) {
      await db.close();
      throw err;
    }
    const old = this.#held;
    this.#held = db;
    this.#fileGone = false;
    if (old !== null) await old.close();
    return 'ok';
  }

  async touch(accessed: number): Promise<WriteResult> {
    return (await this.#withExisting((db) => db.touch(accessed))) === null ? 'gone' : 'ok';
  }

  async remove(): Promise<void> {
    try {
      fs.unlinkSync(this.file.path);
    } catch (err) {
      if (!isMissingFile(err)) throw err;
    }
    if (this.#locked) this.#fileGone = true;
  }

  /**
   * Holds the file's exclusive lock until unlock(). If the file is removed
   * or replaced while we wait for its lock, the lock we got is on a file
   * nobody will read again: look again. A missing file has nothing to lock
   * yet (a fresh session nobody else knows, or a deleted one): the first
   * save() creates it and holds its lock.
   */
  async lock(timeoutMs: number): Promise<void> {
    if (this.#locked) return;
    // Real time, not options.now: that clock is for session ages.
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 8; attempt++) {
      const before = statInode(this.file.path);
      if (before === null) break;
      const db = await this.#open('w', Math.max(0, deadline - Date.now()));
      if (db === null) break;
      await db.lock();
      if (statInode(this.file.path) === before) {
        this.#locked = true;
        this.#held = db;
        this.#fileGone = false;
        return;
      }
      await db.close();
    }
    this.#locked = true;
    this.#held = null;
    this.#fileGone = true;
  }

  async unlock(): Promise<void> {
    const db = this.#held;
    this.#locked = false;
    this.#held = null;
    this.#fileGone = false;
    if (db !== null) {
      await db.unlock();
      await db.close();
    }
  }

  async close(): Promise<void> {
    await this.unlock();
  }

  /** Every id with a session file under options.dataDir (a streamed walk, see dbm-files.ts). */
  static async *ids(options: StoreOptions): AsyncIterable<string> {
    for await (const { id } of walkSessionFiles(options.dataDir)) yield id;
  }

  /** Removes every session file under options.dataDir, each through its DbmNamespace's remove(). */
  static async clear(options: StoreOptions): Promise<void> {
    for await (const { id } of walkSessionFiles(options.dataDir)) await new DbmNamespace(id, options).remove();
  }
}

async function storedFrom(db: SessionDbm): Promise<StoredSession> {
  const data: Map<string, Uint8Array> = await db.getAllRaw();
  const { created, accessed } = db.times;
  return { data, created, accessed };
}

/** The file's device:inode, or null when it does not exist. */
function statInode(path: string): string | null {
  try {
    const st = fs.statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw err;
  }
}
