// Public hashing API: MD5, HMAC-MD5 and the session id signer. The hashing
// itself runs in wasm (assembly/md5.ts) through the boundary module.

import * as core from './wasm.js';

export type HashEncoding = 'hex' | 'buffer';
export type BinaryLike = string | Uint8Array;

/** Longest id (in UTF-8 bytes) that an id signer signs or accepts. */
export const MAX_SIGNED_ID_BYTES = 4096;

function checkData(data: unknown, what: string): asserts data is BinaryLike {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`wasm-session: ${what} must be a string or a Uint8Array, got ${describe(data)}`);
  }
}

function wantsHex(encoding: unknown): boolean {
  if (encoding === undefined || encoding === 'hex') return true;
  if (encoding === 'buffer') return false;
  throw new TypeError(`wasm-session: encoding must be 'hex' or 'buffer', got ${describe(encoding)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/** MD5 (RFC 1321) of a string (UTF-8) or bytes; hex by default. */
export function md5(data: BinaryLike, encoding?: 'hex'): string;
export function md5(data: BinaryLike, encoding: 'buffer'): Buffer;
export function md5(data: BinaryLike, encoding?: HashEncoding): string | Buffer;
export function md5(data: BinaryLike, encoding?: HashEncoding): string | Buffer {
  checkData(data, 'md5 data');
  return core.md5(data, wantsHex(encoding));
}

/** HMAC-MD5 (RFC 2104) of `data` under `key`; hex by default. */
export function hmacMd5(key: BinaryLike, data: BinaryLike, encoding?: 'hex'): string;
export function hmacMd5(key: BinaryLike, data: BinaryLike, encoding: 'buffer'): Buffer;
export function hmacMd5(key: BinaryLike, data: BinaryLike, encoding?: HashEncoding): string | Buffer;
export function hmacMd5(key: BinaryLike, data: BinaryLike, encoding?: HashEncoding): string | Buffer {
  checkData(key, 'hmacMd5 key');
  checkData(data, 'hmacMd5 data');
  const hex = wantsHex(encoding);
  return core.hmacMd5(core.hmacKeyStates(key), data, hex);
}

/** An incremental MD5: feed it with update(), read it once with digest(). */
export interface Md5Hash {
  update(data: BinaryLike): Md5Hash;
  digest(encoding?: 'hex'): string;
  digest(encoding: 'buffer'): Buffer;
  digest(encoding?: HashEncoding): string | Buffer;
}

class Md5HashImpl implements Md5Hash {
  #ctx: Uint8Array | null = core.md5ContextNew();

  update(data: BinaryLike): Md5Hash {
    checkData(data, 'md5 update data');
    core.md5ContextUpdate(this.#live('update'), data);
    return this;
  }

  digest(encoding?: 'hex'): string;
  digest(encoding: 'buffer'): Buffer;
  digest(encoding?: HashEncoding): string | Buffer {
    const hex = wantsHex(encoding);
    const out = core.md5ContextDigest(this.#live('digest'), hex);
    this.#ctx = null;
    return out;
  }

  #live(op: string): Uint8Array {
    if (this.#ctx === null) throw new Error(`wasm-session: md5 ${op}() called after digest()`);
    return this.#ctx;
  }
}

/** Starts an incremental MD5; chunking does not change the digest. */
export function createMd5(): Md5Hash {
  return new Md5HashImpl();
}

/** Signs ids with HMAC-MD5 in Myghty's layout: 32 hex chars, then the id. */
export interface IdSigner {
  /** The signed form of `id` under the first secret. */
  sign(id: string): string;
  /** The id inside `value` if any secret's signature matches, else false. */
  unsign(value: string): string | false;
}

/**
 * Creates a signer. `sign` uses the first secret; `unsign` accepts any of
 * them, so a new secret can be put first while the old ones still verify.
 * Key states are computed once here, so each signature costs two MD5
 * compressions for a short id.
 */
export function createIdSigner(secrets: string | readonly string[]): IdSigner {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const notSecrets = 'wasm-session: secrets must be a non-empty string or a non-empty array of non-empty strings';
  if (!Array.isArray(list)) throw new TypeError(notSecrets);
  const states = list.map((secret: unknown, i: number) => {
    if (typeof secret !== 'string') {
      throw new TypeError(`wasm-session: secret #${i} must be a string, got ${describe(secret)}`);
    }
    if (secret.length === 0) throw new TypeError(`wasm-session: secret #${i} is empty; an empty secret signs nothing`);
    return core.hmacKeyStates(secret);
  });
  const signing = states[0];
  if (signing === undefined) throw new TypeError(notSecrets);

  return {
    sign(id: string): string {
      if (typeof id !== 'string' || id.length === 0) {
        throw new TypeError(`wasm-session: id to sign must be a non-empty string, got ${describe(id)}`);
      }
      const signature = core.signHex(signing, id, MAX_SIGNED_ID_BYTES);
      if (signature === null) {
        throw new RangeError(`wasm-session: id to sign is longer than ${MAX_SIGNED_ID_BYTES} UTF-8 bytes`);
      }
      return signature + id;
    },
    unsign(value: string): string | false {
      if (typeof value !== 'string' || value.length <= 32) return false;
      return core.verifySignedHex(states, value, MAX_SIGNED_ID_BYTES) ? value.slice(32) : false;
    },
  };
}
