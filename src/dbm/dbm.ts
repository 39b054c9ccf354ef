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
import crypto from 'node:crypto';
import * as w from '../wasm.js';
import { DbmError, DbmCorruptError, DbmClosedError, DbmReadOnlyError, LockTimeoutError } from '../errors.js';
import { type FileIO, nodeFileIO, readFully } from './io.js';
import { HandleLock, type LockMode } from './lock.js';
import { Pager, chooseMeta, OPEN_READ_BYTES, takePageBuffer, givePageBuffer, metaBufferBytes } from './pager.js';
import { Snapshot, type Tree, type ValueReader } from './tree.js';
import { Txn } from './txn.js';
import { type MetaState, readMeta, writeMetaFields, emptyMeta, reservedNotZero } from './meta.js';
import { msgpackCodec, rawCodec, type ValueCodec } from './codec.js';
import {
  CODEC_ID,
  codecName,
  REC_OVERFLOW,
  type CodecName,
  DEFAULT_PAGE_SIZE,
  MIN_PAGE_SIZE,
  MAX_PAGE_SIZE,
  M,
  isPowerOfTwo,
  PAGE_TYPE_NAME,
} from './format.js';
import { checkDatabase, type CheckReport } from './check.js';
import { FreeSetCache } from './freeset.js';
import { pageType, recKey, recSize } from './layout.js';

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
  /** With 'c': create the file, failing with EEXIST if anything is at `path` already (O_EXCL). */
  exclusive?: boolean;
  /**
   * Refuse a symbolic link as the last component of `path` (ELOOP), and
   * never block in open(2) (O_NOFOLLOW | O_NONBLOCK: a FIFO opens at once
   * instead of waiting for a writer). O_NONBLOCK has no effect on a regular
   * file's reads, writes or locks on Linux, so it stays set.
   */
  noFollow?: boolean;
  /**
   * Called once the file is open and its lock held, before anything is
   * read or written, with the fstat of the descriptor (and the descriptor,
   * e.g. for fchmod; do not close it). Throw to refuse the file: open()
   * closes it and rejects with that error.
   */
  inspect?: (stats: fs.Stats, fd: number) => void;
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
  /** Every entry with its stored bytes, bypassing the codec. */
  entriesRaw(): [K, Buffer][];
  readonly size: number;
  readonly times: DbmTimes;
  setTimes(times: Partial<DbmTimes>): void;
  /** The stored bytes of a value, bypassing the codec. */
  getRaw(key: DbmKey): Buffer | undefined;
  /** Stores bytes that are already in the file's codec (not checked). */
  setRaw(key: DbmKey, bytes: Uint8Array): void;
}

const FLAGS: readonly DbmFlag[] = ['r', 'w', 'c', 'n'];

/** Turns a record (address valid only during the call, and its header fields) into a result. */
type RecordConverter<T> = (tree: Tree, rec: number, keyLen: number, flags: number, valueLen: number) => T;

type ValidOptions = Required<Omit<DbmOptions, 'codec' | 'io' | 'inspect'>> & { codec?: CodecName; io: FileIO; inspect?: DbmOptions['inspect'] };

function validateOptions(path: unknown, o: DbmOptions): ValidOptions {
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
  if (o.codec !== undefined && !(o.codec in CODEC_ID))
    throw new TypeError(`wasm-session dbm: codec must be 'msgpack' or 'raw', got ${JSON.stringify(o.codec)}`);
  const keyEncoding = o.keyEncoding ?? 'utf8';
  if (keyEncoding !== 'utf8' && keyEncoding !== 'buffer') throw new TypeError(`wasm-session dbm: keyEncoding must be 'utf8' or 'buffer'`);
  const cacheSize = o.cacheSize ?? 32 * 1024 * 1024;
  if (typeof cacheSize !== 'number' || !(cacheSize > 0)) throw new RangeError('wasm-session dbm: cacheSize must be a positive number of bytes');
  const mode = o.mode ?? 0o600;
  const exclusive = o.exclusive ?? false;
  if (typeof exclusive !== 'boolean') throw new TypeError('wasm-session dbm: exclusive must be a boolean');
  if (exclusive && flag !== 'c') throw new TypeError("wasm-session dbm: exclusive needs flag 'c'");
  const noFollow = o.noFollow ?? false;
  if (typeof noFollow !== 'boolean') throw new TypeError('wasm-session dbm: noFollow must be a boolean');
  if (o.inspect !== undefined && typeof o.inspect !== 'function') throw new TypeError('wasm-session dbm: inspect must be a function');
  const io = o.io ?? nodeFileIO;
  return { flag, pageSize, sync, lockTimeout, codec: o.codec, keyEncoding, cacheSize, mode, exclusive, noFollow, inspect: o.inspect, io };
}

