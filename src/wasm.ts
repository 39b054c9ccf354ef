// The boundary to the WebAssembly core: the only module that touches wasm
// memory. It compiles and instantiates core.wasm synchronously at import (so
// the first call pays nothing and CommonJS can require() this ESM package,
// which top-level await would forbid), owns the static IO and SCRATCH areas
// the module exports, re-acquires its memory view when memory grows, and
// turns a trap into a WasmTrapError that names the operation.
//
// Why plain WebAssembly APIs and not @assemblyscript/loader: the loader is
// deprecated upstream since AssemblyScript 0.20, and our exports take and
// return only numbers (pointers, lengths), so no string/array lifting glue is
// needed; the generated bindings would instantiate asynchronously.

import { readFileSync } from 'node:fs';
import { WasmTrapError } from './errors.js';

interface CoreExports {
  memory: WebAssembly.Memory;
  IO_SIZE: WebAssembly.Global;
  MD5_CTX_SIZE: WebAssembly.Global;
  ioPtr(): number;
  scratchPtr(): number;
  md5(p: number, len: number, out: number): void;
  md5Init(ctx: number): void;
  md5InitFrom(ctx: number, state: number, prefix: number): void;
  md5Update(ctx: number, p: number, len: number): void;
  md5Final(ctx: number, out: number): void;
  md5Hex(p: number, len: number, out: number): void;
  hmacHex(states: number, p: number, len: number, out: number): void;
  hmacKeyStates(key: number, keyLen: number, states: number): void;
  hmac(states: number, p: number, len: number, out: number): void;
  hmacOuter(states: number, out: number): void;
  hmacVerifyHex(states: number, p: number, len: number, scratch: number): number;
  toHex(src: number, len: number, dst: number): void;
  alloc(size: number): number;
  dealloc(ptr: number): void;
  xxh64Split(p: number, len: number, seedLo: number, seedHi: number, hiOut: number): number;
  keyHash(key: number, keyLen: number, seedLo: number, seedHi: number): number;
  PAGE_HEADER: WebAssembly.Global;
  META_HEADER: WebAssembly.Global;
  REC_HEADER: WebAssembly.Global;
  FREE_SET_HEADER: WebAssembly.Global;
  pageInit(p: number, pageSize: number, type: number, aux: number, pageNo: number, txid: number): void;
  pageRestamp(p: number, pageNo: number, txid: number): void;
  pageSeal(p: number, pageSize: number, seedLo: number, seedHi: number): void;
  pageVerify(p: number, pageSize: number, pageNo: number, seedLo: number, seedHi: number, maxTxid: number, type: number): number;
  maxKeyBytes(pageSize: number): number;
  maxInlineRecord(pageSize: number): number;
  metaSeal(p: number, pageSize: number): void;
  metaVerify(p: number, pageSize: number): number;
  validateRecords(base: number, used: number, count: number, pageSize: number): number;
  recFind(base: number, used: number, hash: number, key: number, keyLen: number): number;
  recSize(base: number, off: number): number;
  recRemove(base: number, used: number, off: number): number;
  recAppend(
    base: number,
    used: number,
    capacity: number,
    hash: number,
    key: number,
    keyLen: number,
    flags: number,
    value: number,
    valueLen: number,
    ovfPage: number,
  ): number;
  recIndex(base: number, used: number, out: number, max: number): number;
  recSplit(src: number, used: number, bit: number, dst0: number, dst1: number, out: number): void;
  recCheckHashes(base: number, used: number, depth: number, prefix: number, seedLo: number, seedHi: number): number;
  dirFill(base: number, from: number, n: number, value: number): void;
  dirDoubleInto(src: number, n: number, dst: number): void;
  freeInit(set: number, capacity: number): void;
  freeCount(set: number): number;
  freeRuns(set: number): number;
  freeRunStart(set: number, i: number): number;
  freeRunLen(set: number, i: number): number;
  freeHas(set: number, page: number): number;
  freeAdd(set: number, page: number): number;
  freeRemove(set: number, page: number): number;
  freeTakeRun(set: number, n: number): number;
  freeEncodedSize(set: number): number;
  freeEncode(set: number, dst: number, max: number): number;
  freeDecode(set: number, src: number, len: number, pageCount: number): number;
}

