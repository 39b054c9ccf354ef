// A write transaction. It never modifies a page of the committed state: the
// first change to a page copies it to a page that the committed state does
// not use (from the free set, or past the end of the file), and the parent
// pointers up to the working meta page follow. Commit writes those pages,
// then the meta pair (pager.writeMetaPair); a crash before the meta leaves
// the old state intact, since nothing it references was touched.
//
// Pages freed by this transaction that the committed state still uses go to
// `pending` and only join the free set at commit: they cannot be reused
// until the new meta is on disk. Pages this transaction allocated and then
// freed again are reusable at once.

import * as w from '../wasm.js';
import type { Pager, PageWrite } from './pager.js';
import { Tree } from './tree.js';
import { MODE_INLINE, MODE_HASHED, MAX_DEPTH, PAGE_TYPE, REC_OVERFLOW } from './format.js';
import { type MetaState, writeMetaFields, dirIndex } from './meta.js';
import { type FreeSetCache, type FreePages, PageAllocator } from './freeset.js';
import {
  pageType,
  pageAux,
  pageCount,
  pageUsed,
  setPageCount,
  setPageNext,
  setPageUsed,
  payloadOf,
  recKeyLen,
  recValueLen,
  recIsOverflow,
  recOverflowPage,
  dirEntry,
  setDirEntry,
} from './layout.js';

export interface CommitResult {
  meta: MetaState;
  /** Sealed new meta page: the work buffer the transaction was given. */
  metaPtr: number;
  pages: PageWrite[];
  /**
   * The new state's free pages and spilled-list pages, for the handle's
   * FreeSetCache once the commit is on disk (the caller owns `pages`); null
   * when the free pages did not change.
   */
  free: { pages: FreePages; spillPages: number[] } | null;
}

/** The dirty-page map of a transaction that wrote no page: shared, and never written to. */
const NO_PAGES: Map<number, number> = new Map();

export class Txn extends Tree {
  readonly txid: number;
  readonly #work: number;
  readonly #s: MetaState;
  /** Pages this transaction wrote, by number: its own slots. Empty until the first (an inline file's commit writes none). */
  #dirty: Map<number, number> = NO_PAGES;
  /**
   * Created by the first page taken or freed (#allocator): a change to the
   * records of an inline file takes none, and then neither decodes nor
   * re-encodes the free list.
   */
  #alloc: PageAllocator | null = null;
  readonly #freeSets: FreeSetCache;
  readonly #baseMetaPtr: number;
  /** Pages of the committed state's spilled free list (none when it is inline). */
  #spillPages = 0;
  #changed = false;
  #cleared = false;
  #done = false;
  readonly #base: MetaState;

