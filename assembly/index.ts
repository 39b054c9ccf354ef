// The one WebAssembly module of wasm-session. src/wasm.ts is its only caller.
//
// Static areas (fixed at compile time, never freed):
//
//   IO      IO_SIZE bytes   inputs copied in from JS, outputs read back
//   SCRATCH 256 bytes       digests, hex, HMAC key states, one MD5 context
//
// Dynamic memory (page cache slots, free sets) comes from alloc()/dealloc(),
// the runtime's TLSF allocator; memory may grow, and src/wasm.ts re-acquires
// its views when it does. JS asks for the static addresses once at start-up.

export {
  md5, md5Init, md5InitFrom, md5Update, md5Final,
  hmacKeyStates, hmac, hmacOuter, md5Hex, hmacHex, hmacVerifyHex, toHex,
  MD5_CTX_SIZE,
} from './md5';
// Exported for test/wasm-core.test.js only: xxh64Split, validateRecords.
export { xxh64Split } from './xxh64';
// The layout constants, so src/dbm/format.ts can be checked against them (test/dbm-format.test.js).
export {
  H_CHECKSUM, H_PAGENO, H_TXID, H_TYPE, H_AUX, H_COUNT, H_NEXT, H_USED,
  TYPE_BUCKET, TYPE_DIR, TYPE_OVERFLOW, TYPE_FREELIST,
} from './page';
export {
  META_MAGIC, FORMAT_VERSION, MODE_INLINE, MODE_HASHED, MAX_DEPTH,
  M_CHECKSUM, M_MAGIC, M_VERSION, M_SHIFT, M_MODE, M_DEPTH, M_LEVELS, M_CODEC, M_TXID, M_PAGECOUNT,
  M_FREELISTPAGE, M_KEYCOUNT, M_SEEDLO, M_SEEDHI, M_CREATED, M_ACCESSED, M_USER2, M_USER3,
  M_MAINUSED, M_MAINCOUNT, M_FREEBYTES, M_FREECOUNT,
} from './meta';
export { REC_OVERFLOW, R_HASH, R_KEYLEN, R_FLAGS, R_VALUELEN } from './records';
export {
  PAGE_HEADER, pageInit, pageRestamp, pageSeal, pageVerify, maxKeyBytes, maxInlineRecord,
} from './page';
export { META_HEADER, metaSeal, metaVerify } from './meta';
export {
  REC_HEADER, validateRecords, recFind, recSize, recRemove, recAppend, recIndex, recSplit,
  recCheckHashes, keyHash,
} from './records';
export { dirFill, dirDoubleInto } from './dir';
export {
  FREE_SET_HEADER, freeInit, freeCount, freeRuns, freeRunStart, freeRunLen, freeHas, freeAdd, freeRemove,
  freeTakeRun, freeEncodedSize, freeEncode, freeDecode,
} from './freelist';

export const IO_SIZE: i32 = 65536;
const IO: usize = memory.data(IO_SIZE, 16);
const SCRATCH: usize = memory.data(256, 16);

export function ioPtr(): usize { return IO; }
export function scratchPtr(): usize { return SCRATCH; }

/** Allocates `size` bytes, 16-byte aligned; memory grows when needed. */
export function alloc(size: usize): usize { return heap.alloc(size); }
export function dealloc(ptr: usize): void { heap.free(ptr); }
