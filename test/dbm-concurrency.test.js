// Concurrency: transactions from several processes, and from two handles in
// one process, exclude each other (exact counter totals); a lock held past
// lockTimeout gives LockTimeoutError and no deadlock; waiting for a lock
// never blocks the event loop (a timer's lateness is measured meanwhile).

import assert from 'node:assert/strict';
import { Dbm, LockTimeoutError } from 'wasm-session/dbm';
import { LONG, nextTurn, SEED, sleep, startChild, tempDir } from './helpers/index.js';
import { Replay, COUNTER } from './fixtures/dbm/commit-script.js';

const PROCESSES = 4;
const PER_PROCESS = LONG ? 1000 : 150;

/** Runs `fn` while a 10 ms interval measures how late its ticks fire; returns [result, max lateness ms]. */
async function measuringLateness(fn) {
  const period = 10;
  let expected = Date.now() + period;
  let worst = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    worst = Math.max(worst, now - expected);
    expected = now + period;
  }, period);
  try {
    const result = await fn();
    return [result, worst];
  } finally {
    clearInterval(timer);
  }
}

describe(`dbm concurrency (seed ${SEED})`, function () {
  this.timeout(LONG ? 1_200_000 : 120_000);
  let tmp;
  let n = 0;
  const children = new Set();
  const handles = [];
  const fresh = () => tmp.file(`c${++n}.dbm`);
  async function open(file, options) {
    const db = await Dbm.open(file, options);
    handles.push(db);
    return db;
  }
  function start(script, args, options) {
    const child = startChild(script, args, options);
    children.add(child);
    return child;
  }

  before(() => {
    tmp = tempDir('conc');
  });
  afterEach(async () => {
    for (const child of children) await child.stop();
    children.clear();
    for (const db of handles.splice(0)) await db.close();
  });
  after(() => tmp.cleanup());

  it(`${PROCESSES} processes incrementing counters in ${PER_PROCESS} transactions each end with exact totals`, async () => {
    const file = fresh();
    await (await Dbm.open(file, { flag: 'c' })).close();
    const workers = [];
    for (let id = 0; id < PROCESSES; id++) workers.push(start('dbm/counter-worker.js', [file, PER_PROCESS, id]));
    for (const worker of workers) {
      assert.equal(await worker.waitFor('done', 110_000), 'done', worker.stderr);
      const { code } = await worker.exited;
      assert.equal(code, 0, worker.stderr);
    }
    const db = await open(file, { flag: 'r' });
    assert.equal(await db.get('total'), PROCESSES * PER_PROCESS);
    for (let id = 0; id < PROCESSES; id++) assert.equal(await db.get(`w${id}`), PER_PROCESS);
    let sum = 0;
    for (let c = 0; c < 4; c++) sum += await db.get(`c${c}`);
    assert.equal(sum, PROCESSES * PER_PROCESS);
    await db.check();
  });

  it('two handles in one process racing with transactions end with exact totals', async () => {
    const file = fresh();
    const a = await open(file, { flag: 'c' });
    const b = await open(file, { flag: 'w' });
    const rounds = LONG ? 2000 : 300;
    const bump = (db, who) =>
      db.transaction(async (tx) => {
        const total = tx.get('total') ?? 0;
        await nextTurn();
        tx.set('total', total + 1);
        tx.set(who, (tx.get(who) ?? 0) + 1);
      });
    const loop = async (db, who) => {
      for (let i = 0; i < rounds; i++) await bump(db, who);
    };
    await Promise.all([loop(a, 'a'), loop(b, 'b'), loop(a, 'a2')]);
    assert.equal(await b.get('total'), 3 * rounds);
    assert.equal(await a.get('a'), rounds);
    assert.equal(await a.get('a2'), rounds);
    assert.equal(await b.get('b'), rounds);
    await a.check();
  });

  it('a lock held past lockTimeout by another process gives LockTimeoutError, the event loop keeps running, and the next attempt after release works', async () => {
    const file = fresh();
    const db = await open(file, { flag: 'c', lockTimeout: 1500 });
    await db.set('before', 1);
    const holder = start('dbm/lock-holder.js', [file, 'lock'], { stdin: 'pipe' });
    assert.equal(await holder.nextLine(30_000), 'locked', holder.stderr);

    const t0 = Date.now();
    const [err, lateness] = await measuringLateness(() =>
      db.set('x', 1).then(
        () => null,
        (e) => e,
      ),
    );
    const waited = Date.now() - t0;
    assert.ok(err instanceof LockTimeoutError, err);
    assert.equal(err.mode, 'exclusive');
    assert.equal(err.timeout, 1500);
    assert.equal(err.code, 'ERR_LOCK_TIMEOUT');
    assert.ok(waited >= 1400 && waited < 3000, `gave up after ${waited} ms`);
    assert.ok(lateness < 200, `a 10 ms timer fired up to ${lateness} ms late while the lock was awaited`);
    console.log(`      waited ${waited} ms; worst timer lateness meanwhile ${lateness} ms`);
    // Readers wait for an exclusive holder too.
    await assert.rejects(db.get('before'), LockTimeoutError);

    holder.send('release\n');
    assert.equal(await holder.nextLine(10_000), 'released');
    const t1 = Date.now();
    await db.set('x', 2);
    assert.ok(Date.now() - t1 < 1000, `took ${Date.now() - t1} ms after the release`);
    assert.equal(await db.get('x'), 2);
    assert.equal(await db.get('before'), 1);
  });

  it('while one handle holds lock(), another handle in the process waits for it without blocking, then succeeds after unlock()', async () => {
    const file = fresh();
    const h1 = await open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 10_000 });
    await h1.lock();
    assert.equal(h1.locked, true);
    let settled = false;
    const pending = h2.set('from-h2', 2).finally(() => {
      settled = true;
    });
    const [, lateness] = await measuringLateness(() => sleep(1000));
    assert.equal(settled, false, 'h2 wrote while h1 held the lock');
    assert.ok(lateness < 200, `timer lateness ${lateness} ms`);
    // The holder's own operations commit as usual meanwhile.
    await h1.set('from-h1', 1);
    assert.equal(await h1.get('from-h2'), undefined);
    const t0 = Date.now();
    await h1.unlock();
    await pending;
    assert.ok(Date.now() - t0 < 500, `h2 took ${Date.now() - t0} ms after unlock`);
    assert.equal(await h1.get('from-h2'), 2);
    assert.equal(await h2.get('from-h1'), 1);
  });

  it('an in-process waiter times out with LockTimeoutError and is not left deadlocked', async () => {
    const file = fresh();
    const h1 = await open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 300 });
    await h1.lock();
    const t0 = Date.now();
    await assert.rejects(h2.set('x', 1), LockTimeoutError);
    await assert.rejects(
      h2.transaction((tx) => tx.set('x', 1)),
      LockTimeoutError,
    );
    await assert.rejects(h2.get('x'), LockTimeoutError);
    assert.ok(Date.now() - t0 >= 850, `three 300 ms timeouts took ${Date.now() - t0} ms`);
    await h1.unlock();
    await h2.set('x', 1);
    assert.equal(await h1.get('x'), 1);
  });

  for (const how of ['tight', 'turn']) {
    it(`a process committing in a loop (${how === 'tight' ? 'never letting its event loop turn' : 'one event-loop turn between commits'}) still lets another process's writes through quickly`, async () => {
      const file = fresh();
      const setup = await open(file, { flag: 'c' });
      await setup.set('mine', 0);
      await setup.close();
      const busy = start('dbm/busy-writer.js', [file, how, 4000]);
      assert.equal(await busy.waitFor('busy'), 'busy');
      await sleep(200); // well into its loop
      const db = await open(file, { flag: 'w', lockTimeout: 3000 });
      const waits = [];
      for (let i = 1; i <= 5; i++) {
        const t0 = Date.now();
        await db.set('mine', i);
        waits.push(Date.now() - t0);
        await sleep(20);
      }
      // A burst is cut after 100 ms and leaves a 6 ms gap; waiters poll at least every ~5 ms.
      assert.ok(Math.max(...waits) < 1000, `waits ${waits.join(', ')} ms`);
      assert.equal(await db.get('mine'), 5);
      const done = await busy.waitFor('done', 10000);
      assert.match(done, /^done \d+$/);
      assert.ok(Number(done.split(' ')[1]) > 50, 'the busy writer kept committing meanwhile');
    });
  }

  it('a reader sees only whole commits of a writer in another process, never a mix', async () => {
    const file = fresh();
    await (await Dbm.open(file, { flag: 'c', pageSize: 1024 })).close();
    // The writer pauses a millisecond between commits, as a server between
    // requests does (a writer that never pauses is the fairness tests' case).
    const writer = start('dbm/crash-writer.js', [file, 'none', '1']);
    assert.ok(await writer.waitFor('ready', 30_000), writer.stderr);
    const reader = await open(file, { flag: 'w' });
    const replay = new Replay();
    const deadline = Date.now() + (LONG ? 60_000 : 6000);
    let snapshots = 0;
    let last = 0;
    while (Date.now() < deadline) {
      // A transaction that changes nothing is a consistent read of every entry.
      const entries = new Map(await reader.transaction((tx) => tx.entries()));
      const at = entries.get(COUNTER) ?? 0;
      assert.ok(at >= last, `went back from commit ${last} to ${at}`);
      assert.deepStrictEqual(entries, replay.advanceTo(at), `snapshot at commit ${at}`);
      // Reads in one event-loop turn share one lock, so they see one commit too.
      const [counter, value] = await Promise.all([reader.get(COUNTER), reader.get(`k${(at + 1) % 97}`)]);
      assert.deepStrictEqual(value, new Map(replay.advanceTo(counter)).get(`k${(at + 1) % 97}`));
      last = counter;
      snapshots++;
      await sleep(snapshots % 3);
    }
    assert.ok(last > 20 && snapshots > 20, `${snapshots} snapshots up to commit ${last}`);
  });

  it('close() releases a lock() so a waiting handle goes on', async () => {
    const file = fresh();
    const h1 = await Dbm.open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 5000 });
    await h1.lock();
    const pending = h2.set('x', 1);
    await sleep(50);
    const t0 = Date.now();
    await h1.close();
    await pending;
    assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
    assert.equal(await h2.get('x'), 1);
  });

  it('writes queued on one handle behind a long transaction run in order after it', async () => {
    const db = await open(fresh(), { flag: 'c' });
    const order = [];
    const long = db.transaction(async (tx) => {
      tx.set('k', 'from transaction');
      await sleep(100);
      order.push('transaction');
    });
    const queued = db.set('k', 'from set').then(() => order.push('set'));
    await Promise.all([long, queued]);
    assert.deepEqual(order, ['transaction', 'set']);
    assert.equal(await db.get('k'), 'from set');
  });
});
