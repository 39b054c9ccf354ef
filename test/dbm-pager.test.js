// The page cache's index (PageTable in src/dbm/pager.ts): open addressing
// with backward-shift deletion and a clock for eviction, against a Map.
import assert from 'node:assert/strict';
import { PageTable } from '../dist/dbm/pager.js';
import { SEED, rng, randInt } from './helpers/index.js';

describe(`dbm page cache index (seed ${SEED})`, () => {
  it('get, set, evict and drain agree with a Map; eviction spares pages used since the last sweep', () => {
    const rand = rng(SEED);
    for (let round = 0; round < 30; round++) {
      const table = new PageTable();
      const model = new Map();
      const span = randInt(rand, 4, round % 3 === 0 ? 40 : 5000);
      for (let op = 0; op < 3000; op++) {
        const no = randInt(rand, 2, span + 1);
        const r = rand();
        if (r < 0.5) {
          const ptr = randInt(rand, 1, 2 ** 32 - 1);
          assert.equal(table.set(no, ptr), model.get(no) ?? 0, `set ${no}`);
          model.set(no, ptr);
        } else if (r < 0.85) {
          assert.equal(table.get(no), model.get(no) ?? 0, `get ${no}`);
        } else if (model.size > 0) {
          const ptr = table.evict();
          const victim = [...model].find(([, p]) => p === ptr);
          assert.ok(victim, 'evict returns a cached address');
          model.delete(victim[0]);
          assert.equal(table.get(victim[0]), 0, 'and the page is gone');
        }
        assert.equal(table.size, model.size);
      }
      for (const [no, ptr] of model) assert.equal(table.get(no), ptr);
      const drained = [];
      table.drain((ptr) => drained.push(ptr));
      assert.deepEqual(
        drained.sort((a, b) => a - b),
        [...model.values()].sort((a, b) => a - b),
      );
      assert.equal(table.size, 0);
    }
  });

  it('a page used since the sweep last passed survives one eviction round', () => {
    const table = new PageTable();
    for (let no = 2; no < 10; no++) table.set(no, no * 100);
    for (let no = 2; no < 9; no++) table.get(no); // all but page 9 used
    assert.equal(table.evict(), 900);
  });
});
