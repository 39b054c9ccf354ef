// Free-page bookkeeping. In memory a free set is a sorted array of runs of
// consecutive free pages:
//
//   set + 0   u32 capacity (runs)
//   set + 4   u32 runs in use
//   set + 8   u32 pages in all the runs
//   set + 12  u32 (0)
//   set + 16  runs[capacity]: u32 start, u32 length (>= 1); ascending, and
//             never touching (touching runs are one run)
//
// so every operation costs O(log runs) or O(runs), not O(pages): a large
// file's free pages cluster, and a commit encodes the whole set.
//
// On disk (in the meta page, or in FREELIST pages when it does not fit) the
// runs are encoded as two LEB128 varints each:
//   gap  = run start - (previous run end), the first run counts from 0
//   len1 = run length - 1

export const FREE_SET_HEADER: i32 = 16;

@inline function runAt(set: usize, i: u32): usize { return set + <usize>FREE_SET_HEADER + (<usize>i << 3); }
@inline function startOf(set: usize, i: u32): u32 { return load<u32>(runAt(set, i)); }
@inline function lenOf(set: usize, i: u32): u32 { return load<u32>(runAt(set, i), 4); }
@inline function runsOf(set: usize): u32 { return load<u32>(set, 4); }

export function freeInit(set: usize, capacity: u32): void {
  store<u32>(set, capacity);
  store<u32>(set, 0, 4);
  store<u32>(set, 0, 8);
  store<u32>(set, 0, 12);
}

/** Free pages in the set. */
export function freeCount(set: usize): u32 { return load<u32>(set, 8); }

/** Runs in the set; each is freeRunStart(set, i) .. + freeRunLen(set, i). */
export function freeRuns(set: usize): u32 { return runsOf(set); }
export function freeRunStart(set: usize, i: u32): u32 { return startOf(set, i); }
export function freeRunLen(set: usize, i: u32): u32 { return lenOf(set, i); }

/** Index of the last run starting at or before `page`, or -1. */
function runBefore(set: usize, page: u32): i32 {
  let lo: u32 = 0;
  let hi = runsOf(set);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (startOf(set, mid) <= page) lo = mid + 1;
    else hi = mid;
  }
  return <i32>lo - 1;
}

/** Makes room for one run at index i (shifting the rest up); false when the set is full. */
function insertRun(set: usize, i: u32, start: u32, len: u32): bool {
  const runs = runsOf(set);
  if (runs >= load<u32>(set)) return false;
  const at = runAt(set, i);
  memory.copy(at + 8, at, <usize>(runs - i) << 3);
  store<u32>(at, start);
  store<u32>(at, len, 4);
  store<u32>(set, runs + 1, 4);
  return true;
}

function removeRun(set: usize, i: u32): void {
  const runs = runsOf(set);
  const at = runAt(set, i);
  memory.copy(at, at + 8, <usize>(runs - i - 1) << 3);
  store<u32>(set, runs - 1, 4);
}

export function freeHas(set: usize, page: u32): i32 {
  const i = runBefore(set, page);
  return <i32>(i >= 0 && page - startOf(set, <u32>i) < lenOf(set, <u32>i));
}

/** Adds a page: 0 done, -1 already free (a double free), -2 set is full (grow it and retry). */
export function freeAdd(set: usize, page: u32): i32 {
  const i = runBefore(set, page);
  const runs = runsOf(set);
  const next = <u32>(i + 1);
  const joinsNext = next < runs && startOf(set, next) == page + 1;
  if (i >= 0) {
    const start = startOf(set, <u32>i);
    const len = lenOf(set, <u32>i);
    if (page - start < len) return -1;
    if (start + len == page) {
      // Extends run i, and perhaps closes the gap to the next one.
      if (joinsNext) {
        store<u32>(runAt(set, <u32>i), len + 1 + lenOf(set, next), 4);
        removeRun(set, next);
      } else {
        store<u32>(runAt(set, <u32>i), len + 1, 4);
      }
      store<u32>(set, freeCount(set) + 1, 8);
      return 0;
    }
  }
  if (joinsNext) {
    store<u32>(runAt(set, next), page);
    store<u32>(runAt(set, next), lenOf(set, next) + 1, 4);
  } else if (!insertRun(set, next, page, 1)) {
    return -2;
  }
  store<u32>(set, freeCount(set) + 1, 8);
  return 0;
}

