// The public dbm API (`wasm-session/dbm`): a crash-safe, hash-indexed
// key-value file in the tradition of ndbm/gdbm and Python's `dbm`.
//
// Locking model. Reads take a shared flock, writes an exclusive one. To keep
// per-operation costs near a bare read or write, a lock taken by an
// operation is kept until the event loop turns (setImmediate), so a burst of
// operations in one turn - typically one request's work - pays for one lock
// and one meta read. transaction() and lock() hold the exclusive lock for
// as long as they run. Waiting for a lock never blocks the event loop.

import fs from 'node:fs';
import nodePath from 'node:path';
import crypto from 'node:crypto';
import * as w from '../wasm.js';
import { DbmError, DbmClosedError, DbmReadOnlyError, LockTimeoutError } from '../errors.js';
import { type FileIO, nodeFileIO, readFully } from './io.js';
import { FileLock, type LockMode } from './lock.js';
import { Pager, chooseMeta, OPEN_READ_BYTES } from './pager.js';
import { Snapshot, type Tree } from './tree.js';
import { Txn } from './txn.js';
import { type MetaState, readMeta, writeMetaFields, emptyMeta } from './meta.js';
import { CODECS, type ValueCodec } from './codec.js';
import {
  CODEC_ID, CODEC_NAME, type CodecName, DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, H, M, isPowerOfTwo, PAGE_TYPE_NAME,
} from './format.js';
import { checkDatabase, type CheckReport } from './check.js';

export type DbmFlag = 'r' | 'w' | 'c' | 'n';
export type DbmKey = string | Uint8Array;

export interface DbmOptions {
  /** 'r' read-only (default), 'w' read-write, 'c' create if missing, 'n' always start empty. */
  flag?: DbmFlag;
  /** Page size for a new file: a power of two, 512..65536 (default 4096). */
  pageSize?: number;
  /** 'none' (default) survives a killed process; 'commit' also survives power loss (fdatasync). */
  sync?: 'none' | 'commit';
  /** Milliseconds to wait for a lock before LockTimeoutError (default 10000). */
  lockTimeout?: number;
  /** Value encoding; defaults to the file's, or 'msgpack' for a new file. */
  codec?: CodecName;
  /** Keys from keys()/entries() as strings (default) or Buffers. */
  keyEncoding?: 'utf8' | 'buffer';
  /** Bytes of page cache for this handle (default 32 MiB). */
  cacheSize?: number;
  /** Permission bits for a created file (default 0o600: data may be secret). */
  mode?: number;
  /** File I/O implementation; for tests that inject faults. */
  io?: FileIO;
}

export interface DbmTimes {
  /** Milliseconds since the epoch, as stored in the meta page. */
  created: number;
  accessed: number;
}

export interface DbmStat {
  path: string;
  pageSize: number;
  pageCount: number;
  fileBytes: number;
  keyCount: number;
  txid: number;
  mode: 'inline' | 'hashed';
  depth: number;
  dirLevels: number;
  freePages: number;
  codec: CodecName;
  times: DbmTimes;
}

/** Operations inside transaction(): synchronous, on the transaction's own view. */
export interface DbmTransaction<V = unknown, K extends DbmKey = string> {
  get(key: DbmKey): V | undefined;
  has(key: DbmKey): boolean;
  set(key: DbmKey, value: V): void;
  delete(key: DbmKey): boolean;
  clear(): void;
  keys(): K[];
  entries(): [K, V][];
  readonly size: number;
  readonly times: DbmTimes;
  setTimes(times: Partial<DbmTimes>): void;
  /** The stored bytes of a value, bypassing the codec. */
  getRaw(key: DbmKey): Buffer | undefined;
  /** Stores bytes that are already in the file's codec (not checked). */
  setRaw(key: DbmKey, bytes: Uint8Array): void;
}

const FLAGS: readonly DbmFlag[] = ['r', 'w', 'c', 'n'];

