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
}

const wasmBytes = readFileSync(new URL('./core.wasm', import.meta.url));
const core = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), {}).exports as unknown as CoreExports;

/** Bytes in the IO area: the largest input handled without chunking. */
export const IO_SIZE: number = core.IO_SIZE.value;
export const MD5_CTX_SIZE: number = core.MD5_CTX_SIZE.value;
export const MD5_STATE_SIZE = 16;
export const HMAC_STATES_SIZE = 32;

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
}

let mem = Buffer.from(core.memory.buffer) as FastBuffer;

/** The current view of memory; a grown memory detaches the old buffer. */
function memory(): FastBuffer {
  if (mem.byteLength === 0) mem = Buffer.from(core.memory.buffer) as FastBuffer;
  return mem;
}

/** Rethrows a wasm trap as a WasmTrapError naming `operation`; other errors as they are. */
export function trap(operation: string, err: unknown): never {
  if (err instanceof WebAssembly.RuntimeError) throw new WasmTrapError(operation, err);
  throw err;
}

/**
 * Copies `data` into IO if it fits and returns its byte length there, or -1
 * when it does not fit (the caller then streams it). Strings are UTF-8.
 */
function stageInIo(data: string | Uint8Array): number {
  const m = memory();
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
    memory().set(chunk, IO);
    core.md5Update(CTX, IO, chunk.byteLength);
  }
}

function digestOut(hex: boolean): string | Buffer {
  const m = memory();
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
      return memory().latin1Slice(HEX, HEX + 32);
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
    ctx.set(memory().subarray(CTX, CTX + MD5_CTX_SIZE));
  } catch (err) {
    trap('md5 init', err);
  }
  return ctx;
}

export function md5ContextUpdate(ctx: Uint8Array, data: string | Uint8Array): void {
  try {
    memory().set(ctx, CTX);
    const len = stageInIo(data);
    if (len >= 0) core.md5Update(CTX, IO, len);
    else updateCtxChunked(asBytes(data));
    ctx.set(memory().subarray(CTX, CTX + MD5_CTX_SIZE));
  } catch (err) {
    trap('md5 update', err);
  }
}

export function md5ContextDigest(ctx: Uint8Array, hex: boolean): string | Buffer {
  try {
    memory().set(ctx, CTX);
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
      memory().set(md5(key, false) as Buffer, IO);
      len = 16;
    }
    core.hmacKeyStates(IO, len, KEY_STATES);
    return new Uint8Array(memory().subarray(KEY_STATES, KEY_STATES + HMAC_STATES_SIZE));
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
    memory().set(states, KEY_STATES);
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
    const len = memory().utf8Write(message, IO, IO_SIZE);
    if (len > maxBytes) return null;
    loadStates(states);
    core.hmacHex(KEY_STATES, IO, len, DIGEST);
    return memory().latin1Slice(HEX, HEX + 32);
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
    const len = memory().utf8Write(signed, IO, IO_SIZE);
    if (len < 32 || len - 32 > maxBytes) return false;
    let ok = 0;
    for (let i = 0; i < statesList.length; i++) {
      loadStates(statesList[i]);
      ok |= core.hmacVerifyHex(KEY_STATES, IO, len, VERIFY_SCRATCH);
    }
    return ok === 1;
  } catch (err) {
    trap('verify', err);
  }
}
