// wasm-session/express-session: WasmSessionStore, on the dbm and the memory
// store, through real express-session on Express and through @fastify/session
// on Fastify, and through its API: the express-session store contract
// (callbacks and promises, expiry from cookie.expires, sessions stored as
// express-session serializes them, set() outside a request replacing the
// record, touch() without set(), all/ids/length/clear), any sid mapped to
// storage safely, and what it does better: concurrent changes to different
// keys both kept, a logout that sticks, touch() writing only the expiry.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { closeRedisConnections, DbmNamespace, MemoryNamespace, RedisNamespace } from 'wasm-session';
import { REDIS_INSTALLED, startRedis } from './helpers/redis.js';
import { WasmSessionStore } from 'wasm-session/express-session';
import { ROOT, sleep, tempDir, waitFor } from './helpers/index.js';
import { CookieJar, sessionFiles } from './helpers/http.js';

const require = createRequire(import.meta.url);
const express = require('express');
const session = require('express-session');

const HOSTILE_SIDS = ['/foo', '%', '../x', '../../etc/passwd', 'a'.repeat(20000), '', '\0x', 'ünïcødé', '\ud800', 'x'.repeat(32), 'a/b\\c:d'];

/** Every save and touch a store makes, by the keys it writes. */
function recording(Base) {
  const log = [];
  class Recording extends Base {
    async save(changes) {
      log.push({ op: 'save', mode: changes.mode, set: [...changes.set.keys()], delete: [...changes.delete] });
      return super.save(changes);
    }
    async touch(accessed) {
      log.push({ op: 'touch' });
      return super.touch(accessed);
    }
  }
  return { Recording, log };
}

const KINDS = {
  dbm: (tmp, extra = {}) => new WasmSessionStore({ dataDir: tmp.file('sessions'), ...extra }),
  memory: (_tmp, extra = {}) => new WasmSessionStore({ type: 'memory', ...extra }),
};

// The same suites on Redis (a server of this test file's own, one key prefix per store, so stores are independent),
// when redis-server is installed (.ci/run installs it).
let redis = null;
let redisStores = 0;
if (REDIS_INSTALLED) {
  KINDS.redis = (_tmp, extra = {}) => new WasmSessionStore({ type: 'redis', redis: { url: redis.url, prefix: `es${++redisStores}:` }, ...extra });
  before(async function () {
    this.timeout(20000);
    redis = await startRedis();
  });
  after(async () => {
    await closeRedisConnections();
    await redis?.stop();
  });
}

