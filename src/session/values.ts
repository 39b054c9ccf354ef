// The data of one Session: what the application sees (a Map of values),
// what is stored (the encoded bytes per key), and what changed in between,
// so save() writes only the keys that were set or changed in place.
//
// Values decoded from the store's bytes are handed out as they are; the
// first time a mutable one (an object) is handed out, a copy of it is kept,
// and save() compares with that copy instead of re-encoding every object it
// ever handed out. A store that keeps its values decoded (the memory store,
// StoredSession.decoded) is not decoded at all: its value is the reference,
// and the application gets a copy on first use.

import { msgpackCodec, SliceDecoder } from '../codec.js';
import { CANNOT_COPY, copyValue, sameValue } from './copy.js';
import { SessionError } from './errors.js';
import type { StoredSession } from './namespace.js';

const NO_BYTES: ReadonlyMap<string, Uint8Array> = new Map();

/** A stored key whose value is still only in the store's decoded map: copied on first use. */
const NOT_COPIED: unique symbol = Symbol('not copied');
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
  /** Every key of the session: its value, or NOT_COPIED. */
  #values = new Map<string, unknown>();
  /** The encoded values as stored (the store's map until the first save: never mutated, replaced). */
  #stored: ReadonlyMap<string, Uint8Array> = NO_BYTES;
  /** The store's own decoded values, if it keeps them: never mutated, never handed out. */
  #decoded: ReadonlyMap<string, unknown> | undefined = undefined;
  /** Handed-out objects not set(): what they held when handed out (or COMPARE_ENCODED). */
  #handedOut = new Map<string, unknown>();
  /** Keys given a value by set() since the last save. */
  #assigned = new Set<string>();

  /**
   * @param corrupt builds the error for a stored value that does not decode
   *   (the Session names its file and id in it).
   */
  constructor(private readonly corrupt: (key: string, cause: unknown) => Error) {}

  /** Takes what the store read as the stored state; values are decoded now (a value that does not decode is corruption, found at load). */
  adopt(stored: StoredSession): void {
    this.#reset();
    this.#stored = stored.data;
    const decoded = stored.decoded;
    if (decoded !== undefined) {
      this.#decoded = decoded;
      for (const key of stored.data.keys()) this.#values.set(key, decoded.has(key) ? NOT_COPIED : this.#decode(key, stored.data.get(key)!));
      return;
    }
    const decoder = new SliceDecoder(msgpackCodec);
    for (const [key, bytes] of stored.data) this.#values.set(key, this.#decodeWith(decoder, key, bytes));
  }

  /** Nothing stored and nothing held. */
  reset(): void {
    this.#reset();
  }

  /** Nothing stored any more (the values stay, and all of them are new). */
  forgetStored(): void {
    for (const key of this.#values.keys()) this.#materialize(key);
    this.#stored = NO_BYTES;
    this.#decoded = undefined;
    this.#handedOut.clear();
    for (const key of this.#values.keys()) this.#assigned.add(key);
  }

  #reset(): void {
    this.#values = new Map();
    this.#stored = NO_BYTES;
    this.#decoded = undefined;
    this.#handedOut.clear();
    this.#assigned.clear();
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

  /** The value under `key` as the application may use it (a copy of the store's decoded value on first use). */
  #materialize(key: string): unknown {
    const value = this.#values.get(key);
    if (value !== NOT_COPIED) return value;
    const reference = this.#decoded!.get(key);
    let copy = copyValue(reference);
    if (copy === CANNOT_COPY) copy = this.#decode(key, this.#stored.get(key)!);
    this.#values.set(key, copy);
    return copy;
  }

  /** Marks an object as handed out: save() will check it for changes made in place. */
  #handOut(key: string, value: object): void {
    if (this.#assigned.has(key) || this.#handedOut.has(key)) return;
    const reference = this.#decoded?.get(key);
    if (reference !== undefined && this.#stored.has(key) && this.#values.get(key) !== reference) {
      // The store's decoded value is what was handed out a copy of: compare with it directly.
      this.#handedOut.set(key, reference);
      return;
    }
    const copy = copyValue(value);
    this.#handedOut.set(key, copy === CANNOT_COPY ? COMPARE_ENCODED : copy);
  }

  get(key: string): unknown {
    const value = this.#materialize(key);
    if (isMutable(value)) this.#handOut(key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    this.#values.set(key, value);
    this.#assigned.add(key);
    this.#handedOut.delete(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  remove(key: string): boolean {
    this.#assigned.delete(key);
    this.#handedOut.delete(key);
    return this.#values.delete(key);
  }

  clear(): void {
    this.#values.clear();
    this.#assigned.clear();
    this.#handedOut.clear();
  }

  keys(): string[] {
    return [...this.#values.keys()];
  }

  get size(): number {
    return this.#values.size;
  }

  /** [key, value] pairs, every value handed out. */
  entries(): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const key of this.#values.keys()) out.push([key, this.get(key)]);
    return out;
  }

  /** Whether storage holds anything for this session as far as these values know. */
  get storedKeys(): number {
    return this.#stored.size;
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
    for (const key of this.#stored.keys()) if (!this.#values.has(key)) deleted.push(key);
    const consider = (key: string): void => {
      if (set.has(key) || !this.#values.has(key)) return;
      const bytes = encode(key, this.#values.get(key));
      const before = this.#stored.get(key);
      if (all || before === undefined || !sameBytes(before, bytes)) set.set(key, bytes);
    };
    for (const key of this.#assigned) consider(key);
    for (const [key, before] of this.#handedOut) {
      if (this.#assigned.has(key)) continue;
      if (before !== COMPARE_ENCODED && unchanged(this.#values.get(key), before)) continue;
      consider(key);
    }
    if (all) {
      for (const key of this.#values.keys()) {
        if (set.has(key)) continue;
        const bytes = this.#stored.get(key);
        if (bytes !== undefined) set.set(key, bytes);
        else consider(key);
      }
    }
    return all ? { set, deleted: [] } : { set, deleted };
  }

  /** Bytes of the session as changes() would leave it stored (keys plus encoded values). */
  bytesAfter(changes: PendingChanges): number {
    let bytes = 0;
    for (const key of this.#values.keys()) {
      const encoded = changes.set.get(key) ?? this.#stored.get(key);
      // A key neither stored nor in the changes is one whose encoding equals the stored one.
      bytes += key.length + (encoded?.byteLength ?? 0);
    }
    return bytes;
  }

  /**
   * What save() wrote is now the stored state: `created` (a new storage)
   * replaces it, else the changes are merged into it. Objects the
   * application still holds are copied again, to see later changes.
   */
  committed(changes: PendingChanges, created: boolean): void {
    const next = created ? new Map<string, Uint8Array>() : new Map(this.#stored);
    for (const key of changes.deleted) next.delete(key);
    for (const [key, bytes] of changes.set) next.set(key, bytes);
    const rehand = [...this.#assigned, ...changes.set.keys()];
    for (const key of rehand) {
      this.#materialize(key);
      this.#handedOut.delete(key);
    }
    this.#stored = next;
    this.#decoded = undefined;
    this.#assigned.clear();
    for (const key of rehand) {
      const value = this.#values.get(key);
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
  refresh(stored: StoredSession): void {
    const local = this.changes(false);
    const removedHere = new Set(local.deleted);
    const decoded = stored.decoded;
    const decoder = new SliceDecoder(msgpackCodec);
    const next = new Map<string, unknown>();
    for (const [key, bytes] of stored.data) {
      if (removedHere.has(key) || local.set.has(key)) continue;
      const before = this.#stored.get(key);
      if (before !== undefined && this.#values.has(key) && sameBytes(before, bytes)) {
        // Unchanged by anyone: the same object, still watched (or, not yet copied, copied from the new read).
        const value = this.#values.get(key);
        next.set(key, value !== NOT_COPIED || decoded?.has(key) ? value : this.#decodeWith(decoder, key, bytes));
        continue;
      }
      this.#handedOut.delete(key);
      next.set(key, decoded?.has(key) ? NOT_COPIED : this.#decodeWith(decoder, key, bytes));
    }
    for (const key of local.set.keys()) {
      next.set(key, this.#values.get(key));
      this.#assigned.add(key);
      this.#handedOut.delete(key);
    }
    for (const key of this.#handedOut.keys()) if (!next.has(key)) this.#handedOut.delete(key);
    for (const key of this.#assigned) if (!next.has(key)) this.#assigned.delete(key);
    this.#values = next;
    this.#stored = stored.data;
    this.#decoded = decoded;
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
