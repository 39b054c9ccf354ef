// The one seeded PRNG and the one access order of the benchmarks: every
// contender of a scenario visits the same sessions (or keys) in the same
// order, and every run sees the same order.

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The default seed; a scenario may pass its own to get another fixed sequence. */
export const SEED = 0x5e55;

const ORDER_LENGTH = 1 << 16;
const orders = new Map();

/**
 * A fixed pseudo-random sequence of 65,536 indices in 0..n-1 (uniform, with
 * repeats, as requests arrive), the same for a given (n, seed) everywhere.
 */
export function randomOrder(n, seed = SEED) {
  const key = `${n}:${seed}`;
  let order = orders.get(key);
  if (order === undefined) {
    const rand = prng(seed ^ n);
    order = new Uint32Array(ORDER_LENGTH);
    for (let i = 0; i < ORDER_LENGTH; i++) order[i] = Math.floor(rand() * n);
    orders.set(key, order);
  }
  return order;
}

/**
 * A cursor over randomOrder(n, seed): each call returns the next index. Give
 * each case its own rotation, so each walks the whole sequence from the start.
 */
export function rotation(n, seed = SEED) {
  const order = randomOrder(n, seed);
  let i = 0;
  return () => order[i++ & (ORDER_LENGTH - 1)];
}

/** Deterministic hex of `bytes` bytes from a PRNG (ids, tokens). */
export function randomHex(rand, bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Math.floor(rand() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}
