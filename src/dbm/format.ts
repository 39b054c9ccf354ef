// Constants of the on-disk format shared by the TypeScript side. The byte
// layouts live beside their code in assembly/page.ts, meta.ts, records.ts and
// freelist.ts, and in FORMAT.md; this file only names them for TypeScript
// (test/dbm-format.test.js checks every offset here against the wasm's
// exported constants and FORMAT.md's tables). Reading and writing fields
// goes through the accessors in layout.ts.

export const PAGE_TYPE = { bucket: 1, dir: 2, overflow: 3, freelist: 4 } as const;
export type PageTypeName = keyof typeof PAGE_TYPE;
export const PAGE_TYPE_NAME: Record<number, PageTypeName> = { 1: 'bucket', 2: 'dir', 3: 'overflow', 4: 'freelist' };

export const MODE_INLINE = 0;
export const MODE_HASHED = 1;
export const MAX_DEPTH = 24;
export const REC_OVERFLOW = 1;

export const CODEC_ID = { raw: 0, msgpack: 1 } as const;
export type CodecName = keyof typeof CODEC_ID;
export const CODEC_NAME: Record<number, CodecName> = { 0: 'raw', 1: 'msgpack' };

/** The name of a meta page's codec id; metaVerify admits no other ids, so an unknown one is a bug. */
export function codecName(id: number): CodecName {
  const name = CODEC_NAME[id];
  if (name === undefined) throw new RangeError(`wasm-session dbm: unknown codec id ${id}`);
  return name;
}

export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65536;
export const DEFAULT_PAGE_SIZE = 4096;

// Record field offsets (assembly/records.ts); the key follows the 12-byte header.
export const R = { hash: 0, keyLen: 4, flags: 6, valueLen: 8 } as const;

// Data page header field offsets (assembly/page.ts).
export const H = { checksum: 0, pageNo: 4, txid: 8, type: 16, aux: 17, count: 20, next: 24, used: 28 } as const;

// Meta page field offsets (assembly/meta.ts).
export const M = {
  checksum: 0,
  magic: 4,
  version: 8,
  shift: 10,
  mode: 11,
  depth: 12,
  levels: 13,
  codec: 14,
  txid: 16,
  pageCount: 24,
  freelistPage: 28,
  keyCount: 32,
  seedLo: 40,
  seedHi: 44,
  created: 48,
  accessed: 56,
  user2: 64,
  user3: 72,
  mainUsed: 80,
  mainCount: 84,
  freeBytes: 88,
  freeCount: 92,
} as const;
export const META_MAGIC = 0x42445357;
export const FORMAT_VERSION = 1;
/** The meta page's reserved fields: zero in version 1, checked on open (FORMAT.md). */
export const META_RESERVED = [
  { offset: 15, length: 1 },
  { offset: 96, length: 32 },
] as const;

/** Why pageVerify/metaVerify rejected a page, by their ERR_* codes. */
export const VERIFY_REASON: Record<number, string> = {
  [-1]: 'checksum mismatch',
  [-2]: 'page number in header does not match its position',
  [-3]: 'unexpected page type',
  [-4]: 'page written by a transaction newer than the state that points to it',
  [-5]: 'malformed page layout',
  [-6]: 'bad magic number',
  [-7]: 'unsupported format version',
  [-8]: 'page size field does not match',
};

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
