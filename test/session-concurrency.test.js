// Several processes (each a real server on a loopback port, one dataDir)
// and concurrent requests on one session: changes to different keys all
// survive without a lock; with lock() concurrent increments are exact; a
// held lock times out other requests with LockTimeoutError; a lock is
// released when the response ends or the process dies.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sessionHandler } from './fixtures/session/app.js';
import { Children, FIXTURES, rng, SEED, tempDir, waitFor } from './helpers/index.js';
import { CookieJar, startServer } from './helpers/http.js';

const SERVER = path.join(FIXTURES, 'session/server.js');
const post = (url, cookie, steps, options) =>
  fetch(url, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ steps, options }) }).then(async (r) => ({
    status: r.status,
    json: await r.json(),
  }));

describe(`Session concurrency across processes (dbm, seed ${SEED})`, function () {
  this.timeout(120000);
  const children = new Children();
  let dataDir;
  let servers;
  let cookie;
  let id;

  before(async () => {
    dataDir = tempDir('procs').dir;
    servers = await Promise.all([0, 1, 2].map(() => children.start(SERVER, { env: { SESSION_OPTIONS: JSON.stringify({ type: 'dbm', dataDir }) } })));
    assert.equal(new Set(servers.map((s) => s.child.pid)).size, 3);
  });
  after(async () => {
    await children.stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const jar = new CookieJar(servers[0].url);
    const r = await jar.request('/', { method: 'POST', body: { steps: [['set', 'n', 0], ['save'], ['state']] } });
    id = r.json.results[2].id;
    cookie = jar.header();
  });
  const read = async (key) => (await post(servers[2].url, cookie, [['get', key]])).json.results[0];

  it('without lock(), requests in different processes changing different keys all keep their changes', async () => {
    const rand = rng(SEED);
    // Each writer loads, waits a random while (so loads and saves interleave), sets its own key, saves.
    const writers = Array.from({ length: 12 }, (_, i) =>
      post(servers[i % 3].url, cookie, [['sleep', Math.floor(rand() * 150)], ['set', `k${i}`, i], ['save']]),
    );
    const results = await Promise.all(writers);
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.json));
    const keys = (await post(servers[1].url, cookie, [['keys']])).json.results[0];
    assert.deepEqual(keys.filter((k) => k !== 'n').sort(), Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
    for (let i = 0; i < 12; i++) assert.equal(await read(`k${i}`), i);
  });

  it('with lock(), 8 concurrent clients x 25 increments over 3 processes end at exactly 200', async () => {
    const client = async (c) => {
      for (let i = 0; i < 25; i++) {
        const r = await post(servers[(c + i) % 3].url, cookie, [['lock'], ['incr', 'n'], ['save'], ['unlock']]);
        assert.equal(r.status, 200, JSON.stringify(r.json));
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    assert.equal(await read('n'), 200);
  });

  it('a lock held by another process times out other requests with LockTimeoutError, then works once released', async () => {
    const marks = tempDir('marks');
    const held = marks.file('held');
    const release = marks.file('release');
    const holder = post(servers[0].url, cookie, [['lock'], ['signal', held], ['waitFor', release], ['incr', 'n'], ['save'], ['unlock']]);
    await waitFor(() => fs.existsSync(held), { message: 'the holder to take the lock' });
    // The holder keeps the lock until this test releases it: both requests below must give up first.
    const locked = await post(servers[1].url, cookie, [['lock']], { lockTimeout: 200 });
    assert.equal(locked.status, 500);
    assert.equal(locked.json.error.name, 'LockTimeoutError');
    assert.equal(locked.json.error.code, 'ERR_LOCK_TIMEOUT');
    // Opening the session reads under a shared lock, which waits too.
    assert.match(locked.json.error.message, new RegExp(`could not get an? (shared|exclusive) lock on .*${id}\\.dbm within 200 ms`));
    // Opening (which reads under a shared lock) waits for the lock as well.
    const opened = await post(servers[2].url, cookie, [['get', 'n']], { lockTimeout: 200 });
    assert.equal(opened.json.error.code, 'ERR_LOCK_TIMEOUT');
    fs.writeFileSync(release, '');
    assert.equal((await holder).status, 200);
    assert.equal(await read('n'), 1);
    marks.cleanup();
  });

  it('a request that forgets unlock() releases the lock when its response ends', async () => {
    const r = await post(servers[0].url, cookie, [['lock'], ['incr', 'n'], ['save']]);
    assert.equal(r.json.state.locked, true);
    const next = await post(servers[1].url, cookie, [['lock'], ['incr', 'n'], ['save'], ['unlock']], { lockTimeout: 2000 });
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.equal(await read('n'), 2);
  });

  it('a process killed while holding the lock releases it', async () => {
    const victim = await children.start(SERVER, { env: { SESSION_OPTIONS: JSON.stringify({ type: 'dbm', dataDir }) } });
    const marks = tempDir('marks');
    const doomed = post(victim.url, cookie, [['lock'], ['signal', marks.file('held')], ['sleep', 60_000]]).catch((err) => err);
    await waitFor(() => fs.existsSync(marks.file('held')), { message: 'the victim to take the lock' });
    assert.equal((await post(servers[0].url, cookie, [['lock']], { lockTimeout: 100 })).json.error?.code, 'ERR_LOCK_TIMEOUT');
    process.kill(victim.child.pid, 'SIGKILL');
    assert.ok((await doomed) instanceof Error, 'the killed server never answered');
    const r = await post(servers[0].url, cookie, [['lock'], ['incr', 'n'], ['save'], ['unlock']], { lockTimeout: 3000 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(await read('n'), 1);
  });
});

describe('Session concurrency in one process (memory and dbm)', function () {
  this.timeout(60000);
  for (const type of ['memory', 'dbm']) {
    it(`${type}: 10 concurrent requests x 20 locked increments end exact; without the lock the store still keeps other keys`, async () => {
      const dataDir = tempDir('inproc').dir;
      const server = await startServer(sessionHandler({ type, dataDir }));
      try {
        const jar = new CookieJar(server.url);
        await jar.request('/', { method: 'POST', body: { steps: [['set', 'n', 0], ['save']] } });
        const cookie = jar.header();
        await Promise.all(
          Array.from({ length: 10 }, async (_, c) => {
            for (let i = 0; i < 20; i++) {
              const r = await post(server.url, cookie, [['lock'], ['incr', 'n'], ['sleep', i % 3], ['save'], ['unlock'], ['set', `c${c}`, i], ['save']]);
              assert.equal(r.status, 200, JSON.stringify(r.json));
            }
          }),
        );
        const r = await post(server.url, cookie, [['get', 'n'], ['keys']]);
        assert.equal(r.json.results[0], 200);
        assert.equal(r.json.results[1].length, 11);
      } finally {
        await server.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