const wasmBytes = readFileSync(new URL('./core.wasm', import.meta.url));
const imports = {
  env: {
    // Called by the runtime only on a failed internal assertion or when
    // memory cannot grow; the message is an AssemblyScript (UTF-16) string.
    abort(msg: number, file: number, line: number, column: number): never {
      throw new WasmTrapError('abort', new Error(`${readAsString(msg)} at ${readAsString(file)}:${line}:${column}`));
    },
  },
};
const core = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), imports).exports as unknown as CoreExports;

/** Bytes in the IO area: the largest input handled without chunking. */
export const IO_SIZE: number = core.IO_SIZE.value;
export const MD5_CTX_SIZE: number = core.MD5_CTX_SIZE.value;
const HMAC_STATES_SIZE = 32;

const IO = core.ioPtr();
// SCRATCH layout (256 bytes, see assembly/index.ts):
const SCRATCH = core.scratchPtr();
const KEY_STATES = SCRATCH; //       32  HMAC inner+outer state in use
const DIGEST = SCRATCH + 32; //      16  digest output
const HEX = SCRATCH + 48; //         32  its hex form (md5Hex/hmacHex write both)
const VERIFY_SCRATCH = SCRATCH + 80; // 48  hmacVerifyHex working space
const CTX = SCRATCH + 128; //        88  MD5 context in use

// Buffer's utf8Write/latin1Slice are undocumented but long-standing methods
// (msgpackr relies on them too); they skip the argument juggling of
// write()/toString(), which is most of the cost for 32-byte strings.
interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, maxBytes: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

let mem = Buffer.from(core.memory.buffer) as FastBuffer;
let dv = new DataView(core.memory.buffer);

/**
 * Memory grows only inside alloc() (the runtime's allocator); growing
 * detaches the old ArrayBuffer, so alloc() re-acquires the views and every
 * other access can use them directly.
 */
function refreshViews(): void {
  if (mem.buffer !== core.memory.buffer) {
    mem = Buffer.from(core.memory.buffer) as FastBuffer;
    dv = new DataView(core.memory.buffer);
  }
}

function readAsString(ptr: number): string {
  if (!ptr) return '?';
  const m = mem;
  const bytes = m.readUInt32LE(ptr - 4);
  return m.toString('utf16le', ptr, ptr + bytes);
}

/**
 * Rethrows a wasm trap as a WasmTrapError naming `operation`; other errors as
 * they are. Exported for test/packaging.test.js, which feeds it a real trap.
 */
export function trap(operation: string, err: unknown): never {
  if (err instanceof WebAssembly.RuntimeError) throw new WasmTrapError(operation, err);
  throw err;
}

/**
 * Copies `data` into IO if it fits and returns its byte length there, or -1
 * when it does not fit (the caller then streams it). Strings are UTF-8.
 */
function stageInIo(data: string | Uint8Array): number {
  const m = mem;
  if (typeof data === 'string') {
    // A UTF-16 unit never takes more than 3 UTF-8 bytes.
    if (data.length * 3 > IO_SIZE) return -1;
    return m.utf8Write(data, IO, IO_SIZE);
  }
  if (data.byteLength > IO_SIZE) return -1;
  m.set(data, IO);
  return data.byteLength;
}

function asBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** Feeds `bytes` through the context at CTX in IO-sized chunks. */
function updateCtxChunked(bytes: Uint8Array): void {
  for (let off = 0; off < bytes.byteLength; off += IO_SIZE) {
    const chunk = bytes.subarray(off, Math.min(off + IO_SIZE, bytes.byteLength));
    mem.set(chunk, IO);
    core.md5Update(CTX, IO, chunk.byteLength);
  }
}

function digestOut(hex: boolean): string | Buffer {
  const m = mem;
  if (!hex) return Buffer.from(m.subarray(DIGEST, DIGEST + 16));
  core.toHex(DIGEST, 16, HEX);
  return m.latin1Slice(HEX, HEX + 32);
}

/** MD5 of `data`, as 32 lowercase hex chars or a new 16-byte Buffer. */
export function md5(data: string | Uint8Array, hex: boolean): string | Buffer {
  try {
    const len = stageInIo(data);
    if (len >= 0 && hex) {
      core.md5Hex(IO, len, DIGEST);
      return mem.latin1Slice(HEX, HEX + 32);
    }
    if (len >= 0) {
      core.md5(IO, len, DIGEST);
    } else {
      core.md5Init(CTX);
      updateCtxChunked(asBytes(data));
      core.md5Final(CTX, DIGEST);
    }
    return digestOut(hex);
  } catch (err) {
    trap('md5', err);
  }
}

