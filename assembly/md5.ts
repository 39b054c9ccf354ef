// MD5 (RFC 1321) and HMAC-MD5 (RFC 2104) over linear memory.
//
// Everything here works on raw pointers that the TypeScript boundary module
// (src/wasm.ts) hands in; nothing allocates. MD5 is little-endian, like wasm,
// so message words are loaded straight from memory without byte swapping.
//
// Incremental context layout (MD5_CTX_SIZE bytes, 8-byte aligned):
//
//   offset  size  field
//   0       16    state words A, B, C, D (u32 LE each)
//   16      8     total bytes hashed so far (u64 LE)
//   24      64    pending partial block (total % 64 bytes are valid)
//
// The context holds no pointers, so TypeScript may copy it in and out of
// memory freely; that is how many independent hashers share one static area.

export const MD5_CTX_SIZE: i32 = 88;
const CTX_TOTAL: usize = 16;
const CTX_PENDING: usize = 24;

const IV_A: u32 = 0x67452301;
const IV_B: u32 = 0xefcdab89;
const IV_C: u32 = 0x98badcfe;
const IV_D: u32 = 0x10325476;

// Scratch for the final padding (up to two blocks) and for HMAC's inner digest.
const PAD_BLOCK: usize = memory.data(128, 16);
const INNER_DIGEST: usize = memory.data(16, 16);

// The step functions, arranged for a short dependency chain: each step's
// newest input is b, so everything that does not involve b (a + m + k, and
// the parts of F/G/H/I without b) can run in parallel with the previous step;
// only a few operations after b's arrival remain on the critical path.
@inline function F(x: u32, y: u32, z: u32): u32 { return z ^ (x & (y ^ z)); }
@inline function H(x: u32, y: u32, z: u32): u32 { return x ^ (y ^ z); }
@inline function I(x: u32, y: u32, z: u32): u32 { return (x | ~z) ^ y; }

// s and k are constants after inlining, so rotl becomes an immediate rotate
// and k folds into the add.
@inline function ff(a: u32, b: u32, c: u32, d: u32, m: u32, s: u32, k: u32): u32 {
  return rotl<u32>((a + m + k) + F(b, c, d), s) + b;
}
// G(b,c,d) = (b & d) | (c & ~d); the two halves have no bits in common, so
// they can be added separately, and (c & ~d) does not wait for b.
@inline function gg(a: u32, b: u32, c: u32, d: u32, m: u32, s: u32, k: u32): u32 {
  return rotl<u32>((a + m + k + (c & ~d)) + (b & d), s) + b;
}
@inline function hh(a: u32, b: u32, c: u32, d: u32, m: u32, s: u32, k: u32): u32 {
  return rotl<u32>((a + m + k) + H(b, c, d), s) + b;
}
@inline function ii(a: u32, b: u32, c: u32, d: u32, m: u32, s: u32, k: u32): u32 {
  return rotl<u32>((a + m + k) + I(b, c, d), s) + b;
}

