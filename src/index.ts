// wasm-session: server-side sessions for Node.js with a WebAssembly hot path.
export { md5, hmacMd5, createMd5, createIdSigner, MAX_SIGNED_ID_BYTES } from './crypto.js';
export type { HashEncoding, BinaryLike, Md5Hash, IdSigner } from './crypto.js';
export { WasmTrapError } from './errors.js';