/**
 * An incremental MD5 whose context lives in JS (MD5_CTX_SIZE bytes), so any
 * number of hashers can be open at once; each call copies it into the wasm
 * context area and back.
 */
export function md5ContextNew(): Uint8Array {
  const ctx = new Uint8Array(MD5_CTX_SIZE);
  try {
    core.md5Init(CTX);
    ctx.set(mem.subarray(CTX, CTX + MD5_CTX_SIZE));
  } catch (err) {
    trap('md5 init', err);
  }
  return ctx;
}

export function md5ContextUpdate(ctx: Uint8Array, data: string | Uint8Array): void {
  try {
    mem.set(ctx, CTX);
    const len = stageInIo(data);
    if (len >= 0) core.md5Update(CTX, IO, len);
    else updateCtxChunked(asBytes(data));
    ctx.set(mem.subarray(CTX, CTX + MD5_CTX_SIZE));
  } catch (err) {
    trap('md5 update', err);
  }
}

export function md5ContextDigest(ctx: Uint8Array, hex: boolean): string | Buffer {
  try {
    mem.set(ctx, CTX);
    core.md5Final(CTX, DIGEST);
    return digestOut(hex);
  } catch (err) {
    trap('md5 digest', err);
  }
}

/** HMAC-MD5 inner and outer states for `key` (32 bytes, see assembly/md5.ts). */
export function hmacKeyStates(key: string | Uint8Array): Uint8Array {
  try {
    let len = stageInIo(key);
    if (len < 0) {
      // Keys longer than a block are hashed first (RFC 2104), so hash here.
      mem.set(md5(key, false) as Buffer, IO);
      len = 16;
    }
    core.hmacKeyStates(IO, len, KEY_STATES);
    return new Uint8Array(mem.subarray(KEY_STATES, KEY_STATES + HMAC_STATES_SIZE));
  } catch (err) {
    trap('hmacKeyStates', err);
  }
}

// Which states object is loaded at KEY_STATES, so a signer used repeatedly
// does not copy its 32 bytes in on every call. Every writer of KEY_STATES
// goes through loadStates().
let loadedStates: Uint8Array | null = null;

function loadStates(states: Uint8Array): void {
  if (loadedStates !== states) {
    mem.set(states, KEY_STATES);
    loadedStates = states;
  }
}

/** HMAC-MD5 of `data` with precomputed key `states`. */
export function hmacMd5(states: Uint8Array, data: string | Uint8Array, hex: boolean): string | Buffer {
  try {
    loadStates(states);
    const len = stageInIo(data);
    if (len >= 0) {
      core.hmac(KEY_STATES, IO, len, DIGEST);
    } else {
      core.md5InitFrom(CTX, KEY_STATES, 64);
      updateCtxChunked(asBytes(data));
      core.md5Final(CTX, DIGEST);
      core.hmacOuter(KEY_STATES, DIGEST);
    }
    return digestOut(hex);
  } catch (err) {
    trap('hmacMd5', err);
  }
}

/**
 * 32 hex chars of HMAC-MD5(states, message), or null when the message's UTF-8
 * form is longer than `maxBytes`.
 */
export function signHex(states: Uint8Array, message: string, maxBytes: number): string | null {
  try {
    // UTF-8 never has fewer bytes than UTF-16 units, and maxBytes <= IO_SIZE/3
    // (checked by callers), so what passes here fits in IO untruncated.
    if (message.length > maxBytes) return null;
    const len = mem.utf8Write(message, IO, IO_SIZE);
    if (len > maxBytes) return null;
    loadStates(states);
    core.hmacHex(KEY_STATES, IO, len, DIGEST);
    return mem.latin1Slice(HEX, HEX + 32);
  } catch (err) {
    trap('sign', err);
  }
}

/**
 * Whether `signed` is 32 hex chars of HMAC-MD5 under any of `statesList`
 * followed by a message of at most `maxBytes` UTF-8 bytes. Each comparison
 * runs in constant time.
 */
export function verifySignedHex(statesList: readonly Uint8Array[], signed: string, maxBytes: number): boolean {
  try {
    // Any accepted value is 32 ASCII chars plus <= maxBytes of UTF-8, and
    // maxBytes <= IO_SIZE/3 - 32, so what passes here fits in IO untruncated.
    if (signed.length > 32 + maxBytes) return false;
    const len = mem.utf8Write(signed, IO, IO_SIZE);
    if (len < 32 || len - 32 > maxBytes) return false;
    let ok = 0;
    for (const states of statesList) {
      loadStates(states);
      ok |= core.hmacVerifyHex(KEY_STATES, IO, len, VERIFY_SCRATCH);
    }
    return ok === 1;
  } catch (err) {
    trap('verify', err);
  }
}

