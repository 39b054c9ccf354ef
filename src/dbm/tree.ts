// Reading the hash index: directory walk, bucket (and chain) search, values
// (inline or in overflow runs), and batched iteration in hash order. Shared
// by committed snapshots (Snapshot) and write transactions (Txn), which
// differ only in where pages come from.

import * as w from '../wasm.js';
import type { DbmCorruptError } from '../errors.js';
import type { Pager } from './pager.js';
import { MODE_INLINE, MAX_DEPTH, PAGE_TYPE, REC_OVERFLOW } from './format.js';
import { type MetaState, DirGeometry, dirIndex } from './meta.js';
import { pageAux, pageCount, pageNext, pageUsed, payloadOf, recHash, recKeyLen, recFlags, recValueLen, recValue, dirEntry } from './layout.js';

/** A record found by a lookup: its address (valid until the next page read). */
export interface RecordRef {
  /** Address of the record's header. */
  rec: number;
  /** Page holding it, or 0 for the meta page (inline mode). */
  pageNo: number;
}

const HASH_SPACE = 2 ** 32;

export abstract class Tree {
  readonly geometry: DirGeometry;
  readonly payload: number;

  constructor(
    readonly pager: Pager,
    readonly pageSize: number,
  ) {
    this.geometry = DirGeometry.of(pageSize);
    this.payload = pageSize - w.PAGE_HEADER;
  }

  /** The meta page the state lives in (committed copy or working copy). */
  abstract get metaPtr(): number;
  abstract get state(): MetaState;
  /** A verified page of this state; valid until the next page() call. */
  abstract page(no: number, type: number): number;

  corrupt(page: number, reason: string): DbmCorruptError {
    return this.pager.corrupt(page, reason);
  }

  get mainBase(): number {
    return this.metaPtr + w.META_HEADER;
  }

  /** Bucket page number of directory entry `i`. */
  dirGet(i: number): number {
    const s = this.state;
    if (s.levels === 0) return dirEntry(this.mainBase, i);
    const E = this.geometry.perPage;
    let span = this.geometry.topSpan(s.levels);
    let no = dirEntry(this.mainBase, Math.floor(i / span));
    for (let level = s.levels - 1; level >= 0; level--) {
      const ptr = this.page(no, PAGE_TYPE.dir);
      if (pageAux(ptr) !== level) throw this.corrupt(no, `directory page at level ${pageAux(ptr)}, expected ${level}`);
      span /= E;
      const slot = Math.floor(i / span) % E;
      if (slot >= pageCount(ptr)) throw this.corrupt(no, "directory entry beyond the page's entries");
      no = dirEntry(payloadOf(ptr), slot);
    }
    return no;
  }

  /**
   * The one walk of the whole directory: level by level from its top (in
   * the meta page) down to the bucket pointers, checking the shape FORMAT.md
   * gives a directory of this depth - levels and top count, each DIR page's
   * level and entry count. `onPage(no, level)` sees every DIR page before it
   * is read, top level first (false: the page is corrupt, e.g. referenced
   * twice). Returns the 2^depth bucket page numbers. Used by check() and by
   * directory doubling (which frees the old DIR pages).
   */
  readDirectory(onPage: (no: number, level: number) => boolean = () => true): Uint32Array {
    const s = this.state;
    const geometry = this.geometry;
    const shape = geometry.shape(s.depth);
    if (shape.levels !== s.levels || shape.top !== s.mainCount) {
      throw this.corrupt(
        0,
        `directory of depth ${s.depth} should have ${shape.levels} levels and ${shape.top} top entries, meta says ${s.levels} and ${s.mainCount}`,
      );
    }
    const total = 2 ** s.depth;
    const E = geometry.perPage;
    let current = new Uint32Array(s.mainCount);
    for (let i = 0; i < s.mainCount; i++) current[i] = dirEntry(this.mainBase, i);
    for (let level = s.levels - 1; level >= 0; level--) {
      // Entries this level's pages must hold in all.
      let expected = total;
      for (let k = 0; k < level; k++) expected = Math.ceil(expected / E);
      const next = new Uint32Array(expected);
      let filled = 0;
      for (const no of current) {
        if (!onPage(no, level)) throw this.corrupt(no, 'directory page referenced twice or out of range');
        const ptr = this.page(no, PAGE_TYPE.dir);
        if (pageAux(ptr) !== level) throw this.corrupt(no, `directory page at level ${pageAux(ptr)}, expected ${level}`);
        const count = pageCount(ptr);
        const want = Math.min(E, expected - filled);
        if (count !== want) throw this.corrupt(no, `directory page holds ${count} entries, expected ${want}`);
        for (let i = 0; i < count; i++) next[filled++] = dirEntry(payloadOf(ptr), i);
      }
      if (filled !== expected) throw this.corrupt(0, `directory level ${level} has ${filled} entries, expected ${expected}`);
      current = next;
    }
    return current;
  }