/** An express + express-session app on `store`, with gates a test opens to interleave requests. */
async function startExpressApp(store, sessionOptions = {}) {
  const app = express();
  const gates = new Map();
  const arrived = new Set();
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...sessionOptions }));
  app.post('/login', (req, res) => {
    req.session.user = req.query.user;
    res.redirect(302, '/peek');
  });
  app.get('/peek', (req, res) => {
    const { cookie, ...data } = req.session;
    res.json({ sid: req.sessionID, data });
  });
  app.get('/set', async (req, res) => {
    if (req.query.gate) {
      arrived.add(req.query.gate);
      await new Promise((resolve) => gates.set(req.query.gate, resolve));
    }
    req.session[req.query.k] = req.query.v;
    res.end('set');
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.end('logged out'))));
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    arrived,
    open: (name) => gates.get(name)(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const [kind, make] of Object.entries(KINDS)) {
  describe(`WasmSessionStore (${kind}) through express-session on Express`, function () {
    this.timeout(30000);
    let tmp;
    let app;
    beforeEach(() => {
      tmp = tempDir(`es-${kind}`);
    });
    afterEach(async () => {
      await app?.close();
      app = undefined;
      tmp.cleanup();
    });

    it('login, then reads: the session is stored, found again from the cookie, listed by its sid', async () => {
      const store = make(tmp);
      app = await startExpressApp(store, { cookie: { maxAge: 60_000 } });
      const jar = new CookieJar(app.url);
      const login = await jar.request('/login?user=ann', { method: 'POST' });
      assert.equal(login.status, 302);
      const peek = await jar.request('/peek');
      assert.deepEqual(peek.json.data, { user: 'ann' });
      assert.deepEqual(await store.ids(), [peek.json.sid]);
      assert.equal(await store.length(), 1);
      const stored = await store.get(peek.json.sid);
      assert.equal(stored.user, 'ann');
      assert.equal(typeof stored.cookie.expires, 'string', 'the cookie as express-session serializes it');
      assert.equal(stored.cookie.originalMaxAge, 60_000);
      if (kind === 'dbm') assert.equal(sessionFiles(tmp.file('sessions')).length, 1);
    });

    it('two requests changing different keys of one session concurrently both keep their change (express-session MemoryStore loses one)', async () => {
      for (const contrast of [false, true]) {
        const store = contrast ? new session.MemoryStore() : make(tmp);
        app = await startExpressApp(store);
        const jar = new CookieJar(app.url);
        await jar.request('/login?user=ann', { method: 'POST' });
        const slow = jar.request('/set?k=theme&v=dark&gate=a'); // loads now, saves when the gate opens
        await waitFor(() => app.arrived.has('a'));
        assert.equal((await jar.request('/set?k=cart&v=3')).text, 'set');
        app.open('a');
        await slow;
        const { data } = (await jar.request('/peek')).json;
        if (contrast) assert.equal(data.cart, undefined, 'MemoryStore: the slow request overwrote the other change');
        else assert.deepEqual(data, { user: 'ann', theme: 'dark', cart: '3' });
        await app.close();
        app = undefined;
      }
    });

    it('a logout racing a request that loaded the session before it stays logged out', async () => {
      const store = make(tmp);
      app = await startExpressApp(store);
      const jar = new CookieJar(app.url);
      await jar.request('/login?user=ann', { method: 'POST' });
      const { sid } = (await jar.request('/peek')).json;
      const cookie = jar.header();
      const inFlight = fetch(`${app.url}/set?k=counter&v=1&gate=late`, { headers: { cookie } });
      await waitFor(() => app.arrived.has('late'));
      assert.equal((await jar.request('/logout')).text, 'logged out');
      app.open('late');
      assert.equal((await inFlight).status, 200);
      assert.equal(await store.get(sid), null, 'the in-flight save did not bring the session back');
      assert.equal(await store.length(), 0);
      const after = await fetch(`${app.url}/peek`, { headers: { cookie } }).then((r) => r.json());
      assert.notEqual(after.sid, sid);
      assert.deepEqual(after.data, {});
    });

    it('expiry: a session past cookie.expires is not found, not listed, and removed', async () => {
      const store = make(tmp);
      app = await startExpressApp(store, { cookie: { maxAge: 1000 } });
      const jar = new CookieJar(app.url);
      await jar.request('/login?user=ann', { method: 'POST' });
      const { sid } = (await jar.request('/peek')).json;
      assert.equal((await store.get(sid)).user, 'ann');
      await sleep(1200);
      assert.deepEqual(await store.all(), {});
      assert.equal(await store.get(sid), null);
      assert.equal((await jar.request('/peek')).json.data.user, undefined);
      if (kind === 'dbm') assert.deepEqual(sessionFiles(tmp.file('sessions')), []);
    });

    it('writes only what changed: a changed request writes its key, an unchanged one only the cookie and expiry (touch)', async () => {
      const { Recording, log } = recording({ dbm: DbmNamespace, memory: MemoryNamespace, redis: RedisNamespace }[kind]);
      const store = make(tmp, {
        namespaceClass: Recording,
        ...(kind === 'memory' ? { type: undefined, key: 'es_record' } : kind === 'redis' ? { type: undefined } : {}),
      });
      app = await startExpressApp(store, { cookie: { maxAge: 60_000 } });
      const jar = new CookieJar(app.url);
      await jar.request('/login?user=ann', { method: 'POST' });
      const { sid } = (await jar.request('/peek')).json;
      const before = (await store.get(sid)).cookie.expires;
      log.length = 0;
      await sleep(5);
      await jar.request('/peek'); // unchanged: express-session touches
      assert.equal(log.length, 1, JSON.stringify(log));
      assert.equal(log[0].mode, 'update');
      assert.deepEqual(
        log[0].set.filter((k) => k !== 'cookie' && !k.startsWith('\0')),
        [],
        'touch writes no data key',
      );
      assert.ok((await store.get(sid)).cookie.expires > before, 'touch moved the expiry');
      log.length = 0;
      await jar.request('/set?k=theme&v=dark');
      assert.equal(log.length, 1);
      assert.deepEqual(
        log[0].set.filter((k) => k !== 'cookie' && !k.startsWith('\0')),
        ['theme'],
        'the user key was not rewritten',
      );
      assert.equal((await store.get(sid)).user, 'ann');
    });

    it('hostile sids from a custom genid work end to end and never become paths', async () => {
      for (const sid of ['/foo', '%', '../x']) {
        const store = make(tmp);
        app = await startExpressApp(store, { genid: () => sid });
        const jar = new CookieJar(app.url);
        await jar.request('/login?user=ann', { method: 'POST' });
        const peek = (await jar.request('/peek')).json;
        assert.equal(peek.sid, sid);
        assert.equal(peek.data.user, 'ann');
        assert.deepEqual(await store.ids(), [sid]);
        await app.close();
        app = undefined;
        await store.clear();
      }
    });
  });

  describe(`WasmSessionStore (${kind}): the store API`, function () {
    this.timeout(30000);
    let tmp;
    beforeEach(() => {
      tmp = tempDir(`esapi-${kind}`);
    });
    afterEach(() => tmp.cleanup());
    const cookie = (ms = 60_000) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });

    it('every method takes a callback and returns a promise', async () => {
      const store = make(tmp);
      const cb = (fn) => new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
      await cb((done) => store.set('s1', { cookie: cookie(), a: 1 }, done));
      assert.equal((await cb((done) => store.get('s1', done))).a, 1);
      await cb((done) => store.touch('s1', { cookie: cookie(120_000) }, done));
      assert.deepEqual(await cb((done) => store.ids(done)), ['s1']);
      assert.deepEqual(Object.keys(await cb((done) => store.all(done))), ['s1']);
      assert.equal(await cb((done) => store.length(done)), 1);
      await cb((done) => store.destroy('s1', done));
      assert.equal(await cb((done) => store.get('s1', done)), null);
      await cb((done) => store.clear(done));
      // Errors go to the callback (and the promise still fulfils), or reject the promise without one.
      const err = await new Promise((resolve) => store.get(42, resolve));
      assert.ok(err instanceof TypeError);
      await assert.rejects(store.get(42), TypeError);
    });

    it('stores the session as express-session serializes it; a session without a cookie as it is; expires in ms honoured', async () => {
      const store = make(tmp);
      const when = new Date(Date.now() + 60_000);
      await store.set('json', { cookie: { expires: when, originalMaxAge: 60_000 }, at: new Date(0), nested: { list: [1, 'two', null] }, gone: undefined });
      assert.deepEqual(await store.get('json'), {
        cookie: { expires: when.toISOString(), originalMaxAge: 60_000 },
        at: new Date(0).toISOString(),
        nested: { list: [1, 'two', null] },
      });
      await store.set('bare', { foo: 'bar' });
      assert.deepEqual(await store.get('bare'), { foo: 'bar' });
      await store.set('ms', { cookie: { expires: Date.now() + 60_000 }, x: 1 });
      assert.equal((await store.get('ms')).x, 1);
      await store.set('ms-old', { cookie: { expires: Date.now() - 1000 }, x: 1 });
      assert.equal(await store.get('ms-old'), null);
      // Keys that look like the store's own are session keys like any other.
      await store.set('odd', { '': 1, '\0s': 2, '\0\0x': 3, __proto__x: 4 });
      assert.deepEqual(await store.get('odd'), { '': 1, '\0s': 2, '\0\0x': 3, __proto__x: 4 });
    });

    it('a set() outside a request replaces the record; a set() of a session that just expired is no error and stores nothing', async () => {
      const store = make(tmp);
      await store.set('r', { cookie: cookie(), a: 1, b: 2 });
      await store.set('r', { cookie: cookie(), b: 3, c: 4 });
      const got = await store.get('r');
      delete got.cookie;
      assert.deepEqual(got, { b: 3, c: 4 });
      await store.destroy('r');
      await store.set('r', { cookie: cookie(), again: true });
      assert.equal((await store.get('r')).again, true, 'after a destroy, a set() outside a request creates it again');
      await store.set('expired', { cookie: { expires: new Date(Date.now() - 1).toISOString() }, a: 1 });
      assert.equal(await store.get('expired'), null);
      assert.deepEqual(await store.ids(), ['r']);
    });

    it('touch() updates the stored expiry without set(); of a missing session it does nothing', async () => {
      const store = make(tmp);
      await store.set('t', { cookie: cookie(1000), a: 1 });
      store.set = () => {
        throw new Error('touch() must not go through set()');
      };
      store.get = () => {
        throw new Error('the store must not call its own get()');
      };
      await store.touch('t', { cookie: cookie(3_600_000) });
      await store.touch('missing', { cookie: cookie() });
      await sleep(1100);
      const all = await store.all();
      assert.deepEqual(Object.keys(all), ['t'], 'the new expiry is the one enforced');
      assert.equal(all.t.a, 1);
      assert.equal(await store.length(), 1);
      await store.destroy('t');
      await store.clear();
    });

    it('any sid, hostile ones too: stored under a 32-hex id inside the data directory, listed as given', async () => {
      const store = make(tmp);
      for (const [i, sid] of HOSTILE_SIDS.entries()) await store.set(sid, { cookie: cookie(), i });
      for (const [i, sid] of HOSTILE_SIDS.entries()) assert.equal((await store.get(sid)).i, i, JSON.stringify(sid.slice(0, 20)));
      assert.deepEqual((await store.ids()).sort(), [...HOSTILE_SIDS].sort());
      assert.deepEqual(Object.keys(await store.all()).sort(), [...HOSTILE_SIDS].sort());
      assert.equal(await store.length(), HOSTILE_SIDS.length);
      assert.equal(WasmSessionStore.storageId('/foo').length, 32);
      if (kind === 'dbm') {
        assert.deepEqual(fs.readdirSync(tmp.dir), ['sessions'], 'nothing outside the data directory');
        const files = sessionFiles(tmp.file('sessions'));
        assert.equal(files.length, HOSTILE_SIDS.length);
        for (const f of files) assert.match(f, /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{32}\.dbm$/);
      }
      await store.destroy('../x');
      assert.equal(await store.get('../x'), null);
      assert.equal(await store.length(), HOSTILE_SIDS.length - 1);
      await store.clear();
      assert.equal(await store.length(), 0);
      assert.deepEqual(await store.ids(), []);
    });

    it('each instance is independent', async () => {
      const a = make(tmp, kind === 'dbm' ? { dataDir: tmp.file('a') } : {});
      const b = make(tmp, kind === 'dbm' ? { dataDir: tmp.file('b') } : {});
      await a.set('same', { cookie: cookie(), owner: 'a' });
      await b.set('same', { cookie: cookie(), owner: 'b' });
      assert.equal((await a.get('same')).owner, 'a');
      assert.equal((await b.get('same')).owner, 'b');
      await a.clear();
      assert.equal(await a.length(), 0);
      assert.equal((await b.get('same')).owner, 'b');
    });
  });

  describe(`WasmSessionStore (${kind}) through @fastify/session on Fastify`, function () {
    this.timeout(30000);
    let tmp;
    beforeEach(() => {
      tmp = tempDir(`fs-${kind}`);
    });
    afterEach(() => tmp.cleanup());

    it('login, reads, logout', async () => {
      const Fastify = require('fastify');
      const store = make(tmp);
      const app = Fastify();
      await app.register(require('@fastify/cookie'));
      await app.register(require('@fastify/session'), {
        secret: 'a secret that is at least 32 characters long',
        store,
        cookie: { secure: false, maxAge: 60_000 },
      });
      app.post('/login', async (request) => {
        request.session.set('user', request.query.user);
        return 'ok';
      });
      app.get('/peek', async (request) => ({ sid: request.session.sessionId, user: request.session.get('user') ?? null }));
      app.get('/logout', async (request) => {
        await request.session.destroy();
        return 'out';
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const jar = new CookieJar(`http://127.0.0.1:${app.server.address().port}`);
        await jar.request('/login?user=ann', { method: 'POST' });
        const peek = (await jar.request('/peek')).json;
        assert.equal(peek.user, 'ann');
        assert.deepEqual(await store.ids(), [peek.sid]);
        assert.equal((await store.get(peek.sid)).user, 'ann');
        await jar.request('/logout');
        assert.equal(await store.length(), 0);
        assert.equal((await jar.request('/peek')).json.user, null);
      } finally {
        await app.close();
      }
    });
  });
}