function validateOptions(path: unknown, o: DbmOptions): Required<Omit<DbmOptions, 'codec' | 'io'>> & { codec?: CodecName; io: FileIO } {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('wasm-session dbm: path must be a non-empty string');
  if (path.includes('\0')) throw new TypeError('wasm-session dbm: path must not contain NUL');
  if (o === null || typeof o !== 'object') throw new TypeError('wasm-session dbm: options must be an object');
  const flag = o.flag ?? 'r';
  if (!FLAGS.includes(flag)) throw new TypeError(`wasm-session dbm: flag must be one of 'r', 'w', 'c', 'n', got ${JSON.stringify(flag)}`);
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!isPowerOfTwo(pageSize) || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`wasm-session dbm: pageSize must be a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const sync = o.sync ?? 'none';
  if (sync !== 'none' && sync !== 'commit') throw new TypeError(`wasm-session dbm: sync must be 'none' or 'commit', got ${JSON.stringify(sync)}`);
  const lockTimeout = o.lockTimeout ?? 10_000;
  if (typeof lockTimeout !== 'number' || !(lockTimeout >= 0) || !Number.isFinite(lockTimeout)) {
    throw new RangeError(`wasm-session dbm: lockTimeout must be a finite number of milliseconds >= 0, got ${lockTimeout}`);
  }
  if (o.codec !== undefined && !(o.codec in CODEC_ID)) throw new TypeError(`wasm-session dbm: codec must be 'msgpack' or 'raw', got ${JSON.stringify(o.codec)}`);
  const keyEncoding = o.keyEncoding ?? 'utf8';
  if (keyEncoding !== 'utf8' && keyEncoding !== 'buffer') throw new TypeError(`wasm-session dbm: keyEncoding must be 'utf8' or 'buffer'`);
  const cacheSize = o.cacheSize ?? 32 * 1024 * 1024;
  if (typeof cacheSize !== 'number' || !(cacheSize > 0)) throw new RangeError('wasm-session dbm: cacheSize must be a positive number of bytes');
  const mode = o.mode ?? 0o600;
  return { flag, pageSize, sync, lockTimeout, codec: o.codec, keyEncoding, cacheSize, mode, io: o.io ?? nodeFileIO };
}

/** One staging area for meta reads, shared: every use is synchronous. */
let readBuf = 0;
function stagingBuffer(): number {
  if (readBuf === 0) readBuf = w.alloc(OPEN_READ_BYTES);
  return readBuf;
}

/** A tiny FIFO mutex for the writes of one handle; waits give up after `timeout`. */
class WriteMutex {
  locked = false;
  private readonly queue: (() => void)[] = [];

  acquire(timeout: number, onTimeout: () => Error): Promise<void> | undefined {
    if (!this.locked) {
      this.locked = true;
      return undefined;
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(onTimeout());
      }, timeout);
      this.queue.push(grant);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.locked = false;
  }
}

export class Dbm<V = unknown, K extends DbmKey = string> {
  readonly path: string;
  readonly flag: DbmFlag;
  readonly pageSize: number;
  readonly readOnly: boolean;
  readonly #io: FileIO;
  readonly #fd: number;
  readonly #lock: FileLock;
  readonly #pager: Pager;
  readonly #opts: ReturnType<typeof validateOptions>;
  #codec!: ValueCodec;
  #meta: number;
  #state: MetaState;
  #slotTxids: [number, number] = [-1, -1];
  #snapshot: Snapshot;
  #closed = false;
  #releaseScheduled = false;
  /** Explicit holders of the lock: running transactions and lock(). */
  #holds = 0;
  #userLocked = false;
  /** The snapshot must be re-read even though a lock is held (after a failed commit). */
  #stale = false;
  readonly #writes = new WriteMutex();

  private constructor(path: string, fd: number, pageSize: number, opts: ReturnType<typeof validateOptions>) {
    this.path = path;
    this.flag = opts.flag;
    this.readOnly = opts.flag === 'r';
    this.pageSize = pageSize;
    this.#io = opts.io;
    this.#fd = fd;
    this.#opts = opts;
    this.#lock = new FileLock(fd, path, nodePath.resolve(path));
    this.#pager = new Pager(opts.io, fd, path, pageSize, opts.cacheSize);
    this.#meta = w.alloc(pageSize);
    this.#state = emptyMeta(CODEC_ID.msgpack, 0, 0, 0);
    this.#state.txid = 0;
    this.#snapshot = new Snapshot(this.#pager, pageSize, this.#meta, () => this.#state);
  }

  /**
   * Opens (and with 'c'/'n' creates) a database file. Rejects with a
   * DbmCorruptError when the file is not a valid dbm file, a
   * LockTimeoutError when another holder keeps it locked, or the file
   * system's error (ENOENT for a missing file with 'r'/'w').
   */
  static async open<V = unknown, K extends DbmKey = string>(path: string, options: DbmOptions = {}): Promise<Dbm<V, K>> {
    const opts = validateOptions(path, options);
    const { io, flag } = opts;
    const osFlags = flag === 'r' ? fs.constants.O_RDONLY : fs.constants.O_RDWR | (flag === 'c' || flag === 'n' ? fs.constants.O_CREAT : 0);
    let fd: number;
    try {
      fd = io.open(path, osFlags, opts.mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new DbmError(`wasm-session dbm: ${path} does not exist (open with flag 'c' to create it)`, path, { cause: err });
      }
      throw err;
    }
    let db: Dbm<V, K> | undefined;
    try {
      // The first read tells the page size; the handle is built after it.
      const lock = new FileLock(fd, path, nodePath.resolve(path));
      const mode: LockMode = flag === 'r' ? 'shared' : 'exclusive';
      await lock.acquire(mode, opts.lockTimeout);
      try {
        if (flag === 'n') io.ftruncate(fd, 0);
        const buf = stagingBuffer();
        const len = readFully(io, fd, w.view(buf, OPEN_READ_BYTES), 0, OPEN_READ_BYTES, 0);
        const metaTmp = w.alloc(MAX_PAGE_SIZE);
        try {
          const read = chooseMeta(path, buf, len, metaTmp, (pos, length, dst) => readFully(io, fd, w.view(dst, length), 0, length, pos));
          const pageSize = read.pageSize > 0 ? read.pageSize : opts.pageSize;
          db = new Dbm<V, K>(path, fd, pageSize, opts);
          db.#lock.held = mode;
          if (read.slot < 0) {
            db.#initializeEmpty();
          } else {
            w.copyWithin(db.#meta, metaTmp, pageSize);
            db.#adoptMeta(read.slotTxids);
            db.#primeCache(buf, len);
          }
        } finally {
          w.dealloc(metaTmp);
        }
        db.#setCodec();
      } catch (err) {
        lock.releasedByClose();
        throw err;
      }
      db.#scheduleRelease();
      return db;
    } catch (err) {
      if (db) db.#dispose();
      io.close(fd);
      throw err;
    }
  }

  #setCodec(): void {
    const fileCodec = CODEC_NAME[this.#state.codec];
    if (this.#opts.codec !== undefined && this.#opts.codec !== fileCodec && this.#state.txid > 0) {
      throw new DbmError(`wasm-session dbm: ${this.path} stores values as '${fileCodec}', not '${this.#opts.codec}'`, this.path);
    }
    this.#codec = CODECS[this.#state.txid > 0 ? fileCodec : this.#opts.codec ?? 'msgpack'];
  }

  /** An empty file: write the first meta pair (a read-only handle just sees an empty database). */
  #initializeEmpty(): void {
    const seed = crypto.randomBytes(8);
    const now = Date.now();
    const codec = CODEC_ID[this.#opts.codec ?? 'msgpack'];
    this.#state = emptyMeta(codec, seed.readUInt32LE(0), seed.readUInt32LE(4), now);
    if (this.readOnly) {
      this.#state.txid = 0;
      return;
    }
    w.zero(this.#meta, this.pageSize);
    writeMetaFields(this.#meta, this.pageSize, this.#state);
    w.metaSeal(this.#meta, this.pageSize);
    this.#pager.writeMetaPair(this.#meta, [-1, -1], this.#opts.sync === 'commit');
    if (this.#opts.sync === 'commit') this.#pager.sync();
    this.#slotTxids = [1, 1];
    this.#pager.seedLo = this.#state.seedLo;
    this.#pager.seedHi = this.#state.seedHi;
  }

  #adoptMeta(slotTxids: [number, number]): void {
    this.#state = readMeta(this.#meta);
    this.#slotTxids = slotTxids;
    this.#pager.seedLo = this.#state.seedLo;
    this.#pager.seedHi = this.#state.seedHi;
  }

  /** Pages that came with the first read go to the cache if they verify. */
  #primeCache(buf: number, len: number): void {
    const P = this.pageSize;
    const pages = Math.min(Math.floor(len / P), this.#state.pageCount);
    for (let no = 2; no < pages; no++) {
      const ptr = buf + no * P;
      const type = w.u8(ptr + H.type);
      if (PAGE_TYPE_NAME[type] === undefined) continue;
      if (w.pageVerify(ptr, P, no, this.#state.seedLo, this.#state.seedHi, this.#state.txid, type) === 0) this.#pager.prime(no, ptr);
    }
  }

  /**
   * Re-reads the meta pair under a freshly taken lock. If another process
   * committed since our snapshot, cached pages may have been reused: drop them.
   */
  #refresh(): void {
    const P = this.pageSize;
    const buf = stagingBuffer();
    const want = Math.min(2 * P, OPEN_READ_BYTES);
    const len = readFully(this.#io, this.#fd, w.view(buf, want), 0, want, 0);
    const before = this.#state;
    const metaTmp = w.alloc(MAX_PAGE_SIZE);
    try {
      const read = chooseMeta(this.path, buf, len, metaTmp, (pos, length, dst) => readFully(this.#io, this.#fd, w.view(dst, length), 0, length, pos));
      if (read.slot < 0) {
        // Truncated to nothing by someone else: an empty database again.
        this.#pager.invalidate();
        if (this.readOnly) {
          this.#state = { ...emptyMeta(before.codec, before.seedLo, before.seedHi, Date.now()), txid: 0 };
        } else {
          this.#initializeEmpty();
        }
        return;
      }
      if (read.pageSize !== P) throw new DbmError(`wasm-session dbm: ${this.path} was replaced by a file with another page size`, this.path);
      const changed = w.u64(metaTmp + M.txid) !== before.txid || w.u32(metaTmp + M.seedLo) !== before.seedLo || w.u32(metaTmp + M.seedHi) !== before.seedHi;
      if (changed) {
        this.#pager.invalidate();
        w.copyWithin(this.#meta, metaTmp, P);
        this.#adoptMeta(read.slotTxids);
      } else {
        this.#slotTxids = read.slotTxids;
      }
    } finally {
      w.dealloc(metaTmp);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new DbmClosedError(this.path);
  }

  #scheduleRelease(): void {
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      if (this.#holds === 0 && !this.#closed) this.#lock.release();
    });
  }

  /** Makes sure this handle holds at least a shared lock on a current snapshot. */
  async #ensureRead(): Promise<void> {
    this.#checkOpen();
    if (this.#lock.held !== null) {
      if (this.#stale) this.#refreshHeld();
      return;
    }
    await this.#lock.acquire('shared', this.#opts.lockTimeout);
    this.#afterLock();
  }

  async #ensureWrite(): Promise<void> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    if (this.#lock.held === 'exclusive') {
      if (this.#stale) this.#refreshHeld();
      return;
    }
    if (this.#lock.held === 'shared') this.#lock.release();
    await this.#lock.acquire('exclusive', this.#opts.lockTimeout);
    this.#afterLock();
  }

  #afterLock(): void {
    if (this.#closed) {
      this.#lock.release();
      throw new DbmClosedError(this.path);
    }
    try {
      this.#refresh();
      this.#stale = false;
    } catch (err) {
      this.#lock.release();
      throw err;
    }
    this.#scheduleRelease();
  }

  #refreshHeld(): void {
    this.#refresh();
    this.#stale = false;
  }

  #stageKey(key: DbmKey): number {
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
      throw new TypeError(`wasm-session dbm: keys must be strings or Uint8Arrays, got ${key === null ? 'null' : typeof key}`);
    }
    const max = w.maxKeyBytes(this.pageSize);
    const len = w.stageKey(key, max);
    if (len < 0) throw new RangeError(`wasm-session dbm: key longer than ${max} bytes (the limit for ${this.pageSize}-byte pages)`);
    return len;
  }

  #hashStaged(len: number): number {
    return w.keyHash(w.STAGE, len, this.#state.seedLo, this.#state.seedHi) >>> 0;
  }

  #key(bytes: Buffer): K {
    return (this.#opts.keyEncoding === 'utf8' ? bytes.toString('utf8') : bytes) as K;
  }

  #lookup<T>(tree: Tree, key: DbmKey, use: (bytes: Uint8Array) => T): T | undefined {
    const len = this.#stageKey(key);
    const ref = tree.find(len, w.keyHash(w.STAGE, len, tree.state.seedLo, tree.state.seedHi) >>> 0);
    return ref === null ? undefined : tree.withValue(ref.rec, use);
  }

  /** The value stored under `key`, or undefined. */
  async get(key: DbmKey): Promise<V | undefined> {
    await this.#ensureRead();
    return this.#lookup(this.#snapshot, key, (bytes) => this.#codec.decode(bytes) as V);
  }

  /** The stored bytes under `key` without decoding, or undefined. */
  async getRaw(key: DbmKey): Promise<Buffer | undefined> {
    await this.#ensureRead();
    return this.#lookup(this.#snapshot, key, (bytes) => Buffer.from(bytes));
  }

  async has(key: DbmKey): Promise<boolean> {
    await this.#ensureRead();
    const len = this.#stageKey(key);
    return this.#snapshot.find(len, this.#hashStaged(len)) !== null;
  }

  /** Stores `value` under `key` in a commit of its own. */
  async set(key: DbmKey, value: V): Promise<void> {
    const bytes = this.#codec.encode(value);
    await this.#write((tx) => tx.setRaw(key, bytes));
  }

  /** Stores bytes already in the file's codec. */
  async setRaw(key: DbmKey, bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('wasm-session dbm: setRaw takes a Uint8Array');
    await this.#write((tx) => tx.setRaw(key, bytes));
  }

  /** Removes `key`; resolves to whether it was there. */
  async delete(key: DbmKey): Promise<boolean> {
    return this.#write((tx) => tx.delete(key));
  }

  /** Removes every key. */
  async clear(): Promise<void> {
    await this.#write((tx) => tx.clear());
  }

  /** Updates the created/accessed fields of the meta page (one page written). */
  async setTimes(times: Partial<DbmTimes>): Promise<void> {
    await this.#write((tx) => tx.setTimes(times));
  }

  /** Sets the accessed time (default now) without touching any data page. */
  async touch(accessed: number = Date.now()): Promise<void> {
    await this.setTimes({ accessed });
  }

  /** Created/accessed times of the current snapshot. */
  get times(): DbmTimes {
    return { created: this.#state.created, accessed: this.#state.accessed };
  }

  /** Number of keys in the latest state this handle has seen. */
  get size(): number {
    return this.#state.keyCount;
  }

  /** Number of keys, re-reading the file if another process may have changed it. */
  async count(): Promise<number> {
    await this.#ensureRead();
    return this.#state.keyCount;
  }

  /**
   * Runs `fn` with the exclusive lock held and commits its changes once when
   * it returns (or its promise resolves). If it throws, nothing is written.
   * Operations on `tx` are synchronous and see the transaction's changes.
   */
  async transaction<R>(fn: (tx: DbmTransaction<V, K>) => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw new TypeError('wasm-session dbm: transaction() takes a function');
    return this.#write(fn, true);
  }

  async #write<R>(fn: (tx: DbmTransaction<V, K>) => R | Promise<R>, explicit = false): Promise<R> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    const wait = this.#writes.acquire(this.#opts.lockTimeout, () => new LockTimeoutError(this.path, 'exclusive', this.#opts.lockTimeout));
    if (wait) await wait;
    let txn: Txn | undefined;
    this.#holds++;
    try {
      await this.#ensureWrite();
      txn = new Txn(this.#pager, this.pageSize, this.#state, this.#meta);
      const tx = this.#txView(txn);
      const result = explicit ? await fn(tx) : (fn(tx) as R);
      this.#checkOpen();
      if (txn.hasChanges) this.#commit(txn);
      else txn.abort();
      txn = undefined;
      return result;
    } finally {
      txn?.abort();
      this.#holds--;
      this.#writes.release();
      if (this.#holds === 0 && !this.#closed) this.#scheduleRelease();
    }
  }

  #commit(txn: Txn): void {
    const sync = this.#opts.sync === 'commit';
    const result = txn.prepare();
    try {
      this.#pager.writePages(result.pages);
      if (sync) this.#pager.sync();
      this.#pager.writeMetaPair(result.metaPtr, this.#slotTxids, sync);
    } catch (err) {
      // Nothing the committed state uses was touched; forget what we read so
      // the next operation starts from the file again.
      this.#pager.invalidate();
      this.#stale = true;
      throw err;
    }
    w.copyWithin(this.#meta, result.metaPtr, this.pageSize);
    this.#state = result.meta;
    this.#slotTxids = [result.meta.txid, result.meta.txid];
    txn.committed();
  }

  #txView(txn: Txn): DbmTransaction<V, K> {
    const db = this;
    const live = (): Txn => {
      if (db.#closed) throw new DbmClosedError(db.path);
      return txn;
    };
    return {
      get: (key) => db.#lookup(live(), key, (bytes) => db.#codec.decode(bytes) as V),
      getRaw: (key) => db.#lookup(live(), key, (bytes) => Buffer.from(bytes)),
      has: (key) => {
        const len = db.#stageKey(key);
        return live().find(len, db.#hashStaged(len)) !== null;
      },
      set: (key, value) => {
        const bytes = db.#codec.encode(value);
        const len = db.#stageKey(key);
        live().put(len, db.#hashStaged(len), bytes);
      },
      setRaw: (key, bytes) => {
        const len = db.#stageKey(key);
        live().put(len, db.#hashStaged(len), bytes);
      },
      delete: (key) => {
        const len = db.#stageKey(key);
        return live().remove(len, db.#hashStaged(len));
      },
      clear: () => live().clear(),
      keys: () => db.#collect(live(), false).map(([k]) => k),
      entries: () => db.#collect(live(), true) as [K, V][],
      get size() {
        return live().state.keyCount;
      },
      get times() {
        const s = live().state;
        return { created: s.created, accessed: s.accessed };
      },
      setTimes: (times) => live().setTimes(times),
    };
  }

  #collect(tree: Tree, withValues: boolean): [K, V | undefined][] {
    const out: [K, V | undefined][] = [];
    for (let from = 0; from >= 0;) {
      const batch = tree.batch(from, withValues);
      for (const e of batch.entries) out.push([this.#key(e.key), withValues ? (this.#codec.decode(e.value!) as V) : undefined]);
      from = batch.next;
    }
    return out;
  }

  /**
   * Keys in hash order. Each step reads one bucket under a shared lock, so
   * the iteration may span commits by others: a key present throughout is
   * yielded exactly once; keys added or removed meanwhile may or may not be.
   */
  async *keys(): AsyncGenerator<K> {
    for (let from = 0; from >= 0;) {
      await this.#ensureRead();
      const batch = this.#snapshot.batch(from, false);
      from = batch.next;
      for (const e of batch.entries) yield this.#key(e.key);
    }
  }

  async *entries(): AsyncGenerator<[K, V]> {
    for (let from = 0; from >= 0;) {
      await this.#ensureRead();
      const batch = this.#snapshot.batch(from, true);
      from = batch.next;
      for (const e of batch.entries) yield [this.#key(e.key), this.#codec.decode(e.value!) as V];
    }
  }

  async *values(): AsyncGenerator<V> {
    for await (const [, v] of this.entries()) yield v;
  }

  [Symbol.asyncIterator](): AsyncGenerator<[K, V]> {
    return this.entries();
  }

  /**
   * Holds the exclusive lock until unlock(): other handles and processes
   * wait; operations on this handle commit as usual while it is held.
   */
  async lock(): Promise<void> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    if (this.#userLocked) return;
    this.#holds++;
    try {
      await this.#ensureWrite();
    } catch (err) {
      this.#holds--;
      throw err;
    }
    this.#userLocked = true;
  }

  async unlock(): Promise<void> {
    if (!this.#userLocked) return;
    this.#userLocked = false;
    this.#holds--;
    if (this.#holds === 0 && !this.#closed) this.#lock.release();
  }

  get locked(): boolean {
    return this.#userLocked;
  }

  /** Facts about the file, from a current snapshot. */
  async stat(): Promise<DbmStat> {
    await this.#ensureRead();
    const s = this.#state;
    return {
      path: this.path,
      pageSize: this.pageSize,
      pageCount: s.pageCount,
      fileBytes: this.#io.size(this.#fd),
      keyCount: s.keyCount,
      txid: s.txid,
      mode: s.mode === 0 ? 'inline' : 'hashed',
      depth: s.depth,
      dirLevels: s.levels,
      freePages: s.freeCount,
      codec: CODEC_NAME[s.codec],
      times: this.times,
    };
  }

  /**
   * Walks the whole file and verifies every invariant: both meta slots,
   * checksums of every reachable page, pointers in range, no page used twice,
   * every page either used or free, directory structure, record hashes and
   * placement, key and free counts. Throws DbmCorruptError listing the
   * problems; resolves to a report when the file is sound.
   */
  async check(): Promise<CheckReport> {
    await this.#ensureRead();
    return checkDatabase({
      path: this.path,
      pager: this.#pager,
      pageSize: this.pageSize,
      meta: this.#meta,
      state: this.#state,
      io: this.#io,
      fd: this.#fd,
    });
  }

  /** Closes the file (releasing any lock). Later calls reject with DbmClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lock.releasedByClose();
    this.#dispose();
    this.#io.close(this.#fd);
  }

  #dispose(): void {
    this.#pager.close();
    if (this.#meta) w.dealloc(this.#meta);
    this.#meta = 0;
  }

  get closed(): boolean {
    return this.#closed;
  }
}