// ---------------------------------------------------------------------------
// dbm: memory, staging and the page-format functions of assembly/{page,meta,
// records,dir,freelist}.ts. Pointers are plain numbers into wasm memory.
// A view returned by view() is only valid until the next call that may
// allocate (alloc, or anything growing memory); callers use it at once.

/**
 * A numeric constant the core exports (page, meta and record field offsets,
 * page types...), by its AssemblyScript name; undefined if there is none.
 * src/dbm/format.ts spells these out for speed; a test checks them.
 */
export function coreConstant(name: string): number | undefined {
  const value = (core as unknown as Record<string, unknown>)[name];
  return value instanceof WebAssembly.Global ? Number(value.value) : undefined;
}

/** Wraps a core export so that a trap becomes a WasmTrapError naming it. */
function guarded<F extends (...args: number[]) => unknown>(name: keyof CoreExports): F {
  const fn = core[name] as unknown as (...args: number[]) => unknown;
  return ((a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number, h?: number, i?: number, j?: number) => {
    try {
      return fn(a!, b!, c!, d!, e!, f!, g!, h!, i!, j!);
    } catch (err) {
      trap(name, err);
    }
  }) as F;
}

export const PAGE_HEADER: number = core.PAGE_HEADER.value;
export const META_HEADER: number = core.META_HEADER.value;
export const REC_HEADER: number = core.REC_HEADER.value;
export const FREE_SET_HEADER: number = core.FREE_SET_HEADER.value;
/** Where stageKey() puts a key; values to append are staged right after it. */
export const STAGE = IO;
/** The last 32 bytes of SCRATCH, for small outputs (recSplit's four results, XXH64's high half). */
const OUT = SCRATCH + 224;

const allocRaw = guarded<(size: number) => number>('alloc');
/** Allocates `size` bytes of wasm memory (16-byte aligned); may grow memory. */
export function alloc(size: number): number {
  const ptr = allocRaw(size);
  refreshViews();
  return ptr;
}
export const dealloc = guarded<(ptr: number) => void>('dealloc');

export function view(ptr: number, len: number): Buffer {
  return mem.subarray(ptr, ptr + len);
}

/**
 * The Buffer over all of wasm memory, for positioned reads straight into it
 * (buffer offset = address) without a view per call. Valid until memory
 * grows (alloc): take it right before the call that uses it.
 */
export function memoryBuffer(): Buffer {
  return mem;
}

/**
 * Calls `read(buffer, start, end)` on the bytes [ptr, ptr + len) in place,
 * without creating a view (decoders such as msgpackr take start/end). The
 * reader must not keep `buffer`: it is all of wasm memory.
 */
export function readWith<T>(ptr: number, len: number, read: (buffer: Buffer, start: number, end: number) => T): T {
  return read(mem, ptr, ptr + len);
}
export function copyIn(ptr: number, bytes: Uint8Array): void {
  mem.set(bytes, ptr);
}
export function copyOut(ptr: number, len: number): Buffer {
  return Buffer.from(mem.subarray(ptr, ptr + len));
}
export function copyWithin(dst: number, src: number, len: number): void {
  mem.copyWithin(dst, src, src + len);
}
export function zero(ptr: number, len: number): void {
  mem.fill(0, ptr, ptr + len);
}
export function utf8At(ptr: number, len: number): string {
  return mem.utf8Slice(ptr, ptr + len);
}

// Strings of recently read short keys, by (hash, bytes): a session's keys
// come back on every load, and a cached string needs neither decoding nor
// re-hashing when it becomes a Map key or property (msgpackr does the same
// for map keys). A slot, picked by a hash of the bytes, holds the key's
// length and bytes (four little-endian words) and its string.
const KEY_CACHE_SLOTS = 1024;
const KEY_CACHE_MAX = 16;
const keyCacheWords = new Uint32Array(4 * KEY_CACHE_SLOTS);
const keyCacheLens = new Uint8Array(KEY_CACHE_SLOTS);
const keyCacheStrings: (string | undefined)[] = new Array(KEY_CACHE_SLOTS);

