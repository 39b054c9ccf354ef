// The meta page as TypeScript sees it: a parsed copy of its fields, and the
// arithmetic of the directory tree whose top level lives in the meta page.

import * as w from '../wasm.js';
import { M, META_MAGIC, FORMAT_VERSION, MODE_INLINE, META_RESERVED } from './format.js';

export interface MetaState {
  txid: number;
  pageCount: number;
  mode: number;
  depth: number;
  levels: number;
  codec: number;
  keyCount: number;
  seedLo: number;
  seedHi: number;
  freelistPage: number;
  freeBytes: number;
  freeCount: number;
  mainUsed: number;
  mainCount: number;
  created: number;
  accessed: number;
  user2: number;
  user3: number;
}

export function readMeta(ptr: number): MetaState {
  return {
    txid: w.u64(ptr + M.txid),
    pageCount: w.u32(ptr + M.pageCount),
    mode: w.u8(ptr + M.mode),
    depth: w.u8(ptr + M.depth),
    levels: w.u8(ptr + M.levels),
    codec: w.u8(ptr + M.codec),
    keyCount: w.u64(ptr + M.keyCount),
    seedLo: w.u32(ptr + M.seedLo),
    seedHi: w.u32(ptr + M.seedHi),
    freelistPage: w.u32(ptr + M.freelistPage),
    freeBytes: w.u32(ptr + M.freeBytes),
    freeCount: w.u32(ptr + M.freeCount),
    mainUsed: w.u32(ptr + M.mainUsed),
    mainCount: w.u32(ptr + M.mainCount),
    created: w.f64(ptr + M.created),
    accessed: w.f64(ptr + M.accessed),
    user2: w.f64(ptr + M.user2),
    user3: w.f64(ptr + M.user3),
  };
}

/**
 * Why the meta page at `ptr` cannot be read by this version because of its
 * reserved fields, or null when they are all zero. Version 1 writes them as
 * zero and refuses a file where one is not, so that a later version can give
 * them a meaning without being misread by this one.
 */
export function reservedNotZero(ptr: number): string | null {
  for (const { offset, length } of META_RESERVED) {
    for (let at = offset; at < offset + length; at++) {
      const byte = w.u8(ptr + at);
      if (byte === 0) continue;
      const field = length === 1 ? `byte ${offset}` : `bytes ${offset}..${offset + length - 1}`;
      return `meta field 'reserved' (${field}) is not zero: byte ${at} is 0x${byte.toString(16).padStart(2, '0')} (written by a later format version, or damaged)`;
    }
  }
  return null;
}

/** Writes every field of `s` into the meta page at `ptr` (not the payload). */
export function writeMetaFields(ptr: number, pageSize: number, s: MetaState): void {
  w.setU32(ptr + M.magic, META_MAGIC);
  w.setU16(ptr + M.version, FORMAT_VERSION);
  w.setU8(ptr + M.shift, Math.log2(pageSize));
  w.setU8(ptr + M.mode, s.mode);
  w.setU8(ptr + M.depth, s.depth);
  w.setU8(ptr + M.levels, s.levels);
  w.setU8(ptr + M.codec, s.codec);
  w.setU64(ptr + M.txid, s.txid);
  w.setU32(ptr + M.pageCount, s.pageCount);
  w.setU32(ptr + M.freelistPage, s.freelistPage);
  w.setU64(ptr + M.keyCount, s.keyCount);
  w.setU32(ptr + M.seedLo, s.seedLo);
  w.setU32(ptr + M.seedHi, s.seedHi);
  w.setF64(ptr + M.created, s.created);
  w.setF64(ptr + M.accessed, s.accessed);
  w.setF64(ptr + M.user2, s.user2);
  w.setF64(ptr + M.user3, s.user3);
  w.setU32(ptr + M.mainUsed, s.mainUsed);
  w.setU32(ptr + M.mainCount, s.mainCount);
  w.setU32(ptr + M.freeBytes, s.freeBytes);
  w.setU32(ptr + M.freeCount, s.freeCount);
}

export function emptyMeta(codec: number, seedLo: number, seedHi: number, now: number): MetaState {
  return {
    txid: 1,
    pageCount: 2,
    mode: MODE_INLINE,
    depth: 0,
    levels: 0,
    codec,
    keyCount: 0,
    seedLo,
    seedHi,
    freelistPage: 0,
    freeBytes: 0,
    freeCount: 0,
    mainUsed: 0,
    mainCount: 0,
    created: now,
    accessed: now,
    user2: 0,
    user3: 0,
  };
}

/**
 * Directory geometry for a page size. The directory of 2^depth bucket
 * pointers is a radix tree: DIR pages of `perPage` entries at `levels`
 * levels, whose top level (at most `topCapacity` entries) sits in the meta
 * page's main region. levels = 0 means the top holds the bucket pointers.
 */
export class DirGeometry {
  readonly perPage: number;
  readonly topCapacity: number;

  constructor(readonly pageSize: number) {
    this.perPage = (pageSize - w.PAGE_HEADER) / 4;
    // Half of the meta payload; the rest is for the inline free list.
    this.topCapacity = Math.floor((pageSize - w.META_HEADER) / 8);
  }

  /** Levels and top-level entry count for a directory of 2^depth entries. */
  shape(depth: number): { levels: number; top: number } {
    let n = 2 ** depth;
    let levels = 0;
    while (n > this.topCapacity) {
      n = Math.ceil(n / this.perPage);
      levels++;
    }
    return { levels, top: n };
  }

  /** Entries below one entry of the top level: perPage^levels. */
  topSpan(levels: number): number {
    return this.perPage ** levels;
  }
}

/** Directory index of a key hash: its top `depth` bits. */
export function dirIndex(hash: number, depth: number): number {
  return depth === 0 ? 0 : hash >>> (32 - depth);
}
