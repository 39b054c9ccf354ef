// The meta page. Pages 0 and 1 are its two slots; a commit writes the new
// meta to both (the older-txid slot first), so at rest they are identical
// and either one alone is enough. Little-endian:
//
//    0 +----------+----------+------+-----+----+-----+-----+-----+-----+
//      | checksum |  magic   | ver  |shift|mode|depth|levls|codec| (0) |
//   16 +----------+----------+------+-----+----+-----+-----+-----+-----+
//      |        txid         |pageCount | freelistPage |
//   32 +---------------------+----------+--------------+
//      |      keyCount       |  seedLo  |  seedHi      |
//   48 +---------------------+---------------------+
//      |  created (f64 ms)   |  accessed (f64 ms)  |
//   64 +---------------------+---------------------+
//      |  user2 (f64)        |  user3 (f64)        |
//   80 +----------+----------+----------+----------+
//      | mainUsed |mainCount |freeBytes |freeCount |
//   96 +----------+----------+----------+----------+
//      |            reserved, zero (32 bytes)       |
//  128 +--------------------------------------------+-------------------+
//      | main region (mainUsed bytes)               | inline free runs  |
//      +--------------------------------------------+-------------------+
//
//   checksum   low 32 bits of XXH64(page[4 .. pageSize), seed 0)
//   magic      0x42445357, the bytes "WSDB"
//   ver        format version, 1
//   shift      log2(pageSize): 9..16
//   mode       0 INLINE: the main region holds all records (mainCount of them)
//              1 HASHED: the main region holds the directory's top level,
//                mainCount u32 page numbers
//   depth      global depth d of the extendible-hashing directory (2^d entries)
//   levls      DIR page levels below the top (0: the top holds bucket pages)
//   codec      how values were encoded when written: 0 raw, 1 msgpack
//   txid       this commit's transaction id; the valid slot with the highest wins
//   pageCount  pages in use or free: the file's logical size in pages
//   freelistPage first page of a run of FREELIST pages holding the free runs
//              when they do not fit inline (0: they are inline, after main)
//   keyCount   live keys
//   seed       the file's random 64-bit seed for key hashes and page checksums
//   created, accessed, user2, user3: fields for the application (sessions keep
//              their creation and access times here, so touching a session
//              rewrites only this page)
//   freeBytes  bytes of encoded free runs (see freelist.ts), inline or spilled
//   freeCount  number of free pages in all

import { xxh64 } from './xxh64';
import { validateRecords } from './records';
import { dirEntriesInRange } from './dir';
import { ERR_CHECKSUM, ERR_MAGIC, ERR_VERSION, ERR_PAGESIZE, ERR_LAYOUT } from './page';

export const META_HEADER: i32 = 128;
export const META_MAGIC: u32 = 0x42445357;
export const FORMAT_VERSION: u16 = 1;
export const MODE_INLINE: u8 = 0;
export const MODE_HASHED: u8 = 1;
export const MAX_DEPTH: u8 = 24;

export const M_CHECKSUM: usize = 0;
export const M_MAGIC: usize = 4;
export const M_VERSION: usize = 8;
export const M_SHIFT: usize = 10;
export const M_MODE: usize = 11;
export const M_DEPTH: usize = 12;
export const M_LEVELS: usize = 13;
export const M_CODEC: usize = 14;
export const M_TXID: usize = 16;
export const M_PAGECOUNT: usize = 24;
export const M_FREELISTPAGE: usize = 28;
export const M_KEYCOUNT: usize = 32;
export const M_SEEDLO: usize = 40;
export const M_SEEDHI: usize = 44;
export const M_CREATED: usize = 48;
export const M_ACCESSED: usize = 56;
export const M_USER2: usize = 64;
export const M_USER3: usize = 72;
export const M_MAINUSED: usize = 80;
export const M_MAINCOUNT: usize = 84;
export const M_FREEBYTES: usize = 88;
export const M_FREECOUNT: usize = 92;

@inline function metaChecksum(p: usize, pageSize: i32): u32 {
  return <u32>xxh64(p + 4, <usize>pageSize - 4, 0);
}

export function metaSeal(p: usize, pageSize: i32): void {
  store<u32>(p + M_CHECKSUM, metaChecksum(p, pageSize));
}

/**
 * Verifies a meta slot read from the file for a given page size: checksum,
 * magic, version, that its own page-size field agrees, and that every field
 * and the main region are within range. Returns 0 or an ERR_* code.
 */
export function metaVerify(p: usize, pageSize: i32): i32 {
  if (load<u32>(p + M_MAGIC) != META_MAGIC) return ERR_MAGIC;
  if (load<u32>(p + M_CHECKSUM) != metaChecksum(p, pageSize)) return ERR_CHECKSUM;
  if (load<u16>(p + M_VERSION) != FORMAT_VERSION) return ERR_VERSION;
  if ((1 << <i32>load<u8>(p + M_SHIFT)) != pageSize) return ERR_PAGESIZE;
  const mode = load<u8>(p + M_MODE);
  const depth = load<u8>(p + M_DEPTH);
  const levels = load<u8>(p + M_LEVELS);
  const pageCount = load<u32>(p + M_PAGECOUNT);
  const mainUsed = load<u32>(p + M_MAINUSED);
  const mainCount = load<u32>(p + M_MAINCOUNT);
  const freeBytes = load<u32>(p + M_FREEBYTES);
  const freelistPage = load<u32>(p + M_FREELISTPAGE);
  if (mode > MODE_HASHED || load<u8>(p + M_CODEC) > 1 || depth > MAX_DEPTH || levels > 8) return ERR_LAYOUT;
  if (pageCount < 2) return ERR_LAYOUT;
  if (freelistPage == 0) {
    if (<u64>mainUsed + <u64>freeBytes > <u64>(pageSize - META_HEADER)) return ERR_LAYOUT;
  } else {
    if (mainUsed > <u32>(pageSize - META_HEADER) || freelistPage < 2 || freeBytes == 0) return ERR_LAYOUT;
    const spillPages = (<u64>freeBytes + <u64>(pageSize - 33)) / <u64>(pageSize - 32);
    if (<u64>freelistPage + spillPages > <u64>pageCount) return ERR_LAYOUT;
  }
  if (load<u32>(p + M_FREECOUNT) >= pageCount) return ERR_LAYOUT;
  const main = p + META_HEADER;
  if (mode == MODE_INLINE) {
    if (depth != 0 || levels != 0) return ERR_LAYOUT;
    if (<u64>mainCount != load<u64>(p + M_KEYCOUNT)) return ERR_LAYOUT;
    return validateRecords(main, mainUsed, mainCount, pageSize);
  }
  // mainCount first: mainCount << 2 wraps around for a huge count.
  if (mainCount == 0 || mainCount > <u32>(pageSize - META_HEADER) >> 2 || mainUsed != mainCount << 2) return ERR_LAYOUT;
  if (!dirEntriesInRange(main, mainCount, pageCount)) return ERR_LAYOUT;
  return 0;
}
