// Crash safety. Child processes commit a deterministic sequence in a loop
// and are SIGKILLed at random moments; after each kill the file must pass
// check() and hold exactly the state of the last acknowledged commit or of
// the one in flight. A dead process's lock must be released. Then the same
// failures deterministically: a FileIO whose Nth write fails (EIO, ENOSPC,
// or a short write followed by a failure), or whose Nth fdatasync fails,
// for every N across a sequence of commits.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Dbm, LockTimeoutError } from 'wasm-session/dbm';
import { Children, LONG, rng, SEED, sleep, tempDir } from './helpers/index.js';
import { faultyIO, readAll } from './helpers/dbm.js';
import { Replay, COUNTER } from './fixtures/dbm/commit-script.js';

const KILLS_PER_LANE = LONG ? 700 : 70;

/** Lanes run in parallel, each with its own file and settings. */
const LANES = [
  { pageSize: 512, sync: 'none' },
  { pageSize: 4096, sync: 'commit' },
  { pageSize: 1024, sync: 'none' },
];

describe(`dbm crash torture: SIGKILL (seed ${SEED}, ${LANES.length * KILLS_PER_LANE} kills)`, function () {
  this.timeout(LONG ? 3_600_000 : 240_000);
  let tmp;
  const children = new Children();
  before(() => {
    tmp = tempDir('crash');
  });
  afterEach(() => children.stopAll('SIGKILL'));
  after(() => tmp.cleanup());

  it('after every kill the file is sound and holds the last acknowledged commit or the one in flight', async () => {
    const results = await Promise.all(LANES.map((lane, i) => runLane(tmp.file(`lane${i}.dbm`), lane, SEED + i)));
    const total = (key) => results.reduce((n, r) => n + r[key], 0);
    console.log(
      `      ${total('kills')} kills, ${total('commits')} commits acknowledged, in-flight commit found on disk ${total('inFlightLanded')} times, killed before 'ready' ${total('beforeReady')} times`,
    );
    for (const r of results) {
      assert.equal(r.kills, KILLS_PER_LANE);
      // The kills must land between and inside commits, not only at start-up.
      assert.ok(r.commits > KILLS_PER_LANE, JSON.stringify(r));
    }
    assert.ok(total('inFlightLanded') > 0, 'no kill ever landed after a commit reached the disk and before its ack');
  });

  async function runLane(file, { pageSize, sync }, seed) {
    const rand = rng(seed);
    await (await Dbm.open(file, { flag: 'n', pageSize })).close();
    const replay = new Replay();
    let known = 0; // highest commit known to be on disk
    const stats = { kills: 0, commits: 0, inFlightLanded: 0, beforeReady: 0 };
    for (let kill = 0; kill < KILLS_PER_LANE; kill++) {
      const child = children.spawn('dbm/crash-writer.js', [file, sync]);
      if (rand() < 0.1) {
        // Sometimes during start-up and open.
        await sleep(rand() * 60);
      } else {
        const ready = await child.waitFor('ready', 30_000);
        assert.ok(ready, `child did not start: ${child.stderr}`);
        assert.equal(Number(ready.split(' ')[1]), known, 'the child resumed from another commit than the last one on disk');
        const r = rand();
        await sleep(r < 0.3 ? rand() * 3 : r < 0.7 ? 3 + rand() * 30 : 30 + rand() * 120);
      }
      await child.stop();
      if (!child.lines.some((l) => l.startsWith('ready'))) stats.beforeReady++;
      stats.kills++;
      const acks = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      const lastAck = acks.length > 0 ? acks[acks.length - 1] : known;
      stats.commits += acks.length;
      assert.ok(child.stderr === '' || /SIGKILL/.test(child.stderr), `child wrote to stderr: ${child.stderr}`);

      const db = await Dbm.open(file, { flag: 'r' });
      try {
        await db.check();
        const onDisk = (await db.get(COUNTER)) ?? 0;
        assert.ok(onDisk === lastAck || onDisk === lastAck + 1, `kill ${kill}: the file holds commit ${onDisk}; the last acknowledged was ${lastAck}`);
        if (onDisk === lastAck + 1) stats.inFlightLanded++;
        const expected = replay.advanceTo(onDisk);
        const actual = await readAll(db);
        assert.equal(actual.size, expected.size, `kill ${kill}: commit ${onDisk} should have ${expected.size} keys`);
        for (const [k, v] of expected) assert.deepStrictEqual(actual.get(k), v, `kill ${kill}, commit ${onDisk}: key ${k}`);
        known = onDisk;
      } finally {
        await db.close();
      }
    }
    return stats;
  }

  it('a process killed inside a transaction releases its lock, and its changes are not committed', async () => {
    const file = tmp.file('holder.dbm');
    const db = await Dbm.open(file, { flag: 'c', lockTimeout: 300 });
    await db.set('committed', 1);
    const holder = children.spawn('dbm/lock-holder.js', [file, 'transaction']);
    assert.equal(await holder.nextLine(30_000), 'locked', holder.stderr);
    // It really holds the lock: our write times out.
    await assert.rejects(db.set('mine', 1), LockTimeoutError);
    await holder.stop();
    // Its exit released the lock: a handle that tries once (lockTimeout 0) gets it.
    const waiter = await Dbm.open(file, { flag: 'w', lockTimeout: 0 });
    await waiter.set('mine', 2);
    assert.equal(await waiter.get('uncommitted'), undefined);
    assert.equal(await waiter.get('committed'), 1);
    await waiter.check();
    await waiter.close();
    await db.close();
  });
});

