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
import { H, M, META_MAGIC, MIN_PAGE_SIZE, MAX_PAGE_SIZE, VERIFY_REASON, PAGE_TYPE_NAME } from './format.js';

/** Largest positioned write (see writePages). */
const MAX_WRITE_BYTES = 65536;

/** Bytes read at open: the whole of a small file (a session) in one read. */
const OPEN_READ_BYTES = 65536;

export interface PageWrite {
  no: number;
  ptr: number;
}

interface CacheEntry {
  ptr: number;
  /** Second-chance bit: set on a hit, cleared by the eviction sweep. */
  hot: boolean;
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
  readonly #cache = new Map<number, CacheEntry>();
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
    const hit = this.#cache.get(no);
    if (hit !== undefined) {
      hit.hot = true;
      if (w.u8(hit.ptr + H.type) !== type) {
        throw this.corrupt(no, `expected a ${PAGE_TYPE_NAME[type]} page, found ${PAGE_TYPE_NAME[w.u8(hit.ptr + H.type)] ?? 'unknown type'}`);
      }
      return hit.ptr;
    }
    const ptr = this.#cache.size >= this.#capacity ? this.#evictOne() : this.slot();
    try {
      this.readInto(ptr, no, 1);
      const rc = w.pageVerify(ptr, this.pageSize, no, this.seedLo, this.seedHi, maxTxid, type);
      if (rc !== 0) throw this.corrupt(no, `${VERIFY_REASON[rc] ?? `verification failed (${rc})`} (expected ${PAGE_TYPE_NAME[type]})`);
    } catch (err) {
      this.#spare.push(ptr);
      throw err;
    }
    this.#cache.set(no, { ptr, hot: false });
    return ptr;
  }

  /** Reads `count` pages starting at `no` into memory at `ptr`; corrupt if the file is short. */
  readInto(ptr: number, no: number, count: number): void {
    const len = count * this.pageSize;
    const n = readFully(this.#io, this.#fd, w.view(ptr, len), 0, len, no * this.pageSize);
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

  #evictOne(): number {
    // Second chance: hot entries move to the back once, cold ones go.
    for (;;) {
      const first = this.#cache.entries().next();
      const [no, entry] = first.value as [number, CacheEntry];
      this.#cache.delete(no);
      if (!entry.hot) return entry.ptr;
      entry.hot = false;
      this.#cache.set(no, entry);
    }
  }

  /** Puts a page the caller owns into the cache (a page just committed). */
  adopt(no: number, ptr: number): void {
    const old = this.#cache.get(no);
    if (old !== undefined) this.#spare.push(old.ptr);
    this.#cache.set(no, { ptr, hot: false });
    while (this.#cache.size > this.#capacity) this.#spare.push(this.#evictOne());
  }

  /** Copies page `no` from a buffer of consecutive pages read at open into the cache. */
  prime(no: number, src: number): void {
    const ptr = this.slot();
    w.copyWithin(ptr, src, this.pageSize);
    this.adopt(no, ptr);
  }

  /** Forgets every cached page: another process committed, pages may have been reused. */
  invalidate(): void {
    for (const entry of this.#cache.values()) this.#spare.push(entry.ptr);
    this.#cache.clear();
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
   * disk before the second is touched.
   */
  writeMetaPair(ptr: number, slotTxids: [number, number], sync: boolean): void {
    const P = this.pageSize;
    const page = w.view(ptr, P);
    if (slotTxids[1] < slotTxids[0]) {
      writeFully(this.#io, this.#fd, [page], P);
      if (sync) this.#io.fdatasync(this.#fd);
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], 0);
    } else if (sync) {
      writeFully(this.#io, this.#fd, [page], 0);
      this.#io.fdatasync(this.#fd);
      writeFully(this.#io, this.#fd, [w.view(ptr, P)], P);
    } else {
      // Slot 0 then slot 1 in one call: a kill part-way leaves a prefix.
      writeFully(this.#io, this.#fd, [page, page], 0);
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

/** Room for a meta slot that lies beyond the first read (page sizes over 32 KiB). */
let farSlot = 0;

/**
 * Picks the meta page of a file whose first `len` bytes are at `buf`. The
 * page size comes from slot 0 when it is valid; otherwise slot 1 is looked
 * for at every possible page size. Returns the choice (`src` is the chosen
 * page's address, valid until the next call), or throws DbmCorruptError.
 * `readMore(position, length, dst)` reads slot 1 when it lies beyond `len`.
 */
export function chooseMeta(path: string, buf: number, len: number, readMore: (position: number, length: number, dst: number) => number): MetaRead {
  const valid = (ptr: number, pageSize: number): boolean => w.metaVerify(ptr, pageSize) === 0;

  let pageSize = -1;
  const slotTxids: [number, number] = [-1, -1];
  const shift0 = len >= 16 && w.u32(buf + M.magic) === META_MAGIC ? w.u8(buf + M.shift) : 0;
  if (shift0 >= 9 && shift0 <= 16 && len >= 1 << shift0 && valid(buf, 1 << shift0)) {
    pageSize = 1 << shift0;
    slotTxids[0] = w.u64(buf + M.txid);
  }
  let slot1 = -1;
  for (const P of pageSize > 0 ? [pageSize] : candidateSizes()) {
    if (len >= 2 * P) {
      // At rest both slots are identical: equal bytes need no second checksum.
      if ((slotTxids[0] >= 0 && w.sameBytes(buf, buf + P, P)) || valid(buf + P, P)) slot1 = buf + P;
    } else {
      if (farSlot === 0) farSlot = w.alloc(MAX_PAGE_SIZE);
      if (readMore(P, P, farSlot) === P && valid(farSlot, P)) slot1 = farSlot;
    }
    if (slot1 >= 0) {
      pageSize = P;
      slotTxids[1] = w.u64(slot1 + M.txid);
      break;
    }
  }
  if (pageSize < 0) {
    if (len === 0) return { slot: -1, slotTxids, pageSize: -1, src: 0 };
    throw new DbmCorruptError(path, 0, len < 16 ? 'file too short to be a dbm file' : 'no valid meta page (not a dbm file, or both meta slots damaged)');
  }
  const slot = slotTxids[1] > slotTxids[0] ? 1 : 0;
  return { slot, slotTxids, pageSize, src: slot === 0 ? buf : slot1 };
}

function candidateSizes(): number[] {
  const sizes: number[] = [];
  for (let P = MIN_PAGE_SIZE; P <= MAX_PAGE_SIZE; P *= 2) sizes.push(P);
  return sizes;
}

export { OPEN_READ_BYTES };
