// The data of one Session: what the application sees (keys and values),
// what is stored (the encoded bytes per key), and what changed in between,
// so save() writes only the keys that were set or changed in place.
//
// Nothing here is proportional to the number of keys unless the request
// touches them. The stored state is the store's map of bytes plus the
// values decoded from it: by this Session (the dbm and custom stores: all
// at load, so a value that does not decode is found there), or by the
// store itself (the memory store keeps them decoded: StoredSession.decoded),
// in which case the application gets copies of its objects, made on first
// use (primitives need none). The first time an object is handed out, a
// copy of what it held is kept (or the store's own decoded value serves),
// and save() compares with that instead of re-encoding every object it ever
// handed out. Our own saves are kept as a patch over the stored bytes
// rather than a new copy of the whole map.

import { msgpackCodec, SliceDecoder } from '../codec.js';
import { CANNOT_COPY, copyValue, sameValue } from './copy.js';
import { SessionError } from './errors.js';
import type { StoredSession } from './namespace.js';

const NO_BYTES: ReadonlyMap<string, Uint8Array> = new Map();
const NO_VALUES: ReadonlyMap<string, unknown> = new Map();

/** A handed-out value that copyValue cannot copy: compare its encoding at save(). */
const COMPARE_ENCODED: unique symbol = Symbol('compare encoded');

