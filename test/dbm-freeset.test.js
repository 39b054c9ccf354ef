// The free-page set (assembly/freelist.ts behind src/dbm/freeset.ts), kept
// as runs of consecutive pages: random operations against a plain Set, and
// the run encoding decoded back to the same pages.
import assert from 'node:assert/strict';
import * as w from '../dist/wasm.js';
import { FreePages, PageAllocator } from '../dist/dbm/freeset.js';
import { SEED, rng, randInt } from './helpers/index.js';

const PAGE = 4096;
const fakePager = {
  pageSize: PAGE,
  corrupt: (page, reason) => Object.assign(new Error(reason), { page }),
};

/** Encodes `pages` the way a commit does and decodes it as an open does. */
function roundTrip(pages, pageCount) {
  const bytes = pages.encodedSize();
  const meta = w.alloc(w.META_HEADER + bytes + 16);
  try {
    assert.equal(pages.encode(meta + w.META_HEADER, bytes), bytes);
    const state = { freeBytes: bytes, freeCount: pages.count, freelistPage: 0, mainUsed: 0, pageCount, txid: 1 };
    return FreePages.decode(fakePager, meta, state).pages;
  } finally {
    w.dealloc(meta);
  }
}

const contents = (pages) => {
  const out = [];
  pages.forEach((no) => {
    out.push(no);
  });
  return out;
};

describe(`dbm free-page set (seed ${SEED})`, () => {
  it('add, remove, has, takeRun and count agree with a Set; the encoding decodes to the same pages', () => {
    const rand = rng(SEED);
    for (let round = 0; round < 40; round++) {
      const span = randInt(rand, 4, round % 2 ? 60 : 3000);
      let pages = FreePages.empty();
      const model = new Set();
      for (let op = 0; op < 600; op++) {
        const no = randInt(rand, 2, span + 1);
        const r = rand();
        if (r < 0.45) {
          assert.equal(pages.add(no), !model.has(no), `add ${no}`);
          model.add(no);
        } else if (r < 0.75) {
          assert.equal(pages.remove(no), model.has(no), `remove ${no}`);
          model.delete(no);
        } else if (r < 0.85) {
          const n = randInt(rand, 1, 5);
          const sorted = [...model].sort((a, b) => a - b);
          let want = 0;
          for (let i = 0; i < sorted.length && want === 0; i++) {
            if (i + n <= sorted.length && sorted[i + n - 1] === sorted[i] + n - 1 && (i === 0 || sorted[i - 1] !== sorted[i] - 1)) want = sorted[i];
          }
          // The lowest run of at least n pages, taken from its start.
          assert.equal(pages.takeRun(n), want, `takeRun ${n} of ${sorted}`);
          for (let k = 0; k < n && want !== 0; k++) model.delete(want + k);
        } else if (r < 0.95) {
          assert.equal(pages.has(no), model.has(no), `has ${no}`);
        } else {
          const copy = pages.clone();
          pages.dispose();
          pages = copy;
        }
        assert.equal(pages.count, model.size);
      }
      assert.deepEqual(
        contents(pages),
        [...model].sort((a, b) => a - b),
      );
      const back = roundTrip(pages, span + 2);
      assert.deepEqual(contents(back), contents(pages));
      back.dispose();
      pages.dispose();
    }
  });

  it('a transaction takes released pages of its own at once, committed ones only with the next state', () => {
    const state = { pageCount: 10 };
    const alloc = new PageAllocator(FreePages.empty(), state);
    assert.equal(alloc.alloc(), 10, 'nothing free: the file grows');
    assert.equal(state.pageCount, 11);
    assert.equal(alloc.releaseCommitted(5), true);
    assert.equal(alloc.releaseCommitted(5), false, 'a double free is reported');
    assert.equal(alloc.alloc(), 11, 'a page the committed state uses is not reused within the transaction');
    assert.equal(alloc.releaseOwn(11), true);
    assert.equal(alloc.alloc(), 11, 'a page of its own is');
    assert.equal(alloc.releaseOwn(11), true);
    const { pages, doubleFree } = alloc.mergePending();
    assert.equal(doubleFree, -1);
    assert.deepEqual(contents(pages), [5, 11]);
    pages.dispose();
    alloc.dispose();
  });
});
