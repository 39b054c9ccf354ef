// Issue 8 item 1 on the Redis store (as session-reliability.test.js does for
// memory and dbm): a request in flight must not bring back a session that
// another request logged out (invalidate), moved away (regenerateId) or
// deleted, with and without lock(). In one process, and across processes
// (three session servers on one Redis, as an application on several hosts).
// Here a load waits for a lock() holder (as on the memory store), so the
// cross-process scenarios order their requests accordingly.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import { Session, closeRedisConnections } from 'wasm-session/session';
import { Children, FIXTURES, tempDir, waitFor } from './helpers/index.js';
import { CookieJar } from './helpers/http.js';
import { describeRedis, startRedis } from './helpers/redis.js';

const KEY = 'myghty_session_id';

function fakeRes() {
  const headers = {};
  return {
    headersSent: false,
    getHeader: (n) => headers[n.toLowerCase()],
    setHeader: (n, v) => {
      headers[n.toLowerCase()] = v;
    },
    headers,
  };
}
const request = (id) => ({ headers: id ? { cookie: `${KEY}=${id}` } : {} });
const setCookies = (res) => res.headers['set-cookie'] ?? [];

describeRedis('a request in flight cannot bring back an ended session (redis store, one process)', function () {
  this.timeout(30000);
  let server;
  let probe;
  let options;
  let n = 0;
  before(async () => {
    server = await startRedis();
    probe = createClient({ url: server.url });
    await probe.connect();
  });
  after(async () => {
    await probe?.close();
    await closeRedisConnections();
    await server?.stop();
  });
  // A clock that moves on every reading: with touchAfter 0, the unchanged save below writes the access only when
  // time has passed since the load recorded it, which a fast run may do within one millisecond.
  let clock = Date.now();
  const now = () => ++clock;
  beforeEach(() => {
    options = { type: 'redis', redis: { url: server.url, prefix: `races${++n}:` }, now };
  });
  const isStored = async (id) => (await probe.exists(`${options.redis.prefix}{${id}}`)) === 1;

  /** A logged-in session with data of every kind, stored; its id. */
  async function login() {
    const s = await Session.open(request(), fakeRes(), options);
    s.set('user', { name: 'ann', roles: ['admin'] });
    s.set('cart', ['apple']);
    s.set('counter', 1);
    assert.equal(await s.save(), true);
    return s.id;
  }
  const open = (id) => Session.open(request(id), fakeRes(), options);

  /** The old id carries nothing any more: a request with it gets a fresh, empty session. */
  async function assertDead(id) {
    assert.equal(await isStored(id), false, 'nothing stored under the old id');
    const again = await open(id);
    assert.notEqual(again.id, id);
    assert.equal(again.isNew, true);
    assert.equal(again.get('user'), undefined);
  }

  /** B saved after the session it loaded was ended: it wrote nothing and says so. */
  function assertLearned(b, oldId, res, saved) {
    assert.equal(saved, false, 'save() resolves false');
    assert.equal(b.wasInvalidated, true);
    assert.equal(b.isNew, true);
    assert.notEqual(b.id, oldId);
    assert.equal(b.size, 0, 'the stale data is gone from the session too');
    assert.deepEqual(setCookies(res), [], 'no cookie: the fresh session holds nothing');
  }

  for (const [what, change] of [
    ['an in-place change', (b) => b.get('cart').push('pear')],
    ['set()', (b) => b.set('counter', b.get('counter') + 1)],
    ['no change at all (the access write)', () => {}],
  ]) {
    it(`logout (invalidate) wins over ${what} saved by a request that loaded before it`, async () => {
      const id = await login();
      const resB = fakeRes();
      // touchAfter 0: the unchanged save writes the access (within the interval it writes nothing at all).
      const b = await Session.open(request(id), resB, { ...options, touchAfter: 0 });
      const a = await open(id);
      await a.invalidate();
      change(b);
      assertLearned(b, id, resB, await b.save());
      await assertDead(id);
    });
  }

  it('login (regenerateId) wins: the old id stays dead and the new one holds only what the login request wrote', async () => {
    const id = await login();
    const resB = fakeRes();
    const b = await Session.open(request(id), resB, options);
    const a = await open(id);
    a.set('loggedInAt', 42);
    await a.regenerateId();
    const newId = a.id;
    b.get('user').name = 'mallory';
    assertLearned(b, id, resB, await b.save());
    await assertDead(id);
    const fresh = await open(newId);
    assert.equal(fresh.id, newId);
    assert.deepEqual(fresh.get('user'), { name: 'ann', roles: ['admin'] });
    assert.equal(fresh.get('loggedInAt'), 42);
  });

  it("delete() then save() by its owner: the id lives on with the owner's data only; the stale request adds nothing", async () => {
    const id = await login();
    const resB = fakeRes();
    const b = await Session.open(request(id), resB, options);
    const a = await open(id);
    await a.delete();
    a.set('flash', 'bye');
    assert.equal(await a.save(), true);
    b.get('user').name = 'mallory';
    b.set('counter', 99);
    assertLearned(b, id, resB, await b.save());
    const now = await open(id);
    assert.equal(now.id, id);
    assert.deepEqual(now.keys(), ['flash']);
  });

  it('a request that regenerates its id after a logout moves nothing', async () => {
    const id = await login();
    const b = await open(id);
    await (await open(id)).invalidate();
    await b.regenerateId();
    assert.equal(b.wasInvalidated, true);
    assert.equal(b.size, 0);
    await b.save();
    await assertDead(id);
    assert.equal(await isStored(b.id), false, 'the empty fresh session stores nothing');
  });

  it('with lock() held by the request in flight: a logout waits for it and wins after its save', async () => {
    const id = await login();
    const b = await open(id);
    const a = await open(id);
    await b.lock();
    const logout = a.invalidate();
    b.set('counter', 2);
    assert.equal(await b.save(), true, 'the holder saves first: the logout waits for the lock');
    await b.unlock();
    await logout;
    await assertDead(id);
  });

  it('a request waiting for the lock while the holder logs out gets a fresh session, not the old one back', async () => {
    const id = await login();
    const b = await open(id);
    const a = await open(id);
    await a.lock();
    b.set('counter', 7); // a local change made before lock(): it belonged to the old session
    const waiting = b.lock();
    await a.invalidate();
    await a.unlock();
    await waiting;
    assert.equal(b.locked, true);
    assert.equal(b.wasInvalidated, true);
    assert.notEqual(b.id, id);
    assert.equal(b.get('user'), undefined);
    assert.equal(b.get('counter'), undefined);
    b.set('counter', 1);
    assert.equal(await b.save(), true);
    await b.unlock();
    await assertDead(id);
    const theirs = await open(b.id);
    assert.deepEqual(theirs.keys(), ['counter'], 'what B stored afterwards is a new session of its own');
  });

  it('a request waiting for the lock while the holder deletes and re-creates the session sees the new one, without its stale changes', async () => {
    const id = await login();
    const b = await open(id);
    const a = await open(id);
    await a.lock();
    b.get('user').name = 'mallory'; // stale, in place, before lock()
    const waiting = b.lock();
    await a.delete();
    a.set('flash', 'bye');
    await a.save();
    await a.unlock();
    await waiting;
    assert.equal(b.id, id);
    assert.deepEqual(b.keys(), ['flash']);
    b.set('seen', true);
    assert.equal(await b.save(), true);
    await b.unlock();
    const now = await open(id);
    assert.deepEqual(now.keys().sort(), ['flash', 'seen']);
  });
});