  /** `work`: a buffer of the caller's (two pages: see metaBufferBytes) for the working meta page. */
  constructor(pager: Pager, pageSize: number, base: MetaState, baseMetaPtr: number, freeSets: FreeSetCache, work: number) {
    super(pager, pageSize);
    this.#base = base;
    this.txid = base.txid + 1;
    this.#s = base.copy();
    this.#work = work;
    w.copyWithin(this.#work, baseMetaPtr, pageSize);
    this.#freeSets = freeSets;
    this.#baseMetaPtr = baseMetaPtr;
  }

  /** The dirty-page map, created by the first page written. */
  #dirtyPages(): Map<number, number> {
    if (this.#dirty === NO_PAGES) this.#dirty = new Map();
    return this.#dirty;
  }

  /** The page allocator, made (and the committed state's free set checked out) on first use. */
  get #allocator(): PageAllocator {
    if (this.#alloc !== null) return this.#alloc;
    const base = this.#base;
    const alloc = new PageAllocator(this.#freeSets.checkout(this.pager, this.#baseMetaPtr, base), this.#s);
    // A spilled free list belongs to the old state only.
    const spill = this.#freeSets.spillPagesOf(base);
    for (const no of spill) alloc.releaseCommitted(no);
    this.#spillPages = spill.length;
    this.#alloc = alloc;
    return alloc;
  }

  get metaPtr(): number {
    return this.#work;
  }
  get state(): MetaState {
    return this.#s;
  }
  get hasChanges(): boolean {
    return this.#changed;
  }

  page(no: number, type: number): number {
    const ptr = this.#dirty.get(no);
    if (ptr !== undefined) {
      if (pageType(ptr) !== type) throw this.corrupt(no, 'page type changed within a transaction');
      return ptr;
    }
    return this.pager.getPage(no, type, this.#base.txid, this.#base.pageCount);
  }

  protected override readRun(first: number, count: number, type: number): number {
    if (!this.#dirty.has(first)) return this.pager.readRun(first, count, type, this.#base.txid, this.#base.pageCount);
    // A run written by this transaction: assemble it from its dirty pages.
    const ptr = w.alloc(count * this.pageSize);
    for (let i = 0; i < count; i++) {
      const src = this.#dirty.get(first + i);
      if (src === undefined) throw this.corrupt(first + i, 'overflow run partly missing within a transaction');
      w.copyWithin(ptr + i * this.pageSize, src, this.pageSize);
    }
    return ptr;
  }

  // ---- pages ------------------------------------------------------------------

  /** A new zeroed page of `type` in a slot this transaction owns. */
  #newPage(type: number, aux: number, no = this.#allocator.alloc()): { no: number; ptr: number } {
    const ptr = this.pager.slot();
    w.pageInit(ptr, this.pageSize, type, aux, no, this.txid);
    this.#dirtyPages().set(no, ptr);
    return { no, ptr };
  }

  /** The state no longer uses page `no`. */
  #freePage(no: number): void {
    const ptr = this.#dirty.get(no);
    if (ptr !== undefined) {
      // Allocated by this transaction: nothing committed uses it.
      this.#dirty.delete(no);
      this.pager.releaseSlot(ptr);
      if (!this.#allocator.releaseOwn(no)) throw this.corrupt(no, 'page freed twice');
      return;
    }
    if (!this.#allocator.releaseCommitted(no)) throw this.corrupt(no, 'page freed twice');
  }

  /** A writable copy of page `no`: itself if new in this transaction. */
  #writable(no: number, type: number): { no: number; ptr: number; moved: boolean } {
    const own = this.#dirty.get(no);
    if (own !== undefined) return { no, ptr: own, moved: false };
    const src = this.page(no, type);
    const copyNo = this.#allocator.alloc();
    const ptr = this.pager.slot();
    w.copyWithin(ptr, src, this.pageSize);
    w.pageRestamp(ptr, copyNo, this.txid);
    this.#dirtyPages().set(copyNo, ptr);
    this.#freePage(no);
    return { no: copyNo, ptr, moved: true };
  }

  // ---- directory ------------------------------------------------------------

  /** Entry base of the writable DIR page at `level`, index `idx` within that level. */
  #writableDirEntries(level: number, idx: number): number {
    const E = this.geometry.perPage;
    const top = level === this.#s.levels - 1;
    const parent = top ? this.mainBase : this.#writableDirEntries(level + 1, Math.floor(idx / E));
    const slot = top ? idx : idx % E;
    const no = dirEntry(parent, slot);
    const page = this.#writable(no, PAGE_TYPE.dir);
    if (pageAux(page.ptr) !== level) throw this.corrupt(no, `directory page at level ${pageAux(page.ptr)}, expected ${level}`);
    if (page.moved) setDirEntry(parent, slot, page.no);
    return payloadOf(page.ptr);
  }

  /** Points directory entries [from, from + n) at bucket `value`. */
  #dirSetRange(from: number, n: number, value: number): void {
    if (this.#s.levels === 0) {
      w.dirFill(this.mainBase, from, n, value);
      return;
    }
    const E = this.geometry.perPage;
    const last = from + n - 1;
    for (let leaf = Math.floor(from / E); leaf <= Math.floor(last / E); leaf++) {
      const entries = this.#writableDirEntries(0, leaf);
      const lo = Math.max(from, leaf * E) - leaf * E;
      const hi = Math.min(last + 1, (leaf + 1) * E) - leaf * E;
      w.dirFill(entries, lo, hi - lo, value);
    }
  }

  /** Page numbers of every DIR page of the current directory, top level first. */
  #dirPages(): number[] {
    const pages: number[] = [];
    this.readDirectory((no) => {
      pages.push(no);
      return true;
    });
    return pages;
  }

