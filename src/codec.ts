// The one msgpack configuration of wasm-session: the dbm's 'msgpack' value
// codec, the Session's values, the express-session store's records and the
// benchmarks all encode and decode through this module (src/dbm/codec.ts
// re-exports it), so what round-trips is the same everywhere: plain objects,
// arrays, strings, numbers, booleans, null, undefined, Date, Map, Set,
// Buffer/typed arrays, RegExp, Error, BigInt of any size.

import { Packr, addExtension } from 'msgpackr';

/** A value encoding: bytes in, values out. */
export interface ValueCodec {
  readonly name: string;
  encode(value: unknown): Uint8Array;
  /** Decodes bytes that are only valid during the call: results must not alias them. */
  decode(bytes: Uint8Array): unknown;
  /** Decodes buffer[start, end) in place (no view allocated); same aliasing rule. */
  decodeRange(buffer: Buffer, start: number, end: number): unknown;
}

/** The msgpackr configuration shared by the dbm and sessions. */
export const packr = new Packr({
  // Plain MessagePack maps and arrays; records are msgpackr-specific.
  useRecords: false,
  // Set, typed arrays, Error, RegExp survive the round trip (Map: see below).
  moreTypes: true,
  // BigInts beyond 64 bits too, instead of a RangeError.
  useBigIntExtension: true,
  // Decoded Buffers must not point into wasm memory, which gets reused.
  copyBuffers: true,
});

// msgpackr writes a Map as a MessagePack map, the same as a plain object, and
// with useRecords off decodes every map as an object: a Map would come back
// as an object with stringified keys. So the codec writes Maps as an
// extension of their own ('m', the entries as an array of [key, value]),
// which decodes to a Map. Plain Maps skip msgpackr's extension lookup, so
// encode() first swaps each Map in the value (at any depth inside plain
// objects, arrays, Sets and Maps) for a MapEntries, copying only containers
// that hold one; the caller's value is never modified.
const MAP_EXTENSION = 0x6d;

class MapEntries {
  constructor(readonly entries: [unknown, unknown][]) {}
}

addExtension({
  Class: MapEntries,
  type: MAP_EXTENSION,
  write: (m: MapEntries) => m.entries,
  read: (entries: [unknown, unknown][]) => new Map(entries),
});

function tagMaps(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Map) {
    const entries: [unknown, unknown][] = [];
    for (const [k, v] of value) entries.push([tagMaps(k), tagMaps(v)]);
    return new MapEntries(entries);
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const tagged = tagMaps(value[i]);
      if (tagged === value[i]) continue;
      out ??= value.slice();
      out[i] = tagged;
    }
    return out ?? value;
  }
  if (value instanceof Set) {
    let changed = false;
    const items = [...value].map((item) => {
      const tagged = tagMaps(item);
      changed ||= tagged !== item;
      return tagged;
    });
    return changed ? new Set(items) : value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Date, Buffer, class instances: as msgpackr writes them
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    // msgpackr decodes such a key as '__proto_' (prototype-pollution guard): refuse what would not come back as it went in.
    if (key === '__proto__') throw new TypeError('an object with an own "__proto__" key cannot be stored (it would not round-trip)');
    const item = (value as Record<string, unknown>)[key];
    const tagged = tagMaps(item);
    if (tagged === item) continue;
    out ??= { ...(value as Record<string, unknown>) };
    out[key] = tagged;
  }
  return out ?? value;
}

export const msgpackCodec: ValueCodec & { readonly name: 'msgpack' } = {
  name: 'msgpack' as const,
  encode: (value) => packr.pack(tagMaps(value)),
  decode: (bytes) => packr.unpack(bytes),
  decodeRange: (buffer, start, end) => packr.unpack(buffer, { start, end }),
};

/**
 * Decodes many values that are slices of a few buffers (as a store's raw
 * read returns them). msgpackr caches a DataView on each source object it
 * reads, so a fresh slice per value costs a DataView and a hidden-class
 * change each; reading every slice in place through one Buffer per
 * underlying ArrayBuffer costs that once.
 */
export class SliceDecoder {
  #arrayBuffer: ArrayBufferLike | null = null;
  #whole: Buffer | null = null;
  readonly #codec: ValueCodec;

  constructor(codec: ValueCodec) {
    this.#codec = codec;
  }

  decode(bytes: Uint8Array): unknown {
    if (bytes.buffer !== this.#arrayBuffer) {
      this.#arrayBuffer = bytes.buffer;
      this.#whole = Buffer.from(bytes.buffer);
    }
    return this.#codec.decodeRange(this.#whole!, bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
}
