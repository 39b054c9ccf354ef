// Scale: one file with many keys (100,000 by default; 1,000,000 with
// WASM_SESSION_LONG=1). A lookup on a fresh handle reads a bounded number
// of pages whatever the size (counted through a wrapping FileIO), and the
// file stays within 2x of the raw key and value bytes. Prints the numbers.
// No timing is asserted: benchmarks live in bench/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Dbm } from 'wasm-session/dbm';
import { LONG, nextTurn, randomBytes, rng, SEED, tempDir } from './helpers/index.js';
import { faultyIO } from './helpers/dbm.js';

const KEYS = LONG ? 1_000_000 : 100_000;
const VALUE_BYTES = 100;
// Copy-on-write: the pages a commit replaces stay in the file as free pages
// for later commits. A transaction that touches most buckets leaves about a
// second copy of the data behind, so the file is built the way a steady
// writer fills it: transactions of a thousand keys.
const PER_TRANSACTION = 1000;

const keyOf = (i) => `session:${i}:${((i * 2654435761) >>> 0).toString(36)}`;

describe(`dbm scale: ${KEYS.toLocaleString('en')} keys (seed ${SEED})`, function () {
  this.timeout(LONG ? 3_600_000 : 300_000);
  let tmp;
  let file;
  let rawBytes = 0;
  let buildMs = 0;
  let freeBytes = 0;
  const values = new Map(); // a sample of keys and their values, to check reads

  before(async () => {
    tmp = tempDir('scale');
    file = tmp.file('scale.dbm');
    const rand = rng(SEED);
    const t0 = Date.now();
    const db = await Dbm.open(file, { flag: 'n', codec: 'raw' });
    for (let start = 0; start < KEYS; start += PER_TRANSACTION) {
      await db.transaction((tx) => {
        for (let i = start; i < Math.min(KEYS, start + PER_TRANSACTION); i++) {
          const key = keyOf(i);
          const value = randomBytes(rand, VALUE_BYTES);
          tx.set(key, value);
          rawBytes += Buffer.byteLength(key) + VALUE_BYTES;
          if (i % 997 === 0) values.set(key, value);
        }
      });
    }
    await db.close();
    buildMs = Date.now() - t0;
  });
  after(() => tmp.cleanup());

  it('holds every key: count, sampled values, and check()', async () => {
    const db = await Dbm.open(file, { flag: 'r' });
    try {
      assert.equal(db.size, KEYS);
      for (const [k, v] of values) assert.ok((await db.get(k)).equals(v), k);
      const report = await db.check();
      assert.equal(report.keys, KEYS);
      const stat = await db.stat();
      freeBytes = report.pages.free * stat.pageSize;
      console.log(
        `      built in ${buildMs} ms; ${stat.pageCount} pages: ${JSON.stringify(report.pages)}; depth ${stat.depth}, ${stat.dirLevels} DIR level(s)`,
      );
    } finally {
      await db.close();
    }
  });

  it('the file is within 2x of the raw key and value bytes', () => {
    const size = fs.statSync(file).size;
    const ratio = size / rawBytes;
    console.log(`      file ${size} bytes for ${rawBytes} raw bytes: ${ratio.toFixed(3)}x (${((size - freeBytes) / rawBytes).toFixed(3)}x without free pages)`);
    assert.ok(ratio < 2, `file is ${ratio.toFixed(2)}x the raw bytes`);
  });

  it('a lookup on a fresh handle reads at most meta + DIR levels + bucket pages, whatever the size', async () => {
    const rand = rng(SEED + 1);
    const io = faultyIO(); // no faults: it counts the preads
    const db = await Dbm.open(file, { flag: 'r', io });
    try {
      const stat = await db.stat();
      // The meta pair (re-read when the lock is taken again), one DIR page per level, the bucket.
      const bound = 1 + stat.dirLevels + 1;
      assert.ok(bound <= 4, `${stat.dirLevels} DIR levels`);
      let worst = 0;
      let total = 0;
      const lookups = 2000;
      for (let i = 0; i < lookups; i++) {
        // A new event-loop turn each time: the lock is taken again and the meta re-read.
        await nextTurn();
        const n = Math.floor(rand() * KEYS);
        const before = io.preads;
        const value = await db.get(keyOf(n));
        const reads = io.preads - before;
        assert.equal(value?.length, VALUE_BYTES, keyOf(n));
        worst = Math.max(worst, reads);
        total += reads;
      }
      // Keys that are not there cost no more.
      for (let i = 0; i < 200; i++) {
        await nextTurn();
        const before = io.preads;
        assert.equal(await db.get(`missing:${i}`), undefined);
        worst = Math.max(worst, io.preads - before);
      }
      console.log(`      preads per lookup: worst ${worst}, mean ${(total / lookups).toFixed(2)} (bound ${bound})`);
      assert.ok(worst <= bound, `a lookup took ${worst} reads`);
    } finally {
      await db.close();
    }
  });
});