  /** Doubles the directory: entry i becomes entries 2i and 2i+1. */
  #doubleDirectory(): void {
    const s = this.#s;
    const newDepth = s.depth + 1;
    const shape = this.geometry.shape(newDepth);
    const oldCount = 2 ** s.depth;
    if (s.levels === 0 && shape.levels === 0) {
      const tmp = w.alloc(8 * oldCount);
      w.dirDoubleInto(this.mainBase, oldCount, tmp);
      w.copyWithin(this.mainBase, tmp, 8 * oldCount);
      w.dealloc(tmp);
      s.depth = newDepth;
      s.mainCount = 2 * oldCount;
      s.mainUsed = 4 * s.mainCount;
      return;
    }
    const E = this.geometry.perPage;
    const half = E / 2;
    const newCount = 2 * oldCount;
    const oldDirPages = s.levels === 0 ? [] : this.#dirPages();
    const oldLeaves = s.levels === 0 ? [] : oldDirPages.slice(oldDirPages.length - Math.ceil(oldCount / E));
    let level: number[] = [];
    for (let j = 0; j * E < newCount; j++) {
      const count = Math.min(E, newCount - j * E);
      const leaf = this.#newPage(PAGE_TYPE.dir, 0);
      let src: number;
      if (s.levels === 0) {
        src = this.mainBase + 4 * (j * half);
      } else {
        // j / 2 < oldLeaves.length: each old leaf doubles into two new ones.
        src = payloadOf(this.page(oldLeaves[Math.floor(j / 2)]!, PAGE_TYPE.dir)) + 4 * ((j % 2) * half);
      }
      w.dirDoubleInto(src, count / 2, payloadOf(leaf.ptr));
      setPageCount(leaf.ptr, count);
      setPageUsed(leaf.ptr, 4 * count);
      level.push(leaf.no);
    }
    for (let lv = 1; lv <= shape.levels - 1; lv++) level = this.#buildDirLevel(level, lv);
    for (const no of oldDirPages) this.#freePage(no);
    w.zero(this.mainBase, this.pageSize - w.META_HEADER);
    for (let i = 0; i < level.length; i++) setDirEntry(this.mainBase, i, level[i]!);
    s.depth = newDepth;
    s.levels = shape.levels;
    s.mainCount = level.length;
    s.mainUsed = 4 * level.length;
  }

  #buildDirLevel(children: number[], lv: number): number[] {
    const E = this.geometry.perPage;
    const parents: number[] = [];
    for (let k = 0; k < children.length; k += E) {
      const chunk = children.slice(k, k + E);
      const page = this.#newPage(PAGE_TYPE.dir, lv);
      for (let i = 0; i < chunk.length; i++) setDirEntry(payloadOf(page.ptr), i, chunk[i]!);
      setPageCount(page.ptr, chunk.length);
      setPageUsed(page.ptr, 4 * chunk.length);
      parents.push(page.no);
    }
    return parents;
  }

  // ---- buckets ----------------------------------------------------------------

  /** Writable head page of the bucket for directory entry `index`. */
  #writableBucket(index: number): { no: number; ptr: number } {
    const no = this.dirGet(index);
    const page = this.#writable(no, PAGE_TYPE.bucket);
    if (page.moved) {
      const ld = pageAux(page.ptr);
      if (ld > this.#s.depth) throw this.corrupt(no, 'bucket deeper than the directory');
      const width = 2 ** (this.#s.depth - ld);
      this.#dirSetRange(Math.floor(index / width) * width, width, page.no);
    }
    return page;
  }

  /** Writable pages of a bucket chain (only buckets at maximum depth chain). */
  #writableChain(index: number): { no: number; ptr: number }[] {
    const head = this.#writableBucket(index);
    const chain = [head];
    let prev = head;
    for (let steps = 0; ; steps++) {
      const next = this.chainNext(prev.ptr, prev.no, steps);
      if (next === 0) return chain;
      const page = this.#writable(next, PAGE_TYPE.bucket);
      if (page.moved) setPageNext(prev.ptr, page.no);
      chain.push(page);
      prev = page;
    }
  }

  /** Splits the bucket of directory entry `index` in two by the next hash bit. */
  #split(index: number): void {
    const s = this.#s;
    const old = this.#writableBucket(index);
    const ld = pageAux(old.ptr);
    const width = 2 ** (s.depth - ld);
    const start = Math.floor(index / width) * width;
    const a = this.#newPage(PAGE_TYPE.bucket, ld + 1);
    const b = this.#newPage(PAGE_TYPE.bucket, ld + 1);
    const [used0, count0, used1, count1] = w.recSplit(payloadOf(old.ptr), pageUsed(old.ptr), ld, payloadOf(a.ptr), payloadOf(b.ptr));
    setPageCount(a.ptr, count0);
    setPageUsed(a.ptr, used0);
    setPageCount(b.ptr, count1);
    setPageUsed(b.ptr, used1);
    this.#dirSetRange(start, width / 2, a.no);
    this.#dirSetRange(start + width / 2, width / 2, b.no);
    this.#freePage(old.no);
  }

  // ---- records ----------------------------------------------------------------

  #releaseOverflow(rec: number): void {
    if (!recIsOverflow(rec)) return;
    const first = recOverflowPage(rec, recKeyLen(rec));
    const count = this.overflowPages(recValueLen(rec));
    if (first < 2 || first + count > this.#s.pageCount) throw this.corrupt(first, 'overflow run outside the file');
    for (let i = 0; i < count; i++) this.#freePage(first + i);
  }

  /** Writes `value` to a new run of overflow pages; returns its first page. */
  #writeOverflow(value: Uint8Array): number {
    const count = this.overflowPages(value.byteLength);
    const first = this.#allocator.allocRun(count);
    for (let i = 0; i < count; i++) {
      const page = this.#newPage(PAGE_TYPE.overflow, 0, first + i);
      const chunk = value.subarray(i * this.payload, Math.min(value.byteLength, (i + 1) * this.payload));
      w.copyIn(payloadOf(page.ptr), chunk);
      setPageCount(page.ptr, chunk.byteLength);
      setPageUsed(page.ptr, chunk.byteLength);
    }
    return first;
  }

  /**
   * Removes the staged key (keyLen bytes, hash) if present; true if it was.
   * The key stays staged.
   */
  remove(keyLen: number, hash: number): boolean {
    // Look first: a key that is not there must not copy its bucket.
    if (this.#s.mode !== MODE_INLINE && this.find(keyLen, hash) === null) return false;
    return this.#removeStaged(keyLen, hash);
  }

  /**
   * remove() without looking first: in a hashed file it makes the key's
   * bucket writable even when the key is not there (put() writes to it
   * anyway, so one search of the bucket serves both).
   */
  #removeStaged(keyLen: number, hash: number): boolean {
    const s = this.#s;
    if (s.mode === MODE_INLINE) {
      const off = w.recFind(this.mainBase, s.mainUsed, hash, w.STAGE, keyLen);
      if (off < 0) return false;
      this.#releaseOverflow(this.mainBase + off);
      s.mainUsed = w.recRemove(this.mainBase, s.mainUsed, off);
      s.mainCount--;
    } else {
      let found = false;
      for (const page of this.#writableChain(dirIndex(hash, s.depth))) {
        const base = payloadOf(page.ptr);
        const off = w.recFind(base, pageUsed(page.ptr), hash, w.STAGE, keyLen);
        if (off < 0) continue;
        this.#releaseOverflow(base + off);
        setPageUsed(page.ptr, w.recRemove(base, pageUsed(page.ptr), off));
        setPageCount(page.ptr, pageCount(page.ptr) - 1);
        found = true;
        break;
      }
      if (!found) return false;
    }
    s.keyCount--;
    this.#changed = true;
    return true;
  }

  /** Stores `value` under the staged key (keyLen bytes, hash), replacing any old value. */
  put(keyLen: number, hash: number, value: Uint8Array): void {
    this.#removeStaged(keyLen, hash);
    const maxInline = this.geometry.maxInlineRecord;
    let flags = 0;
    let ovf = 0;
    let valuePtr = 0;
    if (w.REC_HEADER + keyLen + value.byteLength > maxInline) {
      flags = REC_OVERFLOW;
      ovf = this.#writeOverflow(value);
    } else {
      valuePtr = w.stageValueAfterKey(keyLen, value);
    }
    this.#insertStaged(keyLen, hash, flags, valuePtr, value.byteLength, ovf);
    this.#s.keyCount++;
    this.#changed = true;
  }

  #insertStaged(keyLen: number, hash: number, flags: number, valuePtr: number, valueLen: number, ovf: number): void {
    const s = this.#s;
    for (;;) {
      if (s.mode === MODE_INLINE) {
        const used = w.recAppend(this.mainBase, s.mainUsed, this.pageSize - w.META_HEADER, hash, w.STAGE, keyLen, flags, valuePtr, valueLen, ovf);
        if (used >= 0) {
          s.mainUsed = used;
          s.mainCount++;
          return;
        }
        this.#toHashed();
        continue;
      }
      const index = dirIndex(hash, s.depth);
      const chain = this.#writableChain(index);
      for (const page of chain) {
        const used = w.recAppend(payloadOf(page.ptr), pageUsed(page.ptr), this.payload, hash, w.STAGE, keyLen, flags, valuePtr, valueLen, ovf);
        if (used >= 0) {
          setPageUsed(page.ptr, used);
          setPageCount(page.ptr, pageCount(page.ptr) + 1);
          return;
        }
      }
      // writableChain() returns at least the head page.
      const ld = pageAux(chain[0]!.ptr);
      if (ld < MAX_DEPTH) {
        if (ld === s.depth) this.#doubleDirectory();
        this.#split(dirIndex(hash, s.depth));
        continue;
      }
      // At maximum depth the bucket cannot split: chain another page.
      const tail = chain[chain.length - 1]!;
      const extra = this.#newPage(PAGE_TYPE.bucket, MAX_DEPTH);
      setPageNext(tail.ptr, extra.no);
    }
  }

  /** Inline mode outgrew the meta page: move its records to one bucket. */
  #toHashed(): void {
    const s = this.#s;
    const bucket = this.#newPage(PAGE_TYPE.bucket, 0);
    w.copyWithin(payloadOf(bucket.ptr), this.mainBase, s.mainUsed);
    setPageUsed(bucket.ptr, s.mainUsed);
    setPageCount(bucket.ptr, s.mainCount);
    w.zero(this.mainBase, this.pageSize - w.META_HEADER);
    setDirEntry(this.mainBase, 0, bucket.no);
    s.mode = MODE_HASHED;
    s.depth = 0;
    s.levels = 0;
    s.mainCount = 1;
    s.mainUsed = 4;
  }

  /** Removes every key: back to an empty inline state. */
  clear(): void {
    const s = this.#s;
    for (const [no, ptr] of this.#dirty) {
      this.pager.releaseSlot(ptr);
      if (!this.#allocator.releaseOwn(no)) throw this.corrupt(no, 'page freed twice');
    }
    this.#dirty.clear();
    // Every page of the committed state that is not free is in use by it.
    this.#allocator.clearPending();
    this.#cleared = true;
    for (let no = 2; no < this.#base.pageCount; no++) {
      if (!this.#allocator.isFree(no)) this.#allocator.releaseCommitted(no);
    }
    w.zero(this.mainBase, this.pageSize - w.META_HEADER);
    s.mode = MODE_INLINE;
    s.depth = 0;
    s.levels = 0;
    s.mainUsed = 0;
    s.mainCount = 0;
    s.keyCount = 0;
    this.#changed = true;
  }

  setTimes(times: { created?: number; accessed?: number }): void {
    if (times === null || typeof times !== 'object') throw new TypeError('wasm-session dbm: setTimes takes { created?, accessed? }');
    for (const name of ['created', 'accessed'] as const) {
      const v = times[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
        throw new TypeError(`wasm-session dbm: times.${name} must be a finite number of milliseconds, got ${String(v)}`);
      }
    }
    if (times.created !== undefined) this.#s.created = times.created;
    if (times.accessed !== undefined) this.#s.accessed = times.accessed;
    this.#changed = true;
  }

  // ---- commit -------------------------------------------------------------------

  /**
   * Builds the new state: merges the free pages, places the free list
   * (inline after the main region, or spilled to a run of FREELIST pages),
   * seals every page and the meta. Returns what to write; nothing is
   * written here.
   */
  prepare(): CommitResult {
    const s = this.#s;
    s.txid = this.txid;
    if (this.#keepsSpilledList()) return this.#seal(null);
    const room = this.pageSize - w.META_HEADER - s.mainUsed;
    if (this.#alloc === null && !this.#cleared && this.#base.freelistPage === 0 && this.#base.freeBytes <= room) {
      // No page taken or freed: the free pages are the committed state's, and
      // its encoded list (inline) moves with the end of the main region.
      const bytes = this.#base.freeBytes;
      if (bytes > 0) w.copyWithin(this.mainBase + s.mainUsed, this.#baseMetaPtr + w.META_HEADER + this.#base.mainUsed, bytes);
      w.zero(this.mainBase + s.mainUsed + bytes, room - bytes);
      return this.#seal(null);
    }
    const { pages: merged, doubleFree } = this.#allocator.mergePending();
    if (doubleFree >= 0) throw this.corrupt(doubleFree, 'a page in use is also on the free list');
    let spillPages: number[] = [];
    // One pass: the encoding goes straight into the meta page if it fits.
    let bytes = merged.encode(this.mainBase + s.mainUsed, room);
    s.freelistPage = 0;
    if (bytes <= room) {
      w.zero(this.mainBase + s.mainUsed + bytes, room - bytes);
    } else {
      // Pages for the spilled list come from pages free in the committed
      // state (or past its end), never from `pending`. A reader finds the
      // list's pages as ceil(freeBytes / payload), so the run must be exactly
      // that long. Taking a run out of the free pages changes their encoding
      // (a run splits in two, or vanishes) and so possibly the count: a free
      // run is kept only if the count still matches; otherwise the list goes
      // past the end of the file, where taking pages changes nothing.
      const count = Math.ceil(bytes / this.payload);
      let first = this.#allocator.takeCommittedFreeRun(count);
      if (first !== 0) {
        const after = merged.encodedSize();
        if (Math.ceil(after / this.payload) === count) {
          bytes = after;
        } else {
          for (let i = 0; i < count; i++) merged.add(first + i);
          first = 0;
        }
      }
      if (first === 0) first = this.#allocator.extend(count);
      const buf = w.alloc(count * this.payload);
      merged.encode(buf, count * this.payload);
      for (let i = 0; i < count; i++) {
        const page = this.#newPage(PAGE_TYPE.freelist, 0, first + i);
        const n = Math.max(0, Math.min(this.payload, bytes - i * this.payload));
        w.copyWithin(payloadOf(page.ptr), buf + i * this.payload, n);
        setPageCount(page.ptr, n);
        setPageUsed(page.ptr, n);
      }
      w.dealloc(buf);
      s.freelistPage = first;
      spillPages = Array.from({ length: count }, (_, i) => first + i);
      w.zero(this.mainBase + s.mainUsed, room);
    }
    s.freeBytes = bytes;
    s.freeCount = merged.count;
    return this.#seal({ pages: merged, spillPages });
  }

  /**
   * Whether the committed state's spilled free list can stay as it is: it
   * spilled, and this transaction neither took nor freed a page (a change of
   * the times or of inline records only), so its free pages are the same.
   * Then a commit writes the meta page alone.
   */
  #keepsSpilledList(): boolean {
    return (
      this.#base.freelistPage !== 0 &&
      this.#dirty.size === 0 &&
      (this.#alloc === null || this.#alloc.pendingCount === this.#spillPages) &&
      this.#s.pageCount === this.#base.pageCount &&
      !this.#cleared
    );
  }

  /** Seals the dirty pages and the working meta page; returns what to write. */
  #seal(free: CommitResult['free']): CommitResult {
    const s = this.#s;
    writeMetaFields(this.#work, this.pageSize, s);
    w.metaSeal(this.#work, this.pageSize);
    const pages: PageWrite[] = [];
    for (const [no, ptr] of this.#dirty) {
      w.pageSeal(ptr, this.pageSize, s.seedLo, s.seedHi);
      pages.push({ no, ptr });
    }
    // The transaction is over once it is sealed: its state object becomes the new committed one.
    return { meta: s, metaPtr: this.#work, pages, free };
  }

  /** After the commit is on disk: hand the new pages to the cache. */
  committed(): void {
    for (const [no, ptr] of this.#dirty) this.pager.adopt(no, ptr);
    this.#dirty.clear();
    this.#finish();
  }

  /** Drops everything this transaction built. */
  abort(): void {
    for (const ptr of this.#dirty.values()) this.pager.releaseSlot(ptr);
    this.#dirty.clear();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#alloc?.dispose();
  }
}
