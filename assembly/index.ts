// The one WebAssembly module of wasm-session. src/wasm.ts is its only caller.
//
// Static areas (fixed at compile time, never freed, no allocator involved):
//
//   IO      IO_SIZE bytes   inputs copied in from JS, outputs read back
//   SCRATCH 256 bytes       digests, hex, HMAC key states, one MD5 context
//
// JS asks for their addresses once at start-up via ioPtr()/scratchPtr().

export {
  md5Blocks, md5, md5Init, md5InitFrom, md5Update, md5Final,
  hmacKeyStates, hmac, hmacOuter, md5Hex, hmacHex, hmacVerifyHex, toHex, equalConstantTime,
  MD5_CTX_SIZE,
} from './md5';

export const IO_SIZE: i32 = 65536;
const IO: usize = memory.data(IO_SIZE, 16);
const SCRATCH: usize = memory.data(256, 16);

export function ioPtr(): usize { return IO; }
export function scratchPtr(): usize { return SCRATCH; }
