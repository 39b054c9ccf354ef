// Record areas: the packed list of key/value records inside a bucket page's
// payload, or inside the meta page while the whole database fits there
// (inline mode). A record, little-endian:
//
//   0      4      6     7     8          12           12+keyLen
//   +------+------+-----+-----+----------+------------+---------------------------+
//   | hash |keyLen|flags| (0) | valueLen | key bytes  | value bytes (valueLen)    |
//   +------+------+-----+-----+----------+------------+---------------------------+
//                                                      or, when flags & OVERFLOW:
//                                                      | u32 first overflow page   |
//
//   hash      high 32 bits of XXH64(key, file seed); the directory index is
//             its top `globalDepth` bits
//   flags     bit 0 OVERFLOW: the value lives in a run of consecutive overflow
//             pages, whose first page number takes the value's place
//   valueLen  the value's full length, wherever it lives
//
// Records are packed without gaps in no particular order; `used` bytes and
// `count` records in all. Removing a record moves the ones after it down.

import { ERR_LAYOUT, maxInlineRecord, maxKeyBytes } from './page';

export const REC_HEADER: i32 = 12;
export const REC_OVERFLOW: u8 = 1;
// Field offsets within a record (FORMAT.md, "Records").
export const R_HASH: usize = 0;
export const R_KEYLEN: usize = 4;
export const R_FLAGS: usize = 6;
export const R_VALUELEN: usize = 8;

@inline function recSizeAt(r: usize): u32 {
  const keyLen = <u32>load<u16>(r, R_KEYLEN);
  const flags = load<u8>(r, R_FLAGS);
  return <u32>REC_HEADER + keyLen + ((flags & REC_OVERFLOW) ? 4 : load<u32>(r, R_VALUELEN));
}

/**
 * Checks that `used` bytes at `base` hold exactly `count` well-formed
 * records: sizes that stay inside the area, known flags, keys no longer than
 * the page allows, inline records no larger than the inline limit. Every
 * other function here trusts an area that passed this check.
 */
export function validateRecords(base: usize, used: u32, count: u32, pageSize: i32): i32 {
  const maxKey = <u32>maxKeyBytes(pageSize);
  const maxInline = <u32>maxInlineRecord(pageSize);
  let off: u32 = 0;
  let n: u32 = 0;
  while (off < used) {
    if (used - off < <u32>REC_HEADER) return ERR_LAYOUT;
    const r = base + off;
    const keyLen = <u32>load<u16>(r, R_KEYLEN);
    const flags = load<u8>(r, R_FLAGS);
    if (keyLen > maxKey || (flags & ~REC_OVERFLOW) != 0 || load<u8>(r, R_FLAGS + 1) != 0) return ERR_LAYOUT;
    const valueLen = load<u32>(r, R_VALUELEN);
    let size: u32;
    if (flags & REC_OVERFLOW) {
      size = <u32>REC_HEADER + keyLen + 4;
      if (valueLen == 0 || valueLen > 0x7fffffff) return ERR_LAYOUT;
    } else {
      if (valueLen > maxInline) return ERR_LAYOUT;
      size = <u32>REC_HEADER + keyLen + valueLen;
      if (size > maxInline) return ERR_LAYOUT;
    }
    if (size > used - off) return ERR_LAYOUT;
    off += size;
    n++;
  }
  return n == count ? 0 : ERR_LAYOUT;
}

/** Offset of the record with this key, or -1. */
export function recFind(base: usize, used: u32, hash: u32, key: usize, keyLen: u32): i32 {
  let off: u32 = 0;
  while (off < used) {
    const r = base + off;
    if (load<u32>(r, R_HASH) == hash && <u32>load<u16>(r, R_KEYLEN) == keyLen && memory.compare(r + REC_HEADER, key, keyLen) == 0) {
      return <i32>off;
    }
    off += recSizeAt(r);
  }
  return -1;
}

export function recSize(base: usize, off: u32): u32 {
  return recSizeAt(base + off);
}

/** Removes the record at `off`; returns the new used size. */
export function recRemove(base: usize, used: u32, off: u32): u32 {
  const size = recSizeAt(base + off);
  memory.copy(base + off, base + off + size, used - off - size);
  memory.fill(base + used - size, 0, size);
  return used - size;
}