/** Removes one specific page: 1 removed, 0 it was not there, -2 set is full (a run would split; grow and retry). */
export function freeRemove(set: usize, page: u32): i32 {
  const i = runBefore(set, page);
  if (i < 0) return 0;
  const start = startOf(set, <u32>i);
  const len = lenOf(set, <u32>i);
  const k = page - start;
  if (k >= len) return 0;
  if (len == 1) {
    removeRun(set, <u32>i);
  } else if (k == 0) {
    store<u32>(runAt(set, <u32>i), start + 1);
    store<u32>(runAt(set, <u32>i), len - 1, 4);
  } else if (k == len - 1) {
    store<u32>(runAt(set, <u32>i), len - 1, 4);
  } else {
    if (!insertRun(set, <u32>i + 1, page + 1, len - k - 1)) return -2;
    store<u32>(runAt(set, <u32>i), k, 4);
  }
  store<u32>(set, freeCount(set) - 1, 8);
  return 1;
}

/**
 * Takes `n` consecutive free pages from the start of the lowest run that
 * has them and returns the first, or 0 when no run is that long (the
 * caller extends the file instead).
 */
export function freeTakeRun(set: usize, n: u32): u32 {
  if (n == 0) return 0;
  const runs = runsOf(set);
  for (let i: u32 = 0; i < runs; i++) {
    const len = lenOf(set, i);
    if (len < n) continue;
    const start = startOf(set, i);
    if (len == n) {
      removeRun(set, i);
    } else {
      store<u32>(runAt(set, i), start + n);
      store<u32>(runAt(set, i), len - n, 4);
    }
    store<u32>(set, freeCount(set) - n, 8);
    return start;
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

/** Bytes the run encoding of the set takes. */
export function freeEncodedSize(set: usize): u32 {
  const runs = runsOf(set);
  let size: u32 = 0;
  let prevEnd: u32 = 0;
  for (let i: u32 = 0; i < runs; i++) {
    const start = startOf(set, i);
    const len = lenOf(set, i);
    size += varintSize(start - prevEnd) + varintSize(len - 1);
    prevEnd = start + len;
  }
  return size;
}

/**
 * Encodes the set as runs at `dst`, as long as the encoding fits in `max`
 * bytes (a commit encodes straight into the meta page, where the room is
 * what the main region leaves); returns the encoding's full length, so one
 * pass both sizes and, when it fits, writes it. Nothing past dst + max is
 * written; when the result exceeds `max`, the bytes at dst are a prefix.
 */
export function freeEncode(set: usize, dst: usize, max: u32): u32 {
  const runs = runsOf(set);
  let size: u32 = 0;
  let prevEnd: u32 = 0;
  let i: u32 = 0;
  // While ten bytes (two varints of the widest kind) surely fit: write.
  while (i < runs && max - size >= 10) {
    const start = startOf(set, i);
    const len1 = lenOf(set, i) - 1;
    const gap = start - prevEnd;
    if ((gap | len1) < 0x80) {
      // The usual run: both varints one byte each.
      store<u16>(dst + size, <u16>(gap | (len1 << 8)));
      size += 2;
    } else {
      size = <u32>(putVarint(putVarint(dst + size, gap), len1) - dst);
    }
    prevEnd = start + len1 + 1;
    i++;
  }
  // Near the end of the room (or past it): size each run before writing it.
  for (; i < runs; i++) {
    const start = startOf(set, i);
    const len = lenOf(set, i);
    const n = varintSize(start - prevEnd) + varintSize(len - 1);
    if (size + n <= max) putVarint(putVarint(dst + size, start - prevEnd), len - 1);
    else max = 0;
    size += n;
    prevEnd = start + len;
  }
  return size;
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
 * be in [2, pageCount) and runs must ascend without touching. Returns the
 * number of pages, -1 for malformed input, -2 when the set has too few
 * runs of room (len / 2 always suffice), -3 when the set was not empty.
 */
export function freeDecode(set: usize, src: usize, len: u32, pageCount: u32): i32 {
  if (runsOf(set) != 0) return -3;
  const capacity = load<u32>(set);
  const end = src + len;
  let p = src;
  let prevEnd: u64 = 0;
  let count: u64 = 0;
  let runs: u32 = 0;
  while (p < end) {
    const gap = readVarint(p, end);
    if (gap < 0) return -1;
    const len1 = readVarint(varintEnd, end);
    if (len1 < 0) return -1;
    p = varintEnd;
    // Touching runs would have been encoded as one run.
    if (runs > 0 && gap == 0) return -1;
    const start = prevEnd + <u64>gap;
    const runLen = <u64>len1 + 1;
    if (start < 2 || start + runLen > <u64>pageCount) return -1;
    if (runs >= capacity) return -2;
    store<u32>(runAt(set, runs), <u32>start);
    store<u32>(runAt(set, runs), <u32>runLen, 4);
    runs++;
    count += runLen;
    prevEnd = start + runLen;
  }
  store<u32>(set, runs, 4);
  store<u32>(set, <u32>count, 8);
  return <i32>count;
}
