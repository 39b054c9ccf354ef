// The pager: reads pages from the file into wasm memory, verifies them once
// (checksum, number, type, txid) before anything uses them, keeps a bounded
// cache, and writes a commit's pages and the meta pair.
//
// A pointer returned by getPage() is valid until the next getPage() call
// (the cache may reuse the slot). Pages being written by a transaction are
// not in the cache; they live in slots the transaction owns.

import * as w from '../wasm.js';
import { DbmCorruptError } from '../errors.js';
import { type FileIO, readFully, writeFully } from './io.js';
import { M, META_MAGIC, MIN_PAGE_SIZE, MAX_PAGE_SIZE, VERIFY_REASON, PAGE_TYPE_NAME } from './format.js';
import { pageType } from './layout.js';

/** Largest positioned write (see writePages). */
const MAX_WRITE_BYTES = 65536;

/** Bytes read at open: the whole of a small file (a session) in one read. */
const OPEN_READ_BYTES = 65536;

export interface PageWrite {
  no: number;
  ptr: number;
}

/**
 * The page cache's index: page number -> address of the cached copy, by
 * open addressing with linear probing in typed arrays (a Map's hashing and
 * entry objects cost more than the rest of a cached page lookup), with a
 * second-chance bit per entry and a clock hand for eviction. Page numbers
 * are >= 2, so 0 marks an empty slot. Grows as it fills (a small file's
 * table stays tiny).
 */
export class PageTable {
  #keys = new Uint32Array(16);
  #ptrs = new Uint32Array(16);
  /** Second-chance bits: set on a hit, cleared by the eviction sweep. */
  #hot = new Uint8Array(16);
  #shift = 28;
  #hand = 0;
  size = 0;

  #home(no: number): number {
    return Math.imul(no, 0x9e3779b1) >>> this.#shift;
  }

  /** Address cached for page `no` (marked as used), or 0. */
  get(no: number): number {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = this.#home(no); ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === no) {
        this.#hot[i] = 1;
        return this.#ptrs[i]!;
      }
      if (k === 0) return 0;
    }
  }

  /** Caches `ptr` for page `no` (not marked as used); returns the address it replaced, or 0. */
  set(no: number, ptr: number): number {
    if (2 * (this.size + 1) > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = this.#home(no); ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === no || k === 0) {
        const old = k === no ? this.#ptrs[i]! : 0;
        if (k === 0) this.size++;
        keys[i] = no;
        this.#ptrs[i] = ptr;
        this.#hot[i] = 0;
        return old;
      }
    }
  }

  /** Removes a page that was not used since the sweep last passed it; returns its address. Not empty. */
  evict(): number {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = this.#hand; ; i = (i + 1) & mask) {
      if (keys[i] === 0) continue;
      if (this.#hot[i] === 1) {
        this.#hot[i] = 0;
        continue;
      }
      const ptr = this.#ptrs[i]!;
      this.#removeAt(i);
      this.#hand = i;
      return ptr;
    }
  }

  /** Calls `fn` with every cached address, then empties the table. */
  drain(fn: (ptr: number) => void): void {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) fn(this.#ptrs[i]!);
    keys.fill(0);
    this.size = 0;
  }

  /** Empties slot i, moving later entries of its probe run back so none becomes unreachable. */
  #removeAt(i: number): void {
    const keys = this.#keys;
    const ptrs = this.#ptrs;
    const hot = this.#hot;
    const mask = keys.length - 1;
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = this.#home(keys[j]!);
      // Entry j may fill the hole if its home is not in (hole, j] (cyclically).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j]!;
        ptrs[hole] = ptrs[j]!;
        hot[hole] = hot[j]!;
        hole = j;
      }
    }
    keys[hole] = 0;
    this.size--;
  }

  #grow(): void {
    const keys = this.#keys;
    const ptrs = this.#ptrs;
    const hot = this.#hot;
    const n = keys.length * 2;
    this.#keys = new Uint32Array(n);
    this.#ptrs = new Uint32Array(n);
    this.#hot = new Uint8Array(n);
    this.#shift--;
    this.#hand = 0;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      this.set(keys[i]!, ptrs[i]!);
      if (hot[i] === 1) this.get(keys[i]!);
    }
  }
}

