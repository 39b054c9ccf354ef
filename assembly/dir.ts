// Directory entries: arrays of u32 page numbers. The same functions serve a
// DIR page's payload and the directory's top level inside the meta page;
// the caller passes the base address of the entry array.

/** Sets entries [from, from + n) to `value`. */
export function dirFill(base: usize, from: u32, n: u32, value: u32): void {
  const end = base + ((<usize>from + n) << 2);
  for (let p = base + (<usize>from << 2); p < end; p += 4) store<u32>(p, value);
}

/**
 * Directory doubling: writes each of `n` entries from `src` twice, in order,
 * to `dst` (entry i of the old directory becomes entries 2i and 2i+1).
 */
export function dirDoubleInto(src: usize, n: u32, dst: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    const v = load<u32>(src + (i << 2));
    store<u64>(dst + (i << 3), (<u64>v << 32) | <u64>v);
  }
}

/** 1 if every one of `n` entries at `base` is in [2, pageCount), else 0. */
export function dirEntriesInRange(base: usize, n: u32, pageCount: u32): i32 {
  for (let i: usize = 0; i < <usize>n; i++) {
    const v = load<u32>(base + (i << 2));
    if (v < 2 || v >= pageCount) return 0;
  }
  return 1;
}
