// Owners: the binding of a session to the user it belongs to (set at login
// with Session.setOwner()), for listing a user's sessions and ending them
// ("log out my other devices"). Store-neutral: what a binding may hold, its
// checks, and the one encoding the built-in stores keep it in. The index
// itself is each store's business (namespace.ts states the rules).

import crypto from 'node:crypto';
import { msgpackCodec } from '../codec.js';
import type { SessionOwner } from './namespace.js';

/** Longest owner id, in UTF-8 bytes. */
export const MAX_OWNER_ID_BYTES = 1000;
/** At most this many fields in a binding's info... */
export const MAX_OWNER_INFO_FIELDS = 32;
/** ...of at most this many UTF-8 bytes in all (names and string values; e.g. a user agent, an IP address). */
export const MAX_OWNER_INFO_BYTES = 4096;

export type OwnerInfo = Readonly<Record<string, string | number | boolean | null>>;

/** Throws a TypeError or RangeError unless `id` may be an owner id: a non-empty string of at most MAX_OWNER_ID_BYTES. */
export function checkOwnerId(id: unknown, what = 'the owner'): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`wasm-session: ${what} must be a non-empty string (the user's id), got ${id === '' ? 'an empty string' : typeof id}`);
  }
  if (id.length * 3 > MAX_OWNER_ID_BYTES && Buffer.byteLength(id) > MAX_OWNER_ID_BYTES) {
    throw new RangeError(`wasm-session: ${what} is longer than ${MAX_OWNER_ID_BYTES} UTF-8 bytes`);
  }
}

/**
 * A copy of `info` checked to be what a binding may record: a plain object
 * of at most MAX_OWNER_INFO_FIELDS strings, finite numbers, booleans or
 * nulls, MAX_OWNER_INFO_BYTES in all. It is shown to the user in a list of
 * their sessions, so it holds facts about the device, never secrets.
 */
export function checkOwnerInfo(info: unknown): OwnerInfo {
  if (info === undefined) return Object.freeze({});
  if (info === null || typeof info !== 'object' || Array.isArray(info) || Object.getPrototypeOf(info) !== Object.prototype) {
    throw new TypeError('wasm-session: the owner info must be a plain object (e.g. { userAgent })');
  }
  const out: Record<string, string | number | boolean | null> = {};
  let bytes = 0;
  let fields = 0;
  for (const [name, value] of Object.entries(info)) {
    if (++fields > MAX_OWNER_INFO_FIELDS) throw new RangeError(`wasm-session: the owner info has more than ${MAX_OWNER_INFO_FIELDS} fields`);
    if (name === '__proto__') throw new TypeError('wasm-session: the owner info must not have a field named __proto__');
    bytes += Buffer.byteLength(name);
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`wasm-session: the owner info field ${JSON.stringify(name)} must be a finite number`);
    } else if (typeof value !== 'boolean' && value !== null) {
      throw new TypeError(`wasm-session: the owner info field ${JSON.stringify(name)} must be a string, number, boolean or null, got ${typeof value}`);
    }
    out[name] = value;
  }
  if (bytes > MAX_OWNER_INFO_BYTES) throw new RangeError(`wasm-session: the owner info holds more than ${MAX_OWNER_INFO_BYTES} bytes`);
  return Object.freeze(out);
}

/** A binding of `id` with `info`, made at `since` (ms); checked. */
export function makeOwner(id: unknown, info: unknown, since: number): SessionOwner {
  checkOwnerId(id);
  return Object.freeze({ id, info: checkOwnerInfo(info), since });
}

/** Format version of an encoded binding: [OWNER_RECORD_VERSION, id, info, since]. */
const OWNER_RECORD_VERSION = 1;

/** The binding as the built-in stores keep it: msgpack of [1, id, info, since]. */
export function encodeOwner(owner: SessionOwner): Uint8Array {
  return msgpackCodec.encode([OWNER_RECORD_VERSION, owner.id, owner.info, owner.since]);
}

/** The binding from encodeOwner()'s bytes; throws an Error saying what is wrong when they are not one. */
export function decodeOwner(bytes: Uint8Array): SessionOwner {
  let record: unknown;
  try {
    record = msgpackCodec.decode(bytes);
  } catch (err) {
    throw new Error(`the owner record does not decode: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(record) || record.length !== 4 || record[0] !== OWNER_RECORD_VERSION) throw new Error('the owner record is not a version 1 record');
  const [, id, info, since] = record as [number, unknown, unknown, unknown];
  if (typeof since !== 'number' || !Number.isFinite(since)) throw new Error('the owner record has no valid binding time');
  try {
    return makeOwner(id, info, since);
  } catch (err) {
    throw new Error(`the owner record is not valid: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * What file and key stores name an owner by: 32 hex digits of SHA-256 of
 * the id's UTF-8. Owner ids are application data (an email address, say)
 * and never become paths or keys as they are. Two owners sharing a hash
 * would only share an index bucket: every reader compares the full id.
 */
export function ownerHash(id: string): string {
  return crypto.createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
}