/** The UTF-8 key at [ptr, ptr + len) as a string; keys of up to 16 bytes come from a cache. */
export function keyString(ptr: number, len: number): string {
  if (len > KEY_CACHE_MAX || ptr + KEY_CACHE_MAX > mem.length) return mem.utf8Slice(ptr, ptr + len);
  const d = dv;
  // Four words over the key; bytes past its end are masked off.
  const w0 = len >= 4 ? d.getUint32(ptr, true) : len === 0 ? 0 : d.getUint32(ptr, true) & ((1 << (8 * len)) - 1);
  const w1 = len >= 8 ? d.getUint32(ptr + 4, true) : len <= 4 ? 0 : d.getUint32(ptr + 4, true) & ((1 << (8 * (len - 4))) - 1);
  const w2 = len >= 12 ? d.getUint32(ptr + 8, true) : len <= 8 ? 0 : d.getUint32(ptr + 8, true) & ((1 << (8 * (len - 8))) - 1);
  const w3 = len >= 16 ? d.getUint32(ptr + 12, true) : len <= 12 ? 0 : d.getUint32(ptr + 12, true) & ((1 << (8 * (len - 12))) - 1);
  const mix = (w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca77) ^ Math.imul(w3, 0xc2b2ae3d) ^ len) >>> 0;
  const slot = Math.imul(mix, 0x27d4eb2f) >>> 22;
  const at = 4 * slot;
  const cached = keyCacheStrings[slot];
  if (
    cached !== undefined &&
    keyCacheLens[slot] === len &&
    keyCacheWords[at] === w0 >>> 0 &&
    keyCacheWords[at + 1] === w1 >>> 0 &&
    keyCacheWords[at + 2] === w2 >>> 0 &&
    keyCacheWords[at + 3] === w3 >>> 0
  ) {
    return cached;
  }
  const str = mem.utf8Slice(ptr, ptr + len);
  keyCacheLens[slot] = len;
  keyCacheWords[at] = w0;
  keyCacheWords[at + 1] = w1;
  keyCacheWords[at + 2] = w2;
  keyCacheWords[at + 3] = w3;
  keyCacheStrings[slot] = str;
  return str;
}
/** Whether [a, a+len) and [b, b+len) hold the same bytes. */
export function sameBytes(a: number, b: number, len: number): boolean {
  return mem.compare(mem, a, a + len, b, b + len) === 0;
}

export const u8 = (ptr: number): number => dv.getUint8(ptr);
export const u16 = (ptr: number): number => dv.getUint16(ptr, true);
export const u32 = (ptr: number): number => dv.getUint32(ptr, true);
export const f64 = (ptr: number): number => dv.getFloat64(ptr, true);
/** A u64 field as a number (exact below 2^53: txids and counts stay far below). */
export const u64 = (ptr: number): number => dv.getUint32(ptr, true) + dv.getUint32(ptr + 4, true) * 0x1_0000_0000;
export const setU8 = (ptr: number, v: number): void => dv.setUint8(ptr, v);
export const setU16 = (ptr: number, v: number): void => dv.setUint16(ptr, v, true);
export const setU32 = (ptr: number, v: number): void => dv.setUint32(ptr, v, true);
export const setF64 = (ptr: number, v: number): void => dv.setFloat64(ptr, v, true);
export const setU64 = (ptr: number, v: number): void => {
  dv.setUint32(ptr, v % 0x1_0000_0000, true);
  dv.setUint32(ptr + 4, Math.floor(v / 0x1_0000_0000), true);
};

/**
 * Copies a key (a string as UTF-8, or bytes) to STAGE; returns its length in
 * bytes, or -1 when it is longer than `maxBytes`.
 */
export function stageKey(key: string | Uint8Array, maxBytes: number): number {
  const m = mem;
  if (typeof key === 'string') {
    if (key.length > maxBytes) return -1;
    const len = m.utf8Write(key, STAGE, maxBytes * 3 + 3);
    return len > maxBytes ? -1 : len;
  }
  if (key.byteLength > maxBytes) return -1;
  m.set(key, STAGE);
  return key.byteLength;
}

/** Copies a value to just after a staged key; returns its address. */
export function stageValueAfterKey(keyLen: number, value: Uint8Array): number {
  const at = STAGE + ((keyLen + 15) & ~15);
  if (at + value.byteLength > IO + IO_SIZE) throw new RangeError('wasm-session dbm: staged value too large');
  mem.set(value, at);
  return at;
}

/**
 * XXH64 of `len` bytes at `p` as [low, high] 32-bit halves. This and
 * xxh64Of() exist for test/wasm-core.test.js (known-answer tests of the hash
 * that defines the file format); the dbm itself hashes inside the wasm.
 */
