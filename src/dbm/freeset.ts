// Loading a state's free list into an in-memory free set (assembly/freelist.ts):
// from the inline bytes after the meta page's main region, or from the run
// of FREELIST pages it spilled to.

import * as w from '../wasm.js';
import type { Pager } from './pager.js';
import type { MetaState } from './meta.js';
import { H, PAGE_TYPE } from './format.js';

export interface LoadedFreeSet {
  set: number;
  capacity: number;
  /** Pages of the spilled list (empty when inline): used by the state, not free. */
  spillPages: number[];
}

/** Allocates a free set with room for `capacity` pages. */
export function newFreeSet(capacity: number): number {
  const set = w.alloc(w.FREE_SET_HEADER + 4 * capacity);
  w.freeInit(set, capacity);
  return set;
}

/**
 * Decodes the free list of `state` (meta page at `metaPtr`). Throws
 * DbmCorruptError (via the pager) for a malformed list or a count that does
 * not match the meta. The caller deallocates `set`.
 */
export function loadFreeSet(pager: Pager, metaPtr: number, state: MetaState): LoadedFreeSet {
  const capacity = state.pageCount + 64;
  const set = newFreeSet(capacity);
  const payload = pager.pageSize - w.PAGE_HEADER;
  const spillPages: number[] = [];
  if (state.freeBytes === 0) {
    if (state.freeCount !== 0) {
      w.dealloc(set);
      throw pager.corrupt(0, `meta counts ${state.freeCount} free pages but holds no free list`);
    }
    return { set, capacity, spillPages };
  }
  let src: number;
  let run = 0;
  if (state.freelistPage === 0) {
    src = metaPtr + w.META_HEADER + state.mainUsed;
  } else {
    const count = Math.ceil(state.freeBytes / payload);
    for (let i = 0; i < count; i++) spillPages.push(state.freelistPage + i);
    try {
      run = pager.readRun(state.freelistPage, count, PAGE_TYPE.freelist, state.txid, state.pageCount);
    } catch (err) {
      w.dealloc(set);
      throw err;
    }
    // Concatenate the payloads so the decoder sees one byte string.
    src = w.alloc(count * payload);
    let filled = 0;
    for (let i = 0; i < count; i++) {
      const p = run + i * pager.pageSize;
      const n = w.u32(p + H.count);
      if (n !== Math.min(payload, state.freeBytes - filled)) {
        w.dealloc(src);
        w.dealloc(run);
        w.dealloc(set);
        throw pager.corrupt(state.freelistPage + i, 'free list page holds the wrong number of bytes');
      }
      w.copyWithin(src + filled, p + w.PAGE_HEADER, n);
      filled += n;
    }
  }
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
  return { set, capacity, spillPages };
}

/** Copies a free set into a new allocation with room for `capacity` pages. */
export function cloneFreeSet(set: number, capacity: number): number {
  const count = w.freeCount(set);
  const copy = w.alloc(w.FREE_SET_HEADER + 4 * Math.max(capacity, count));
  w.copyWithin(copy, set, w.FREE_SET_HEADER + 4 * count);
  w.setU32(copy, Math.max(capacity, count));
  return copy;
}

/**
 * The decoded free set of the state a handle last saw, kept between
 * transactions: a large file's free list can hold thousands of runs, and
 * decoding it for every commit would cost more than the commit. Keyed by
 * (txid, seed): any commit by another process changes the txid, and a file
 * recreated from scratch changes the seed.
 */
export class FreeSetCache {
  #set = 0;
  #txid = -1;
  #seedLo = 0;
  #seedHi = 0;
  #spillPages: number[] = [];

  /**
   * A private copy of the free set of `state` (decoded on a miss); the
   * caller deallocates `set`, which is 0 when the state has no free page.
   */
  checkout(pager: Pager, metaPtr: number, state: MetaState): LoadedFreeSet {
    if (state.freeBytes === 0) {
      if (state.freeCount !== 0) throw pager.corrupt(0, `meta counts ${state.freeCount} free pages but holds no free list`);
      return { set: 0, capacity: 0, spillPages: [] };
    }
    if (!this.#holds(state)) {
      const loaded = loadFreeSet(pager, metaPtr, state);
      this.drop();
      this.#set = loaded.set;
      this.#spillPages = loaded.spillPages;
      this.#key(state);
    }
    const capacity = state.pageCount + 64;
    return { set: cloneFreeSet(this.#set, capacity), capacity, spillPages: [...this.#spillPages] };
  }

  /** After a commit: `set` (the cache owns it from now on; 0: empty) is the free set of `state`. */
  adopt(state: MetaState, set: number, spillPages: number[]): void {
    this.drop();
    if (set === 0) return;
    this.#set = set;
    this.#spillPages = spillPages;
    this.#key(state);
  }

  /** After a commit that left the free pages as they were: the set cached for `from` now belongs to `to`. */
  retag(from: MetaState, to: MetaState): void {
    if (this.#holds(from)) this.#key(to);
    else this.drop();
  }

  drop(): void {
    if (this.#set !== 0) w.dealloc(this.#set);
    this.#set = 0;
    this.#txid = -1;
  }

  #holds(state: MetaState): boolean {
    return this.#set !== 0 && this.#txid === state.txid && this.#seedLo === state.seedLo && this.#seedHi === state.seedHi;
  }

  #key(state: MetaState): void {
    this.#txid = state.txid;
    this.#seedLo = state.seedLo;
    this.#seedHi = state.seedHi;
  }
}