/** The result of reading the two meta slots. */
export interface MetaRead {
  /** Slot holding the chosen meta (0 or 1), or -1 for an empty file. */
  slot: number;
  /** txid in each slot, or -1 where the slot is not valid. */
  slotTxids: [number, number];
  pageSize: number;
  /** Address of the chosen meta page (0 for an empty file); valid until the next chooseMeta(). */
  src: number;
}

export class Pager {
  /** Created on first use: a small file in inline mode never caches a page. */
  #cache: PageTable | null = null;
  readonly #spare: number[] = [];
  readonly #capacity: number;
  seedLo = 0;
  seedHi = 0;

  readonly #io: FileIO;
  readonly #fd: number;

  constructor(
    io: FileIO,
    fd: number,
    readonly path: string,
    readonly pageSize: number,
    cacheBytes: number,
  ) {
    this.#io = io;
    this.#fd = fd;
    this.#capacity = Math.max(8, Math.floor(cacheBytes / pageSize));
  }

  corrupt(page: number, reason: string): DbmCorruptError {
    return new DbmCorruptError(this.path, page, reason);
  }

  get #table(): PageTable {
    this.#cache ??= new PageTable();
    return this.#cache;
  }

  /** A slot for one page: a spare one, or newly allocated. */
  slot(): number {
    return this.#spare.pop() ?? w.alloc(this.pageSize);
  }

  releaseSlot(ptr: number): void {
    this.#spare.push(ptr);
  }

  /**
   * The verified page `no` of `type` for a state with `maxTxid` and
   * `pageCount`; reads it on a cache miss. Throws DbmCorruptError for a
   * pointer out of range, a short read, or a page that fails verification.
   */
  getPage(no: number, type: number, maxTxid: number, pageCount: number): number {
    if (!(no >= 2 && no < pageCount)) throw this.corrupt(no, `pointer to page ${no} is outside the file's ${pageCount} pages`);
    const table = this.#table;
    const hit = table.get(no);
    if (hit !== 0) {
      if (pageType(hit) !== type) {
        throw this.corrupt(no, `expected a ${PAGE_TYPE_NAME[type]} page, found ${PAGE_TYPE_NAME[pageType(hit)] ?? 'unknown type'}`);
      }
      return hit;
    }
    const ptr = table.size >= this.#capacity ? table.evict() : this.slot();
    try {
      this.readInto(ptr, no, 1);
      const rc = w.pageVerify(ptr, this.pageSize, no, this.seedLo, this.seedHi, maxTxid, type);
      if (rc !== 0) throw this.corrupt(no, `${VERIFY_REASON[rc] ?? `verification failed (${rc})`} (expected ${PAGE_TYPE_NAME[type]})`);
    } catch (err) {
      this.#spare.push(ptr);
      throw err;
    }
    table.set(no, ptr);
    return ptr;
  }

  /** Reads `count` pages starting at `no` into memory at `ptr`; corrupt if the file is short. */
  readInto(ptr: number, no: number, count: number): void {
    const len = count * this.pageSize;
    const n = readFully(this.#io, this.#fd, w.memoryBuffer(), ptr, len, no * this.pageSize);
    if (n < len) {
      throw this.corrupt(no + Math.floor(n / this.pageSize), 'page is past the end of the file (truncated?)');
    }
  }

  /**
   * Reads a run of `count` pages of `type` starting at `first` (overflow
   * values, spilled free lists) into a fresh allocation, verifies each, and
   * returns its address; the caller deallocates it. Not cached.
   */
  readRun(first: number, count: number, type: number, maxTxid: number, pageCount: number): number {
    if (!(first >= 2 && count >= 1 && first + count <= pageCount)) {
      throw this.corrupt(first, `run of ${count} pages at ${first} is outside the file's ${pageCount} pages`);
    }
    const ptr = w.alloc(count * this.pageSize);
    try {
      this.readInto(ptr, first, count);
      for (let i = 0; i < count; i++) {
        const rc = w.pageVerify(ptr + i * this.pageSize, this.pageSize, first + i, this.seedLo, this.seedHi, maxTxid, type);
        if (rc !== 0) throw this.corrupt(first + i, `${VERIFY_REASON[rc] ?? `verification failed (${rc})`} (expected ${PAGE_TYPE_NAME[type]})`);
      }
    } catch (err) {
      w.dealloc(ptr);
      throw err;
    }
    return ptr;
  }

  /** Puts a page the caller owns into the cache (a page just committed). */
  adopt(no: number, ptr: number): void {
    const table = this.#table;
    const old = table.set(no, ptr);
    if (old !== 0) this.#spare.push(old);
    while (table.size > this.#capacity) this.#spare.push(table.evict());
  }

  /** Copies page `no` from a buffer of consecutive pages read at open into the cache. */
  prime(no: number, src: number): void {
    const ptr = this.slot();
    w.copyWithin(ptr, src, this.pageSize);
    this.adopt(no, ptr);
  }

  /** Forgets every cached page: another process committed, pages may have been reused. */
  invalidate(): void {
    this.#cache?.drain((ptr) => this.#spare.push(ptr));
  }

  /**
   * Writes pages in ascending order, one positioned write per run of
   * consecutive page numbers, at most MAX_WRITE_BYTES each: Linux caches a
   * file written in large chunks in large folios, and then every later
   * 4 KiB overwrite of a page in one (a commit) costs about twice as much
   * (measured on ext4, kernel 6.18: 3.1 us for files built with <= 64 KiB
   * writes, 5.1 us with 1 MiB writes).
   */
  writePages(pages: PageWrite[]): void {
    if (pages.length === 0) return;
    pages.sort((a, b) => a.no - b.no);
    const maxRun = Math.max(1, Math.floor(MAX_WRITE_BYTES / this.pageSize));
    let views: Uint8Array[] = [];
    let start = 0;
    let last = -1;
    for (const page of pages) {
      if (views.length > 0 && (page.no !== last + 1 || views.length >= maxRun)) {
        writeFully(this.#io, this.#fd, views, start * this.pageSize);
        views = [];
      }
      if (views.length === 0) start = page.no;
      views.push(w.view(page.ptr, this.pageSize));
      last = page.no;
    }
    writeFully(this.#io, this.#fd, views, start * this.pageSize);
  }

  /**
   * Writes the sealed meta page at `ptr` to both slots, the slot with the
   * older txid first, so a crash at any point leaves one valid slot with
   * either the previous or the new state. With `sync`, the first slot is on
   * disk before the second is touched. `ptr` has room for two pages (see
   * metaBufferBytes): without sync, the page is copied after itself and the
   * pair goes out in one write of one buffer.
   */
  writeMetaPair(ptr: number, slotTxids: [number, number], sync: boolean): void {
    const P = this.pageSize;
    if (slotTxids[1] < slotTxids[0]) {
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], P);
      if (sync) this.#io.fdatasync(this.#fd);
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], 0);
    } else if (sync) {
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], 0);
      this.#io.fdatasync(this.#fd);
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], P);
    } else {
      // Slot 0 then slot 1 in one call: a kill part-way leaves a prefix.
      w.copyWithin(ptr + P, ptr, P);
      writeFully(this.#io, this.#fd, [w.view(ptr, 2 * P)], 0);
    }
  }

  /** Makes the file at least `pages` pages long (new pages read as zeros). */
  extendTo(pages: number): void {
    const bytes = pages * this.pageSize;
    if (this.#io.size(this.#fd) < bytes) this.#io.ftruncate(this.#fd, bytes);
  }

  sync(): void {
    this.#io.fdatasync(this.#fd);
  }

  close(): void {
    this.invalidate();
    for (const ptr of this.#spare) w.dealloc(ptr);
    this.#spare.length = 0;
  }
}

/**
 * Page-sized buffers of closed handles, kept for the next ones: a session
 * cycle opens a handle, uses one or two meta-page buffers, and closes it.
 */
const pagePool = new Map<number, number[]>();
const POOL_PER_SIZE = 64;

/** Bytes of a buffer for a meta page: the page, and room for its copy (writeMetaPair). */
export function metaBufferBytes(pageSize: number): number {
  return 2 * pageSize;
}

/** A buffer of `size` bytes from the pool, or newly allocated (contents undefined). */
export function takePageBuffer(size: number): number {
  return pagePool.get(size)?.pop() ?? w.alloc(size);
}

/** Gives a buffer from takePageBuffer() back. */
export function givePageBuffer(ptr: number, size: number): void {
  let pool = pagePool.get(size);
  if (pool === undefined) {
    pool = [];
    pagePool.set(size, pool);
  }
  if (pool.length < POOL_PER_SIZE) pool.push(ptr);
  else w.dealloc(ptr);
}

/** Room for a meta slot that lies beyond the first read (page sizes over 32 KiB). */
let farSlot = 0;

/**
 * Picks the meta page of a file whose first `len` bytes are at `buf`. The
 * page size comes from slot 0 when it is valid; otherwise slot 1 is looked
 * for at every possible page size. Returns the choice (`src` is the chosen
 * page's address, valid until the next call), or throws DbmCorruptError.
 * Slot 1 is read from `fd` when it lies beyond `len` (page sizes over 32 KiB).
 */
export function chooseMeta(path: string, buf: number, len: number, io: FileIO, fd: number): MetaRead {
  const slotTxids: [number, number] = [-1, -1];
  const shift0 = len >= 16 && w.u32(buf + M.magic) === META_MAGIC ? w.u8(buf + M.shift) : 0;
  if (shift0 >= 9 && shift0 <= 16 && len >= 1 << shift0 && w.metaVerify(buf, 1 << shift0) === 0) {
    const P = 1 << shift0;
    slotTxids[0] = w.u64(buf + M.txid);
    // At rest both slots are identical: equal bytes need no second checksum.
    const slot1 = findSlot1(buf, len, P, io, fd, true);
    if (slot1 >= 0) slotTxids[1] = w.u64(slot1 + M.txid);
    const slot = slotTxids[1] > slotTxids[0] ? 1 : 0;
    return { slot, slotTxids, pageSize: P, src: slot === 0 ? buf : slot1 };
  }
  for (let P = MIN_PAGE_SIZE; P <= MAX_PAGE_SIZE; P *= 2) {
    const slot1 = findSlot1(buf, len, P, io, fd, false);
    if (slot1 >= 0) {
      slotTxids[1] = w.u64(slot1 + M.txid);
      return { slot: 1, slotTxids, pageSize: P, src: slot1 };
    }
  }
  if (len === 0) return { slot: -1, slotTxids, pageSize: -1, src: 0 };
  throw new DbmCorruptError(path, 0, len < 16 ? 'file too short to be a dbm file' : 'no valid meta page (not a dbm file, or both meta slots damaged)');
}

/** Address of a valid slot 1 for page size P (from the first read, or read now), or -1. */
function findSlot1(buf: number, len: number, P: number, io: FileIO, fd: number, slot0Valid: boolean): number {
  if (len >= 2 * P) {
    return (slot0Valid && w.sameBytes(buf, buf + P, P)) || w.metaVerify(buf + P, P) === 0 ? buf + P : -1;
  }
  if (farSlot === 0) farSlot = w.alloc(MAX_PAGE_SIZE);
  return readFully(io, fd, w.memoryBuffer(), farSlot, P, P) === P && w.metaVerify(farSlot, P) === 0 ? farSlot : -1;
}

export { OPEN_READ_BYTES };
