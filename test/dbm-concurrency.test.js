// Concurrency: transactions from several processes, and from two handles in
// one process, exclude each other (exact counter totals); a lock held past
// lockTimeout gives LockTimeoutError and no deadlock; waiting for a lock
// never blocks the event loop (timer ticks are counted meanwhile); a writer
// that commits in a loop does not starve another process (counted in its
// commits). No test asserts how long anything took: a loaded machine is slow.

import assert from 'node:assert/strict';
import { Dbm, LockTimeoutError } from 'wasm-session/dbm';
import { Children, countingTicks, LONG, marker, nextTurn, SEED, sleep, tempDir, turnsUntil, waitFor } from './helpers/index.js';
import { Replay, COUNTER } from './fixtures/dbm/commit-script.js';

const PROCESSES = 4;
const PER_PROCESS = LONG ? 1000 : 150;

describe(`dbm concurrency (seed ${SEED})`, function () {
  this.timeout(LONG ? 1_200_000 : 120_000);
  let tmp;
  let n = 0;
  const children = new Children();
  const handles = [];
  const fresh = () => tmp.file(`c${++n}.dbm`);
  async function open(file, options) {
    const db = await Dbm.open(file, options);
    handles.push(db);
    return db;
  }
  before(() => {
    tmp = tempDir('conc');
  });
  afterEach(async () => {
    await children.stopAll('SIGKILL');
    for (const db of handles.splice(0)) await db.close();
  });
  after(() => tmp.cleanup());

  it(`${PROCESSES} processes incrementing counters in ${PER_PROCESS} transactions each end with exact totals`, async () => {
    const file = fresh();
    await (await Dbm.open(file, { flag: 'c' })).close();
    const workers = [];
    for (let id = 0; id < PROCESSES; id++) workers.push(children.spawn('dbm/counter-worker.js', [file, PER_PROCESS, id]));
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
    const holder = children.spawn('dbm/lock-holder.js', [file, 'lock'], { stdin: 'pipe' });
    assert.equal(await holder.nextLine(30_000), 'locked', holder.stderr);
    // Not before lockTimeout: a timer started with the wait and a little
    // shorter than lockTimeout has fired by the time the wait gives up.
    const notBefore = marker(1400);
    const [{ error: err }, ticks] = await countingTicks(() => db.set('x', 1));
    assert.ok(err instanceof LockTimeoutError, err);
    assert.equal(err.mode, 'exclusive');
    assert.equal(err.timeout, 1500);
    assert.equal(err.code, 'ERR_LOCK_TIMEOUT');
    assert.ok(notBefore.fired, 'gave up before lockTimeout');
    // A wait that blocked the event loop would let no tick through before it ended.
    assert.ok(ticks >= 5, `a 10 ms interval ticked only ${ticks} times while the lock was awaited for 1500 ms`);
    console.log(`      a 10 ms interval ticked ${ticks} times while the lock was awaited`);
    // Readers wait for an exclusive holder too.
    await assert.rejects(db.get('before'), LockTimeoutError);
    holder.send('release\n');
    assert.equal(await holder.nextLine(10_000), 'released');
    // Within this handle's lockTimeout again: the release was seen.
    await db.set('x', 2);
    assert.equal(await db.get('x'), 2);
    assert.equal(await db.get('before'), 1);
  });

  it('while one handle holds lock(), another handle in the process waits for it without blocking, then is woken by unlock()', async () => {
    const file = fresh();
    const h1 = await open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 10_000 });
    await h1.lock();
    assert.equal(h1.locked, true);
    let settled = false;
    const pending = h2.set('from-h2', 2).finally(() => {
      settled = true;
    });
    // Timers keep firing while h2 waits: a wait that blocked the event loop
    // would hold them back until it gave up (settled) after 10 s.
    for (let tick = 1; tick <= 20; tick++) {
      await sleep(10);
      assert.equal(settled, false, `h2 wrote (or gave up) while h1 held the lock, at tick ${tick}`);
    }
    // The holder's own operations commit as usual meanwhile.
    await h1.set('from-h1', 1);
    assert.equal(await h1.get('from-h2'), undefined);
    await h1.unlock();
    // The release wakes h2 at once, not its next poll: it lands within this turn of the event loop.
    const turns = await turnsUntil(pending);
    assert.ok(turns <= 2, `h2 took ${turns} event-loop turns after unlock()`);
    await pending;
    assert.equal(await h1.get('from-h2'), 2);
    assert.equal(await h2.get('from-h1'), 1);
  });

  it('an in-process waiter times out with LockTimeoutError and is not left deadlocked', async () => {
    const file = fresh();
    const h1 = await open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 300 });
    await h1.lock();
    // Three waits of lockTimeout each, one after the other: a timer of a little less has fired by the end.
    const notBefore = marker(850);
    await assert.rejects(h2.set('x', 1), LockTimeoutError);
    await assert.rejects(
      h2.transaction((tx) => tx.set('x', 1)),
      LockTimeoutError,
    );
    await assert.rejects(h2.get('x'), LockTimeoutError);
    assert.ok(notBefore.fired, 'three 300 ms timeouts ended before 850 ms');
    await h1.unlock();
    await h2.set('x', 1);
    assert.equal(await h1.get('x'), 1);
  });

  // The busy writer commits COMMITS times and stops; at full speed that
  // takes it several seconds (about 6 us per commit in a tight loop, 45 us
  // with a turn between commits), so a waiter it starved would land only
  // after its last commit. Counted in its commits, not timed.
  for (const [how, COMMITS] of [
    ['tight', 2_000_000],
    ['turn', 300_000],
  ]) {
    it(`a process committing in a loop (${how === 'tight' ? 'never letting its event loop turn' : 'one event-loop turn between commits'}) does not starve another process: each of its writes lands before the busy writer's ${COMMITS.toLocaleString('en')}th commit`, async () => {
      const file = fresh();
      const setup = await open(file, { flag: 'c' });
      await setup.set('mine', 0);
      await setup.close();
      const busy = children.spawn('dbm/busy-writer.js', [file, how, COMMITS]);
      assert.equal(await busy.waitFor('busy', 30_000), 'busy', busy.stderr);
      // A lockTimeout far beyond the busy writer's run: starvation shows in the counts, not as a timeout.
      const db = await open(file, { flag: 'w', lockTimeout: 110_000 });
      const seen = [];
      for (let i = 1; i <= 5; i++) {
        // The busy writer's commit count, read in the same transaction as our write.
        seen.push(
          await db.transaction((tx) => {
            tx.set('mine', i);
            return tx.get('busy');
          }),
        );
        await sleep(20); // a pause between requests: the busy writer takes the lock back
      }
      console.log(`      our writes landed after busy commits ${seen.join(', ')}`);
      assert.ok(
        seen.every((c) => c < COMMITS),
        `our writes waited for the busy writer to finish: they landed after its commits ${seen.join(', ')} of ${COMMITS}`,
      );
      assert.equal(await db.get('mine'), 5);
      // Nor is the busy writer starved: it goes on committing after our writes.
      await waitFor(async () => (await db.get('busy')) > seen[4], { message: `the busy writer committing again after commit ${seen[4]}` });
      assert.ok(busy.running, `the busy writer stopped: ${busy.stderr}`);
    });
  }

  it('a reader sees only whole commits of a writer in another process, never a mix', async () => {
    const file = fresh();
    await (await Dbm.open(file, { flag: 'c', pageSize: 1024 })).close();
    // The writer pauses a millisecond between commits, as a server between
    // requests does (a writer that never pauses is the fairness tests' case).
    const writer = children.spawn('dbm/crash-writer.js', [file, 'none', '1']);
    assert.ok(await writer.waitFor('ready', 30_000), writer.stderr);
    const reader = await open(file, { flag: 'w' });
    const replay = new Replay();
    // Counted, not timed: as many snapshots, and up to as many commits.
    const enough = LONG ? 5000 : 500;
    let snapshots = 0;
    let last = 0;
    while (snapshots < enough || last < enough) {
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
    console.log(`      ${snapshots} snapshots up to commit ${last}`);
  });

  it('close() releases a lock() and wakes a waiting handle, which goes on', async () => {
    const file = fresh();
    const h1 = await Dbm.open(file, { flag: 'c' });
    const h2 = await open(file, { flag: 'w', lockTimeout: 5000 });
    await h1.lock();
    let settled = false;
    const pending = h2.set('x', 1).finally(() => {
      settled = true;
    });
    await sleep(20);
    assert.equal(settled, false, 'h2 wrote while h1 held the lock');
    await h1.close();
    const turns = await turnsUntil(pending);
    assert.ok(turns <= 2, `h2 took ${turns} event-loop turns after close()`);
    await pending;
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