describeRedis('a request in flight cannot bring back an ended session (redis store, several processes)', function () {
  this.timeout(60000);
  const children = new Children();
  let redis;
  let probe;
  let servers;
  let marks;
  const prefix = 'races-procs:';
  before(async () => {
    redis = await startRedis();
    probe = createClient({ url: redis.url });
    await probe.connect();
    marks = tempDir('redis-races-marks').dir;
    const env = { SESSION_OPTIONS: JSON.stringify({ type: 'redis', redis: { url: redis.url, prefix } }) };
    servers = await Promise.all([0, 1, 2].map(() => children.start(path.join(FIXTURES, 'session/server.js'), { env })));
  });
  after(async () => {
    await children.stopAll();
    await probe?.close();
    await redis?.stop();
    fs.rmSync(marks, { recursive: true, force: true });
  });

  let seq = 0;
  const mark = () => path.join(marks, `m${++seq}`);
  const appeared = (file) => waitFor(() => fs.existsSync(file), { timeout: 10_000, message: `${file} to appear` });
  const post = (server, cookie, steps) =>
    fetch(server.url, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ steps }) }).then(async (r) => ({
      status: r.status,
      setCookie: r.headers.getSetCookie(),
      json: await r.json(),
    }));

  async function login() {
    const jar = new CookieJar(servers[0].url);
    const r = await jar.request('/', { method: 'POST', body: { steps: [['set', 'user', 'ann'], ['set', 'counter', 1], ['save'], ['state']] } });
    return { id: r.json.results[3].id, cookie: jar.header() };
  }
  async function assertDead(id, cookie) {
    assert.equal(await probe.exists(`${prefix}{${id}}`), 0, 'nothing stored under the old id');
    const r = await post(servers[0], cookie, [['state'], ['get', 'user']]);
    assert.equal(r.json.results[0].isNew, true);
    assert.equal(r.json.results[1], null);
  }

  for (const [ending, steps] of [
    ['logout (invalidate)', [['invalidate']]],
    ['login (regenerateId)', [['regenerateId']]],
    ['delete() and a new save by its owner', [['delete'], ['set', 'flash', 'bye'], ['save']]],
  ]) {
    it(`${ending} in one process wins over a save in another process that loaded before it`, async () => {
      const { id, cookie } = await login();
      const loaded = mark();
      const go = mark();
      const b = post(servers[1], cookie, [['get', 'user'], ['signal', loaded], ['waitFor', go], ['incr', 'counter'], ['save'], ['state']]);
      await appeared(loaded);
      const a = await post(servers[2], cookie, [...steps, ['state']]);
      assert.equal(a.status, 200, JSON.stringify(a.json));
      fs.writeFileSync(go, '');
      const r = await b;
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.results.at(-2), false, 'the late save resolves false');
      assert.equal(r.json.results.at(-1).wasInvalidated, true);
      assert.deepEqual(r.setCookie, []);
      if (ending.startsWith('delete')) {
        const now = await post(servers[0], cookie, [['keys']]);
        assert.deepEqual(now.json.results[0], ['flash']);
      } else {
        await assertDead(id, cookie);
      }
    });

    it(`${ending} in one process, after a save under lock() in another: the ending waits for the lock and wins`, async () => {
      const { id, cookie } = await login();
      const locked = mark();
      const go = mark();
      const b = post(servers[1], cookie, [['lock'], ['signal', locked], ['waitFor', go], ['incr', 'counter'], ['save'], ['state']]);
      await appeared(locked);
      const a = post(servers[2], cookie, [...steps, ['state']]);
      fs.writeFileSync(go, '');
      const r = await b;
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.results.at(-2), true, 'the holder saved');
      const done = await a;
      assert.equal(done.status, 200, JSON.stringify(done.json));
      if (ending.startsWith('delete')) {
        const now = await post(servers[0], cookie, [['keys']]);
        assert.deepEqual(now.json.results[0], ['flash']);
      } else {
        await assertDead(id, cookie);
      }
    });

    it(`${ending} while another process waits for the lock: the waiter gets a fresh session`, async () => {
      const { id, cookie } = await login();
      // B loads before A takes the lock (a load waits for a lock() holder), then waits for the lock.
      const bLoaded = mark();
      const bGo = mark();
      const bLocking = mark();
      const b = post(servers[1], cookie, [
        ['get', 'user'],
        ['signal', bLoaded],
        ['waitFor', bGo],
        ['signal', bLocking],
        ['lock'],
        ['state'],
        ['get', 'user'],
        ['incr', 'counter'],
        ['save'],
        ['state'],
      ]);
      await appeared(bLoaded);
      const aLocked = mark();
      const go = mark();
      const a = post(servers[2], cookie, [['lock'], ['signal', aLocked], ['waitFor', go], ...steps, ['state']]);
      await appeared(aLocked);
      fs.writeFileSync(bGo, '');
      await appeared(bLocking);
      fs.writeFileSync(go, '');
      assert.equal((await a).status, 200);
      const r = await b;
      assert.equal(r.status, 200, JSON.stringify(r.json));
      // results: get, signal, waitFor, signal, lock, then state [5] and the user [6].
      const [state, user] = r.json.results.slice(5, 7);
      if (ending.startsWith('delete')) {
        assert.equal(state.id, id);
        assert.equal(user, null);
      } else {
        assert.equal(state.wasInvalidated, true);
        assert.notEqual(state.id, id);
        assert.equal(user, null, 'no stale user in the fresh session');
        await assertDead(id, cookie);
      }
    });
  }
});
