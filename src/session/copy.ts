// Copies and comparisons of decoded session values, for the request path.
//
// A value handed to the application may be changed in place, so save() must
// tell whether it changed. Re-encoding every handed-out object to compare
// bytes costs a msgpack encode per object per request; comparing it with a
// copy taken when it was handed out costs a walk over plain data, several
// times cheaper (no strings are built: they are immutable and shared). And a
// store that keeps values decoded (the memory store) hands out copies made
// the same way instead of decoding bytes again.
//
// Both functions know exactly the types the msgpack codec decodes to, and
// say "I cannot" for anything else, so the caller falls back to the bytes:
// copyValue returns CANNOT_COPY, sameValue returns false (a false "changed"
// only costs an encode and a byte comparison).

export const CANNOT_COPY: unique symbol = Symbol('cannot copy');

/** A deep copy of a decoded value, as decoding its bytes again would give; CANNOT_COPY for types outside the codec's. */
export function copyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const length = value.length;
    const out = new Array(length);
    for (let i = 0; i < length; i++) {
      const item = copyValue(value[i]);
      if (item === CANNOT_COPY) return CANNOT_COPY;
      out[i] = item;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = copyValue((value as Record<string, unknown>)[key]);
      if (item === CANNOT_COPY) return CANNOT_COPY;
      out[key] = item;
    }
    return out;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const Typed = value.constructor as new (source: ArrayBufferView) => unknown;
    return proto === Typed.prototype ? new Typed(value) : CANNOT_COPY;
  }
  if (value instanceof Map && proto === Map.prototype) {
    const out = new Map();
    for (const [k, v] of value) {
      const key = copyValue(k);
      const item = copyValue(v);
      if (key === CANNOT_COPY || item === CANNOT_COPY) return CANNOT_COPY;
      out.set(key, item);
    }
    return out;
  }
  if (value instanceof Set && proto === Set.prototype) {
    const out = new Set();
    for (const v of value) {
      const item = copyValue(v);
      if (item === CANNOT_COPY) return CANNOT_COPY;
      out.add(item);
    }
    return out;
  }
  if (value instanceof RegExp && proto === RegExp.prototype) return new RegExp(value.source, value.flags);
  return CANNOT_COPY;
}

/**
 * Whether `value` still holds exactly what `before` (a copy of it, or the
 * store's decoded value) holds: same types, same keys in the same order,
 * same contents. False when unsure.
 */
export function sameValue(value: unknown, before: unknown): boolean {
  if (typeof value !== 'object' || value === null || typeof before !== 'object' || before === null) return Object.is(value, before);
  if (value === before) return false; // the copy is never the object itself: the caller mixed them up, so do not trust it
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.getPrototypeOf(before)) return false;
  if (Array.isArray(value)) {
    const other = before as unknown[];
    if (value.length !== other.length) return false;
    for (let i = 0; i < value.length; i++) if (!sameItem(value[i], other[i])) return false;
    return true;
  }
  if (proto === Object.prototype) {
    const keys = Object.keys(value);
    const otherKeys = Object.keys(before);
    if (keys.length !== otherKeys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key !== otherKeys[i] || !sameItem((value as Record<string, unknown>)[key], (before as Record<string, unknown>)[key])) return false;
    }
    return true;
  }
  if (value instanceof Date) return Object.is(value.getTime(), (before as Date).getTime());
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const a = value as unknown as Uint8Array;
    const b = before as unknown as Uint8Array;
    return (
      a.byteLength === b.byteLength &&
      Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
    );
  }
  if (value instanceof Map) {
    const other = before as Map<unknown, unknown>;
    if (value.size !== other.size) return false;
    const theirs = other.entries();
    for (const [k, v] of value) {
      const next = theirs.next().value as [unknown, unknown];
      if (!sameItem(k, next[0]) || !sameItem(v, next[1])) return false;
    }
    return true;
  }
  if (value instanceof Set) {
    const other = before as Set<unknown>;
    if (value.size !== other.size) return false;
    const theirs = other.values();
    for (const v of value) if (!sameItem(v, theirs.next().value)) return false;
    return true;
  }
  if (value instanceof RegExp) {
    const other = before as RegExp;
    return value.source === other.source && value.flags === other.flags;
  }
  return false;
}

/** An element or property: primitives compare by Object.is, objects recursively (identity is never "same": the copy has its own objects). */
function sameItem(value: unknown, before: unknown): boolean {
  if (typeof value !== 'object' || value === null) return Object.is(value, before);
  return typeof before === 'object' && before !== null && value !== before && sameValue(value, before);
}
