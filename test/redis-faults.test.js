// The Redis store under faults, on real servers: redis-server killed with
// SIGKILL in the middle of a run of saves and restarted on its AOF
// (appendfsync always): typed errors during the outage, recovery after, and
// every acknowledged save still there. A process holding a lock killed: the
// lock ends with its lease and another process takes it. Several processes
// incrementing one counter under lock(): exact. WASM_SESSION_LONG=1 runs
// more kill cycles, sessions and increments.

import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { LockTimeoutError, RedisNamespace, Session, SessionStoreUnavailableError, closeRedisConnections, storeOptions } from 'wasm-session/session';
import { Children, LONG, waitFor } from './helpers/index.js';
import { describeRedis, startRedis } from './helpers/redis.js';

describeRedis('Redis store: redis-server killed (SIGKILL) during saves and restarted on its AOF', function () {
  this.timeout(LONG ? 300_000 : 60_000);
  let server;
  before(async () => {
    server = await startRedis({ aof: true });
  });
  after(async () => {
    await closeRedisConnections();
    await server?.stop();
  });

  const SESSIONS = LONG ? 16 : 4;
  const CYCLES = LONG ? 6 : 1;

  it(`${SESSIONS} sessions saved in a loop, ${CYCLES} kill/restart cycle(s): typed errors during the outage, every acknowledged save present after`, async () => {
    const options = { type: 'redis', redis: { url: server.url, prefix: 'aof:', commandTimeout: 1000 }, useCookies: false };
    // Create the sessions.
    const ids = [];
    for (let i = 0; i < SESSIONS; i++) {
      const s = await Session.open(undefined, undefined, options);
      s.set('counter', 0);
      s.set('label', `session ${i}`);
      await s.save();
      ids.push(s.id);
    }
    const acked = ids.map(() => 0);
    const attempted = ids.map(() => 0);
    const stats = { acked: 0, unavailable: 0, other: [] };
    let running = true;
    const workers = ids.map(async (id, i) => {
      while (running) {
        try {
          const s = await Session.open(undefined, undefined, { ...options, id });
          if (s.isNew) throw new Error(`session ${i} is gone`);
          const next = s.get('counter') + 1;
          attempted[i] = Math.max(attempted[i], next);
          s.set('counter', next);
          if ((await s.save()) !== true) throw new Error('save() resolved false');
          acked[i] = next;
          stats.acked++;
        } catch (err) {
          if (err instanceof SessionStoreUnavailableError) {
            stats.unavailable++;
            await new Promise((r) => setTimeout(r, 5));
          } else {
            stats.other.push(err);
            running = false;
          }
        }
      }
    });
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const before = stats.acked;
        await waitFor(() => stats.acked >= before + 100 || stats.other.length > 0, { message: 'saves acknowledged before the kill' });
        await server.kill('SIGKILL');
        const errorsBefore = stats.unavailable;
        await waitFor(() => stats.unavailable >= errorsBefore + 2 * SESSIONS || stats.other.length > 0, { message: 'typed errors during the outage' });
        const ackedDuringOutage = stats.acked;
        await server.restart();
        await waitFor(() => stats.acked >= ackedDuringOutage + 50 || stats.other.length > 0, { message: 'saves acknowledged after the restart' });
      }
    } finally {
      running = false;
      await Promise.all(workers);
    }
    assert.deepEqual(stats.other, [], 'only SessionStoreUnavailableError during the outages');
    assert.ok(stats.unavailable > 0);
    // Every acknowledged save is there: each session's counter is at least its last acknowledged value
    // (a save whose reply was lost in the kill may be there too: at most what was attempted).
    for (let i = 0; i < SESSIONS; i++) {
      const s = await Session.open(undefined, undefined, { ...options, id: ids[i] });
      assert.equal(s.get('label'), `session ${i}`);
      const counter = s.get('counter');
      assert.ok(counter >= acked[i] && counter <= attempted[i], `session ${i}: counter ${counter}, acknowledged ${acked[i]}, attempted ${attempted[i]}`);
    }
  });
});

describeRedis('Redis store: locks across processes', function () {
  this.timeout(LONG ? 300_000 : 60_000);
  const children = new Children();
  let server;
  let probe;
  before(async () => {
    server = await startRedis();
    probe = createClient({ url: server.url });
    await probe.connect();
  });
  after(async () => {
    await children.stopAll('SIGKILL');
    await probe?.close();
    await closeRedisConnections();
    await server?.stop();
  });

  it('a process holding a lock is killed: the lock ends with its lease, and another process takes it then, not before', async () => {
    const prefix = 'killed:';
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const lease = 800;
    const holder = children.spawn('redis/lock-holder.js', [server.url, prefix, id, lease]);
    assert.equal(await holder.nextLine(), 'locked', holder.stderr);
    const mine = new RedisNamespace(id, storeOptions({ type: 'redis', redis: { url: server.url, prefix } }));
    await assert.rejects(mine.lock(100), LockTimeoutError, 'held by the other process');
    // Renewed while the holder lives: still held after more than one lease.
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 > lease * 1.5, { interval: 50 });
    assert.ok((await probe.pTTL(`${prefix}{${id}}:lock`)) > 0, 'renewed');
    await holder.stop(); // SIGKILL: no unlock
    const left = await probe.pTTL(`${prefix}{${id}}:lock`);
    assert.ok(left > 0 && left <= lease, `lease left at the kill: ${left} ms`);
    const killedAt = Date.now();
    await mine.lock(5000);
    const waited = Date.now() - killedAt;
    assert.ok(waited >= left - 50, `took the lock after ${waited} ms, the lease had ${left} ms left`);
    assert.ok(waited < left + 1000, `and not much later: ${waited} ms`);
    await mine.unlock();
  });

  const PROCS = LONG ? 4 : 3;
  const EACH = LONG ? 250 : 60;
  it(`${PROCS} processes x ${EACH} increments of one counter under lock(): exact`, async () => {
    const prefix = 'counter:';
    const options = { type: 'redis', redis: { url: server.url, prefix }, useCookies: false };
    const s = await Session.open(undefined, undefined, options);
    s.set('counter', 0);
    await s.save();
    const procs = Array.from({ length: PROCS }, () => children.spawn('redis/counter.js', [server.url, prefix, s.id, EACH]));
    const results = await Promise.all(procs.map((p) => p.exited));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, procs[i].stderr);
    for (const p of procs) assert.equal(p.lines.at(-1), `done ${EACH}`);
    const after = await Session.open(undefined, undefined, { ...options, id: s.id });
    assert.equal(after.get('counter'), PROCS * EACH);
  });
});