/** Runs the compression function over `blocks` consecutive 64-byte blocks. */
export function md5Blocks(state: usize, p: usize, blocks: usize): void {
  let a = load<u32>(state, 0);
  let b = load<u32>(state, 4);
  let c = load<u32>(state, 8);
  let d = load<u32>(state, 12);
  const end = p + (blocks << 6);
  while (p < end) {
    const aa = a, bb = b, cc = c, dd = d;

    a = ff(a, b, c, d, load<u32>(p, 0), 7, 0xd76aa478);
    d = ff(d, a, b, c, load<u32>(p, 4), 12, 0xe8c7b756);
    c = ff(c, d, a, b, load<u32>(p, 8), 17, 0x242070db);
    b = ff(b, c, d, a, load<u32>(p, 12), 22, 0xc1bdceee);
    a = ff(a, b, c, d, load<u32>(p, 16), 7, 0xf57c0faf);
    d = ff(d, a, b, c, load<u32>(p, 20), 12, 0x4787c62a);
    c = ff(c, d, a, b, load<u32>(p, 24), 17, 0xa8304613);
    b = ff(b, c, d, a, load<u32>(p, 28), 22, 0xfd469501);
    a = ff(a, b, c, d, load<u32>(p, 32), 7, 0x698098d8);
    d = ff(d, a, b, c, load<u32>(p, 36), 12, 0x8b44f7af);
    c = ff(c, d, a, b, load<u32>(p, 40), 17, 0xffff5bb1);
    b = ff(b, c, d, a, load<u32>(p, 44), 22, 0x895cd7be);
    a = ff(a, b, c, d, load<u32>(p, 48), 7, 0x6b901122);
    d = ff(d, a, b, c, load<u32>(p, 52), 12, 0xfd987193);
    c = ff(c, d, a, b, load<u32>(p, 56), 17, 0xa679438e);
    b = ff(b, c, d, a, load<u32>(p, 60), 22, 0x49b40821);

    a = gg(a, b, c, d, load<u32>(p, 4), 5, 0xf61e2562);
    d = gg(d, a, b, c, load<u32>(p, 24), 9, 0xc040b340);
    c = gg(c, d, a, b, load<u32>(p, 44), 14, 0x265e5a51);
    b = gg(b, c, d, a, load<u32>(p, 0), 20, 0xe9b6c7aa);
    a = gg(a, b, c, d, load<u32>(p, 20), 5, 0xd62f105d);
    d = gg(d, a, b, c, load<u32>(p, 40), 9, 0x02441453);
    c = gg(c, d, a, b, load<u32>(p, 60), 14, 0xd8a1e681);
    b = gg(b, c, d, a, load<u32>(p, 16), 20, 0xe7d3fbc8);
    a = gg(a, b, c, d, load<u32>(p, 36), 5, 0x21e1cde6);
    d = gg(d, a, b, c, load<u32>(p, 56), 9, 0xc33707d6);
    c = gg(c, d, a, b, load<u32>(p, 12), 14, 0xf4d50d87);
    b = gg(b, c, d, a, load<u32>(p, 32), 20, 0x455a14ed);
    a = gg(a, b, c, d, load<u32>(p, 52), 5, 0xa9e3e905);
    d = gg(d, a, b, c, load<u32>(p, 8), 9, 0xfcefa3f8);
    c = gg(c, d, a, b, load<u32>(p, 28), 14, 0x676f02d9);
    b = gg(b, c, d, a, load<u32>(p, 48), 20, 0x8d2a4c8a);

    a = hh(a, b, c, d, load<u32>(p, 20), 4, 0xfffa3942);
    d = hh(d, a, b, c, load<u32>(p, 32), 11, 0x8771f681);
    c = hh(c, d, a, b, load<u32>(p, 44), 16, 0x6d9d6122);
    b = hh(b, c, d, a, load<u32>(p, 56), 23, 0xfde5380c);
    a = hh(a, b, c, d, load<u32>(p, 4), 4, 0xa4beea44);
    d = hh(d, a, b, c, load<u32>(p, 16), 11, 0x4bdecfa9);
    c = hh(c, d, a, b, load<u32>(p, 28), 16, 0xf6bb4b60);
    b = hh(b, c, d, a, load<u32>(p, 40), 23, 0xbebfbc70);
    a = hh(a, b, c, d, load<u32>(p, 52), 4, 0x289b7ec6);
    d = hh(d, a, b, c, load<u32>(p, 0), 11, 0xeaa127fa);
    c = hh(c, d, a, b, load<u32>(p, 12), 16, 0xd4ef3085);
    b = hh(b, c, d, a, load<u32>(p, 24), 23, 0x04881d05);
    a = hh(a, b, c, d, load<u32>(p, 36), 4, 0xd9d4d039);
    d = hh(d, a, b, c, load<u32>(p, 48), 11, 0xe6db99e5);
    c = hh(c, d, a, b, load<u32>(p, 60), 16, 0x1fa27cf8);
    b = hh(b, c, d, a, load<u32>(p, 8), 23, 0xc4ac5665);

    a = ii(a, b, c, d, load<u32>(p, 0), 6, 0xf4292244);
    d = ii(d, a, b, c, load<u32>(p, 28), 10, 0x432aff97);
    c = ii(c, d, a, b, load<u32>(p, 56), 15, 0xab9423a7);
    b = ii(b, c, d, a, load<u32>(p, 20), 21, 0xfc93a039);
    a = ii(a, b, c, d, load<u32>(p, 48), 6, 0x655b59c3);
    d = ii(d, a, b, c, load<u32>(p, 12), 10, 0x8f0ccc92);
    c = ii(c, d, a, b, load<u32>(p, 40), 15, 0xffeff47d);
    b = ii(b, c, d, a, load<u32>(p, 4), 21, 0x85845dd1);
    a = ii(a, b, c, d, load<u32>(p, 32), 6, 0x6fa87e4f);
    d = ii(d, a, b, c, load<u32>(p, 60), 10, 0xfe2ce6e0);
    c = ii(c, d, a, b, load<u32>(p, 24), 15, 0xa3014314);
    b = ii(b, c, d, a, load<u32>(p, 52), 21, 0x4e0811a1);
    a = ii(a, b, c, d, load<u32>(p, 16), 6, 0xf7537e82);
    d = ii(d, a, b, c, load<u32>(p, 44), 10, 0xbd3af235);
    c = ii(c, d, a, b, load<u32>(p, 8), 15, 0x2ad7d2bb);
    b = ii(b, c, d, a, load<u32>(p, 36), 21, 0xeb86d391);

    a += aa; b += bb; c += cc; d += dd;
    p += 64;
  }
  store<u32>(state, a, 0);
  store<u32>(state, b, 4);
  store<u32>(state, c, 8);
  store<u32>(state, d, 12);
}

