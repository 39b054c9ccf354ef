// Session ids: generation, the exact format check, and the signed form the
// client carries. Nothing here throws on hostile input: a value that is not
// exactly a well-formed (and, with a secret, correctly signed) id is `null`.

import crypto from 'node:crypto';
import { createIdSigner, type IdSigner } from '../crypto.js';

/** 32 lowercase hex characters: 128 bits from the CSPRNG. */
const ID_PATTERN = /^[0-9a-f]{32}$/;
export const ID_LENGTH = 32;
/** A signed id is 32 hex of HMAC-MD5, then the id. */
const SIGNED_LENGTH = 64;

/** A fresh id: 128 bits from crypto.randomBytes, never time or Math.random. */
export function generateId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** True for exactly 32 lowercase hex characters (the only ids that reach storage). */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && value.length === ID_LENGTH && ID_PATTERN.test(value);
}

/**
 * Turns a value from the client (cookie or `id` option) into an id, or null.
 * The length is checked before any hashing, so an overlong value costs nothing.
 */
export function decodeClientId(value: string, signer: IdSigner | null): string | null {
  if (signer === null) return isValidId(value) ? value : null;
  if (value.length !== SIGNED_LENGTH) return null;
  const id = signer.unsign(value);
  return id !== false && isValidId(id) ? id : null;
}

/** The form the client carries: the id, signed when there is a signer. */
export function encodeClientId(id: string, signer: IdSigner | null): string {
  return signer === null ? id : signer.sign(id);
}

// Signers are cached per secret list: building one computes HMAC key states,
// and options are normalized on every request.
const signers = new Map<string, IdSigner>();
const MAX_CACHED_SIGNERS = 64;

export function signerFor(secrets: readonly string[]): IdSigner {
  const cacheKey = JSON.stringify(secrets);
  let signer = signers.get(cacheKey);
  if (signer === undefined) {
    signer = createIdSigner(secrets);
    if (signers.size >= MAX_CACHED_SIGNERS) signers.delete(signers.keys().next().value as string);
    signers.set(cacheKey, signer);
  }
  return signer;
}
