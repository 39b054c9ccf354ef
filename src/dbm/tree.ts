// Reading the hash index: directory walk, bucket (and chain) search, values
// (inline or in overflow runs), and batched iteration in hash order. Shared
// by committed snapshots (Snapshot) and write transactions (Txn), which
// differ only in where pages come from.

import * as w from '../wasm.js';
import type { DbmCorruptError } from '../errors.js';
import type { Pager } from './pager.js';
import { H, MODE_INLINE, MAX_DEPTH, PAGE_TYPE, REC_OVERFLOW } from './format.js';
import { type MetaState, DirGeometry, dirIndex } from './meta.js';

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
    this.geometry = new DirGeometry(pageSize);
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
    if (s.levels === 0) return w.u32(this.mainBase + 4 * i);
    const E = this.geometry.perPage;
    let span = this.geometry.topSpan(s.levels);
    let no = w.u32(this.mainBase + 4 * Math.floor(i / span));
    for (let level = s.levels - 1; level >= 0; level--) {
      const ptr = this.page(no, PAGE_TYPE.dir);
      if (w.u8(ptr + H.aux) !== level) throw this.corrupt(no, `directory page at level ${w.u8(ptr + H.aux)}, expected ${level}`);
      span /= E;
      const slot = Math.floor(i / span) % E;
      if (slot >= w.u32(ptr + H.count)) throw this.corrupt(no, "directory entry beyond the page's entries");
      no = w.u32(ptr + w.PAGE_HEADER + 4 * slot);
    }
    return no;
  }

  /** The bucket page for a hash, checked against the directory's depth. */
  bucketOf(hash: number): { no: number; ptr: number; index: number } {
    const index = dirIndex(hash, this.state.depth);
    const no = this.dirGet(index);
    const ptr = this.page(no, PAGE_TYPE.bucket);
    if (w.u8(ptr + H.aux) > this.state.depth) throw this.corrupt(no, 'bucket deeper than the directory');
    return { no, ptr, index };
  }

  /** Next page of a bucket chain, validated; 0 at the end. */
  chainNext(ptr: number, no: number, steps: number): number {
    const next = w.u32(ptr + H.next);
    if (next === 0) return 0;
    if (w.u8(ptr + H.aux) !== MAX_DEPTH) throw this.corrupt(no, 'bucket chain below maximum depth');
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
      const base = ptr + w.PAGE_HEADER;
      const off = w.recFind(base, w.u32(ptr + H.used), hash, w.STAGE, keyLen);
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
    const keyLen = w.u16(rec + 4);
    const flags = w.u8(rec + 6);
    const valueLen = w.u32(rec + 8);
    const at = rec + w.REC_HEADER + keyLen;
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
        const n = w.u32(p + H.count);
        const expected = Math.min(this.payload, len - filled);
        if (n !== expected) throw this.corrupt(first + i, `overflow page holds ${n} bytes, expected ${expected}`);
        w.view(p + w.PAGE_HEADER, n).copy(out, filled);
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
   * `visit` gets the record's address, valid only during the call.
   */
  batch(from: number, visit: (rec: number, keyLen: number) => void): number {
    const s = this.state;
    if (s.mode === MODE_INLINE) {
      this.#visitArea(this.mainBase, s.mainUsed, s.mainCount, from, visit);
      return -1;
    }
    const index = dirIndex(from, s.depth);
    let no = this.dirGet(index);
    let ptr = this.page(no, PAGE_TYPE.bucket);
    const ld = w.u8(ptr + H.aux);
    if (ld > s.depth) throw this.corrupt(no, 'bucket deeper than the directory');
    const width = 2 ** (s.depth - ld);
    const end = (Math.floor(index / width) * width + width) * 2 ** (32 - s.depth);
    for (let steps = 0; ; steps++) {
      this.#visitArea(ptr + w.PAGE_HEADER, w.u32(ptr + H.used), w.u32(ptr + H.count), from, visit);
      const next = this.chainNext(ptr, no, steps);
      if (next === 0) break;
      no = next;
      ptr = this.page(no, PAGE_TYPE.bucket);
    }
    return end >= HASH_SPACE ? -1 : end;
  }

  #visitArea(base: number, used: number, count: number, from: number, visit: (rec: number, keyLen: number) => void): void {
    const index = recordIndex(count);
    const n = w.recIndex(base, used, index, count);
    for (let i = 0; i < n; i++) {
      const rec = base + w.u32(index + 16 * i);
      if (from > 0 && w.u32(rec) < from) continue;
      visit(rec, w.u32(index + 16 * i + 4));
    }
  }
}

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

/** A committed state, read through the pager's cache. */
export class Snapshot extends Tree {
  readonly #meta: number;
  readonly #fields: () => MetaState;

  constructor(pager: Pager, pageSize: number, meta: number, fields: () => MetaState) {
    super(pager, pageSize);
    this.#meta = meta;
    this.#fields = fields;
  }
  get metaPtr(): number {
    return this.#meta;
  }
  get state(): MetaState {
    return this.#fields();
  }
  page(no: number, type: number): number {
    const s = this.#fields();
    return this.pager.getPage(no, type, s.txid, s.pageCount);
  }
}