export function xxh64(p: number, len: number, seedLo: number, seedHi: number): [number, number] {
  const lo = guardedXxh(p, len, seedLo, seedHi, OUT) >>> 0;
  return [lo, u32(OUT)];
}
const guardedXxh = guarded<(p: number, len: number, sl: number, sh: number, out: number) => number>('xxh64Split');

/** XXH64 of bytes or a UTF-8 string (at most IO_SIZE bytes); see xxh64(). */
export function xxh64Of(data: Uint8Array | string, seedLo = 0, seedHi = 0): [number, number] {
  const len = stageInIo(data);
  if (len < 0) throw new RangeError('wasm-session: xxh64Of input larger than the IO area');
  return xxh64(IO, len, seedLo, seedHi);
}

export const keyHash = guarded<(key: number, keyLen: number, seedLo: number, seedHi: number) => number>('keyHash');
export const pageInit = guarded<(p: number, pageSize: number, type: number, aux: number, pageNo: number, txid: number) => void>('pageInit');
export const pageRestamp = guarded<(p: number, pageNo: number, txid: number) => void>('pageRestamp');
export const pageSeal = guarded<(p: number, pageSize: number, seedLo: number, seedHi: number) => void>('pageSeal');
export const pageVerify =
  guarded<(p: number, pageSize: number, pageNo: number, seedLo: number, seedHi: number, maxTxid: number, type: number) => number>('pageVerify');
export const maxKeyBytes = guarded<(pageSize: number) => number>('maxKeyBytes');
export const maxInlineRecord = guarded<(pageSize: number) => number>('maxInlineRecord');
export const metaSeal = guarded<(p: number, pageSize: number) => void>('metaSeal');
export const metaVerify = guarded<(p: number, pageSize: number) => number>('metaVerify');
/** Used inside the wasm by pageVerify/metaVerify; exported for test/wasm-core.test.js (recSplit's output). */
export const validateRecords = guarded<(base: number, used: number, count: number, pageSize: number) => number>('validateRecords');
export const recFind = guarded<(base: number, used: number, hash: number, key: number, keyLen: number) => number>('recFind');
export const recSize = guarded<(base: number, off: number) => number>('recSize');
export const recRemove = guarded<(base: number, used: number, off: number) => number>('recRemove');
export const recAppend =
  guarded<
    (
      base: number,
      used: number,
      capacity: number,
      hash: number,
      key: number,
      keyLen: number,
      flags: number,
      value: number,
      valueLen: number,
      ovfPage: number,
    ) => number
  >('recAppend');
export const recIndex = guarded<(base: number, used: number, out: number, max: number) => number>('recIndex');
export const recCheckHashes = guarded<(base: number, used: number, depth: number, prefix: number, seedLo: number, seedHi: number) => number>('recCheckHashes');
const recSplitRaw = guarded<(src: number, used: number, bit: number, dst0: number, dst1: number, out: number) => void>('recSplit');
/** Splits records by hash bit; returns [used0, count0, used1, count1]. */
export function recSplit(src: number, used: number, bit: number, dst0: number, dst1: number): [number, number, number, number] {
  recSplitRaw(src, used, bit, dst0, dst1, OUT);
  return [u32(OUT), u32(OUT + 4), u32(OUT + 8), u32(OUT + 12)];
}
export const dirFill = guarded<(base: number, from: number, n: number, value: number) => void>('dirFill');
export const dirDoubleInto = guarded<(src: number, n: number, dst: number) => void>('dirDoubleInto');
export const freeInit = guarded<(set: number, capacity: number) => void>('freeInit');
export const freeCount = guarded<(set: number) => number>('freeCount');
export const freeRuns = guarded<(set: number) => number>('freeRuns');
export const freeRunStart = guarded<(set: number, i: number) => number>('freeRunStart');
export const freeRunLen = guarded<(set: number, i: number) => number>('freeRunLen');
export const freeHas = guarded<(set: number, page: number) => number>('freeHas');
export const freeAdd = guarded<(set: number, page: number) => number>('freeAdd');
export const freeTakeRun = guarded<(set: number, n: number) => number>('freeTakeRun');
export const freeRemove = guarded<(set: number, page: number) => number>('freeRemove');
export const freeEncodedSize = guarded<(set: number) => number>('freeEncodedSize');
export const freeEncode = guarded<(set: number, dst: number, max: number) => number>('freeEncode');
export const freeDecode = guarded<(set: number, src: number, len: number, pageCount: number) => number>('freeDecode');