/** fstat of a descriptor, through the FileIO when it has stat(). */
function statOf(io: FileIO, fd: number): fs.Stats {
  return io.stat ? io.stat(fd) : fs.fstatSync(fd);
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
  /** Waiting writes; created by the first one that has to wait. */
  #queue: (() => void)[] | null = null;

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
      this.#queue ??= [];
      const queue = this.#queue;
      const timer = setTimeout(() => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(onTimeout());
      }, timeout);
      queue.push(grant);
    });
  }

  release(): void {
    const next = this.#queue?.shift();
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
  /** The lock state: taken, held, stale, closed (lock.ts). */
  readonly #lock: HandleLock;
  readonly #pager: Pager;
  readonly #opts: ValidOptions;
  #lockTimeout: number;
  /** The seed as hex, and the seed it was made of (see the seed getter). */
  #seedHex = '';
  #seedOf: [number, number] = [-1, -1];
  #codec!: ValueCodec;
  #slotTxids: [number, number] = [-1, -1];
  readonly #snapshot: Snapshot;
  /** The working meta page of write transactions (0 until the first); a commit swaps it with the committed one. */
  #work = 0;
  readonly #writes = new WriteMutex();
  /** The free set of the last state seen, for the next write (created by the first write). */
  #freeSets: FreeSetCache | null = null;

  private constructor(path: string, fd: number, lock: HandleLock, pageSize: number, opts: ValidOptions, state: MetaState) {
    this.path = path;
    this.flag = opts.flag;
    this.readOnly = opts.flag === 'r';
    this.pageSize = pageSize;
    this.#io = opts.io;
    this.#fd = fd;
    this.#opts = opts;
    this.#lockTimeout = opts.lockTimeout;
    // The lock open() took: its holding state (and burst clock) carry over.
    this.#lock = lock;
    this.#pager = new Pager(opts.io, fd, path, pageSize, opts.cacheSize);
    this.#snapshot = new Snapshot(this.#pager, pageSize, state);
    this.#snapshot.metaPtr = takePageBuffer(metaBufferBytes(pageSize));
  }

  /** The committed meta page this handle reads (a copy in wasm memory). */
  get #meta(): number {
    return this.#snapshot.metaPtr;
  }
  /** The committed state's fields. */
  get #state(): MetaState {
    return this.#snapshot.state;
  }
  set #state(state: MetaState) {
    this.#snapshot.state = state;
  }

  #newTxn(): Txn {
    if (this.#work === 0) this.#work = takePageBuffer(metaBufferBytes(this.pageSize));
    this.#freeSets ??= new FreeSetCache();
    return new Txn(this.#pager, this.pageSize, this.#state, this.#meta, this.#freeSets, this.#work);
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
    const C = fs.constants;
    let osFlags = flag === 'r' ? C.O_RDONLY : C.O_RDWR | (flag === 'c' || flag === 'n' ? C.O_CREAT : 0);
    if (opts.exclusive) osFlags |= C.O_EXCL;
    if (opts.noFollow) osFlags |= C.O_NOFOLLOW | C.O_NONBLOCK;
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
      const lock = new HandleLock(fd, path);
      const mode: LockMode = flag === 'r' ? 'shared' : 'exclusive';
      const taken = lock.take(mode, opts.lockTimeout);
      if (typeof taken !== 'boolean') await taken;
      try {
        if (opts.inspect) opts.inspect(statOf(io, fd), fd);
        if (flag === 'n') io.ftruncate(fd, 0);
        const buf = stagingBuffer();
        // One read: a short count from a regular file means end of file.
        const len = io.pread(fd, w.memoryBuffer(), buf, OPEN_READ_BYTES, 0);
        const read = chooseMeta(path, buf, len, io, fd);
        const pageSize = read.pageSize > 0 ? read.pageSize : opts.pageSize;
        if (read.slot < 0) {
          db = new Dbm<V, K>(path, fd, lock, pageSize, opts, emptyMeta(CODEC_ID.msgpack, 0, 0, 0));
          db.#initializeEmpty();
        } else {
          const state = readMeta(read.src);
          db = new Dbm<V, K>(path, fd, lock, pageSize, opts, state);
          w.copyWithin(db.#meta, read.src, pageSize);
          // A short first read ended at the end of the file: its size is known.
          db.#adoptMeta(state, read.slotTxids, len < OPEN_READ_BYTES ? len : -1);
          db.#primeCache(buf, len);
        }
        db.#setCodec();
      } catch (err) {
        lock.close();
        throw err;
      }
      lock.releaseAtTurnEnd();
      return db;
    } catch (err) {
      if (db) db.#dispose();
      io.close(fd);
      throw err;
    }
  }

  #setCodec(): void {
    const wanted = this.#opts.codec;
    if (this.#state.txid === 0) {
      this.#codec = wanted === 'raw' ? rawCodec : msgpackCodec;
      return;
    }
    const fileCodec = this.#state.codec === CODEC_ID.raw ? rawCodec : msgpackCodec;
    if (wanted !== undefined && wanted !== fileCodec.name) {
      throw new DbmError(`wasm-session dbm: ${this.path} stores values as '${fileCodec.name}', not '${wanted}'`, this.path);
    }
    this.#codec = fileCodec;
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
    try {
      this.#pager.writeMetaPair(this.#meta, [-1, -1], this.#opts.sync === 'commit');
      if (this.#opts.sync === 'commit') this.#pager.sync();
    } catch (err) {
      // The file was empty: make it so again, or a torn first meta page
      // would make it unopenable ("not a dbm file") for good.
      try {
        this.#io.ftruncate(this.#fd, 0);
      } catch {
        // The caller reports the original error.
      }
      throw err;
    }
    this.#slotTxids = [1, 1];
    this.#pager.seedLo = this.#state.seedLo;
    this.#pager.seedHi = this.#state.seedHi;
  }

  /**
   * Takes the meta page copied to #meta as the current state. `knownSize`
   * is the file's size when a read already told it (a short first read).
   */
  #adoptMeta(state: MetaState, slotTxids: [number, number], knownSize = -1): void {
    const reserved = reservedNotZero(this.#meta);
    if (reserved !== null) throw new DbmCorruptError(this.path, slotTxids[1] > slotTxids[0] ? 1 : 0, reserved);
    // Every commit leaves the file at least pageCount pages long (#commit),
    // so a shorter file was truncated, or its meta is damaged in a way the
    // checksum cannot show: nothing sized by pageCount can be trusted.
    const fileBytes = knownSize >= 0 ? knownSize : this.#io.size(this.#fd);
    if (state.pageCount * this.pageSize > fileBytes) {
      throw new DbmCorruptError(
        this.path,
        Math.floor(fileBytes / this.pageSize),
        `the file ends at ${fileBytes} bytes, before the last of its ${state.pageCount} pages (truncated?)`,
      );
    }
    this.#state = state;
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
      const type = pageType(ptr);
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
    const len = readFully(this.#io, this.#fd, w.memoryBuffer(), buf, want, 0);
    const before = this.#state;
    const read = chooseMeta(this.path, buf, len, this.#io, this.#fd);
    if (read.slot < 0) {
      // Truncated to nothing by someone else: an empty database again.
      this.#pager.invalidate();
      if (this.readOnly) {
        this.#state = emptyMeta(before.codec, before.seedLo, before.seedHi, Date.now());
        this.#state.txid = 0;
      } else {
        this.#initializeEmpty();
      }
      return;
    }
    if (read.pageSize !== P) throw new DbmError(`wasm-session dbm: ${this.path} was replaced by a file with another page size`, this.path);
    const m = read.src;
    const changed = w.u64(m + M.txid) !== before.txid || w.u32(m + M.seedLo) !== before.seedLo || w.u32(m + M.seedHi) !== before.seedHi;
    if (changed) {
      this.#pager.invalidate();
      w.copyWithin(this.#meta, m, P);
      this.#adoptMeta(readMeta(this.#meta), read.slotTxids);
    } else {
      this.#slotTxids = read.slotTxids;
    }
  }

  #checkOpen(): void {
    if (this.#lock.closed) throw new DbmClosedError(this.path);
  }

  /**
   * Makes sure this handle holds at least a shared lock on a current
   * snapshot. A held lock is kept (reads in one turn see one snapshot),
   * unless `mayCut` (between iterator batches, where the snapshot may
   * change anyway) and the burst is overdue.
   */
  async #ensureRead(mayCut = false): Promise<void> {
    let taken = this.#lock.take('shared', this.#lockTimeout, mayCut);
    if (typeof taken !== 'boolean') taken = await taken;
    if (taken) this.#afterLock();
    else if (this.#lock.stale) this.#refreshHeld();
  }

  /** Makes sure this handle holds the exclusive lock on a current snapshot; a commit re-reads anyway, so an overdue burst is cut here. */
  async #ensureWrite(): Promise<void> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    let taken = this.#lock.take('exclusive', this.#lockTimeout);
    if (typeof taken !== 'boolean') taken = await taken;
    if (taken) this.#afterLock();
    else if (this.#lock.stale) this.#refreshHeld();
  }

  /** The lock was just taken: re-read the meta pair under it (see #refresh). */
  #afterLock(): void {
    if (this.#lock.closed) throw new DbmClosedError(this.path);
    try {
      this.#refresh();
      this.#lock.markFresh();
    } catch (err) {
      this.#lock.release();
      throw err;
    }
    this.#lock.releaseAtTurnEnd();
  }

  #refreshHeld(): void {
    this.#refresh();
    this.#lock.markFresh();
  }

  #stageKey(key: DbmKey): number {
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
      throw new TypeError(`wasm-session dbm: keys must be strings or Uint8Arrays, got ${key === null ? 'null' : typeof key}`);
    }
    const max = this.#snapshot.geometry.maxKey;
    const len = w.stageKey(key, max);
    if (len < 0) throw new RangeError(`wasm-session dbm: key longer than ${max} bytes (the limit for ${this.pageSize}-byte pages)`);
    return len;
  }

  #hashStaged(len: number): number {
    return w.keyHash(w.STAGE, len, this.#state.seedLo, this.#state.seedHi) >>> 0;
  }

  /** The key of the record at `rec`, as a string or a Buffer per keyEncoding. */
  #keyAt(rec: number, keyLen: number): K {
    const at = recKey(rec);
    return (this.#opts.keyEncoding === 'utf8' ? w.keyString(at, keyLen) : w.copyOut(at, keyLen)) as K;
  }

  /** The codec's in-place decoder (a shared function: no closure per handle). */
  get #decode(): ValueReader<V> {
    return this.#codec.decodeRange as ValueReader<V>;
  }
  static readonly #copy: ValueReader<Buffer> = (buffer, start, end) => Buffer.from(buffer.subarray(start, end));

  #lookup<T>(tree: Tree, key: DbmKey, read: ValueReader<T>): T | undefined {
    const len = this.#stageKey(key);
    const ref = tree.find(len, w.keyHash(w.STAGE, len, tree.state.seedLo, tree.state.seedHi) >>> 0);
    return ref === null ? undefined : tree.withValue(ref.rec, read);
  }

  /** The value stored under `key`, or undefined. */
  get(key: DbmKey): Promise<V | undefined> {
    return this.#read(() => this.#lookup(this.#snapshot, key, this.#decode));
  }

  /** The stored bytes under `key` without decoding, or undefined. */
  getRaw(key: DbmKey): Promise<Buffer | undefined> {
    return this.#read(() => this.#lookup(this.#snapshot, key, Dbm.#copy));
  }

  has(key: DbmKey): Promise<boolean> {
    return this.#read(() => {
      const len = this.#stageKey(key);
      return this.#snapshot.find(len, this.#hashStaged(len)) !== null;
    });
  }

  /** Stores `value` under `key` in a commit of its own. */
  set(key: DbmKey, value: V): Promise<void> {
    return this.#writeOp((txn) => this.#put(txn, key, this.#codec.encode(value)));
  }

  /** Stores bytes already in the file's codec. */
  setRaw(key: DbmKey, bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) return Promise.reject(new TypeError('wasm-session dbm: setRaw takes a Uint8Array'));
    // A copy: the caller may reuse its buffer while this waits for the lock.
    const copy = Buffer.from(bytes);
    return this.#writeOp((txn) => this.#put(txn, key, copy));
  }

  /** Removes `key`; resolves to whether it was there. */
  delete(key: DbmKey): Promise<boolean> {
    return this.#writeOp((txn) => this.#remove(txn, key));
  }

  /** Removes every key. */
  clear(): Promise<void> {
    return this.#writeOp((txn) => txn.clear());
  }

  /** Updates the created/accessed fields of the meta page (one page written). */
  setTimes(times: Partial<DbmTimes>): Promise<void> {
    return this.#writeOp((txn) => txn.setTimes(times));
  }

  /** Sets the accessed time (default now) without touching any data page. */
  touch(accessed: number = Date.now()): Promise<void> {
    return this.setTimes({ accessed });
  }

  /**
   * The file's random seed (FORMAT.md, meta page), as 16 hex digits: chosen
   * when the file is initialized, so two files created one after the other
   * at one path differ (unlike an inode number, which the file system may
   * give again once a file is deleted). For an empty file opened with 'r',
   * a random value of this handle.
   */
  get seed(): string {
    this.#checkOpen();
    const { seedLo, seedHi } = this.#state;
    if (seedLo !== this.#seedOf[0] || seedHi !== this.#seedOf[1]) {
      this.#seedOf = [seedLo, seedHi];
      this.#seedHex = (0x100000000 + seedHi).toString(16).slice(1) + (0x100000000 + seedLo).toString(16).slice(1);
    }
    return this.#seedHex;
  }

  /** fstat of the open descriptor, now (e.g. nlink 0: the file was unlinked since it was opened). */
  fstat(): fs.Stats {
    this.#checkOpen();
    return statOf(this.#io, this.#fd);
  }

  /** Milliseconds this handle's operations wait for a lock (the `lockTimeout` option, changeable for a handle kept open across requests). */
  get lockTimeout(): number {
    return this.#lockTimeout;
  }

  set lockTimeout(ms: number) {
    if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`wasm-session dbm: lockTimeout must be a finite number of milliseconds >= 0, got ${ms}`);
    }
    this.#lockTimeout = ms;
  }

  /** fchmod of the open descriptor (the session store fixes a session file's mode without going through its path). */
  chmod(mode: number): void {
    this.#checkOpen();
    fs.fchmodSync(this.#fd, mode);
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
    return this.#write(async (txn) => {
      const view = new Dbm.#TxView(this as unknown as Dbm<unknown, DbmKey>, txn);
      try {
        return await fn(view as unknown as DbmTransaction<V, K>);
      } finally {
        view.txn = null;
      }
    });
  }

  #put(txn: Txn, key: DbmKey, bytes: Uint8Array): void {
    const len = this.#stageKey(key);
    txn.put(len, this.#hashStaged(len), bytes);
  }

  #remove(txn: Txn, key: DbmKey): boolean {
    const len = this.#stageKey(key);
    return txn.remove(len, this.#hashStaged(len));
  }

  /**
   * Runs `fn` on a new transaction with the exclusive lock held and this
   * handle's other writes queued behind it, then commits (or, if `fn`
   * throws, drops everything it built).
   */
  async #write<R>(fn: (txn: Txn) => R | Promise<R>): Promise<R> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    const wait = this.#writes.acquire(this.#lockTimeout, () => new LockTimeoutError(this.path, 'exclusive', this.#lockTimeout));
    if (wait) await wait;
    // Leave others their gap now: from here on this write counts as a hold.
    await this.#lock.leaveGapIfOwed();
    let txn: Txn | undefined;
    this.#lock.hold();
    try {
      await this.#ensureWrite();
      txn = this.#newTxn();
      const result = await fn(txn);
      this.#finishTxn(txn);
      txn = undefined;
      return result;
    } finally {
      txn?.abort();
      this.#afterWrite();
    }
  }

  /**
   * A write of this handle's own (set, delete...): when the exclusive lock is
   * already held and no other write is running - the usual case for the
   * second and later writes of a turn - it runs synchronously, without the
   * promise hops of the general path.
   */
  #writeOp<R>(fn: (txn: Txn) => R): Promise<R> {
    if (this.#writes.locked || !this.#lock.writable || this.readOnly) return this.#write(fn);
    this.#writes.locked = true;
    this.#lock.hold();
    let txn: Txn | undefined;
    try {
      txn = this.#newTxn();
      const result = fn(txn);
      this.#finishTxn(txn);
      txn = undefined;
      return Promise.resolve(result);
    } catch (err) {
      return Promise.reject(err);
    } finally {
      txn?.abort();
      this.#afterWrite();
    }
  }

  #finishTxn(txn: Txn): void {
    this.#checkOpen();
    if (txn.hasChanges) this.#commit(txn);
    else txn.abort();
  }

  #afterWrite(): void {
    this.#lock.unhold();
    this.#writes.release();
  }

  /** Runs a read now when a current snapshot is held, else after taking the lock. */
  #read<T>(fn: () => T): Promise<T> {
    if (this.#lock.readable) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#ensureRead().then(fn);
  }

  #commit(txn: Txn): void {
    const sync = this.#opts.sync === 'commit';
    const result = txn.prepare();
    let metaWritten = false;
    try {
      this.#pager.writePages(result.pages);
      // Free pages at the end of the file are not written; extend the file
      // over them, so a reader can rely on it holding pageCount pages.
      if (result.meta.pageCount > this.#state.pageCount) this.#pager.extendTo(result.meta.pageCount);
      if (sync) this.#pager.sync();
      metaWritten = true;
      this.#pager.writeMetaPair(result.metaPtr, this.#slotTxids, sync);
    } catch (err) {
      // A failure inside the meta pair may leave the new meta whole in one
      // slot: the commit would take effect although it is reported failed.
      // So the committed meta goes back to both slots (if that fails too,
      // the next operation finds whichever state the file holds).
      if (metaWritten) this.#rewriteCommittedMeta();
      // Nothing the committed state uses was touched; forget what we read so
      // the next operation starts from the file again.
      this.#pager.invalidate();
      this.#lock.markStale();
      result.free?.pages.dispose();
      throw err;
    }
    if (result.free) this.#freeSets!.adopt(result.meta, result.free.pages, result.free.spillPages);
    else this.#freeSets!.retag(this.#state, result.meta);
    // The new meta page becomes the committed one; the old one is the next work page.
    this.#work = this.#meta;
    this.#snapshot.metaPtr = result.metaPtr;
    this.#state = result.meta;
    this.#slotTxids = [result.meta.txid, result.meta.txid];
    txn.committed();
  }

  /** Writes the committed meta page (this.#meta, sealed) to both slots; best effort. */
  #rewriteCommittedMeta(): void {
    try {
      this.#pager.writeMetaPair(this.#meta, [-1, -1], this.#opts.sync === 'commit');
      if (this.#opts.sync === 'commit') this.#pager.sync();
    } catch {
      // The caller reports the original error.
    }
  }

  /**
   * The `tx` handed to a transaction callback. Its methods live on the
   * prototype (no closures per transaction), and it refuses to be used once
   * its transaction has ended: the transaction's memory is gone by then.
   */
  static readonly #TxView = class TxView implements DbmTransaction<unknown, DbmKey> {
    readonly #db: Dbm<unknown, DbmKey>;
    txn: Txn | null;

    constructor(db: Dbm<unknown, DbmKey>, txn: Txn | null) {
      this.#db = db;
      this.txn = txn;
    }

    #live(): Txn {
      if (this.#db.#lock.closed) throw new DbmClosedError(this.#db.path);
      if (this.txn === null)
        throw new DbmError(`wasm-session dbm: this transaction on ${this.#db.path} has ended; use tx only inside its callback`, this.#db.path);
      return this.txn;
    }
    get(key: DbmKey): unknown {
      return this.#db.#lookup(this.#live(), key, this.#db.#decode);
    }
    getRaw(key: DbmKey): Buffer | undefined {
      return this.#db.#lookup(this.#live(), key, Dbm.#copy);
    }
    has(key: DbmKey): boolean {
      const txn = this.#live();
      const len = this.#db.#stageKey(key);
      return txn.find(len, this.#db.#hashStaged(len)) !== null;
    }
    set(key: DbmKey, value: unknown): void {
      this.#db.#put(this.#live(), key, this.#db.#codec.encode(value));
    }
    setRaw(key: DbmKey, bytes: Uint8Array): void {
      this.#db.#put(this.#live(), key, bytes);
    }
    delete(key: DbmKey): boolean {
      return this.#db.#remove(this.#live(), key);
    }
    clear(): void {
      this.#live().clear();
    }
    keys(): DbmKey[] {
      return this.#db.#collect(this.#live(), this.#db.#keyOf);
    }
    entries(): [DbmKey, unknown][] {
      return this.#db.#collect(this.#live(), this.#db.#entryOf);
    }
    entriesRaw(): [DbmKey, Buffer][] {
      const out: [DbmKey, Buffer][] = [];
      this.#db.#collectRaw(this.#live(), (key, bytes) => out.push([key, bytes]));
      return out;
    }
    get size(): number {
      return this.#live().state.keyCount;
    }
    get times(): DbmTimes {
      const s = this.#live().state;
      return { created: s.created, accessed: s.accessed };
    }
    setTimes(times: Partial<DbmTimes>): void {
      this.#live().setTimes(times);
    }
  };

  /** Every record of `tree`, converted by `convert`, in hash order. */
  #collect<T>(tree: Tree, convert: RecordConverter<T>): T[] {
    const out: T[] = [];
    const visit = (rec: number, keyLen: number, flags: number, valueLen: number): void => {
      out.push(convert(tree, rec, keyLen, flags, valueLen));
    };
    for (let from = 0; from >= 0; ) from = tree.batch(from, visit);
    return out;
  }

  get #keyOf(): RecordConverter<K> {
    return (_tree, rec, keyLen) => this.#keyAt(rec, keyLen);
  }
  get #valueOf(): RecordConverter<V> {
    const decode = this.#decode;
    return (tree, rec, keyLen, flags, valueLen) => tree.valueOf(rec, keyLen, flags, valueLen, decode);
  }
  get #entryOf(): RecordConverter<[K, V]> {
    const decode = this.#decode;
    return (tree, rec, keyLen, flags, valueLen) => [this.#keyAt(rec, keyLen), tree.valueOf(rec, keyLen, flags, valueLen, decode)];
  }

  /**
   * Keys in hash order. Each step reads one bucket under a shared lock, so
   * the iteration may span commits by others: a key present throughout is
   * yielded exactly once; keys added or removed meanwhile may or may not be.
   */
  keys(): AsyncIterableIterator<K> {
    return this.#iterator(this.#keyOf);
  }

  /** [key, value] pairs in hash order, with the guarantees of keys(). */
  entries(): AsyncIterableIterator<[K, V]> {
    return this.#iterator(this.#entryOf);
  }

  values(): AsyncIterableIterator<V> {
    return this.#iterator(this.#valueOf);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[K, V]> {
    return this.entries();
  }

  /**
   * Reads one bucket at a time and hands out its entries from a buffer; an
   * async generator would cost several promise hops per entry.
   */
  #iterator<T>(convert: RecordConverter<T>): AsyncIterableIterator<T> {
    let from = 0;
    let buffered: T[] = [];
    let at = 0;
    const refill = async (): Promise<IteratorResult<T>> => {
      while (at >= buffered.length) {
        if (from < 0) return { value: undefined, done: true };
        await this.#ensureRead(true);
        buffered = [];
        at = 0;
        const tree = this.#snapshot;
        from = tree.batch(from, (rec, keyLen, flags, valueLen) => {
          buffered.push(convert(tree, rec, keyLen, flags, valueLen));
        });
      }
      // at < buffered.length: an element (which T itself may allow to be undefined).
      return { value: buffered[at++] as T, done: false };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => (at < buffered.length ? Promise.resolve({ value: buffered[at++] as T, done: false }) : refill()),
      return: (value?: unknown) => {
        from = -1;
        buffered = [];
        return Promise.resolve({ value: value as T, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Every entry, read under one lock into a Map: the fast way to load a small
   * database (a session) whole. For large files prefer entries().
   */
  getAll(): Promise<Map<K, V>> {
    return this.#read(() => {
      const map = new Map<K, V>();
      const tree = this.#snapshot;
      const decode = this.#decode;
      const visit = (rec: number, keyLen: number, flags: number, valueLen: number): void => {
        map.set(this.#keyAt(rec, keyLen), tree.valueOf(rec, keyLen, flags, valueLen, decode));
      };
      for (let from = 0; from >= 0; ) from = tree.batch(from, visit);
      return map;
    });
  }

  /** Every entry with its stored bytes (no decoding), read under one lock. */
  getAllRaw(): Promise<Map<K, Buffer>> {
    return this.#read(() => {
      const map = new Map<K, Buffer>();
      this.#collectRaw(this.#snapshot, (key, bytes) => map.set(key, bytes));
      return map;
    });
  }

  /**
   * Every record's key and stored bytes. Each bucket's records (the whole
   * inline record area) are copied into one Buffer in one go, and keys and
   * values are sliced from it: a Buffer of its own per value would give the
   * garbage collector a backing store per value to track.
   */
  #collectRaw(tree: Tree, emit: (key: K, bytes: Buffer) => void): void {
    const recs: number[] = [];
    let lo = Infinity;
    let hi = 0;
    const visit = (rec: number, keyLen: number, flags: number, valueLen: number): void => {
      recs.push(rec);
      if (rec < lo) lo = rec;
      const end = rec + recSize(keyLen, flags, valueLen);
      if (end > hi) hi = end;
    };
    const utf8Keys = this.#opts.keyEncoding === 'utf8';
    for (let from = 0; from >= 0; ) {
      recs.length = 0;
      lo = Infinity;
      hi = 0;
      from = tree.batch(from, visit);
      if (recs.length === 0) continue;
      // The bucket's page stays valid until the next batch() reads another.
      const block = w.copyOut(lo, hi - lo);
      for (const rec of recs) {
        const at = rec - lo + w.REC_HEADER;
        const keyLen = block.readUInt16LE(rec - lo + 4);
        const key = (utf8Keys ? w.keyString(recKey(rec), keyLen) : Buffer.from(block.subarray(at, at + keyLen))) as K;
        if ((block.readUInt8(rec - lo + 6) & REC_OVERFLOW) !== 0) {
          emit(key, tree.withValue(rec, Dbm.#copy));
        } else {
          emit(key, block.subarray(at + keyLen, at + keyLen + block.readUInt32LE(rec - lo + 8)));
        }
      }
    }
  }

  /**
   * Holds the exclusive lock until unlock(): other handles and processes
   * wait; operations on this handle commit as usual while it is held.
   */
  async lock(): Promise<void> {
    this.#checkOpen();
    if (this.readOnly) throw new DbmReadOnlyError(this.path);
    if (this.#lock.userLocked) return;
    this.#lock.hold();
    try {
      await this.#ensureWrite();
    } catch (err) {
      this.#lock.unhold();
      throw err;
    }
    this.#lock.holdForUser();
  }

  async unlock(): Promise<void> {
    this.#lock.unlockUser();
  }

  get locked(): boolean {
    return this.#lock.userLocked;
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
      codec: codecName(s.codec),
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
    if (this.#lock.closed) return;
    this.#lock.close();
    this.#dispose();
    this.#io.close(this.#fd);
  }

  #dispose(): void {
    this.#freeSets?.drop();
    this.#pager.close();
    if (this.#meta !== 0) givePageBuffer(this.#meta, metaBufferBytes(this.pageSize));
    if (this.#work !== 0) givePageBuffer(this.#work, metaBufferBytes(this.pageSize));
    this.#snapshot.metaPtr = 0;
    this.#work = 0;
  }

  get closed(): boolean {
    return this.#lock.closed;
  }
}
