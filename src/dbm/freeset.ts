// Free pages: the one interface to them.
//
//   FreePages      a set of free page numbers in wasm memory (assembly/freelist.ts),
//                  decoded from a state's free list and encoded into the next one
//   PageAllocator  a transaction's view: pages it may take now, pages it set aside
//                  (used by the committed state, free from the next commit on), and
//                  the end of the file
//   FreeSetCache   the decoded free set of the state a handle last saw, kept between
//                  transactions
//
// Nothing outside this file calls the wasm free-set functions.

import * as w from '../wasm.js';
import type { Pager } from './pager.js';
import type { MetaState } from './meta.js';
import { PAGE_TYPE } from './format.js';
import { pageCount, payloadOf } from './layout.js';

/** Bytes of a wasm free set with room for `runs` runs. */
const setBytes = (runs: number): number => w.FREE_SET_HEADER + 8 * runs;

/** A set of page numbers in wasm memory, kept as runs of consecutive pages; dispose() frees it. */
export class FreePages {
  /** Address of the wasm set; 0 while it is empty and was never needed. */
  #set: number;
  /** Room, in runs. */
  #capacity: number;

  private constructor(set: number, capacity: number) {
    this.#set = set;
    this.#capacity = capacity;
  }

  static empty(): FreePages {
    return new FreePages(0, 0);
  }

  /**
   * Decodes the free list of `state` (meta page at `metaPtr`): from the bytes
   * after the main region, or from its run of spilled FREELIST pages, whose
   * numbers are returned too (the state uses them: they are not free).
   * Throws DbmCorruptError (via the pager) for a malformed list or a count
   * that does not match the meta.
   */
  static decode(pager: Pager, metaPtr: number, state: MetaState): { pages: FreePages; spillPages: number[] } {
    const spillPages: number[] = [];
    if (state.freeBytes === 0) {
      if (state.freeCount !== 0) throw pager.corrupt(0, `meta counts ${state.freeCount} free pages but holds no free list`);
      return { pages: FreePages.empty(), spillPages };
    }
    const payload = pager.pageSize - w.PAGE_HEADER;
    let src: number;
    let run = 0;
    if (state.freelistPage === 0) {
      src = metaPtr + w.META_HEADER + state.mainUsed;
    } else {
      const count = Math.ceil(state.freeBytes / payload);
      for (let i = 0; i < count; i++) spillPages.push(state.freelistPage + i);
      run = pager.readRun(state.freelistPage, count, PAGE_TYPE.freelist, state.txid, state.pageCount);
      // Concatenate the payloads so the decoder sees one byte string.
      src = w.alloc(count * payload);
      let filled = 0;
      for (let i = 0; i < count; i++) {
        const p = run + i * pager.pageSize;
        const n = pageCount(p);
        if (n !== Math.min(payload, state.freeBytes - filled)) {
          w.dealloc(src);
          w.dealloc(run);
          throw pager.corrupt(state.freelistPage + i, 'free list page holds the wrong number of bytes');
        }
        w.copyWithin(src + filled, payloadOf(p), n);
        filled += n;
      }
    }
    // Every run takes at least two bytes to encode.
    const capacity = Math.ceil(state.freeBytes / 2) + 16;
    const set = w.alloc(setBytes(capacity));
    w.freeInit(set, capacity);
    try {
      const n = w.freeDecode(set, src, state.freeBytes, state.pageCount);
      if (n < 0 || n !== state.freeCount) {
        w.dealloc(set);
        throw pager.corrupt(
          state.freelistPage,
          n === -2 ? 'free list larger than the file' : n < 0 ? 'malformed free list' : `free list has ${n} pages, meta says ${state.freeCount}`,
        );
      }
    } finally {
      if (run) {
        w.dealloc(src);
        w.dealloc(run);
      }
    }
    return { pages: new FreePages(set, capacity), spillPages };
  }

  get count(): number {
    return this.#set === 0 ? 0 : w.freeCount(this.#set);
  }

  has(no: number): boolean {
    return this.#set !== 0 && w.freeHas(this.#set, no) === 1;
  }