@inline function storeIv(state: usize): void {
  store<u32>(state, IV_A, 0);
  store<u32>(state, IV_B, 4);
  store<u32>(state, IV_C, 8);
  store<u32>(state, IV_D, 12);
}

/**
 * Hashes the tail of a message: `len` (< 64) leftover bytes at `p`, then the
 * 0x80 marker, zeros and the bit length of `total` bytes; leaves the digest
 * in `state`.
 */
function finishTail(state: usize, p: usize, len: usize, total: u64): void {
  memory.copy(PAD_BLOCK, p, len);
  store<u8>(PAD_BLOCK + len, 0x80);
  const blocks: usize = len < 56 ? 1 : 2;
  const lenAt = (blocks << 6) - 8;
  memory.fill(PAD_BLOCK + len + 1, 0, lenAt - len - 1);
  store<u64>(PAD_BLOCK + lenAt, total << 3);
  md5Blocks(state, PAD_BLOCK, blocks);
}

/** One-shot MD5 of `len` bytes at `p`; the 16-byte digest goes to `out`. */
export function md5(p: usize, len: usize, out: usize): void {
  storeIv(out);
  continueFrom(out, p, len, 0);
}

/**
 * Hashes `len` more bytes at `p` from a state that has already absorbed
 * `prefix` bytes (a multiple of 64), and finishes. HMAC uses it to continue
 * from a cached key state.
 */
@inline function continueFrom(state: usize, p: usize, len: usize, prefix: u64): void {
  const full = len >> 6;
  if (full) md5Blocks(state, p, full);
  const done = full << 6;
  finishTail(state, p + done, len - done, prefix + <u64>len);
}

// ---- incremental ---------------------------------------------------------

export function md5Init(ctx: usize): void {
  storeIv(ctx);
  store<u64>(ctx + CTX_TOTAL, 0);
}

/** Starts a context from a saved state that has absorbed `prefix` bytes. */
export function md5InitFrom(ctx: usize, state: usize, prefix: u32): void {
  memory.copy(ctx, state, 16);
  store<u64>(ctx + CTX_TOTAL, <u64>prefix);
}

export function md5Update(ctx: usize, p: usize, len: usize): void {
  const total = load<u64>(ctx + CTX_TOTAL);
  store<u64>(ctx + CTX_TOTAL, total + <u64>len);
  const pending = <usize>(total & 63);
  const pendingPtr = ctx + CTX_PENDING;
  if (pending) {
    const room: usize = 64 - pending;
    if (len < room) {
      memory.copy(pendingPtr + pending, p, len);
      return;
    }
    memory.copy(pendingPtr + pending, p, room);
    md5Blocks(ctx, pendingPtr, 1);
    p += room;
    len -= room;
  }
  const full = len >> 6;
  if (full) md5Blocks(ctx, p, full);
  const done = full << 6;
  if (len > done) memory.copy(pendingPtr, p + done, len - done);
}

/** Finishes the context and writes the 16-byte digest to `out`. */
export function md5Final(ctx: usize, out: usize): void {
  const total = load<u64>(ctx + CTX_TOTAL);
  finishTail(ctx, ctx + CTX_PENDING, <usize>(total & 63), total);
  memory.copy(out, ctx, 16);
}

