// Corrupt input. Real files of each shape (inline, hashed with overflow runs
// and DIR pages, spilled free list) get random byte flips, misplaced or
// zeroed pages, and truncations; reading each one back (every key, full
// iteration, check()) must either give exactly the original data (damage in
// free space, or in one meta slot only, since both hold the same state) or
// a DbmCorruptError - never another error, a wrong answer, a crash or a
// hang. The reads run in a child process with a watchdog, so a hang or a
// crash fails the case instead of the test run. Then files that are not
// dbm files at all.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Dbm, DbmCorruptError } from 'wasm-session/dbm';
import { Children, LONG, randInt, randomBytes, rng, SEED, tempDir } from './helpers/index.js';

const CASES_PER_BASE = LONG ? 3000 : 300;
/**
 * The watchdog: a case (open, reads, check() of one small file, milliseconds
 * normally) that gives no answer for this long hangs. Generous, so that a
 * loaded machine is never taken for a hang; no case is timed otherwise.
 */
const HANG_MS = 30_000;

describe(`dbm corrupt input (seed ${SEED}, ${CASES_PER_BASE} cases per file shape)`, function () {
  this.timeout(LONG ? 3_600_000 : 300_000);
  let tmp;
  const children = new Children();
  before(() => {
    tmp = tempDir('corrupt');
  });
  afterEach(() => children.stopAll('SIGKILL'));
  after(() => tmp.cleanup());

  /** Builds one base file; returns its description for the reader. */
  async function buildBase(name, pageSize, fill) {
    const file = tmp.file(`${name}.dbm`);
    const db = await Dbm.open(file, { flag: 'n', pageSize, codec: 'raw' });
    await fill(db);
    const report = await db.check();
    const stat = await db.stat();
    const entries = [];
    for await (const [k, v] of db.entries()) entries.push([k, v.toString('hex')]);
    await db.close();
    return { name, file, pageSize, entries, report, stat, size: fs.statSync(file).size };
  }

  /** A random damage description for a file of `size` bytes. */
  function randomDamage(rand, base) {
    const { size, pageSize: P } = base;
    const pages = size / P;
    const r = rand();
    if (r < 0.55) {
      const flips = [];
      const n = rand() < 0.6 ? 1 : randInt(rand, 2, 8);
      // A third of the flip cases aim at the meta slots, where a flip decides most.
      const span = rand() < 0.33 ? 2 * P : size;
      for (let i = 0; i < n; i++) flips.push([randInt(rand, 0, span - 1), 1 << randInt(rand, 0, 7)]);
      return { kind: 'flip', flips };
    }
    if (r < 0.7) {
      const t = rand();
      const length = t < 0.1 ? 0 : t < 0.3 ? randInt(rand, 1, P - 1) : t < 0.5 ? randInt(rand, 1, pages - 1) * P : randInt(rand, 1, size - 1);
      return { kind: 'truncate', length };
    }
    if (r < 0.76) return { kind: 'copyPage', pageSize: P, from: randInt(rand, 0, pages - 1), to: randInt(rand, 0, pages - 1) };
    if (r < 0.8) return { kind: 'zeroPage', pageSize: P, page: randInt(rand, 0, pages - 1) };
    // Flips in one page whose checksum is then made to match: mostly header
    // fields (the meta page's first 128 bytes, a data page's first 32).
    const page = rand() < 0.4 ? randInt(rand, 0, 1) : randInt(rand, 0, pages - 1);
    const header = page < 2 ? 128 : 32;
    const flips = [];
    for (let i = randInt(rand, 1, 3); i > 0; i--) {
      const off = rand() < 0.7 ? randInt(rand, 4, header - 1) : randInt(rand, 4, P - 1);
      flips.push([off, 1 << randInt(rand, 0, 7)]);
    }
    return { kind: 'sealedFlip', pageSize: P, page, flips };
  }

  it('random flips, misplaced pages and truncations give the original data or DbmCorruptError, never anything else', async () => {
    const rand = rng(SEED);
    const bases = [
      await buildBase('inline', 4096, async (db) => {
        for (let i = 0; i < 20; i++) await db.set(`key${i}`, `value ${i}`);
      }),
      await buildBase('hashed', 512, async (db) => {
        await db.transaction((tx) => {
          for (let i = 0; i < 1500; i++) tx.set(`key${i}`, randomBytes(rand, i % 50 === 0 ? randInt(rand, 600, 3000) : randInt(rand, 0, 40)));
        });
        for (let i = 0; i < 1500; i += 9) await db.delete(`key${i}`);
      }),
      await buildBase('spilled', 512, async (db) => {
        await db.transaction((tx) => {
          for (let i = 0; i < 400; i++) tx.set(`big${i}`, randomBytes(rand, 900));
          for (let i = 0; i < 100; i++) tx.set(`small${i}`, randomBytes(rand, 10));
        });
        await db.transaction((tx) => {
          for (let i = 0; i < 400; i += 2) tx.delete(`big${i}`);
        });
      }),
    ];
    // The shapes the damage must meet.
    assert.equal(bases[0].stat.mode, 'inline');
    assert.ok(bases[1].stat.dirLevels >= 1 && bases[1].report.pages.overflow > 0 && bases[1].report.pages.free > 0, JSON.stringify(bases[1].report));
    assert.ok(bases[2].report.pages.freelist > 0, JSON.stringify(bases[2].report));

    const cases = [];
    for (const base of bases) {
      for (let k = 0; k < CASES_PER_BASE; k++) cases.push({ i: cases.length, base: base.name, damage: randomDamage(rand, base) });
    }
    const jobFile = tmp.file('job.json');
    fs.writeFileSync(jobFile, JSON.stringify({ dir: tmp.dir, bases: bases.map(({ name, file, entries }) => ({ name, file, entries })), cases }));
    const child = children.spawn('dbm/corrupt-reader.js', [jobFile]);

    const outcomes = {};
    const failures = [];
    for (const c of cases) {
      const line = await child.nextLine(HANG_MS);
      assert.ok(line !== null, `case ${c.i} (${c.base}, ${JSON.stringify(c.damage)}) hung or crashed the reader: ${child.stderr}`);
      const result = JSON.parse(line);
      assert.equal(result.i, c.i);
      const key = `${c.base}/${c.damage.kind}/${result.outcome}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      // With a matching checksum a changed record is undetectable: a wrong
      // answer is then the file's content, but any other error is a bug.
      const ok =
        result.outcome === 'intact' ||
        result.outcome === 'corrupt' ||
        (result.outcome === 'empty' && c.damage.length === 0) ||
        ((result.outcome === 'wrong' || result.outcome === 'undecodable') && c.damage.kind === 'sealedFlip');
      if (!ok) failures.push(`case ${c.i} (${c.base}, ${JSON.stringify(c.damage)}): ${result.outcome}: ${result.detail}`);
    }
    console.log(`      outcomes: ${JSON.stringify(outcomes)}`);
    assert.deepEqual(failures, []);
    // Both outcomes must occur for every shape, or the damage missed the point.
    for (const base of bases) {
      const of = (outcome) =>
        Object.entries(outcomes)
          .filter(([k]) => k.startsWith(`${base.name}/`) && k.endsWith(`/${outcome}`))
          .reduce((n, [, v]) => n + v, 0);
      assert.ok(of('corrupt') > 0, `${base.name}: no case was detected as corrupt`);
      assert.ok(of('intact') > 0, `${base.name}: no case read back intact`);
    }
  });

  describe('files that are not dbm files', () => {
    const notDbm = {
      'random bytes (one page)': (rand) => randomBytes(rand, 4096),
      'random bytes (100 KiB)': (rand) => randomBytes(rand, 100 * 1024),
      'a text file': () => Buffer.from('Hello, this is not a database.\n'.repeat(500)),
      'a 10-byte file': () => Buffer.from('0123456789'),
      'a dbm magic number followed by junk': (rand) => Buffer.concat([Buffer.from([0, 0, 0, 0, 0x57, 0x53, 0x44, 0x42, 1, 0, 12]), randomBytes(rand, 9000)]),
    };
    for (const [what, make] of Object.entries(notDbm)) {
      it(`${what}: every flag but 'n' rejects with DbmCorruptError and leaves the file as it was`, async () => {
        const file = tmp.file(`notdbm-${what.replace(/\W+/g, '-')}`);
        const content = make(rng(SEED));
        fs.writeFileSync(file, content);
        for (const flag of ['r', 'w', 'c']) {
          await assert.rejects(Dbm.open(file, { flag }), (err) => {
            assert.ok(err instanceof DbmCorruptError, err);
            assert.equal(err.path, file);
            assert.equal(err.page, 0);
            assert.match(err.message, /corrupt at page 0: (file too short to be a dbm file|no valid meta page)/);
            return true;
          });
        }
        assert.ok(fs.readFileSync(file).equals(content), 'the file was changed');
        // 'n' means "start empty", whatever was there.
        const db = await Dbm.open(file, { flag: 'n' });
        assert.equal(db.size, 0);
        await db.close();
      });
    }

    it('an empty file is an empty database (as documented for open)', async () => {
      const file = tmp.file('empty');
      fs.writeFileSync(file, '');
      const db = await Dbm.open(file, { flag: 'r' });
      assert.equal(db.size, 0);
      assert.equal(await db.get('a'), undefined);
      await db.close();
      assert.equal(fs.statSync(file).size, 0);
    });
  });
});
