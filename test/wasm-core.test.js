// The WebAssembly core's dbm functions, called directly through the boundary
// module (src/wasm.ts, built to dist/wasm.js): XXH64, which defines the file
// format (key hashes and page checksums), against the xxHash project's
// published vectors and against an independent implementation (hash-wasm);
// the free-list run encoding and its decoder; the split of a record area by
// hash bit; and page verification. Expected values are derived here from
// FORMAT.md (JS encoders written from it) or by the other implementation,
// not by calling the function under test again.

import assert from 'node:assert/strict';
import { createXXHash64 } from 'hash-wasm';
import * as w from '../dist/wasm.js';
import { PAGE_TYPE, VERIFY_REASON } from '../dist/dbm/format.js';
import { randInt, randomBytes, rng, SEED } from './helpers/index.js';

const MASK64 = (1n << 64n) - 1n;
const hex64 = (lo, hi) => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16).padStart(16, '0');

/** Runs `fn(ptr)` on `size` bytes of wasm memory, freed afterwards. */
function withMemory(size, fn) {
  const ptr = w.alloc(size);
  try {
    return fn(ptr);
  } finally {
    w.dealloc(ptr);
  }
}

/** XXH64 of `bytes` by the wasm core, as 16 hex digits (the canonical, big-endian form). */
function wasmXxh64(bytes, seedLo = 0, seedHi = 0, offset = 0) {
  if (offset === 0 && bytes.length <= w.IO_SIZE) {
    const [lo, hi] = w.xxh64Of(bytes, seedLo, seedHi);
    return hex64(lo, hi);
  }
  return withMemory(bytes.length + offset + 16, (ptr) => {
    w.copyIn(ptr + offset, bytes);
    const [lo, hi] = w.xxh64(ptr + offset, bytes.length, seedLo, seedHi);
    return hex64(lo, hi);
  });
}

