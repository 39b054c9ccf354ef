// XXH64 (Yann Collet's xxHash, 64-bit variant), written from its published
// specification. The dbm uses it twice: seeded with the file's random seed to
// hash keys (so bucket placement cannot be predicted from outside), and as
// the page checksum (its low 32 bits). Inputs are read little-endian, as the
// specification requires and as wasm loads natively.

const P1: u64 = 0x9E3779B185EBCA87;
const P2: u64 = 0xC2B2AE3D27D4EB4F;
const P3: u64 = 0x165667B19E3779F9;
const P4: u64 = 0x85EBCA77C2B2AE63;
const P5: u64 = 0x27D4EB2F165667C5;

@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

@inline function mergeRound(acc: u64, val: u64): u64 {
  return (acc ^ round(0, val)) * P1 + P4;
}

export function xxh64(p: usize, len: usize, seed: u64): u64 {
  const end = p + len;
  let h: u64;
  if (len >= 32) {
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    const limit = end - 32;
    do {
      v1 = round(v1, load<u64>(p, 0));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + P5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

@inline export function seed64(lo: u32, hi: u32): u64 {
  return (<u64>hi << 32) | <u64>lo;
}

/**
 * XXH64 with a seed given as two 32-bit halves; low half returned, high half
 * at `hiOut`. Exported only for test/wasm-core.test.js (known answers); the
 * dbm hashes inside the module (keyHash, page checksums).
 */
export function xxh64Split(p: usize, len: usize, seedLo: u32, seedHi: u32, hiOut: usize): u32 {
  const h = xxh64(p, len, seed64(seedLo, seedHi));
  store<u32>(hiOut, <u32>(h >> 32));
  return <u32>h;
}