/**
 * Appends a record if it fits within `capacity`; returns the new used size,
 * or -1 when there is no room. With REC_OVERFLOW, `ovfPage` is stored in
 * place of the value and `value` is not read.
 */
export function recAppend(
  base: usize, used: u32, capacity: u32, hash: u32, key: usize, keyLen: u32,
  flags: u8, value: usize, valueLen: u32, ovfPage: u32,
): i32 {
  const size = <u32>REC_HEADER + keyLen + ((flags & REC_OVERFLOW) ? 4 : valueLen);
  if (size > capacity - used) return -1;
  const r = base + used;
  store<u32>(r, hash, R_HASH);
  store<u16>(r, <u16>keyLen, R_KEYLEN);
  store<u8>(r, flags, R_FLAGS);
  store<u8>(r, 0, R_FLAGS + 1);
  store<u32>(r, valueLen, R_VALUELEN);
  memory.copy(r + REC_HEADER, key, keyLen);
  if (flags & REC_OVERFLOW) store<u32>(r + REC_HEADER + keyLen, ovfPage);
  else memory.copy(r + REC_HEADER + keyLen, value, valueLen);
  return <i32>(used + size);
}

/**
 * Writes an index of up to `max` records to `out`, four u32 each: offset,
 * keyLen, flags, valueLen. The key starts at base + offset + REC_HEADER, the
 * value (or overflow page number) right after the key. Returns the count.
 */
export function recIndex(base: usize, used: u32, out: usize, max: u32): u32 {
  let off: u32 = 0;
  let n: u32 = 0;
  while (off < used && n < max) {
    const r = base + off;
    const o = out + (<usize>n << 4);
    store<u32>(o, off);
    store<u32>(o, <u32>load<u16>(r, R_KEYLEN), 4);
    store<u32>(o, <u32>load<u8>(r, R_FLAGS), 8);
    store<u32>(o, load<u32>(r, R_VALUELEN), 12);
    off += recSizeAt(r);
    n++;
  }
  return n;
}

/**
 * Splits a bucket's records by hash bit `bit` (0 = most significant): those
 * with the bit clear go to `dst0`, set to `dst1` (both payload bases, assumed
 * empty and large enough). Writes used0, count0, used1, count1 as u32s to `out`.
 */
export function recSplit(src: usize, used: u32, bit: u32, dst0: usize, dst1: usize, out: usize): void {
  let off: u32 = 0;
  let used0: u32 = 0, count0: u32 = 0, used1: u32 = 0, count1: u32 = 0;
  while (off < used) {
    const r = src + off;
    const size = recSizeAt(r);
    if (((load<u32>(r, R_HASH) >>> (31 - bit)) & 1) == 0) {
      memory.copy(dst0 + used0, r, size);
      used0 += size;
      count0++;
    } else {
      memory.copy(dst1 + used1, r, size);
      used1 += size;
      count1++;
    }
    off += size;
  }
  store<u32>(out, used0);
  store<u32>(out, count0, 4);
  store<u32>(out, used1, 8);
  store<u32>(out, count1, 12);
}

/**
 * For check(): 0 if every record's stored hash is the key's hash and its top
 * `depth` bits equal `prefix`; otherwise the 1-based index of the first bad
 * record. Each key's hash is recomputed with keyHash under the file's seed
 * (`seedLo`, `seedHi`).
 */
export function recCheckHashes(base: usize, used: u32, depth: u32, prefix: u32, seedLo: u32, seedHi: u32): i32 {
  let off: u32 = 0;
  let n: i32 = 0;
  while (off < used) {
    const r = base + off;
    n++;
    const keyLen = <u32>load<u16>(r, R_KEYLEN);
    const h = keyHash(r + REC_HEADER, keyLen, seedLo, seedHi);
    if (h != load<u32>(r, R_HASH)) return n;
    if (depth > 0 && (h >>> (32 - depth)) != prefix) return n;
    off += recSizeAt(r);
  }
  return 0;
}

import { xxh64, seed64 } from './xxh64';

/** The 32-bit key hash stored in records: the high half of XXH64(key, seed). */
export function keyHash(key: usize, keyLen: u32, seedLo: u32, seedHi: u32): u32 {
  return <u32>(xxh64(key, keyLen, seed64(seedLo, seedHi)) >> 32);
}