describe(`wasm core: XXH64 (seed ${SEED})`, () => {
  // The xxHash project's own sanity-check vectors: XSUM_XXH64_testdata in
  // cli/xsum_sanity_check.c of https://github.com/Cyan4973/xxHash (the
  // values xxhsum verifies itself with at start-up). The input of length
  // `len` is the first `len` bytes of the buffer XSUM_fillTestBuffer fills:
  // byteGen = PRIME32; for each byte: byte = byteGen >> 56, byteGen *= PRIME64
  // (mod 2^64).
  const PRIME32 = 2654435761;
  const PRIME64 = 11400714785074694797n;
  const VECTORS = [
    [0, 0, 'ef46db3751d8e999'],
    [0, PRIME32, 'ac75fda2929b17ef'],
    [1, 0, 'e934a84adb052768'],
    [1, PRIME32, '5014607643a9b4c3'],
    [4, 0, '9136a0dca57457ee'],
    [14, 0, '8282dcc4994e35c8'],
    [14, PRIME32, 'c3bd6bf63deb6df0'],
    [222, 0, 'b641ae8cb691c174'],
    [222, PRIME32, '20cb8ab7ae10c14a'],
  ];
  function sanityBuffer(len) {
    const buffer = Buffer.alloc(len);
    let byteGen = BigInt(PRIME32);
    for (let i = 0; i < len; i++) {
      buffer[i] = Number(byteGen >> 56n);
      byteGen = (byteGen * PRIME64) & MASK64;
    }
    return buffer;
  }

  it("matches the xxHash project's published XXH64 vectors (lengths 0, 1, 4, 14, 222; seeds 0 and PRIME32)", () => {
    for (const [len, seed, expected] of VECTORS) {
      assert.equal(wasmXxh64(sanityBuffer(len), seed, 0), expected, `len ${len}, seed ${seed}`);
      // The same through wasm memory at an unaligned address (records put keys anywhere).
      assert.equal(wasmXxh64(sanityBuffer(len), seed, 0, 3), expected, `len ${len}, seed ${seed}, unaligned`);
    }
  });

  it('agrees with hash-wasm for every length 0..300, around the 32-byte stripes, and a few KiB, under several seeds', async () => {
    const rand = rng(SEED);
    const seeds = [
      [0, 0],
      [1, 0],
      [PRIME32, 0], // the low half with its high bit set
      [0, 0x80000000], // the seed's top bit alone
      [0xffffffff, 0xffffffff],
      [0x9abcdef0, 0x12345678],
      [Math.floor(rand() * 2 ** 32), (Math.floor(rand() * 2 ** 31) | 0x80000000) >>> 0],
    ];
    const lengths = [];
    for (let len = 0; len <= 300; len++) lengths.push(len);
    for (const stripes of [8, 32, 100, 128]) for (let d = -9; d <= 9; d++) lengths.push(stripes * 32 + d);
    lengths.push(4095, 4096, 4097, 10_000, w.IO_SIZE, w.IO_SIZE + 1, 100_003);
    const data = randomBytes(rand, Math.max(...lengths) + 8);
    let compared = 0;
    for (const [lo, hi] of seeds) {
      const reference = await createXXHash64(lo, hi);
      for (const len of lengths) {
        const offset = len % 8; // aligned and unaligned inputs
        const input = data.subarray(offset, offset + len);
        reference.init();
        reference.update(input);
        const expected = reference.digest('hex');
        assert.equal(wasmXxh64(input, lo, hi, len % 5), expected, `len ${len}, seed ${hex64(lo, hi)}`);
        compared++;
      }
    }
    assert.equal(compared, seeds.length * lengths.length);
  });

  it('keyHash is the high 32 bits of XXH64(key, seed), and a page checksum its low 32 bits over bytes 4..P', async () => {
    const rand = rng(SEED + 1);
    const lo = Math.floor(rand() * 2 ** 32);
    const hi = (Math.floor(rand() * 2 ** 31) | 0x80000000) >>> 0;
    const reference = await createXXHash64(lo, hi);
    const digest = (bytes) => {
      reference.init();
      reference.update(bytes);
      return reference.digest('hex');
    };
    for (const key of ['', 'a', 'session:42', 'ключ😀', 'k'.repeat(1000)]) {
      const bytes = Buffer.from(key);
      const expected = Number.parseInt(digest(bytes).slice(0, 8), 16);
      const got = withMemory(bytes.length + 16, (ptr) => {
        w.copyIn(ptr, bytes);
        return w.keyHash(ptr, bytes.length, lo, hi) >>> 0;
      });
      assert.equal(got, expected, JSON.stringify(key));
    }
    for (const P of [512, 4096]) {
      withMemory(P, (p) => {
        w.pageInit(p, P, PAGE_TYPE.overflow, 0, 9, 3);
        w.copyIn(p + w.PAGE_HEADER, randomBytes(rand, P - w.PAGE_HEADER));
        w.pageSeal(p, P, lo, hi);
        const page = w.copyOut(p, P);
        assert.equal(page.readUInt32LE(0), Number.parseInt(digest(page.subarray(4)).slice(8), 16), `P ${P}`);
      });
    }
  });
});

// ---------------------------------------------------------------------------