function isMutable(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** What changed since the last save: encoded values to write and keys to delete. */
export interface PendingChanges {
  readonly set: Map<string, Uint8Array>;
  readonly deleted: string[];
}

export class SessionValues {
  /** The stored bytes as read (the store's map: never mutated). Its keys are the "base" keys. */
  #stored: ReadonlyMap<string, Uint8Array> = NO_BYTES;
  /** Our own saves since the read: bytes written, or null for a key deleted. */
  #patch: Map<string, Uint8Array | null> | null = null;
  /** Values of the base keys, decoded by us (#ownDecoded: handed out as they are) or by the store (copied when handed out). */
  #decoded: ReadonlyMap<string, unknown> = NO_VALUES;
  #ownDecoded = true;
  /** Values set(), and copies made of the store's decoded objects. */
  #local = new Map<string, unknown>();
  /** Base keys removed here. */
  #removed = new Set<string>();
  /** Keys of #local that are not base keys (for size). */
  #added = 0;
  /** Handed-out objects not set(): what they held when handed out (or COMPARE_ENCODED). */
  #handedOut = new Map<string, unknown>();
  /** Keys given a value by set() since the last save. */
  #assigned = new Set<string>();
  /** What storage holds now, as maxSessionBytes counts it (keys plus encoded values). */
  #bytes = 0;

  /**
   * @param corrupt builds the error for a stored value that does not decode
   *   (the Session names its file and id in it).
   */
  constructor(private readonly corrupt: (key: string, cause: unknown) => Error) {}

  /** Takes what the store read as the stored state. Values the store did not decode are decoded now: one that does not decode is corruption, found at load. */
  adopt(stored: StoredSession, bytes: number): void {
    this.reset();
    this.#stored = stored.data;
    this.#bytes = bytes;
    const decoded = stored.decoded;
    if (decoded === undefined) {
      this.#decoded = this.#decodeAll(stored.data);
      this.#ownDecoded = true;
      return;
    }
    this.#decoded = decoded;
    this.#ownDecoded = false;
    if (decoded.size !== stored.data.size) {
      for (const [key, bytes] of stored.data) if (!decoded.has(key)) this.#local.set(key, this.#decode(key, bytes));
    }
  }

  /** Nothing stored and nothing held. */
  reset(): void {
    this.#stored = NO_BYTES;
    this.#patch = null;
    this.#decoded = NO_VALUES;
    this.#ownDecoded = true;
    if (this.#local.size > 0) this.#local.clear();
    if (this.#removed.size > 0) this.#removed.clear();
    this.#added = 0;
    this.#bytes = 0;
    if (this.#handedOut.size > 0) this.#handedOut.clear();
    if (this.#assigned.size > 0) this.#assigned.clear();
  }

  /** Nothing stored any more: the values stay, and all of them are new. */
  forgetStored(): void {
    const local = new Map<string, unknown>();
    for (const key of this.#keys()) local.set(key, this.#value(key));
    this.reset();
    this.#local = local;
    this.#added = local.size;
    for (const key of local.keys()) this.#assigned.add(key);
  }

  #decodeAll(data: ReadonlyMap<string, Uint8Array>): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const decoder = new SliceDecoder(msgpackCodec);
    for (const [key, bytes] of data) out.set(key, this.#decodeWith(decoder, key, bytes));
    return out;
  }

  #decode(key: string, bytes: Uint8Array): unknown {
    return this.#decodeWith(new SliceDecoder(msgpackCodec), key, bytes);
  }

  #decodeWith(decoder: SliceDecoder, key: string, bytes: Uint8Array): unknown {
    try {
      return decoder.decode(bytes);
    } catch (err) {
      throw this.corrupt(key, err);
    }
  }

  #isBase(key: string): boolean {
    return this.#stored.has(key) && !this.#removed.has(key);
  }

  /** The bytes storage holds for `key` now (after our own saves), or undefined. */
  #current(key: string): Uint8Array | undefined {
    const patched = this.#patch?.get(key);
    if (patched !== undefined) return patched ?? undefined;
    return this.#stored.get(key);
  }

  /** The value under a present key as the application may use it (a copy of the store's object on first use). */
  #value(key: string): unknown {
    if (this.#local.has(key)) return this.#local.get(key);
    const value = this.#decoded.get(key);
    if (this.#ownDecoded || !isMutable(value)) return value;
    let copy = copyValue(value);
    if (copy === CANNOT_COPY) copy = this.#decode(key, this.#stored.get(key)!);
    this.#local.set(key, copy);
    return copy;
  }

  /** Marks an object as handed out: save() will check it for changes made in place. */
  #handOut(key: string, value: object): void {
    if (this.#assigned.has(key) || this.#handedOut.has(key)) return;
    if (!this.#ownDecoded && this.#isBase(key) && this.#patch?.has(key) !== true) {
      const reference = this.#decoded.get(key);
      // What was handed out is a copy of the store's decoded value: compare with that directly.
      if (reference !== undefined && reference !== value) {
        this.#handedOut.set(key, reference);
        return;
      }
    }
    const copy = copyValue(value);
    this.#handedOut.set(key, copy === CANNOT_COPY ? COMPARE_ENCODED : copy);
  }

  get(key: string): unknown {
    if (!this.#local.has(key) && !this.#isBase(key)) return undefined;
    const value = this.#value(key);
    if (isMutable(value)) this.#handOut(key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    if (!this.#local.has(key) && !this.#stored.has(key)) this.#added++;
    this.#removed.delete(key);
    this.#local.set(key, value);
    this.#assigned.add(key);
    this.#handedOut.delete(key);
  }

  has(key: string): boolean {
    return this.#local.has(key) || this.#isBase(key);
  }

  remove(key: string): boolean {
    const had = this.has(key);
    if (this.#local.delete(key) && !this.#stored.has(key)) this.#added--;
    if (this.#stored.has(key)) this.#removed.add(key);
    this.#assigned.delete(key);
    this.#handedOut.delete(key);
    return had;
  }

  clear(): void {
    for (const key of this.#stored.keys()) this.#removed.add(key);
    this.#local.clear();
    this.#added = 0;
    this.#assigned.clear();
    this.#handedOut.clear();
  }

  /** Present keys: the stored ones in their order, then the ones added here. */
  *#keys(): IterableIterator<string> {
    for (const key of this.#stored.keys()) if (!this.#removed.has(key)) yield key;
    if (this.#added > 0) for (const key of this.#local.keys()) if (!this.#stored.has(key)) yield key;
  }

  keys(): string[] {
    return [...this.#keys()];
  }

  get size(): number {
    return this.#stored.size - this.#removed.size + this.#added;
  }

  /** [key, value] pairs, every value handed out. */
  entries(): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const key of this.#keys()) out.push([key, this.get(key)]);
    return out;
  }

  /**
   * What save() must write: every key when `all` (a create: the stored
   * bytes are reused for keys that did not change), else the keys set or
   * changed in place whose encoding differs from the stored one, and the
   * stored keys no longer held. Encoding errors are thrown before anything
   * is written, as a SessionError (ERR_SESSION_VALUE).
   */
  changes(all: boolean): PendingChanges {
    const set = new Map<string, Uint8Array>();
    const deleted: string[] = [];
    if (!all) for (const key of this.#removed) if (this.#current(key) !== undefined) deleted.push(key);
    const consider = (key: string): void => {
      if (set.has(key) || !this.has(key)) return;
      const bytes = encode(key, this.#value(key));
      const before = this.#current(key);
      if (all || before === undefined || !sameBytes(before, bytes)) set.set(key, bytes);
    };
    for (const key of this.#assigned) consider(key);
    for (const [key, before] of this.#handedOut) {
      if (this.#assigned.has(key)) continue;
      if (before !== COMPARE_ENCODED && unchanged(this.#value(key), before)) continue;
      consider(key);
    }
    if (all) {
      for (const key of this.#keys()) {
        if (set.has(key)) continue;
        const bytes = this.#current(key);
        if (bytes !== undefined) set.set(key, bytes);
        else consider(key);
      }
    }
    return { set, deleted };
  }

  /**
   * Bytes of the session as `changes` would leave it stored (keys plus
   * encoded values), from what storage holds now: a create replaces it all.
   */
  bytesAfter(changes: PendingChanges, created = false): number {
    let bytes = created ? 0 : this.#bytes;
    for (const [key, encoded] of changes.set) {
      const before = created ? undefined : this.#current(key);
      bytes += encoded.byteLength - (before === undefined ? -key.length : before.byteLength);
    }
    for (const key of changes.deleted) {
      const before = this.#current(key);
      if (before !== undefined) bytes -= key.length + before.byteLength;
    }
    return bytes;
  }

  /**
   * What save() wrote is now the stored state: `created` (a new storage)
   * replaces it, else the changes are patched over it. Objects the
   * application still holds are copied again, to see later changes.
   */
  committed(changes: PendingChanges, created: boolean): void {
    this.#bytes = this.bytesAfter(changes, created);
    const rehand = [...this.#assigned, ...changes.set.keys()];
    for (const key of rehand) {
      if (this.has(key)) this.#local.set(key, this.#value(key));
    }
    if (created) {
      // Every present value is in #local or #decoded; the base becomes exactly what was written.
      const local = new Map<string, unknown>();
      for (const key of changes.set.keys()) local.set(key, this.#value(key));
      this.#stored = changes.set;
      this.#patch = null;
      this.#decoded = NO_VALUES;
      this.#ownDecoded = true;
      this.#local = local;
      this.#removed.clear();
      this.#added = 0;
    } else {
      this.#patch ??= new Map();
      for (const key of changes.deleted) this.#patch.set(key, null);
      for (const [key, bytes] of changes.set) this.#patch.set(key, bytes);
    }
    this.#assigned.clear();
    for (const key of rehand) {
      this.#handedOut.delete(key);
      if (!this.has(key)) continue;
      const value = this.#value(key);
      if (isMutable(value)) this.#handOut(key, value);
    }
  }

  /**
   * Takes a fresh read of the same stored session (after lock(), or before
   * regenerateId() moves it) and merges: local changes (set, changed in
   * place, removed) stay on top; keys another request changed, added or
   * removed meanwhile come from the read; every other key keeps the very
   * object the application may hold. Throws, before changing anything, for
   * a local value that cannot be encoded; a stored value that does not
   * decode is corruption, as in adopt().
   */
  refresh(stored: StoredSession, bytes: number): void {
    const local = this.changes(false);
    const removedHere = new Set(local.deleted);
    for (const key of this.#removed) removedHere.add(key);
    const decoded = stored.decoded;
    const decoder = new SliceDecoder(msgpackCodec);
    const nextLocal = new Map<string, unknown>();
    const nextDecoded = decoded === undefined ? new Map<string, unknown>() : null;
    const nextRemoved = new Set<string>();
    for (const [key, bytes] of stored.data) {
      if (removedHere.has(key)) {
        nextRemoved.add(key);
        continue;
      }
      if (local.set.has(key)) continue;
      const before = this.#current(key);
      if (before !== undefined && this.has(key) && sameBytes(before, bytes)) {
        // Unchanged by anyone: keep the very object (it stays watched), unless it was never copied from the store's decoded map.
        if (this.#local.has(key) || this.#ownDecoded) nextLocal.set(key, this.#value(key));
        else if (decoded === undefined || !decoded.has(key)) nextLocal.set(key, this.#decodeWith(decoder, key, bytes));
        continue;
      }
      this.#handedOut.delete(key);
      if (nextDecoded !== null) nextDecoded.set(key, this.#decodeWith(decoder, key, bytes));
      else if (!decoded!.has(key)) nextLocal.set(key, this.#decodeWith(decoder, key, bytes));
    }
    let added = 0;
    for (const key of local.set.keys()) {
      nextLocal.set(key, this.#value(key));
      if (!stored.data.has(key)) added++;
      this.#assigned.add(key);
      this.#handedOut.delete(key);
    }
    this.#stored = stored.data;
    this.#bytes = bytes;
    this.#patch = null;
    this.#decoded = nextDecoded ?? decoded!;
    this.#ownDecoded = nextDecoded !== null;
    this.#local = nextLocal;
    this.#removed = nextRemoved;
    this.#added = added;
    for (const key of this.#handedOut.keys()) if (!this.has(key)) this.#handedOut.delete(key);
    for (const key of this.#assigned) if (!this.has(key)) this.#assigned.delete(key);
  }
}

/** sameValue, where a cycle or anything surprising means "changed" (the encoder then reports what is wrong). */
function unchanged(value: unknown, before: unknown): boolean {
  try {
    return sameValue(value, before);
  } catch {
    return false;
  }
}

function encode(key: string, value: unknown): Uint8Array {
  try {
    return msgpackCodec.encode(value);
  } catch (err) {
    throw new SessionError(
      `wasm-session: the value for session key ${JSON.stringify(key)} cannot be stored: ${(err as Error).message}; nothing was written`,
      'ERR_SESSION_VALUE',
      { cause: err },
    );
  }
}
