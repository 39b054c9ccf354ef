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
import { H, MODE_INLINE, MODE_HASHED, MAX_DEPTH, PAGE_TYPE, REC_OVERFLOW } from './format.js';
import { type MetaState, writeMetaFields, dirIndex } from './meta.js';
import type { FreeSetCache } from './freeset.js';

export interface CommitResult {
  meta: MetaState;
  /** Sealed new meta page (pageSize bytes); the caller copies it and frees it. */
  metaPtr: number;
  pages: PageWrite[];
  /**
   * The new state's free set and spilled-list pages, for the handle's
   * FreeSetCache once the commit is on disk (the caller owns `set`); null
   * when the free pages did not change.
   */
  free: { set: number; spillPages: number[] } | null;
}

export class Txn extends Tree {
  readonly txid: number;
  readonly #work: number;
  readonly #s: MetaState;
  readonly #dirty = new Map<number, number>();
  readonly #pending = new Set<number>();
  #free: number;
  #freeCapacity: number;
  /** Pages of the committed state's spilled free list (none when it is inline). */
  readonly #spillPages: number;
  #changed = false;
  #cleared = false;
  #done = false;
  readonly #base: MetaState;

  constructor(pager: Pager, pageSize: number, base: MetaState, baseMetaPtr: number, freeSets: FreeSetCache) {
    super(pager, pageSize);
    this.#base = base;
    this.txid = base.txid + 1;
    this.#s = { ...base };
    this.#work = w.alloc(pageSize);
    w.copyWithin(this.#work, baseMetaPtr, pageSize);
    let loaded: ReturnType<FreeSetCache['checkout']>;
    try {
      loaded = freeSets.checkout(pager, baseMetaPtr, base);
    } catch (err) {
      w.dealloc(this.#work);
      throw err;
    }
    this.#free = loaded.set;
    this.#freeCapacity = loaded.capacity;
    // A spilled free list belongs to the old state only.
    for (const no of loaded.spillPages) this.#pending.add(no);
    this.#spillPages = loaded.spillPages.length;
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
      if (w.u8(ptr + H.type) !== type) throw this.corrupt(no, 'page type changed within a transaction');
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

  // ---- free pages ---------------------------------------------------------

  /** Room for more free pages; `#free` is 0 while the set is empty and was never needed. */
  #growFree(): void {
    const capacity = Math.max(this.#freeCapacity * 2, this.#s.pageCount + 64);
    const next = w.alloc(w.FREE_SET_HEADER + 4 * capacity);
    w.freeInit(next, capacity);
    if (this.#free !== 0) {
      const count = w.freeCount(this.#free);
      w.copyWithin(next, this.#free, w.FREE_SET_HEADER + 4 * count);
      w.setU32(next, capacity);
      w.dealloc(this.#free);
    }
    this.#free = next;
    this.#freeCapacity = capacity;
  }

  /** Page `no` is free for this transaction's own use. */
  #addFree(no: number): void {
    if (this.#free === 0) this.#growFree();
    for (;;) {
      const rc = w.freeAdd(this.#free, no);
      if (rc === 0) return;
      if (rc === -1) throw this.corrupt(no, 'page freed twice');
      this.#growFree();
    }
  }

  /** A page number for a new page: a free one, or the next past the end. */
  #allocNo(): number {
    return this.#allocRun(1);
  }

  /** First page of `n` consecutive new pages. */
  #allocRun(n: number): number {
    const first = this.#takeFreeRun(n);
    return first !== 0 ? first : this.#extend(n);
  }

  /** First page of a run of `n` pages free in the committed state, or 0 if there is none. */
  #takeFreeRun(n: number): number {
    return this.#free === 0 ? 0 : w.freeTakeRun(this.#free, n);
  }

  /** First of `n` new pages past the end of the file. */
  #extend(n: number): number {
    const start = this.#s.pageCount;
    this.#s.pageCount += n;
    return start;
  }

  /** A new zeroed page of `type` in a slot this transaction owns. */
  #newPage(type: number, aux: number, no = this.#allocNo()): { no: number; ptr: number } {
    const ptr = this.pager.slot();
    w.pageInit(ptr, this.pageSize, type, aux, no, this.txid);
    this.#dirty.set(no, ptr);
    return { no, ptr };
  }

  /** The state no longer uses page `no`. */
  #freePage(no: number): void {
    const ptr = this.#dirty.get(no);
    if (ptr !== undefined) {
      // Allocated by this transaction: nothing committed uses it.
      this.#dirty.delete(no);
      this.pager.releaseSlot(ptr);
      this.#addFree(no);
      return;
    }
    if (this.#pending.has(no)) throw this.corrupt(no, 'page freed twice');
    this.#pending.add(no);
  }

  /** A writable copy of page `no`: itself if new in this transaction. */
  #writable(no: number, type: number): { no: number; ptr: number; moved: boolean } {
    const own = this.#dirty.get(no);
    if (own !== undefined) return { no, ptr: own, moved: false };
    const src = this.page(no, type);
    const copyNo = this.#allocNo();
    const ptr = this.pager.slot();
    w.copyWithin(ptr, src, this.pageSize);
    w.pageRestamp(ptr, copyNo, this.txid);
    this.#dirty.set(copyNo, ptr);
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
    const no = w.u32(parent + 4 * slot);
    const page = this.#writable(no, PAGE_TYPE.dir);
    if (w.u8(page.ptr + H.aux) !== level) throw this.corrupt(no, `directory page at level ${w.u8(page.ptr + H.aux)}, expected ${level}`);
    if (page.moved) w.setU32(parent + 4 * slot, page.no);
    return page.ptr + w.PAGE_HEADER;
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

  /** Page numbers of every DIR page of the current directory. */
  #dirPages(): number[] {
    const pages: number[] = [];
    let level = this.#s.levels - 1;
    let current: number[] = [];
    for (let i = 0; i < this.#s.mainCount; i++) current.push(w.u32(this.mainBase + 4 * i));
    while (level >= 0) {
      pages.push(...current);
      if (level === 0) break;
      const next: number[] = [];
      for (const no of current) {
        const ptr = this.page(no, PAGE_TYPE.dir);
        const count = w.u32(ptr + H.count);
        for (let i = 0; i < count; i++) next.push(w.u32(ptr + w.PAGE_HEADER + 4 * i));
      }
      current = next;
      level--;
    }
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
        // Old leaf k (E entries) doubles into new leaves 2k and 2k+1, so leaf j's old leaf exists.
        src = this.page(oldLeaves[Math.floor(j / 2)]!, PAGE_TYPE.dir) + w.PAGE_HEADER + 4 * ((j % 2) * half);
      }
      w.dirDoubleInto(src, count / 2, leaf.ptr + w.PAGE_HEADER);
      w.setU32(leaf.ptr + H.count, count);
      w.setU32(leaf.ptr + H.used, 4 * count);
      level.push(leaf.no);
    }
    for (let lv = 1; lv <= shape.levels - 1; lv++) level = this.#buildDirLevel(level, lv);
    for (const no of oldDirPages) this.#freePage(no);
    w.zero(this.mainBase, this.pageSize - w.META_HEADER);
    for (let i = 0; i < level.length; i++) w.setU32(this.mainBase + 4 * i, level[i]!);
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
      for (let i = 0; i < chunk.length; i++) w.setU32(page.ptr + w.PAGE_HEADER + 4 * i, chunk[i]!);
      w.setU32(page.ptr + H.count, chunk.length);
      w.setU32(page.ptr + H.used, 4 * chunk.length);
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
      const ld = w.u8(page.ptr + H.aux);
      if (ld > this.#s.depth) throw this.corrupt(no, 'bucket deeper than the directory');
      const width = 2 ** (this.#s.depth - ld);
      this.#dirSetRange(Math.floor(index / width) * width, width, page.no);
    }
    return page;
  }

  /** Writable pages of a bucket chain (only buckets at maximum depth chain). */
  #writableChain(index: number): [{ no: number; ptr: number }, ...{ no: number; ptr: number }[]] {
    const head = this.#writableBucket(index);
    const chain: [typeof head, ...(typeof head)[]] = [head];
    let prev = head;
    for (let steps = 0; ; steps++) {
      const next = this.chainNext(prev.ptr, prev.no, steps);
      if (next === 0) return chain;
      const page = this.#writable(next, PAGE_TYPE.bucket);
      if (page.moved) w.setU32(prev.ptr + H.next, page.no);
      chain.push(page);
      prev = page;
    }
  }