/** Unsigned LEB128, from FORMAT.md. */
function leb128(v) {
  const out = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** FORMAT.md's free-page encoding of ascending distinct `pages`: per run, gap from the previous run's end, then length - 1. */
function encodeRuns(pages) {
  const out = [];
  let prevEnd = 0;
  for (let i = 0; i < pages.length; ) {
    let j = i + 1;
    while (j < pages.length && pages[j] === pages[i] + (j - i)) j++;
    out.push(...leb128(pages[i] - prevEnd), ...leb128(j - i - 1));
    prevEnd = pages[i] + (j - i);
    i = j;
  }
  return Buffer.from(out);
}

const range = (start, n) => Array.from({ length: n }, (_, i) => start + i);

/** A free set in wasm memory with room for `capacity` runs of pages; `fn(set)`; freed afterwards. */
function withFreeSet(capacity, fn) {
  return withMemory(w.FREE_SET_HEADER + 8 * Math.max(1, capacity), (set) => {
    w.freeInit(set, capacity);
    return fn(set);
  });
}

/** The set's pages, ascending, from its runs; checks that the runs ascend without touching and add up to freeCount. */
function pagesOf(set) {
  const pages = [];
  let prevEnd = -1;
  for (let i = 0; i < w.freeRuns(set); i++) {
    const start = w.freeRunStart(set, i) >>> 0;
    const len = w.freeRunLen(set, i) >>> 0;
    assert.ok(len >= 1 && start > prevEnd, `run ${i} (${start}, ${len}) after a run ending at ${prevEnd}`);
    for (let p = start; p < start + len; p++) pages.push(p);
    prevEnd = start + len;
  }
  assert.equal(pages.length, w.freeCount(set) >>> 0, 'freeCount is the pages in all the runs');
  return pages;
}

/** Decodes `bytes` into a new set of `capacity`; returns [result code or count, pages]. */
function decode(bytes, pageCount, capacity = 1 << 12) {
  return withFreeSet(capacity, (set) =>
    withMemory(bytes.length + 16, (src) => {
      w.copyIn(src, bytes);
      const result = w.freeDecode(set, src, bytes.length, pageCount);
      return [result, pagesOf(set)];
    }),
  );
}

/** Encodes `pages` (added to a new set one by one, in random order) with the wasm encoder. */
function encode(pages, rand) {
  return withFreeSet(pages.length, (set) => {
    const shuffled = [...pages];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    for (const page of shuffled) assert.equal(w.freeAdd(set, page), 0);
    assert.deepEqual(pagesOf(set), pages, 'the set keeps its pages sorted');
    const size = w.freeEncodedSize(set);
    return withMemory(size + 16, (dst) => {
      assert.equal(w.freeEncode(set, dst, size), size, 'freeEncode writes freeEncodedSize bytes');
      if (size > 0) {
        // With less room it writes nothing past it, and still says how long the encoding is.
        w.zero(dst, size + 16);
        assert.equal(w.freeEncode(set, dst, size - 1), size);
        assert.equal(
          w.copyOut(dst + size - 1, 17).every((b) => b === 0),
          true,
          'nothing past max',
        );
      }
      assert.equal(w.freeEncode(set, dst, size), size);
      return w.copyOut(dst, size);
    });
  });
}

describe(`wasm core: the free-list encoding (seed ${SEED})`, () => {
  const MAX_U32 = 0xffffffff;

  it("encodes runs as FORMAT.md's LEB128 (gap, length - 1) pairs, and decodes them back", () => {
    const rand = rng(SEED);
    // Written out by hand: runs 2..4, 10, 200..330 -> (2, 2) (5, 0) (189, 130).
    const small = [...range(2, 3), 10, ...range(200, 131)];
    assert.deepEqual([...encode(small, rand)], [0x02, 0x02, 0x05, 0x00, 0xbd, 0x01, 0x82, 0x01]);
    assert.deepEqual(decode(Buffer.from([0x02, 0x02, 0x05, 0x00, 0xbd, 0x01, 0x82, 0x01]), 331), [small.length, small]);
    // Varints of every width (1 to 5 bytes), up to the last page number below 2^32 - 1.
    const wide = [2, 130, 131, 20_000, 2 ** 21 + 7, ...range(2 ** 28 + 3, 3), ...range(MAX_U32 - 6, 5)];
    const bytes = encode(wide, rand);
    assert.deepEqual(bytes, encodeRuns(wide));
    assert.deepEqual(decode(bytes, MAX_U32), [wide.length, wide]);
    // Nothing free: no bytes, and zero bytes decode to no pages.
    assert.equal(encode([], rand).length, 0);
    assert.deepEqual(decode(Buffer.alloc(0), 2), [0, []]);
  });

  it('round-trips random free sets, byte for byte as FORMAT.md encodes them', () => {
    const rand = rng(SEED + 1);
    for (let round = 0; round < 200; round++) {
      const pageCount = randInt(rand, 3, round % 4 === 0 ? 2 ** 31 : 5000);
      const pages = new Set();
      const runs = randInt(rand, 0, 40);
      for (let r = 0; r < runs; r++) {
        const start = randInt(rand, 2, pageCount - 1);
        const len = rand() < 0.5 ? 1 : randInt(rand, 1, 50);
        for (let p = start; p < Math.min(pageCount, start + len); p++) pages.add(p);
      }
      const sorted = [...pages].sort((a, b) => a - b);
      const bytes = encode(sorted, rand);
      assert.deepEqual(bytes, encodeRuns(sorted), `round ${round}`);
      assert.deepEqual(decode(bytes, pageCount), [sorted.length, sorted], `round ${round}`);
    }
  });

  it('rejects malformed encodings (-1), a set without room for the runs (-2) and a set not empty (-3), leaving the set empty', () => {
    const malformed = [
      ['a varint cut short', [0x82], 100],
      ['a gap without its length', [0x02], 100],
      ['a run length cut short', [0x02, 0x80], 100],
      ['a varint of six bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00], MAX_U32],
      ['a varint above 32 bits', [0xff, 0xff, 0xff, 0xff, 0x1f, 0x00], MAX_U32],
      ['a run starting at page 0 (a meta slot)', [0x00, 0x00], 100],
      ['a run starting at page 1 (a meta slot)', [0x01, 0x01], 100],
      ['a run touching the previous one (gap 0)', [0x02, 0x01, 0x00, 0x00], 100],
      ['a run past pageCount', [0x02, 0x08], 10],
      ['a run starting at pageCount', [0x0a, 0x00], 10],
      ['a second run past pageCount', [0x02, 0x00, 0x05, 0x02], 10],
      ['a gap that wraps past 2^32', [0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], MAX_U32],
    ];
    for (const [what, bytes, pageCount] of malformed) {
      assert.deepEqual(decode(Buffer.from(bytes), pageCount), [-1, []], what);
    }
    // The limits themselves are fine: pages 2..9 of a 10-page file; one past is not.
    assert.deepEqual(decode(Buffer.from([0x02, 0x07]), 10), [8, range(2, 8)]);
    assert.deepEqual(decode(Buffer.from([0x02, 0x08]), 10), [-1, []]);
    // Too small a set is -2 (the caller grows it and decodes again), and it stays empty.
    assert.deepEqual(decode(Buffer.from([0x02, 0x03]), 100, 0), [-2, []]);
    assert.deepEqual(decode(Buffer.from([0x02, 0x03]), 100, 1), [4, range(2, 4)]);
    assert.deepEqual(decode(Buffer.from([0x02, 0x03, 0x01, 0x00]), 100, 1), [-2, []]);
    assert.deepEqual(decode(Buffer.from([0x02, 0x03, 0x01, 0x00]), 100, 2), [5, [...range(2, 4), 7]]);
    // Decoding into a set that holds pages is refused.
    withFreeSet(8, (set) => {
      w.freeAdd(set, 5);
      withMemory(16, (src) => {
        w.copyIn(src, Buffer.from([0x02, 0x00]));
        assert.equal(w.freeDecode(set, src, 2, 100), -3);
      });
      assert.deepEqual(pagesOf(set), [5]);
    });
  });
});

// ---------------------------------------------------------------------------

/** One record as FORMAT.md lays it out: hash, keyLen, flags, 0, valueLen, key, then the value or the first overflow page. */
function recordBytes({ hash, key, value, overflow }) {
  const k = Buffer.from(key);
  const tail = overflow ? Buffer.alloc(4) : Buffer.from(value);
  if (overflow) tail.writeUInt32LE(overflow.page);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(hash >>> 0, 0);
  head.writeUInt16LE(k.length, 4);
  head[6] = overflow ? 1 : 0;
  head.writeUInt32LE(overflow ? overflow.valueLen : tail.length, 8);
  return Buffer.concat([head, k, tail]);
}

describe(`wasm core: recSplit, a bucket's records split by hash bit (seed ${SEED})`, () => {
  const P = 4096;
  const capacity = P - w.PAGE_HEADER;

  /** Splits the records at bit `bit` in wasm; returns the four counts and both areas' bytes. */
  function split(records, bit) {
    const src = Buffer.concat(records.map(recordBytes));
    return withMemory(3 * capacity, (base) => {
      const [s, d0, d1] = [base, base + capacity, base + 2 * capacity];
      w.copyIn(s, src);
      // The destination areas start as junk: recSplit writes only the bytes it reports.
      w.copyIn(d0, Buffer.alloc(2 * capacity, 0xee));
      const [used0, count0, used1, count1] = w.recSplit(s, src.length, bit, d0, d1);
      const valid = [w.validateRecords(d0, used0, count0, P), w.validateRecords(d1, used1, count1, P)];
      const rest = [w.copyOut(d0 + used0, capacity - used0), w.copyOut(d1 + used1, capacity - used1)];
      return { used0, count0, used1, count1, area0: w.copyOut(d0, used0), area1: w.copyOut(d1, used1), valid, rest };
    });
  }

  function randomRecords(rand, n) {
    const records = [];
    for (let i = 0; i < n; i++) {
      const key = `key-${i}-${'x'.repeat(randInt(rand, 0, 20))}`;
      const hash = Math.floor(rand() * 2 ** 32);
      if (rand() < 0.2) records.push({ hash, key, overflow: { page: randInt(rand, 2, 1e6), valueLen: randInt(rand, 1000, 1e6) } });
      else records.push({ hash, key, value: randomBytes(rand, randInt(rand, 0, 60)) });
    }
    return records;
  }

  it('puts the records whose bit is clear in the first area and the others in the second, in their order, with exact used and count', () => {
    const rand = rng(SEED);
    for (const bit of [0, 1, 7, 16, 23, 31]) {
      const records = randomRecords(rand, 30);
      // One record on each side for sure: only bit `bit` set, and all bits but it.
      records.push({ hash: 2 ** (31 - bit), key: 'only-the-bit', value: 'a' });
      records.push({ hash: (0xffffffff ^ (2 ** (31 - bit))) >>> 0, key: 'all-but-the-bit', value: '' });
      const side = (r) => Math.floor(r.hash / 2 ** (31 - bit)) % 2; // bit counted from the most significant
      const zero = records.filter((r) => side(r) === 0).map(recordBytes);
      const one = records.filter((r) => side(r) === 1).map(recordBytes);
      const got = split(records, bit);
      assert.equal(got.count0, zero.length, `bit ${bit}`);
      assert.equal(got.count1, one.length, `bit ${bit}`);
      assert.equal(got.used0 + got.used1, Buffer.concat(records.map(recordBytes)).length);
      assert.deepEqual(got.area0, Buffer.concat(zero), `bit ${bit}: area 0`);
      assert.deepEqual(got.area1, Buffer.concat(one), `bit ${bit}: area 1`);
      assert.deepEqual(got.valid, [0, 0], `bit ${bit}: both areas are valid record areas`);
      assert.ok(
        got.rest.every((b) => b.every((x) => x === 0xee)),
        `bit ${bit}: bytes past used were written`,
      );
    }
  });

  it('an empty area, or records all on one side, split as such', () => {
    const empty = split([], 0);
    assert.deepEqual([empty.used0, empty.count0, empty.used1, empty.count1], [0, 0, 0, 0]);
    const records = [
      { hash: 0x00000001, key: 'a', value: 'x' },
      { hash: 0x7fffffff, key: 'b', value: 'yy' },
    ];
    const got = split(records, 0);
    assert.deepEqual([got.count0, got.count1, got.used1], [2, 0, 0]);
    assert.deepEqual(got.area0, Buffer.concat(records.map(recordBytes)));
    const high = split(
      records.map((r) => ({ ...r, hash: (r.hash | 0x80000000) >>> 0 })),
      0,
    );
    assert.deepEqual([high.count0, high.used0, high.count1], [0, 0, 2]);
  });

  it('with real key hashes, each half holds exactly the keys of its one-bit-longer prefix (recCheckHashes agrees)', async () => {
    const rand = rng(SEED + 2);
    const [lo, hi] = [Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32)];
    const reference = await createXXHash64(lo, hi);
    const keyHash = (key) => {
      reference.init();
      reference.update(Buffer.from(key));
      return Number.parseInt(reference.digest('hex').slice(0, 8), 16);
    };
    // A bucket of depth 3 with prefix 0b101: split at bit 3 into prefixes 0b1010 and 0b1011.
    const records = [];
    for (let i = 0; records.length < 40; i++) {
      const key = `user:${i}`;
      const hash = keyHash(key);
      if (hash >>> 29 === 0b101) records.push({ hash, key, value: String(i) });
    }
    const src = Buffer.concat(records.map(recordBytes));
    withMemory(3 * capacity, (base) => {
      const [s, d0, d1] = [base, base + capacity, base + 2 * capacity];
      w.copyIn(s, src);
      assert.equal(w.recCheckHashes(s, src.length, 3, 0b101, lo, hi), 0, 'the bucket before the split');
      const [used0, count0, used1, count1] = w.recSplit(s, src.length, 3, d0, d1);
      assert.equal(count0 + count1, records.length);
      assert.ok(count0 > 0 && count1 > 0, `${count0} / ${count1}`);
      assert.equal(w.recCheckHashes(d0, used0, 4, 0b1010, lo, hi), 0);
      assert.equal(w.recCheckHashes(d1, used1, 4, 0b1011, lo, hi), 0);
      // And not the other way round: the first record of each half is the first bad one there.
      assert.equal(w.recCheckHashes(d0, used0, 4, 0b1011, lo, hi), 1);
      assert.equal(w.recCheckHashes(d1, used1, 4, 0b1010, lo, hi), 1);
    });
  });
});

// ---------------------------------------------------------------------------

describe(`wasm core: pageVerify (seed ${SEED})`, () => {
  const ERR = { checksum: -1, pageNo: -2, type: -3, txid: -4, layout: -5 };

  it('has a distinct code for each failure, named by VERIFY_REASON', () => {
    assert.equal(new Set(Object.values(ERR)).size, 5);
    assert.match(VERIFY_REASON[ERR.checksum], /checksum/);
    assert.match(VERIFY_REASON[ERR.pageNo], /page number/);
    assert.match(VERIFY_REASON[ERR.type], /page type/);
    assert.match(VERIFY_REASON[ERR.txid], /newer/);
    assert.match(VERIFY_REASON[ERR.layout], /layout/);
  });

  for (const P of [512, 4096]) {
    it(`a sealed ${P}-byte page verifies; a flipped byte, another page number, type, seed, or a txid past the meta's each fail with their code`, () => {
      const rand = rng(SEED + P);
      const lo = Math.floor(rand() * 2 ** 32);
      const hi = (Math.floor(rand() * 2 ** 31) | 0x80000000) >>> 0;
      const pageNo = 7;
      const txid = 2 ** 40 + 5; // above 2^32: the comparison is on all 64 bits
      withMemory(P, (p) => {
        w.pageInit(p, P, PAGE_TYPE.bucket, 3, pageNo, txid);
        const records = Buffer.concat([
          recordBytes({ hash: 0xa0000001, key: 'k1', value: 'value one' }),
          recordBytes({ hash: 0xbfffffff, key: 'k2', overflow: { page: 99, valueLen: 5000 } }),
        ]);
        w.copyIn(p + w.PAGE_HEADER, records);
        w.setU32(p + 20, 2); // count
        w.setU32(p + 28, records.length); // used
        w.pageSeal(p, P, lo, hi);
        // The header as FORMAT.md lays it out.
        const page = w.copyOut(p, P);
        assert.equal(page.readUInt32LE(4), pageNo);
        assert.equal(page.readBigUInt64LE(8), BigInt(txid));
        assert.deepEqual([page[16], page[17]], [PAGE_TYPE.bucket, 3]);

        const verify = (o = {}) => w.pageVerify(p, P, o.pageNo ?? pageNo, o.lo ?? lo, o.hi ?? hi, o.maxTxid ?? txid, o.type ?? PAGE_TYPE.bucket);
        assert.equal(verify(), 0);
        assert.equal(verify({ maxTxid: txid + 1000 }), 0, 'a page older than the meta is fine');
        assert.equal(verify({ maxTxid: txid - 1 }), ERR.txid);
        assert.equal(verify({ maxTxid: 5 }), ERR.txid, 'not compared on the low 32 bits alone');
        assert.equal(verify({ pageNo: pageNo + 1 }), ERR.pageNo);
        assert.equal(verify({ type: PAGE_TYPE.dir }), ERR.type);
        assert.equal(verify({ lo: lo ^ 1 }), ERR.checksum);
        assert.equal(verify({ hi: (hi ^ 0x80000000) >>> 0 }), ERR.checksum, "the seed's top bit counts");
        // Any flipped bit, in the checksum, the header or the payload.
        for (const at of [0, 3, 4, 8, 16, 20, 31, 32, 45, P - 1, randInt(rand, 4, P - 1)]) {
          const bit = 1 << randInt(rand, 0, 7);
          w.setU8(p + at, w.u8(p + at) ^ bit);
          assert.equal(verify(), ERR.checksum, `byte ${at}`);
          w.setU8(p + at, w.u8(p + at) ^ bit);
        }
        assert.equal(verify(), 0, 'restored');
      });
    });
  }

  it('a sealed page whose layout is wrong fails with the layout code; sound ones of every type verify', () => {
    const P = 512;
    const payload = P - w.PAGE_HEADER;
    /** Seals a page of `type` with these count/used (and aux), and verifies it. */
    const check = ({ type, aux = 0, count, used, body }) =>
      withMemory(P, (p) => {
        w.pageInit(p, P, type, aux, 2, 1);
        if (body) w.copyIn(p + w.PAGE_HEADER, body);
        w.setU32(p + 20, count);
        w.setU32(p + 28, used);
        w.pageSeal(p, P, 1, 2);
        return w.pageVerify(p, P, 2, 1, 2, 1, type);
      });
    const rec = recordBytes({ hash: 1, key: 'k', value: 'v' });
    assert.equal(check({ type: PAGE_TYPE.bucket, count: 1, used: rec.length, body: rec }), 0);
    assert.equal(check({ type: PAGE_TYPE.bucket, count: 2, used: rec.length, body: rec }), ERR.layout, 'count disagrees with the records');
    assert.equal(check({ type: PAGE_TYPE.bucket, count: 1, used: rec.length - 1, body: rec }), ERR.layout, 'used cuts a record');
    assert.equal(check({ type: PAGE_TYPE.bucket, aux: 33, count: 1, used: rec.length, body: rec }), ERR.layout, 'local depth above 32');
    assert.equal(check({ type: PAGE_TYPE.dir, count: 3, used: 12 }), 0);
    assert.equal(check({ type: PAGE_TYPE.dir, count: 3, used: 8 }), ERR.layout, 'DIR: used is not 4 x count');
    assert.equal(check({ type: PAGE_TYPE.dir, count: payload / 4 + 1, used: payload + 4 }), ERR.layout, 'DIR: more entries than fit');
    assert.equal(check({ type: PAGE_TYPE.dir, count: 2 ** 30 + 1, used: 4 }), ERR.layout, 'DIR: a count whose 4 x wraps to used');
    assert.equal(check({ type: PAGE_TYPE.overflow, count: payload, used: payload }), 0);
    assert.equal(check({ type: PAGE_TYPE.overflow, count: 10, used: 11 }), ERR.layout, 'OVERFLOW: used is not count');
    assert.equal(check({ type: PAGE_TYPE.overflow, count: payload + 1, used: payload + 1 }), ERR.layout, 'OVERFLOW: more than the payload');
    assert.equal(check({ type: PAGE_TYPE.freelist, count: 17, used: 17 }), 0);
    assert.equal(check({ type: PAGE_TYPE.freelist, count: 17, used: 16 }), ERR.layout, 'FREELIST: used is not count');
  });
});
