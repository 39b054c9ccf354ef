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
      throw pager.corrupt(state.freelistPage, n === -2 ? 'free list larger than the file' : n < 0 ? 'malformed free list' : `free list has ${n} pages, meta says ${state.freeCount}`);
    }
  } finally {
    if (run) {
      w.dealloc(src);
      w.dealloc(run);
    }
  }
  return { set, capacity, spillPages };
}
