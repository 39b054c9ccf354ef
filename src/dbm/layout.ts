// Typed accessors for the on-disk layouts of FORMAT.md, so the code that
// walks pages and records reads field names, not `ptr + 20`: data page
// headers ("Data page header"), records ("Records"), and arrays of
// directory entries. Addresses are into wasm memory (src/wasm.ts); the
// offsets are those of format.ts, checked against the wasm's own constants
// and FORMAT.md by test/dbm-format.test.js.

import * as w from '../wasm.js';
import { H, R, REC_OVERFLOW } from './format.js';

// ---- data page header (`p`: the page's address) -------------------------------

export const pageType = (p: number): number => w.u8(p + H.type);
/** BUCKET: local depth; DIR: level (0 = leaf level). */
export const pageAux = (p: number): number => w.u8(p + H.aux);
/** BUCKET: records; DIR: entries; OVERFLOW, FREELIST: payload bytes. */
export const pageCount = (p: number): number => w.u32(p + H.count);
/** BUCKET: next page of its chain (0 = none). */
export const pageNext = (p: number): number => w.u32(p + H.next);
/** Payload bytes in use. */
export const pageUsed = (p: number): number => w.u32(p + H.used);
export const setPageCount = (p: number, v: number): void => w.setU32(p + H.count, v);
export const setPageNext = (p: number, v: number): void => w.setU32(p + H.next, v);
export const setPageUsed = (p: number, v: number): void => w.setU32(p + H.used, v);
/** Address of the payload: records, directory entries or bytes. */
export const payloadOf = (p: number): number => p + w.PAGE_HEADER;

// ---- records (`r`: the record's address) ------------------------------------------

/** High 32 bits of XXH64(key, file seed). */
export const recHash = (r: number): number => w.u32(r + R.hash);
export const recKeyLen = (r: number): number => w.u16(r + R.keyLen);
export const recFlags = (r: number): number => w.u8(r + R.flags);
/** The value's length, wherever it lives. */
export const recValueLen = (r: number): number => w.u32(r + R.valueLen);
export const recIsOverflow = (r: number): boolean => (recFlags(r) & REC_OVERFLOW) !== 0;
/** Address of the key bytes. */
export const recKey = (r: number): number => r + w.REC_HEADER;
/** Address of the value bytes, or (overflow) of the u32 first page of its run. */
export const recValue = (r: number, keyLen: number = recKeyLen(r)): number => r + w.REC_HEADER + keyLen;
/** First page of an overflow record's run. */
export const recOverflowPage = (r: number, keyLen: number = recKeyLen(r)): number => w.u32(recValue(r, keyLen));
/** Bytes the record takes in its area. */
export const recSize = (keyLen: number, flags: number, valueLen: number): number => w.REC_HEADER + keyLen + ((flags & REC_OVERFLOW) !== 0 ? 4 : valueLen);

// ---- directory entries: u32 page numbers (a DIR page's payload, or the top level in the meta page) ----

export const dirEntry = (base: number, i: number): number => w.u32(base + 4 * i);
export const setDirEntry = (base: number, i: number, no: number): void => w.setU32(base + 4 * i, no);