  /** The bucket page for a hash, checked against the directory's depth. */
  bucketOf(hash: number): { no: number; ptr: number; index: number } {
    const index = dirIndex(hash, this.state.depth);
    const no = this.dirGet(index);
    const ptr = this.page(no, PAGE_TYPE.bucket);
    if (pageAux(ptr) > this.state.depth) throw this.corrupt(no, 'bucket deeper than the directory');
    return { no, ptr, index };
  }

  /** Next page of a bucket chain, validated; 0 at the end. */
  chainNext(ptr: number, no: number, steps: number): number {
    const next = pageNext(ptr);
    if (next === 0) return 0;
    if (pageAux(ptr) !== MAX_DEPTH) throw this.corrupt(no, 'bucket chain below maximum depth');
    if (steps > this.state.pageCount) throw this.corrupt(no, 'bucket chain loops');
    return next;
  }

  /** Finds the key staged by w.stageKey (keyLen bytes, hash). */
  find(keyLen: number, hash: number): RecordRef | null {
    if (this.state.mode === MODE_INLINE) {
      const off = w.recFind(this.mainBase, this.state.mainUsed, hash, w.STAGE, keyLen);
      return off < 0 ? null : { rec: this.mainBase + off, pageNo: 0 };
    }
    let { no, ptr } = this.bucketOf(hash);
    for (let steps = 0; ; steps++) {
      const base = payloadOf(ptr);
      const off = w.recFind(base, pageUsed(ptr), hash, w.STAGE, keyLen);
      if (off >= 0) return { rec: base + off, pageNo: no };
      const next = this.chainNext(ptr, no, steps);
      if (next === 0) return null;
      no = next;
      ptr = this.page(no, PAGE_TYPE.bucket);
    }
  }

  /** Pages an overflow value of `len` bytes occupies. */
  overflowPages(len: number): number {
    return Math.ceil(len / this.payload);
  }

  /**
   * Calls `read(buffer, start, end)` on the value of a record: in place for
   * an inline value, on a copy assembled from its overflow run otherwise.
   * The reader must not keep `buffer`.
   */
  withValue<T>(rec: number, read: ValueReader<T>): T {
    return this.valueOf(rec, recKeyLen(rec), recFlags(rec), recValueLen(rec), read);
  }

  /** withValue() for a record whose header fields the caller has already read (batch() hands them out). */
  valueOf<T>(rec: number, keyLen: number, flags: number, valueLen: number, read: ValueReader<T>): T {
    const at = recValue(rec, keyLen);
    if ((flags & REC_OVERFLOW) === 0) return w.readWith(at, valueLen, read);
    const bytes = this.readOverflow(w.u32(at), valueLen);
    return read(bytes, 0, bytes.length);
  }

  readOverflow(first: number, len: number): Buffer {
    const count = this.overflowPages(len);
    const run = this.readRun(first, count, PAGE_TYPE.overflow);
    try {
      const out = Buffer.allocUnsafe(len);
      let filled = 0;
      for (let i = 0; i < count; i++) {
        const p = run + i * this.pageSize;
        const n = pageCount(p);
        const expected = Math.min(this.payload, len - filled);
        if (n !== expected) throw this.corrupt(first + i, `overflow page holds ${n} bytes, expected ${expected}`);
        w.view(payloadOf(p), n).copy(out, filled);
        filled += n;
      }
      return out;
    } finally {
      w.dealloc(run);
    }
  }

