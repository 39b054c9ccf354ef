// Model-based test: thousands of random operations on a dbm file mirrored in
// a JS Map, for several page sizes and both codecs. After every operation
// the results must agree with the model; periodically every key is read and
// iterated and check() walks the file. Then the file is reopened read-write
// and read-only and compared again. Phases of bulk inserts and deletes make
// sure the rarer paths run (directory levels, free-list spill) and the test
// asserts that they did.

import assert from 'node:assert/strict';
import { Dbm } from 'wasm-session/dbm';
import { LONG, randInt, randomBytes, rng, SEED, tempDir } from './helpers/index.js';
import { readAll } from './helpers/dbm.js';

const STEPS = LONG ? 15000 : 4000;

/** What each configuration must have exercised by the end of its run. */
const EXPECT = {
  512: { dirLevels: 2, freelistSpill: true },
  4096: { dirLevels: 0, freelistSpill: true },
  // A 64 KiB meta page holds about 30,000 free runs inline: no spill here.
  65536: { dirLevels: 0, freelistSpill: false },
};

describe(`dbm model-based (seed ${SEED}, ${STEPS} steps)`, function () {
  this.timeout(300_000);
  let tmp;
  before(() => {
    tmp = tempDir('model');
  });
  after(() => tmp.cleanup());

  for (const pageSize of [512, 4096, 65536]) {
    for (const codec of ['msgpack', 'raw']) {
      it(`page size ${pageSize}, codec ${codec}`, async () => {
        await runModel(tmp.file(`model-${pageSize}-${codec}.dbm`), pageSize, codec, SEED + pageSize + (codec === 'raw' ? 1 : 0));
      });
    }
  }
});