// ---- HMAC-MD5 --------------------------------------------------------------

const KEY_BLOCK: usize = memory.data(64, 16);

/**
 * Precomputes the HMAC inner and outer states for a key: writes 32 bytes to
 * `states` (inner state, then outer state). Each is MD5's state after one
 * block (key XOR ipad / opad), so a signature costs only the message blocks
 * plus one block for the outer hash.
 */
export function hmacKeyStates(key: usize, keyLen: usize, states: usize): void {
  memory.fill(KEY_BLOCK, 0, 64);
  if (keyLen > 64) md5(key, keyLen, KEY_BLOCK);
  else memory.copy(KEY_BLOCK, key, keyLen);
  for (let i: usize = 0; i < 64; i += 8) {
    store<u64>(KEY_BLOCK + i, load<u64>(KEY_BLOCK + i) ^ 0x3636363636363636);
  }
  storeIv(states);
  md5Blocks(states, KEY_BLOCK, 1);
  for (let i: usize = 0; i < 64; i += 8) {
    // 0x36 ^ 0x5c == 0x6a turns the ipad block into the opad block.
    store<u64>(KEY_BLOCK + i, load<u64>(KEY_BLOCK + i) ^ 0x6a6a6a6a6a6a6a6a);
  }
  storeIv(states + 16);
  md5Blocks(states + 16, KEY_BLOCK, 1);
}

/** Finishes HMAC given the inner digest at `out` (16 bytes); result to `out`. */
export function hmacOuter(states: usize, out: usize): void {
  memory.copy(INNER_DIGEST, out, 16);
  memory.copy(out, states + 16, 16);
  continueFrom(out, INNER_DIGEST, 16, 64);
}

/** HMAC-MD5 of `len` bytes at `p` with precomputed `states`; 16 bytes to `out`. */
export function hmac(states: usize, p: usize, len: usize, out: usize): void {
  memory.copy(out, states, 16);
  continueFrom(out, p, len, 64);
  hmacOuter(states, out);
}

// ---- hex -------------------------------------------------------------------

@inline function hexDigit(n: u32): u32 {
  // 0..9 -> '0'..'9', 10..15 -> 'a'..'f' without a branch.
  return n + 48 + (<u32>(<i32>(9 - n) >> 31) & 39);
}

/** Writes `len` bytes at `src` as 2*len lowercase hex ASCII bytes at `dst`. */
export function toHex(src: usize, len: usize, dst: usize): void {
  for (let i: usize = 0; i < len; i++) {
    const b = <u32>load<u8>(src + i);
    store<u16>(dst + (i << 1), hexDigit(b >> 4) | (hexDigit(b & 15) << 8));
  }
}

/** md5() plus its 32 hex chars at out + 16, in one call from JS. */
export function md5Hex(p: usize, len: usize, out: usize): void {
  md5(p, len, out);
  toHex(out, 16, out + 16);
}

/** hmac() plus its 32 hex chars at out + 16, in one call from JS. */
export function hmacHex(states: usize, p: usize, len: usize, out: usize): void {
  hmac(states, p, len, out);
  toHex(out, 16, out + 16);
}

/**
 * Constant-time comparison of `len` bytes: 1 when equal, 0 otherwise. The
 * time depends only on `len`, never on where the first difference is.
 */
export function equalConstantTime(a: usize, b: usize, len: usize): i32 {
  let diff: u32 = 0;
  for (let i: usize = 0; i < len; i++) diff |= <u32>(load<u8>(a + i) ^ load<u8>(b + i));
  return <i32>(diff == 0);
}

/**
 * Verifies a signed value laid out as 32 hex chars of HMAC-MD5 followed by
 * the message (`len` bytes in all, at `p`): 1 if the signature matches under
 * `states`, else 0. Only lowercase hex matches, and any byte >= 0x80 in the
 * signature part (a non-ASCII character) can never match.
 */
export function hmacVerifyHex(states: usize, p: usize, len: usize, scratch: usize): i32 {
  if (len < 32) return 0;
  hmac(states, p + 32, len - 32, scratch);
  toHex(scratch, 16, scratch + 16);
  return equalConstantTime(scratch + 16, p, 32);
}