  /**
   * Reads a run of pages into new memory the caller deallocates (overridden
   * by Txn to see its own new pages). `protected` rather than `#`: a #
   * member cannot be overridden.
   */
  protected readRun(first: number, count: number, type: number): number {
    return this.pager.readRun(first, count, type, this.state.txid, this.state.pageCount);
  }

  /**
   * Visits the records of the bucket holding hash position `from` (inline
   * mode: all records) whose hash is >= `from`, and returns the hash
   * position to continue from (-1 when done). Iterating with the returned
   * position visits every bucket once in hash order, so a key present
   * throughout is seen exactly once even if the state changes between
   * calls (buckets only ever split, so old boundaries stay boundaries).
   * `visit` gets the record's address, valid only during the call, and its
   * header fields.
   */
  batch(from: number, visit: RecordVisitor): number {
    const s = this.state;
    if (s.mode === MODE_INLINE) {
      this.#visitArea(this.mainBase, s.mainUsed, s.mainCount, from, visit);
      return -1;
    }
    const index = dirIndex(from, s.depth);
    let no = this.dirGet(index);
    let ptr = this.page(no, PAGE_TYPE.bucket);
    const ld = pageAux(ptr);
    if (ld > s.depth) throw this.corrupt(no, 'bucket deeper than the directory');
    const width = 2 ** (s.depth - ld);
    const end = (Math.floor(index / width) * width + width) * 2 ** (32 - s.depth);
    for (let steps = 0; ; steps++) {
      this.#visitArea(payloadOf(ptr), pageUsed(ptr), pageCount(ptr), from, visit);
      const next = this.chainNext(ptr, no, steps);
      if (next === 0) break;
      no = next;
      ptr = this.page(no, PAGE_TYPE.bucket);
    }
    return end >= HASH_SPACE ? -1 : end;
  }

  #visitArea(base: number, used: number, count: number, from: number, visit: RecordVisitor): void {
    const index = recordIndex(count);
    const n = w.recIndex(base, used, index, count);
    // recIndex writes four u32 per record: offset, keyLen, flags, valueLen.
    for (let i = 0, e = index; i < n; i++, e += 16) {
      const rec = base + w.u32(e);
      if (from > 0 && recHash(rec) < from) continue;
      visit(rec, w.u32(e + 4), w.u32(e + 8), w.u32(e + 12));
    }
  }
}

/** A record handed out by batch(): its address (valid only during the call) and header fields. */
export type RecordVisitor = (rec: number, keyLen: number, flags: number, valueLen: number) => void;

/** Reads a value in place: buffer[start, end), not to be kept. */
export type ValueReader<T> = (buffer: Buffer, start: number, end: number) => T;

// Scratch for recIndex output, grown as needed. Every use is synchronous
// and completes before the next (visitors must not start another batch).
let indexScratch = 0;
let indexCapacity = 0;

function recordIndex(count: number): number {
  if (count > indexCapacity) {
    if (indexScratch) w.dealloc(indexScratch);
    indexCapacity = Math.max(count, 512);
    indexScratch = w.alloc(16 * indexCapacity);
  }
  return indexScratch;
}

/** A committed state, read through the pager's cache. The handle sets which one. */
export class Snapshot extends Tree {
  #meta = 0;
  #state: MetaState;

  constructor(pager: Pager, pageSize: number, state: MetaState) {
    super(pager, pageSize);
    this.#state = state;
  }
  get metaPtr(): number {
    return this.#meta;
  }
  set metaPtr(ptr: number) {
    this.#meta = ptr;
  }
  get state(): MetaState {
    return this.#state;
  }
  set state(state: MetaState) {
    this.#state = state;
  }
  page(no: number, type: number): number {
    const s = this.#state;
    return this.pager.getPage(no, type, s.txid, s.pageCount);
  }
}