async function runModel(file, pageSize, codec, seed) {
  const rand = rng(seed);
  const maxKey = pageSize / 4 - 24;
  const model = new Map();
  const seen = { depth: 0, dirLevels: 0, freelistPages: 0, overflowPages: 0, hashed: false, backToInline: false, checks: 0 };

  // A small cache, so pages are evicted and re-read in the middle of operations.
  let db = await Dbm.open(file, { flag: 'n', pageSize, codec, cacheSize: 24 * pageSize });

  const keyOf = () => {
    const r = rand();
    if (r < 0.85) return `k${randInt(rand, 0, 600)}`;
    if (r < 0.92) return `ü${randInt(rand, 0, 50)}😀`;
    if (r < 0.97) return `${'L'.repeat(maxKey - 8)}${randInt(rand, 0, 20)}`;
    return '';
  };
  const sizeOf = () => {
    const r = rand();
    if (r < 0.45) return randInt(rand, 0, 24);
    if (r < 0.75) return randInt(rand, 25, 300);
    if (r < 0.88) return randInt(rand, pageSize / 4 - 80, pageSize / 4 + 40); // around the inline limit
    if (r < 0.98) return randInt(rand, pageSize, 3 * pageSize); // overflow runs
    return randInt(rand, 3 * pageSize, 8 * pageSize);
  };
  const valueOfSize = (size) => makeValue(rand, codec, size);

  /** Compares everything: every model key by get/has, full iteration, size, check(). */
  async function verifyAll(handle, where) {
    assert.equal(handle.size, model.size, `${where}: size`);
    assert.equal(await handle.count(), model.size, `${where}: count()`);
    for (const [k, v] of model) {
      assert.deepStrictEqual(await handle.get(k), v, `${where}: get(${JSON.stringify(k.slice(0, 20))})`);
    }
    const all = await readAll(handle);
    assert.equal(all.size, model.size, `${where}: iteration count`);
    for (const [k, v] of all) {
      assert.ok(model.has(k), `${where}: iteration yielded a key not in the model: ${JSON.stringify(k.slice(0, 20))}`);
      assert.deepStrictEqual(v, model.get(k), `${where}: iterated value of ${JSON.stringify(k.slice(0, 20))}`);
    }
    const report = await handle.check();
    assert.equal(report.keys, model.size, `${where}: check() keys`);
    seen.checks++;
    seen.freelistPages = Math.max(seen.freelistPages, report.pages.freelist);
    seen.overflowPages = Math.max(seen.overflowPages, report.pages.overflow);
    const stat = await handle.stat();
    seen.depth = Math.max(seen.depth, stat.depth);
    seen.dirLevels = Math.max(seen.dirLevels, stat.dirLevels);
    if (stat.mode === 'hashed') seen.hashed = true;
    else if (seen.hashed) seen.backToInline = true;
  }

  /** A few random reads, including keys that are not there. */
  async function spotCheck() {
    for (let i = 0; i < 3; i++) {
      const k = keyOf();
      assert.deepStrictEqual(await db.get(k), model.get(k), `get(${JSON.stringify(k.slice(0, 20))})`);
      assert.equal(await db.has(k), model.has(k));
    }
    assert.equal(db.size, model.size);
  }

  // Phases at fixed points of the run, for the paths random steps rarely reach.
  const phases = new Map([
    [Math.floor(STEPS * 0.3), bulkInsert],
    [Math.floor(STEPS * 0.45), bigValuesThenDeleteEveryOther],
    [Math.floor(STEPS * 0.6), bulkDelete],
  ]);

  async function bulkInsert() {
    // Enough small keys for several directory levels with 512-byte pages.
    const n = pageSize === 512 ? 40000 : pageSize === 4096 ? 8000 : 3000;
    await db.transaction((tx) => {
      for (let i = 0; i < n; i++) {
        const v = valueOfSize(i % 5);
        tx.set(`bulk${i}`, v);
        model.set(`bulk${i}`, v);
      }
    });
    await verifyAll(db, 'after bulk insert');
  }

  async function bigValuesThenDeleteEveryOther() {
    // Many separate free runs: the free list outgrows the meta page.
    const n = { 512: 2400, 4096: 4400, 65536: 60 }[pageSize];
    const size = pageSize === 65536 ? 2 * pageSize : 2 * (pageSize - 32) - 10;
    await db.transaction((tx) => {
      for (let i = 0; i < n; i++) {
        const v = valueOfSize(size);
        tx.set(`big${i}`, v);
        model.set(`big${i}`, v);
      }
    });
    for (let start = 0; start < n; start += 400) {
      await db.transaction((tx) => {
        for (let i = start; i < Math.min(n, start + 400); i += 2) {
          assert.equal(tx.delete(`big${i}`), true);
          model.delete(`big${i}`);
        }
      });
    }
    await verifyAll(db, 'after deleting every other big value');
  }

  async function bulkDelete() {
    await db.transaction((tx) => {
      for (const k of [...model.keys()]) {
        if ((k.startsWith('bulk') && !k.endsWith('7')) || k.startsWith('big')) {
          assert.equal(tx.delete(k), true);
          model.delete(k);
        }
      }
    });
    await verifyAll(db, 'after bulk delete');
  }

  for (let step = 0; step < STEPS; step++) {
    if (phases.has(step)) await phases.get(step)();
    const r = rand();
    if (r < 0.45) {
      const k = keyOf();
      const v = valueOfSize(sizeOf());
      await db.set(k, v);
      model.set(k, v);
    } else if (r < 0.65) {
      const k = rand() < 0.7 && model.size > 0 ? pick(rand, model) : keyOf();
      assert.equal(await db.delete(k), model.has(k), `delete(${JSON.stringify(k.slice(0, 20))})`);
      model.delete(k);
    } else if (r < 0.655) {
      await db.clear();
      model.clear();
    } else if (r < 0.9) {
      await randomTransaction();
    } else if (r < 0.92) {
      const t = { accessed: randInt(rand, 0, 1e12) };
      await db.setTimes(t);
      assert.equal(db.times.accessed, t.accessed);
    } else {
      await spotCheck();
    }
    if (step % 97 === 0) await spotCheck();
    if (step % Math.floor(STEPS / 12) === 0) await verifyAll(db, `step ${step}`);
  }

  async function randomTransaction() {
    const staged = new Map(model);
    const rollback = rand() < 0.25;
    const ops = randInt(rand, 2, 30);
    const failure = new Error('rolled back on purpose');
    const outcome = db.transaction((tx) => {
      for (let i = 0; i < ops; i++) {
        const r = rand();
        const k = keyOf();
        if (r < 0.55) {
          const v = valueOfSize(sizeOf());
          tx.set(k, v);
          staged.set(k, v);
        } else if (r < 0.85) {
          assert.equal(tx.delete(k), staged.has(k));
          staged.delete(k);
        } else if (r < 0.87) {
          tx.clear();
          staged.clear();
        } else {
          assert.deepStrictEqual(tx.get(k), staged.get(k));
          assert.equal(tx.has(k), staged.has(k));
        }
        assert.equal(tx.size, staged.size);
      }
      if (rand() < 0.05) assert.equal(tx.keys().length, staged.size);
      if (rollback) throw failure;
    });
    if (rollback) {
      await assert.rejects(outcome, (err) => err === failure);
    } else {
      await outcome;
      model.clear();
      for (const [k, v] of staged) model.set(k, v);
    }
  }

  await verifyAll(db, 'end of run');
  await db.close();
  db = await Dbm.open(file, { flag: 'w' });
  await verifyAll(db, 'reopened read-write');
  // One more write after reopening, so a fresh handle's first commit is covered.
  await db.set('last', valueOfSize(10));
  model.set('last', await db.get('last'));
  await db.close();
  const ro = await Dbm.open(file, { flag: 'r', cacheSize: 8 * pageSize });
  try {
    await verifyAll(ro, 'reopened read-only');
  } finally {
    await ro.close();
  }

  const expected = EXPECT[pageSize];
  assert.ok(seen.hashed && seen.depth > 0, `the directory never doubled: ${JSON.stringify(seen)}`);
  assert.ok(seen.dirLevels >= expected.dirLevels, `expected ${expected.dirLevels} DIR levels: ${JSON.stringify(seen)}`);
  assert.ok(seen.overflowPages > 0, `no overflow run: ${JSON.stringify(seen)}`);
  if (expected.freelistSpill) assert.ok(seen.freelistPages > 0, `the free list never spilled: ${JSON.stringify(seen)}`);
  console.log(`      ${pageSize}/${codec}: ${JSON.stringify(seen)}`);
}

function pick(rand, map) {
  const i = Math.floor(rand() * map.size);
  let j = 0;
  for (const k of map.keys()) if (j++ === i) return k;
  return undefined;
}

/** A value whose encoded size is about `size` bytes. */
function makeValue(rand, codec, size) {
  if (codec === 'raw') return randomBytes(rand, size);
  const r = rand();
  if (r < 0.5) return randomBytes(rand, size);
  if (r < 0.8) return 'ş'.repeat(Math.floor(size / 2));
  return { n: randInt(rand, -1e6, 1e6), at: new Date(randInt(rand, 0, 2e12)), s: 'x'.repeat(Math.max(0, size - 30)), big: BigInt(size) ** 3n };
}
