// Page headers, checksums and verification for the dbm file format.
// FORMAT.md describes every byte; the diagrams here are the same.
//
// Data page (every page but the two meta slots), little-endian:
//
//   0        4        8                16   17   18      20       24       28       32
//   +--------+--------+----------------+----+----+-------+--------+--------+--------+-------------
//   |checksum| pageNo |      txid      |type|aux | (0)   | count  |  next  |  used  | payload ...
//   +--------+--------+----------------+----+----+-------+--------+--------+--------+-------------
//
//   checksum  low 32 bits of XXH64(page[4 .. pageSize), file seed)
//   pageNo    the page's own number: a page written to the wrong place fails
//   txid      the transaction that wrote it; never above the meta's txid
//   type      BUCKET 1, DIR 2, OVERFLOW 3, FREELIST 4
//   aux       BUCKET: local depth; DIR: level (0 = leaf level)
//   count     BUCKET: records; DIR: entries; OVERFLOW, FREELIST: payload bytes
//   next      BUCKET: next page of its chain (only at maximum depth), 0 = none;
//             OVERFLOW, FREELIST: 0 (their pages form contiguous runs)
//   used      payload bytes in use (BUCKET: record bytes; DIR: 4 * count)

import { xxh64, seed64 } from './xxh64';
import { validateRecords } from './records';

export const PAGE_HEADER: i32 = 32;
export const H_CHECKSUM: usize = 0;
export const H_PAGENO: usize = 4;
export const H_TXID: usize = 8;
export const H_TYPE: usize = 16;
export const H_AUX: usize = 17;
export const H_COUNT: usize = 20;
export const H_NEXT: usize = 24;
export const H_USED: usize = 28;

export const TYPE_BUCKET: u8 = 1;
export const TYPE_DIR: u8 = 2;
export const TYPE_OVERFLOW: u8 = 3;
export const TYPE_FREELIST: u8 = 4;

// Verification results (0 is success). Negative so JS can test `< 0`.
export const ERR_CHECKSUM: i32 = -1;
export const ERR_PAGENO: i32 = -2;
export const ERR_TYPE: i32 = -3;
export const ERR_TXID: i32 = -4;
export const ERR_LAYOUT: i32 = -5;
export const ERR_MAGIC: i32 = -6;
export const ERR_VERSION: i32 = -7;
export const ERR_PAGESIZE: i32 = -8;

/** Zeroes a page and writes its header. */
export function pageInit(p: usize, pageSize: i32, type: u8, aux: u8, pageNo: u32, txid: f64): void {
  memory.fill(p, 0, <usize>pageSize);
  store<u32>(p + H_PAGENO, pageNo);
  store<u64>(p + H_TXID, <u64>txid);
  store<u8>(p + H_TYPE, type);
  store<u8>(p + H_AUX, aux);
}

/** Re-stamps a copied page with its new number and writing transaction. */
export function pageRestamp(p: usize, pageNo: u32, txid: f64): void {
  store<u32>(p + H_PAGENO, pageNo);
  store<u64>(p + H_TXID, <u64>txid);
}

@inline function checksumOf(p: usize, pageSize: i32, seed: u64): u32 {
  return <u32>xxh64(p + 4, <usize>pageSize - 4, seed);
}

/** Computes and stores the checksum; the last step before a page is written. */
export function pageSeal(p: usize, pageSize: i32, seedLo: u32, seedHi: u32): void {
  store<u32>(p + H_CHECKSUM, checksumOf(p, pageSize, seed64(seedLo, seedHi)));
}

/** Largest key, in bytes, that fits a record on pages of this size. */
export function maxKeyBytes(pageSize: i32): i32 {
  return maxInlineRecord(pageSize) - 16;
}

/**
 * Largest record kept whole on a page; a record that would be larger keeps
 * its value in an overflow run. A quarter of the payload, so a bucket
 * always holds at least four records and a split has something to split.
 */
export function maxInlineRecord(pageSize: i32): i32 {
  return (pageSize - PAGE_HEADER) >> 2;
}

/**
 * Verifies a data page read from disk before anything else looks at it:
 * checksum, own page number, type, txid not newer than the state it was
 * reached from, and a payload that stays inside the page (for buckets, every
 * record too). Returns 0 or one of the ERR_* codes.
 */
export function pageVerify(
  p: usize, pageSize: i32, pageNo: u32, seedLo: u32, seedHi: u32, maxTxid: f64, type: u8,
): i32 {
  if (load<u32>(p + H_CHECKSUM) != checksumOf(p, pageSize, seed64(seedLo, seedHi))) return ERR_CHECKSUM;
  if (load<u32>(p + H_PAGENO) != pageNo) return ERR_PAGENO;
  if (load<u8>(p + H_TYPE) != type) return ERR_TYPE;
  if (load<u64>(p + H_TXID) > <u64>maxTxid) return ERR_TXID;
  const payload = <u32>(pageSize - PAGE_HEADER);
  const count = load<u32>(p + H_COUNT);
  const used = load<u32>(p + H_USED);
  if (used > payload) return ERR_LAYOUT;
  if (type == TYPE_BUCKET) {
    if (load<u8>(p + H_AUX) > 32) return ERR_LAYOUT;
    return validateRecords(p + PAGE_HEADER, used, count, pageSize);
  }
  if (type == TYPE_DIR) {
    // count first: count << 2 wraps around for a huge count.
    if (count > payload >> 2 || used != count << 2) return ERR_LAYOUT;
  } else if (used != count) {
    return ERR_LAYOUT;
  }
  return 0;
}
