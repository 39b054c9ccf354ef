// Free-page bookkeeping. In memory a free set is a sorted array of distinct
// page numbers:
//
//   set + 0   u32 capacity (entries)
//   set + 4   u32 count
//   set + 8   u32 pages[capacity], ascending
//
// On disk (in the meta page, or in FREELIST pages when it does not fit) it is
// encoded as runs of consecutive pages, each run two LEB128 varints:
//   gap  = run start - (previous run end), the first run counts from 0
//   len1 = run length - 1
// so a file whose free pages cluster (the common case) costs a few bytes.

export const FREE_SET_HEADER: i32 = 8;

@inline function pagesOf(set: usize): usize { return set + FREE_SET_HEADER; }

export function freeInit(set: usize, capacity: u32): void {
  store<u32>(set, capacity);
  store<u32>(set, 0, 4);
}

export function freeCount(set: usize): u32 { return load<u32>(set, 4); }

export function freeGet(set: usize, i: u32): u32 { return load<u32>(pagesOf(set) + (<usize>i << 2)); }

/** Index of the first entry >= page. */
function lowerBound(set: usize, page: u32): u32 {
  let lo: u32 = 0;
  let hi = load<u32>(set, 4);
  const pages = pagesOf(set);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u32>(pages + (<usize>mid << 2)) < page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function freeHas(set: usize, page: u32): i32 {
  const i = lowerBound(set, page);
  return <i32>(i < load<u32>(set, 4) && load<u32>(pagesOf(set) + (<usize>i << 2)) == page);
}

/** Adds a page: 0 done, -1 already free (a double free), -2 set is full. */
export function freeAdd(set: usize, page: u32): i32 {
  const count = load<u32>(set, 4);
  const i = lowerBound(set, page);
  const pages = pagesOf(set);
  if (i < count && load<u32>(pages + (<usize>i << 2)) == page) return -1;
  if (count >= load<u32>(set)) return -2;
  const at = pages + (<usize>i << 2);
  memory.copy(at + 4, at, <usize>(count - i) << 2);
  store<u32>(at, page);
  store<u32>(set, count + 1, 4);
  return 0;
}

function removeAt(set: usize, i: u32, n: u32): void {
  const count = load<u32>(set, 4);
  const at = pagesOf(set) + (<usize>i << 2);
  memory.copy(at, at + (<usize>n << 2), <usize>(count - i - n) << 2);
  store<u32>(set, count - n, 4);
}

/**
 * Takes the lowest run of exactly `n` consecutive free pages and returns its
 * first page, or 0 when there is none (the caller extends the file instead).
 * Overflow values and spilled free lists are such runs.
 */
export function freeTakeRun(set: usize, n: u32): u32 {
  const count = load<u32>(set, 4);
  if (n == 0 || count < n) return 0;
  const pages = pagesOf(set);
  let runStart: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (i > 0 && load<u32>(pages + (<usize>i << 2)) != load<u32>(pages + (<usize>(i - 1) << 2)) + 1) runStart = i;
    if (i - runStart + 1 == n) {
      const first = load<u32>(pages + (<usize>runStart << 2));
      removeAt(set, runStart, n);
      return first;
    }
  }
  return 0;
}

/** Removes one specific page; 1 if it was there. */
export function freeRemove(set: usize, page: u32): i32 {
  const i = lowerBound(set, page);
  if (i < load<u32>(set, 4) && load<u32>(pagesOf(set) + (<usize>i << 2)) == page) {
    removeAt(set, i, 1);
    return 1;
  }
  return 0;
}

@inline function varintSize(v: u32): u32 {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

@inline function putVarint(p: usize, v: u32): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v | 0x80));
    v >>>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

/**
 * Walks the set's runs of consecutive pages and encodes each as two varints
 * at `dst`, or only counts the bytes when `dst` is 0. Returns the bytes.
 */
function encodeRuns(set: usize, dst: usize): u32 {
  const count = load<u32>(set, 4);
  const pages = pagesOf(set);
  let size: u32 = 0;
  let prevEnd: u32 = 0;
  let i: u32 = 0;
  while (i < count) {
    const start = load<u32>(pages + (<usize>i << 2));
    let j = i + 1;
    while (j < count && load<u32>(pages + (<usize>j << 2)) == start + (j - i)) j++;
    if (dst != 0) {
      const end = putVarint(putVarint(dst + size, start - prevEnd), j - i - 1);
      size = <u32>(end - dst);
    } else {
      size += varintSize(start - prevEnd) + varintSize(j - i - 1);
    }
    prevEnd = start + (j - i);
    i = j;
  }
  return size;
}

/** Bytes the run encoding of the set takes. */
export function freeEncodedSize(set: usize): u32 {
  return encodeRuns(set, 0);
}

/** Encodes the set as runs at `dst` (not 0); returns the bytes written. */
export function freeEncode(set: usize, dst: usize): u32 {
  return encodeRuns(set, dst);
}

// Where readVarint leaves the position after the varint it read.
let varintEnd: usize = 0;

/** Reads one LEB128 varint of at most 32 bits; -1 when malformed or truncated. */
function readVarint(p: usize, end: usize): i64 {
  let v: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    if (p >= end || shift > 28) return -1;
    const b = load<u8>(p++);
    v |= <u64>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  if (v > 0xffffffff) return -1;
  varintEnd = p;
  return <i64>v;
}

/**
 * Decodes `len` bytes of runs from `src` into an empty set. Every page must
 * be in [2, pageCount) and runs must ascend without touching, so the pages
 * are appended in order. Returns the number of pages, -1 for malformed
 * input, -2 when the set is too small (the caller grows it and decodes
 * again), -3 when the set was not empty.
 */
export function freeDecode(set: usize, src: usize, len: u32, pageCount: u32): i32 {
  if (load<u32>(set, 4) != 0) return -3;
  const capacity = <u64>load<u32>(set);
  const pages = pagesOf(set);
  const end = src + len;
  let p = src;
  let prevEnd: u64 = 0;
  let count: u64 = 0;
  while (p < end) {
    const gap = readVarint(p, end);
    if (gap < 0) return -1;
    const len1 = readVarint(varintEnd, end);
    if (len1 < 0) return -1;
    p = varintEnd;
    // Touching runs would have been encoded as one run.
    if (count > 0 && gap == 0) return -1;
    const start = prevEnd + <u64>gap;
    const runLen = <u64>len1 + 1;
    if (start < 2 || start + runLen > <u64>pageCount) return -1;
    if (count + runLen > capacity) return -2;
    for (let q = start; q < start + runLen; q++) {
      store<u32>(pages + (<usize>count << 2), <u32>q);
      count++;
    }
    prevEnd = start + runLen;
  }
  store<u32>(set, <u32>count, 4);
  return <i32>count;
}
