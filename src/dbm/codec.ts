// Value encodings of the dbm. 'msgpack' (the default) is wasm-session's one
// msgpack configuration (src/codec.ts, shared with the sessions); 'raw'
// stores bytes as given (strings as UTF-8) and returns Buffers.

import { msgpackCodec, type ValueCodec as AnyValueCodec } from '../codec.js';
import type { CodecName } from './format.js';

export { packr, msgpackCodec, SliceDecoder } from '../codec.js';

export interface ValueCodec extends AnyValueCodec {
  readonly name: CodecName;
}

export const rawCodec: ValueCodec = {
  name: 'raw',
  encode(value) {
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    // A copy: the caller may reuse its buffer before the commit is written.
    if (value instanceof Uint8Array) return Buffer.from(value);
    throw new TypeError(`wasm-session dbm: with codec 'raw' values must be strings or Uint8Arrays, got ${value === null ? 'null' : typeof value}`);
  },
  decode: (bytes) => Buffer.from(bytes),
  decodeRange: (buffer, start, end) => Buffer.from(buffer.subarray(start, end)),
};

export const CODECS: Record<CodecName, ValueCodec> = { msgpack: msgpackCodec, raw: rawCodec };