describe(`dbm fault injection through the io option (seed ${SEED})`, function () {
  this.timeout(120_000);
  let tmp;
  let n = 0;
  before(() => {
    tmp = tempDir('fault');
  });
  after(() => tmp.cleanup());

  /**
   * The operations of one run, each mirrored on the model. Between them they
   * write inline records, overflow runs, bucket splits and directory growth,
   * a spilled free list, the times alone, and a clear.
   */
  const SCRIPT = [
    ['set small', (db, m) => set(db, m, 'a', 'x'.repeat(10))],
    ['set overflow', (db, m) => set(db, m, 'big', 'y'.repeat(3000))],
    [
      'transaction of 200 keys',
      (db, m) =>
        db.transaction((tx) => {
          for (let i = 0; i < 200; i++) {
            tx.set(`k${i}`, i % 20 === 0 ? 'z'.repeat(900) : i);
            m.set(`k${i}`, i % 20 === 0 ? 'z'.repeat(900) : i);
          }
        }),
    ],
    [
      'transaction of big values',
      (db, m) =>
        db.transaction((tx) => {
          for (let i = 0; i < 120; i++) {
            tx.set(`v${i}`, 'w'.repeat(700));
            m.set(`v${i}`, 'w'.repeat(700));
          }
        }),
    ],
    [
      'delete every other big value',
      (db, m) =>
        db.transaction((tx) => {
          for (let i = 0; i < 120; i += 2) {
            tx.delete(`v${i}`);
            m.delete(`v${i}`);
          }
        }),
    ],
    [
      'delete',
      async (db, m) => {
        assert.equal(await db.delete('k7'), true);
        m.delete('k7');
      },
    ],
    ['replace overflow', (db, m) => set(db, m, 'big', 'q'.repeat(5000))],
    ['touch', (db) => db.touch(42)],
    [
      'clear',
      async (db, m) => {
        await db.clear();
        m.clear();
      },
    ],
    ['set after clear', (db, m) => set(db, m, 'again', [1, 2, 3])],
  ];

  async function set(db, model, k, v) {
    await db.set(k, v);
    model.set(k, v);
  }

  async function freshFile(pageSize) {
    const file = tmp.file(`fault${++n}.dbm`);
    await (await Dbm.open(file, { flag: 'n', pageSize })).close();
    return file;
  }

  async function expectState(file, model, where) {
    const db = await Dbm.open(file, { flag: 'r' });
    try {
      const report = await db.check();
      assert.equal(report.keys, model.size, `${where}: check() keys`);
      const all = await readAll(db);
      assert.deepStrictEqual(new Map([...all].sort()), new Map([...model].sort()), `${where}: content`);
    } finally {
      await db.close();
    }
  }

  /** Runs SCRIPT with `io`; returns the failure (or null) and the model of the committed state. */
  async function runScript(file, io, sync) {
    const model = new Map();
    const db = await Dbm.open(file, { flag: 'w', io, sync, lockTimeout: 2000 });
    for (const [name, op] of SCRIPT) {
      const before = new Map(model);
      try {
        await op(db, model);
      } catch (err) {
        return { db, failed: name, err, model: before };
      }
    }
    return { db, failed: null, err: null, model };
  }

  async function faultCase(pageSize, sync, fault, expectedCode) {
    const file = await freshFile(pageSize);
    const io = faultyIO(fault);
    const { db, failed, err, model } = await runScript(file, io, sync);
    const where = `${JSON.stringify(fault)} (${failed})`;
    try {
      if (failed === null) return false;
      assert.ok(err.injected || err.code === 'ENOSPC', `${where}: not the injected error: ${err.stack}`);
      assert.equal(err.code, expectedCode, where);
      // Another handle sees the last committed state, and the file is sound.
      await expectState(file, model, `${where}, read by another handle`);
      // The failing handle re-reads and goes on working.
      for (const [k, v] of model) assert.deepStrictEqual(await db.get(k), v, `${where}: get(${k}) on the failing handle`);
      assert.equal(await db.count(), model.size);
      await db.set('after', 1);
      model.set('after', 1);
    } finally {
      await db.close();
    }
    await expectState(file, model, `${where}, reopened`);
    return true;
  }

  /**
   * Fails call 1, 2, 3, ... of the script until a run gets through without
   * reaching the failing call. (How many writes a commit takes depends on
   * the file's random hash seed, so the count differs from file to file.)
   * Returns how many positions failed.
   */
  async function everyPosition(pageSize, sync, faultAt, code) {
    for (let at = 1; at < 2000; at++) {
      if (!(await faultCase(pageSize, sync, faultAt(at), code))) return at - 1;
    }
    throw new Error('the script never got through');
  }

  for (const [mode, code] of [
    ['EIO', 'EIO'],
    ['ENOSPC', 'ENOSPC'],
    ['short', 'EIO'],
  ]) {
    for (const pageSize of [512, 4096]) {
      it(`a write that fails with ${mode} at any position (${pageSize}-byte pages) rejects its operation and keeps the committed state`, async () => {
        const positions = await everyPosition(pageSize, 'none', (at) => ({ failWriteAt: at, mode }), code);
        assert.ok(positions >= SCRIPT.length, `only ${positions} writes`);
      });
    }
  }

  it("with sync: 'commit', a failing write or fdatasync at any position rejects and keeps the committed state", async () => {
    // Two per commit: after the data pages, and between the meta slots.
    const syncs = await everyPosition(512, 'commit', (at) => ({ failSyncAt: at }), 'EIO');
    assert.ok(syncs >= 2 * SCRIPT.length - 2, `only ${syncs} fdatasync calls`);
    const writes = await everyPosition(512, 'commit', (at) => ({ failWriteAt: at, mode: 'short' }), 'EIO');
    assert.ok(writes >= 2 * SCRIPT.length, `only ${writes} writes`);
  });

  for (const sync of ['none', 'commit']) {
    for (const mode of ['EIO', 'short']) {
      it(`creating a file whose first writes fail (${mode}, sync ${sync}) rejects and leaves a file that opens as empty`, async () => {
        for (let at = 1; at <= 3; at++) {
          const file = tmp.file(`create${++n}.dbm`);
          const io = faultyIO({ failWriteAt: at, mode });
          let db;
          try {
            db = await Dbm.open(file, { flag: 'c', pageSize: 4096, sync, io });
          } catch (err) {
            assert.equal(err.code, 'EIO');
          }
          if (db) await db.close();
          const again = await Dbm.open(file, { flag: 'c' });
          try {
            assert.equal(again.size, 0);
            await again.set('x', 1);
            await again.check();
          } finally {
            await again.close();
          }
        }
      });
    }
  }

  it('a reopened file after a failure mid-way through a big commit holds no trace of it', async () => {
    const file = await freshFile(512);
    const db = await Dbm.open(file, { flag: 'w' });
    await db.transaction((tx) => {
      for (let i = 0; i < 300; i++) tx.set(`k${i}`, i);
    });
    await db.close();
    const sizeBefore = fs.statSync(file).size;
    const io = faultyIO({ failWriteAt: 1, mode: 'ENOSPC' });
    const failing = await Dbm.open(file, { flag: 'w', io });
    await assert.rejects(
      failing.transaction((tx) => {
        for (let i = 0; i < 300; i++) tx.set(`n${i}`, 'x'.repeat(i));
      }),
      { code: 'ENOSPC' },
    );
    await failing.close();
    assert.equal(fs.statSync(file).size, sizeBefore);
    const model = new Map(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    await expectState(file, model, 'after ENOSPC');
  });
});