  /** Adds page `no`; false when it was already in the set. */
  add(no: number): boolean {
    for (;;) {
      const rc = this.#set === 0 ? -2 : w.freeAdd(this.#set, no);
      if (rc === 0) return true;
      if (rc === -1) return false;
      this.#grow();
    }
  }

  /** Removes page `no`; false when it was not in the set. */
  remove(no: number): boolean {
    for (;;) {
      const rc = this.#set === 0 ? 0 : w.freeRemove(this.#set, no);
      if (rc !== -2) return rc === 1;
      this.#grow();
    }
  }

  /** Takes the lowest run of `n` consecutive pages: its first page, or 0 when there is none. */
  takeRun(n: number): number {
    return this.#set === 0 ? 0 : w.freeTakeRun(this.#set, n);
  }

  /** Bytes of the run encoding (FORMAT.md, "Free pages"). */
  encodedSize(): number {
    return this.#set === 0 ? 0 : w.freeEncodedSize(this.#set);
  }

  /**
   * Writes the run encoding at `dst` if it takes at most `max` bytes (else
   * at most `max` bytes of it); returns its full length either way.
   */
  encode(dst: number, max: number): number {
    return this.#set === 0 ? 0 : w.freeEncode(this.#set, dst, max);
  }

  /** Calls `fn` with every page, ascending. */
  forEach(fn: (no: number) => void): void {
    const runs = this.#set === 0 ? 0 : w.freeRuns(this.#set);
    for (let i = 0; i < runs; i++) {
      const start = w.freeRunStart(this.#set, i);
      const end = start + w.freeRunLen(this.#set, i);
      for (let no = start; no < end; no++) fn(no);
    }
  }

  /** An independent copy. */
  clone(): FreePages {
    if (this.#set === 0) return FreePages.empty();
    const runs = w.freeRuns(this.#set);
    const copy = w.alloc(setBytes(this.#capacity));
    w.copyWithin(copy, this.#set, setBytes(runs));
    return new FreePages(copy, this.#capacity);
  }

  dispose(): void {
    if (this.#set !== 0) w.dealloc(this.#set);
    this.#set = 0;
    this.#capacity = 0;
  }

  #grow(): void {
    const runs = this.#set === 0 ? 0 : w.freeRuns(this.#set);
    const capacity = Math.max(this.#capacity * 2, runs + 64);
    const next = w.alloc(setBytes(capacity));
    if (this.#set !== 0) {
      w.copyWithin(next, this.#set, setBytes(runs));
      w.dealloc(this.#set);
    } else {
      w.freeInit(next, 0);
    }
    w.setU32(next, capacity);
    this.#set = next;
    this.#capacity = capacity;
  }
}

/**
 * Page allocation for one write transaction. A page it takes comes from
 * the free set (free in the committed state, or taken and released again
 * by this transaction) or from past the end of the file. A page of the
 * committed state that it stops using is pending: the committed state
 * still needs it, so it becomes free only with the new state
 * (mergePending()).
 */
export class PageAllocator {
  #free: FreePages;
  /** Created on the first page set aside (a change to an inline file sets none aside). */
  #pending: Set<number> | null = null;
  /** mergePending() handed the set over to the new state. */
  #merged = false;

  readonly #state: MetaState;

  /** `free`: owned by the allocator from now on. `state`: the transaction's; pageCount grows when the file is extended. */
  constructor(free: FreePages, state: MetaState) {
    this.#free = free;
    this.#state = state;
  }

  /** A page for a new page. */
  alloc(): number {
    return this.allocRun(1);
  }

  /** First page of `n` consecutive pages for new pages. */
  allocRun(n: number): number {
    const first = this.takeFreeRun(n);
    return first !== 0 ? first : this.extend(n);
  }

  /** First page of a run of `n` pages free now, or 0 when there is none. */
  takeFreeRun(n: number): number {
    return this.#free.takeRun(n);
  }

  /** First of `n` new pages past the end of the file. */
  extend(n: number): number {
    const start = this.#state.pageCount;
    this.#state.pageCount += n;
    return start;
  }

  /** Page `no`, taken by this transaction, is free again at once; false if it already was. */
  releaseOwn(no: number): boolean {
    return this.#free.add(no);
  }

  /** Page `no` of the committed state is no longer used; false if it was set aside already. */
  releaseCommitted(no: number): boolean {
    this.#pending ??= new Set();
    if (this.#pending.has(no)) return false;
    this.#pending.add(no);
    return true;
  }

  /** Pages set aside so far. */
  get pendingCount(): number {
    return this.#pending === null ? 0 : this.#pending.size;
  }

  /** Forgets the pages set aside (clear(): it sets aside every used page itself). */
  clearPending(): void {
    this.#pending?.clear();
  }

  /** Whether page `no` is free now. */
  isFree(no: number): boolean {
    return this.#free.has(no);
  }

  /**
   * Adds the pages set aside to the free set, which becomes the new state's
   * (the caller owns it from now on). `doubleFree` is a page set aside that
   * was free already (-1 if none): a corrupt state, and the set stays the
   * allocator's.
   */
  mergePending(): { pages: FreePages; doubleFree: number } {
    if (this.#pending !== null) {
      for (const no of this.#pending) if (!this.#free.add(no)) return { pages: FreePages.empty(), doubleFree: no };
    }
    this.#merged = true;
    return { pages: this.#free, doubleFree: -1 };
  }

  /**
   * After mergePending(): a run of `n` pages that were free in the committed
   * state (not ones set aside: those are in use until the new meta is on
   * disk); its first page, or 0.
   */
  takeCommittedFreeRun(n: number): number {
    const pending = this.#pending ?? [];
    for (const no of pending) this.#free.remove(no);
    const first = this.#free.takeRun(n);
    for (const no of pending) this.#free.add(no);
    return first;
  }

  dispose(): void {
    if (!this.#merged) this.#free.dispose();
  }
}

/**
 * The decoded free set of the state a handle last saw, kept between
 * transactions: a large file's free list can hold thousands of runs, and
 * decoding it for every commit would cost more than the commit. Keyed by
 * (txid, seed): any commit by another process changes the txid, and a file
 * recreated from scratch changes the seed.
 */
const NO_PAGES: readonly number[] = Object.freeze([]);

export class FreeSetCache {
  #pages: FreePages | null = null;
  #txid = -1;
  #seedLo = 0;
  #seedHi = 0;
  #spillPages: number[] = [];

  /**
   * A private copy of the free pages of `state` (decoded on a miss); the
   * caller disposes it. spillPagesOf(state) then tells the pages of its
   * spilled list.
   */
  checkout(pager: Pager, metaPtr: number, state: MetaState): FreePages {
    if (state.freeBytes === 0) {
      if (state.freeCount !== 0) throw pager.corrupt(0, `meta counts ${state.freeCount} free pages but holds no free list`);
      return FreePages.empty();
    }
    if (!this.#holds(state)) {
      const loaded = FreePages.decode(pager, metaPtr, state);
      this.drop();
      this.#pages = loaded.pages;
      this.#spillPages = loaded.spillPages;
      this.#key(state);
    }
    return this.#pages!.clone();
  }

  /** The pages of the spilled free list of the state checked out last (none when it is inline). */
  spillPagesOf(state: MetaState): readonly number[] {
    return state.freelistPage === 0 ? NO_PAGES : this.#spillPages;
  }

  /** After a commit: `pages` (the cache owns them from now on) are the free pages of `state`. */
  adopt(state: MetaState, pages: FreePages, spillPages: number[]): void {
    this.drop();
    if (pages.count === 0) {
      pages.dispose();
      return;
    }
    this.#pages = pages;
    this.#spillPages = spillPages;
    this.#key(state);
  }

  /** After a commit that left the free pages as they were: the set cached for `from` now belongs to `to`. */
  retag(from: MetaState, to: MetaState): void {
    if (this.#holds(from)) this.#key(to);
    else this.drop();
  }

  drop(): void {
    this.#pages?.dispose();
    this.#pages = null;
    this.#txid = -1;
  }

  #holds(state: MetaState): boolean {
    return this.#pages !== null && this.#txid === state.txid && this.#seedLo === state.seedLo && this.#seedHi === state.seedHi;
  }

  #key(state: MetaState): void {
    this.#txid = state.txid;
    this.#seedLo = state.seedLo;
    this.#seedHi = state.seedHi;
  }
}
