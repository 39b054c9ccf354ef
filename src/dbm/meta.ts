// The meta page as TypeScript sees it: a parsed copy of its fields, and the
// arithmetic of the directory tree whose top level lives in the meta page.

import * as w from '../wasm.js';
import { M, META_MAGIC, FORMAT_VERSION, MODE_INLINE, META_RESERVED } from './format.js';

/**
 * The fields of a meta page (FORMAT.md, "Meta page") as numbers. A class,
 * so that every state has one shape (property reads on it stay
 * monomorphic) and copy() is a plain field copy, not an object spread.
 */
export class MetaState {
  txid = 0;
  pageCount = 2;
  mode = MODE_INLINE;
  depth = 0;
  levels = 0;
  codec = 0;
  keyCount = 0;
  seedLo = 0;
  seedHi = 0;
  freelistPage = 0;
  freeBytes = 0;
  freeCount = 0;
  mainUsed = 0;
  mainCount = 0;
  created = 0;
  accessed = 0;
  user2 = 0;
  user3 = 0;

  copy(): MetaState {
    const m = new MetaState();
    m.txid = this.txid;
    m.pageCount = this.pageCount;
    m.mode = this.mode;
    m.depth = this.depth;
    m.levels = this.levels;
    m.codec = this.codec;
    m.keyCount = this.keyCount;
    m.seedLo = this.seedLo;
    m.seedHi = this.seedHi;
    m.freelistPage = this.freelistPage;
    m.freeBytes = this.freeBytes;
    m.freeCount = this.freeCount;
    m.mainUsed = this.mainUsed;
    m.mainCount = this.mainCount;
    m.created = this.created;
    m.accessed = this.accessed;
    m.user2 = this.user2;
    m.user3 = this.user3;
    return m;
  }
}

export function readMeta(ptr: number): MetaState {
  const m = new MetaState();
  m.txid = w.u64(ptr + M.txid);
  m.pageCount = w.u32(ptr + M.pageCount);
  m.mode = w.u8(ptr + M.mode);
  m.depth = w.u8(ptr + M.depth);
  m.levels = w.u8(ptr + M.levels);
  m.codec = w.u8(ptr + M.codec);
  m.keyCount = w.u64(ptr + M.keyCount);
  m.seedLo = w.u32(ptr + M.seedLo);
  m.seedHi = w.u32(ptr + M.seedHi);
  m.freelistPage = w.u32(ptr + M.freelistPage);
  m.freeBytes = w.u32(ptr + M.freeBytes);
  m.freeCount = w.u32(ptr + M.freeCount);
  m.mainUsed = w.u32(ptr + M.mainUsed);
  m.mainCount = w.u32(ptr + M.mainCount);
  m.created = w.f64(ptr + M.created);
  m.accessed = w.f64(ptr + M.accessed);
  m.user2 = w.f64(ptr + M.user2);
  m.user3 = w.f64(ptr + M.user3);
  return m;
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

/** The state of a new, empty file (txid 1: its first commit). */
export function emptyMeta(codec: number, seedLo: number, seedHi: number, now: number): MetaState {
  const m = new MetaState();
  m.txid = 1;
  m.codec = codec;
  m.seedLo = seedLo;
  m.seedHi = seedHi;
  m.created = now;
  m.accessed = now;
  return m;
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
  /** Largest key and largest record kept whole, for this page size (assembly/page.ts). */
  readonly maxKey: number;
  readonly maxInlineRecord: number;

  static #bySize = new Map<number, DirGeometry>();

  /** The (immutable, shared) geometry of a page size. */
  static of(pageSize: number): DirGeometry {
    let g = DirGeometry.#bySize.get(pageSize);
    if (g === undefined) {
      g = new DirGeometry(pageSize);
      DirGeometry.#bySize.set(pageSize, g);
    }
    return g;
  }

  constructor(readonly pageSize: number) {
    this.perPage = (pageSize - w.PAGE_HEADER) / 4;
    // Half of the meta payload; the rest is for the inline free list.
    this.topCapacity = Math.floor((pageSize - w.META_HEADER) / 8);
    this.maxKey = w.maxKeyBytes(pageSize);
    this.maxInlineRecord = w.maxInlineRecord(pageSize);
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