describe('WasmSessionStore: loading and handles', function () {
  this.timeout(30000);

  it('importing wasm-session and its other entry points does not load express-session', () => {
    const script = `
      import 'wasm-session'; import 'wasm-session/express'; import 'wasm-session/fastify'; import 'wasm-session/session';
      import { createRequire } from 'node:module';
      const cache = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(cache.filter((p) => p.includes('/express-session/'))));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it('no timer or handle keeps the process alive', () => {
    const dir = tempDir('es-alive');
    const script = `
      import { WasmSessionStore } from 'wasm-session/express-session';
      for (const store of [new WasmSessionStore({ type: 'memory' }), new WasmSessionStore({ dataDir: ${JSON.stringify(dir.file('s'))} })]) {
        await store.set('a', { cookie: { expires: new Date(Date.now() + 60000).toISOString() }, n: 1 });
        await store.get('a'); await store.touch('a', { cookie: {} }); await store.all(); await store.length();
      }
      console.log('done');`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    dir.cleanup();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done');
    assert.ok(Date.now() - started < 15000);
  });

  it('works with any NamespaceManager store class (namespaceClass), and says so when it cannot enumerate', async () => {
    class NoEnumeration extends MemoryNamespace {}
    Object.defineProperty(NoEnumeration, 'ids', { value: undefined });
    Object.defineProperty(NoEnumeration, 'clear', { value: undefined });
    const store = new WasmSessionStore({ namespaceClass: NoEnumeration, key: 'es_noenum' });
    await store.set('x', { a: 1 });
    assert.equal((await store.get('x')).a, 1);
    await assert.rejects(store.length(), /cannot list its sessions/);
    await store.destroy('x');
    assert.equal(path.basename(ROOT).length > 0, true);
  });
});
