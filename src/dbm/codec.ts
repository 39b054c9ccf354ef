// Value encodings. 'msgpack' (the default) stores any value msgpackr
// round-trips with these options: plain objects, arrays, strings, numbers,
// booleans, null, undefined, Date, Map, Set, Buffer/typed arrays, RegExp,
// Error, BigInt of any size. 'raw' stores bytes as given (strings as UTF-8)
// and returns Buffers.

import { Packr } from 'msgpackr';
import type { CodecName } from './format.js';

export interface ValueCodec {
  readonly name: CodecName;
  encode(value: unknown): Uint8Array;
  /** Decodes a view that is only valid during the call: results must not alias it. */
  decode(bytes: Uint8Array): unknown;
}

/** The msgpackr configuration shared by the dbm and sessions. */
export const packr = new Packr({
  // Plain MessagePack maps and arrays; records are msgpackr-specific.
  useRecords: false,
  // Map, Set, typed arrays, Error, RegExp survive the round trip.
  moreTypes: true,
  // BigInts beyond 64 bits too, instead of a RangeError.
  useBigIntExtension: true,
  // Decoded Buffers must not point into wasm memory, which gets reused.
  copyBuffers: true,
});

export const msgpackCodec: ValueCodec = {
  name: 'msgpack',
  encode: (value) => packr.pack(value),
  decode: (bytes) => packr.unpack(bytes),
};

export const rawCodec: ValueCodec = {
  name: 'raw',
  encode(value) {
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    if (value instanceof Uint8Array) return value;
    throw new TypeError(`wasm-session dbm: with codec 'raw' values must be strings or Uint8Arrays, got ${value === null ? 'null' : typeof value}`);
  },
  decode: (bytes) => Buffer.from(bytes),
};

export const CODECS: Record<CodecName, ValueCodec> = { msgpack: msgpackCodec, raw: rawCodec };