  /** Splits the bucket of directory entry `index` in two by the next hash bit. */
  #split(index: number): void {
    const s = this.#s;
    const old = this.#writableBucket(index);
    const ld = w.u8(old.ptr + H.aux);
    const width = 2 ** (s.depth - ld);
    const start = Math.floor(index / width) * width;
    const a = this.#newPage(PAGE_TYPE.bucket, ld + 1);
    const b = this.#newPage(PAGE_TYPE.bucket, ld + 1);
    const [used0, count0, used1, count1] = w.recSplit(old.ptr + w.PAGE_HEADER, w.u32(old.ptr + H.used), ld, a.ptr + w.PAGE_HEADER, b.ptr + w.PAGE_HEADER);
    w.setU32(a.ptr + H.count, count0);
    w.setU32(a.ptr + H.used, used0);
    w.setU32(b.ptr + H.count, count1);
    w.setU32(b.ptr + H.used, used1);
    this.#dirSetRange(start, width / 2, a.no);
    this.#dirSetRange(start + width / 2, width / 2, b.no);
    this.#freePage(old.no);
  }

  // ---- records ----------------------------------------------------------------

  #releaseOverflow(rec: number): void {
    if ((w.u8(rec + 6) & REC_OVERFLOW) === 0) return;
    const first = w.u32(rec + w.REC_HEADER + w.u16(rec + 4));
    const count = this.overflowPages(w.u32(rec + 8));
    if (first < 2 || first + count > this.#s.pageCount) throw this.corrupt(first, 'overflow run outside the file');
    for (let i = 0; i < count; i++) this.#freePage(first + i);
  }

  /** Writes `value` to a new run of overflow pages; returns its first page. */
  #writeOverflow(value: Uint8Array): number {
    const count = this.overflowPages(value.byteLength);
    const first = this.#allocRun(count);
    for (let i = 0; i < count; i++) {
      const page = this.#newPage(PAGE_TYPE.overflow, 0, first + i);
      const chunk = value.subarray(i * this.payload, Math.min(value.byteLength, (i + 1) * this.payload));
      w.copyIn(page.ptr + w.PAGE_HEADER, chunk);
      w.setU32(page.ptr + H.count, chunk.byteLength);
      w.setU32(page.ptr + H.used, chunk.byteLength);
    }
    return first;
  }

  /**
   * Removes the staged key (keyLen bytes, hash) if present; true if it was.
   * The key stays staged.
   */
  remove(keyLen: number, hash: number): boolean {
    const s = this.#s;
    if (s.mode === MODE_INLINE) {
      const off = w.recFind(this.mainBase, s.mainUsed, hash, w.STAGE, keyLen);
      if (off < 0) return false;
      this.#releaseOverflow(this.mainBase + off);
      s.mainUsed = w.recRemove(this.mainBase, s.mainUsed, off);
      s.mainCount--;
    } else {
      if (this.find(keyLen, hash) === null) return false;
      for (const page of this.#writableChain(dirIndex(hash, s.depth))) {
        const base = page.ptr + w.PAGE_HEADER;
        const off = w.recFind(base, w.u32(page.ptr + H.used), hash, w.STAGE, keyLen);
        if (off < 0) continue;
        this.#releaseOverflow(base + off);
        w.setU32(page.ptr + H.used, w.recRemove(base, w.u32(page.ptr + H.used), off));
        w.setU32(page.ptr + H.count, w.u32(page.ptr + H.count) - 1);
        break;
      }
    }
    s.keyCount--;
    this.#changed = true;
    return true;
  }

  /** Stores `value` under the staged key (keyLen bytes, hash), replacing any old value. */
  put(keyLen: number, hash: number, value: Uint8Array): void {
    this.remove(keyLen, hash);
    const maxInline = w.maxInlineRecord(this.pageSize);
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
        const used = w.recAppend(page.ptr + w.PAGE_HEADER, w.u32(page.ptr + H.used), this.payload, hash, w.STAGE, keyLen, flags, valuePtr, valueLen, ovf);
        if (used >= 0) {
          w.setU32(page.ptr + H.used, used);
          w.setU32(page.ptr + H.count, w.u32(page.ptr + H.count) + 1);
          return;
        }
      }
      const ld = w.u8(chain[0].ptr + H.aux);
      if (ld < MAX_DEPTH) {
        if (ld === s.depth) this.#doubleDirectory();
        this.#split(dirIndex(hash, s.depth));
        continue;
      }
      // At maximum depth the bucket cannot split: chain another page.
      const tail = chain[chain.length - 1]!; // chain is non-empty: its type starts with the head
      const extra = this.#newPage(PAGE_TYPE.bucket, MAX_DEPTH);
      w.setU32(tail.ptr + H.next, extra.no);
    }
  }

  /** Inline mode outgrew the meta page: move its records to one bucket. */
  #toHashed(): void {
    const s = this.#s;
    const bucket = this.#newPage(PAGE_TYPE.bucket, 0);
    w.copyWithin(bucket.ptr + w.PAGE_HEADER, this.mainBase, s.mainUsed);
    w.setU32(bucket.ptr + H.used, s.mainUsed);
    w.setU32(bucket.ptr + H.count, s.mainCount);
    w.zero(this.mainBase, this.pageSize - w.META_HEADER);
    w.setU32(this.mainBase, bucket.no);
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
      this.#addFree(no);
    }
    this.#dirty.clear();
    // Every page of the committed state that is not free is in use by it.
    this.#pending.clear();
    this.#cleared = true;
    for (let no = 2; no < this.#base.pageCount; no++) {
      if (this.#free === 0 || !w.freeHas(this.#free, no)) this.#pending.add(no);
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
    const merged = this.#mergedFree();
    let spillPages: number[] = [];
    let bytes = merged === 0 ? 0 : w.freeEncodedSize(merged);
    const room = this.pageSize - w.META_HEADER - s.mainUsed;
    s.freelistPage = 0;
    if (bytes <= room) {
      w.zero(this.mainBase + s.mainUsed, room);
      if (merged !== 0) w.freeEncode(merged, this.mainBase + s.mainUsed);
    } else {
      // Pages for the spilled list come from pages free in the committed
      // state (or past its end), never from `pending`. A reader finds the
      // list's pages as ceil(freeBytes / payload), so the run must be exactly
      // that long. Taking a run out of the free pages changes their encoding
      // (a run splits in two, or vanishes) and so possibly the count: a free
      // run is kept only if the count still matches; otherwise the list goes
      // past the end of the file, where taking pages changes nothing.
      const count = Math.ceil(bytes / this.payload);
      let first = this.#takeFreeRun(count);
      if (first !== 0) {
        for (let i = 0; i < count; i++) w.freeRemove(merged, first + i);
        const after = w.freeEncodedSize(merged);
        if (Math.ceil(after / this.payload) === count) {
          bytes = after;
        } else {
          for (let i = 0; i < count; i++) {
            w.freeAdd(merged, first + i);
            this.#addFree(first + i);
          }
          first = 0;
        }
      }
      if (first === 0) first = this.#extend(count);
      const buf = w.alloc(count * this.payload);
      w.freeEncode(merged, buf);
      for (let i = 0; i < count; i++) {
        const page = this.#newPage(PAGE_TYPE.freelist, 0, first + i);
        const n = Math.max(0, Math.min(this.payload, bytes - i * this.payload));
        w.copyWithin(page.ptr + w.PAGE_HEADER, buf + i * this.payload, n);
        w.setU32(page.ptr + H.count, n);
        w.setU32(page.ptr + H.used, n);
      }
      w.dealloc(buf);
      s.freelistPage = first;
      spillPages = Array.from({ length: count }, (_, i) => first + i);
      w.zero(this.mainBase + s.mainUsed, room);
    }
    s.freeBytes = bytes;
    s.freeCount = merged === 0 ? 0 : w.freeCount(merged);
    return this.#seal({ set: merged, spillPages });
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
      this.#pending.size === this.#spillPages &&
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
    return { meta: { ...s }, metaPtr: this.#work, pages, free };
  }

  /**
   * A new free set: the free pages left plus the ones freed by this
   * transaction; 0 when that is no page at all (a small inline file).
   */
  #mergedFree(): number {
    const count = this.#free === 0 ? 0 : w.freeCount(this.#free);
    if (count === 0 && this.#pending.size === 0) return 0;
    const capacity = count + this.#pending.size + 64;
    const merged = w.alloc(w.FREE_SET_HEADER + 4 * capacity);
    w.freeInit(merged, capacity);
    if (count > 0) {
      w.copyWithin(merged, this.#free, w.FREE_SET_HEADER + 4 * count);
      w.setU32(merged, capacity);
    }
    for (const no of this.#pending) {
      if (w.freeAdd(merged, no) !== 0) {
        w.dealloc(merged);
        throw this.corrupt(no, 'a page in use is also on the free list');
      }
    }
    return merged;
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
    w.dealloc(this.#work);
    if (this.#free !== 0) w.dealloc(this.#free);
  }
}
