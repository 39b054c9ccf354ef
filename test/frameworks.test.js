// wasm-session/express (Express 5, Express 4, Connect) and wasm-session/fastify
// (Fastify 5), through real servers on loopback and a real client (fetch):
// cookies, the save completing before the headers leave, streaming, HEAD,
// res.end twice, errors reaching the error handler, the cookie path, the
// lock held across overlapping requests (in one process and across
// processes on one dataDir), autoSave, proxy / secure 'auto', the Myghty
// config, and options validated when the middleware is made.

import assert from 'node:assert/strict';
import path from 'node:path';
import { MemoryNamespace } from 'wasm-session';
import { sessionMiddleware } from 'wasm-session/express';
import { fastifySession } from 'wasm-session/fastify';
import { startApp } from './fixtures/frameworks/apps.js';
import { Children, FIXTURES, sleep, tempDir } from './helpers/index.js';
import { CookieJar, parseSetCookie, rawRequest, sessionFiles } from './helpers/http.js';

const FRAMEWORKS = ['express5', 'express4', 'connect', 'fastify'];
const SERVER = path.join(FIXTURES, 'frameworks/server.js');

/** A memory store whose save() takes a while: a response that did not wait for it would be seen before the data. */
class SlowStore extends MemoryNamespace {
  async save(changes) {
    await sleep(40);
    return super.save(changes);
  }
}

/** A memory store that refuses to save a key named 'refused'. */
class RefusingStore extends MemoryNamespace {
  async save(changes) {
    if (changes.set.has('refused')) throw Object.assign(new Error('the store refused the save'), { code: 'ERR_TEST_REFUSED' });
    return super.save(changes);
  }
}

let keys = 0;
/** A memory configuration of its own (memory stores are partitioned by the cookie name). */
const memory = (extra = {}) => ({ type: 'memory', key: `fw_test_${++keys}`, ...extra });
const ourCookie = (r, key) => r.setCookie.map(parseSetCookie).find((c) => c.name === key);

for (const framework of FRAMEWORKS) {
  describe(`wasm-session/${framework === 'fastify' ? 'fastify on Fastify 5' : `express on ${framework}`}`, function () {
    this.timeout(60000);
    const apps = [];
    const start = async (options, extra) => {
      const app = await startApp(framework, options, extra);
      apps.push(app);
      return app;
    };
    let tmp;
    beforeEach(() => {
      tmp = tempDir(`fw-${framework}`);
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      tmp.cleanup();
    });

    it('gives every request its session: the cookie goes out once, the data persists in dbm files, a request that stores nothing makes no file', async () => {
      const dataDir = tmp.file('sessions');
      const app = await start({ dataDir, secret: 'a secret of the test' });
      const bot = await new CookieJar(app.url).request('/untouched');
      assert.equal(bot.text, 'untouched');
      assert.deepEqual(bot.setCookie, []);
      assert.deepEqual(sessionFiles(dataDir), []);
      const jar = new CookieJar(app.url);
      const first = await jar.request('/count');
      assert.equal(first.text, 'visits: 1');
      const cookie = ourCookie(first, 'myghty_session_id');
      assert.match(cookie.value, /^[0-9a-f]{64}$/);
      assert.equal(cookie.attrs.path, '/');
      assert.equal(cookie.attrs.httponly, true);
      assert.equal((await jar.request('/count')).text, 'visits: 2');
      const third = await jar.request('/count');
      assert.equal(third.text, 'visits: 3');
      assert.deepEqual(third.setCookie, [], 'the client has the cookie: no Set-Cookie again');
      assert.equal(sessionFiles(dataDir).length, 1);
    });

    it('completes the save before the headers leave: a 302 followed at once by a GET sees the data, on a slow store too', async () => {
      const app = await start({ namespaceClass: SlowStore, key: `slow_${framework}` });
      for (let i = 0; i < 3; i++) {
        const jar = new CookieJar(app.url);
        const login = await jar.request(`/login?user=ann${i}`, { method: 'POST' });
        assert.equal(login.status, 302);
        assert.ok(ourCookie(login, `slow_${framework}`), 'the 302 carries the session cookie');
        const peek = await jar.request('/peek');
        assert.equal(peek.json.user, `ann${i}`);
      }
    });

    it('streams: the first write waits for the save, the chunks arrive in order, the cookie is in the headers', async () => {
      const app = await start(memory({ key: `stream_${framework}` }));
      const jar = new CookieJar(app.url);
      const r = await jar.request('/stream');
      assert.equal(r.text, 'one two three');
      assert.ok(ourCookie(r, `stream_${framework}`));
      assert.deepEqual((await jar.request('/peek')).json.keys, ['streamed']);
    });

    it('answers HEAD with the cookie and no body', async () => {
      const app = await start(memory({ key: `head_${framework}` }));
      const r = await rawRequest(`${app.url}/count`, { method: 'HEAD' });
      assert.equal(r.status, 200);
      assert.equal(r.text, '');
      assert.ok(r.setCookie.some((line) => line.startsWith(`head_${framework}=`)));
    });

    it('survives res.end() called twice: the first body, the session saved once', async () => {
      const app = await start(memory({ key: `twice_${framework}` }));
      const jar = new CookieJar(app.url);
      const r = await jar.request('/twice');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'first');
      assert.deepEqual((await jar.request('/peek')).json.keys, ['twice']);
    });

    it('a failed save reaches the error handler as a 500, never a hung response; the next request works', async () => {
      const app = await start({ namespaceClass: RefusingStore, key: `refuse_${framework}` });
      const jar = new CookieJar(app.url);
      const failed = await jar.request('/fail');
      assert.equal(failed.status, 500);
      assert.equal(failed.json.error?.code ?? failed.json.code, 'ERR_TEST_REFUSED', failed.text);
      assert.ok(!failed.text.includes('should not be seen'));
      assert.equal((await jar.request('/count')).text, 'visits: 1');
    });

    it('a save that finds the session ended by another request is no error: the response goes on', async () => {
      const app = await start({ dataDir: tmp.file('s'), key: `ended_${framework}` }, { wait: 150 });
      const jar = new CookieJar(app.url);
      await jar.request('/count');
      const inFlight = jar.request('/inc'); // loads, waits 150 ms, then sets n
      await sleep(50);
      assert.equal((await jar.request('/logout')).text, 'logged out');
      const late = await inFlight;
      assert.equal(late.status, 200);
      assert.equal(late.text, '1');
      // The logout stuck: the old id is dead; the client's jar holds whatever the last response said.
      const after = await new CookieJar(app.url).request('/peek');
      assert.equal(after.json.n, null);
    });

    it('skips requests outside the cookie path (RFC 6265 path-match)', async () => {
      const app = await start(memory({ key: `path_${framework}`, path: '/has' }));
      for (const [url, expected] of [
        ['/has', 'session'],
        ['/has/sub', 'session'],
        ['/hasx', 'none'],
      ]) {
        const r = await new CookieJar(app.url).request(url);
        assert.equal(r.text, expected, url);
      }
    });

    it('lock: true makes overlapping read-modify-writes of one session exact; without it they lose updates', async () => {
      for (const lock of [false, true]) {
        const app = await start({ dataDir: tmp.file(`lock-${lock}`), lock }, { wait: 15 });
        const jar = new CookieJar(app.url);
        await jar.request('/count');
        const results = await Promise.all(Array.from({ length: 12 }, () => jar.request('/inc')));
        for (const r of results) assert.equal(r.status, 200, r.text);
        const n = (await jar.request('/peek')).json.n;
        if (lock) assert.equal(n, 12);
        else assert.ok(n >= 1 && n < 12, `without a lock overlapping increments lose updates (n = ${n})`);
      }
    });

    it('lock as a function locks only the requests it chooses', async () => {
      const seen = [];
      const app = await start({
        ...memory({ key: `lockfn_${framework}` }),
        lock: (req) => {
          const url = req.url ?? req.raw?.url;
          seen.push(url);
          return url.startsWith('/inc');
        },
      });
      const jar = new CookieJar(app.url);
      await jar.request('/count');
      await Promise.all(Array.from({ length: 6 }, () => jar.request('/inc')));
      assert.equal((await jar.request('/peek')).json.n, 6);
      assert.ok(seen.includes('/count') && seen.includes('/peek'));
    });

    it('autoSave: false leaves saving to the application', async () => {
      const app = await start(memory({ key: `manual_${framework}`, autoSave: false }));
      const jar = new CookieJar(app.url);
      const r = await jar.request('/count');
      assert.equal(r.text, 'visits: 1');
      assert.deepEqual(r.setCookie, [], 'nothing saved, so no cookie');
    });

    it("secure: 'auto' follows proxy: true (X-Forwarded-Proto), proxy: false (the socket only), and else the framework's verdict", async () => {
      const cases = [
        [{ proxy: true }, 'https', true],
        [{ proxy: true }, 'http', false],
        [{ proxy: false }, 'https', false],
        // The apps trust the proxy (Express 'trust proxy', Fastify trustProxy); Connect has no verdict of its own.
        [{}, 'https', framework !== 'connect'],
      ];
      for (const [extra, proto, secure] of cases) {
        const key = `tls_${framework}_${++keys}`;
        const app = await start({ type: 'memory', key, secure: 'auto', ...extra });
        const r = await rawRequest(`${app.url}/count`, { headers: { 'x-forwarded-proto': proto } });
        const cookie = r.setCookie.map(parseSetCookie).find((c) => c.name === key);
        assert.equal(cookie.attrs.secure === true, secure, `${JSON.stringify(extra)} ${proto}`);
      }
    });

    it("accepts Myghty's session_ config (use_session, session_lock), as getSession() does", async () => {
      const dataDir = tmp.file('myghty');
      const app = await start({ data_dir: dataDir, session_key: `cfg_${framework}`, session_lock: true, use_session: true, port: 8080 });
      const jar = new CookieJar(app.url);
      const first = await jar.request('/count');
      assert.ok(ourCookie(first, `cfg_${framework}`));
      await Promise.all(Array.from({ length: 5 }, () => jar.request('/inc')));
      assert.equal((await jar.request('/peek')).json.n, 5);
      assert.equal(sessionFiles(path.join(dataDir, 'sessions')).length, 1);
    });
  });
}

describe('wasm-session/express and wasm-session/fastify: options', () => {
  it('are validated when the middleware is made: unknown names, bad values, express-session names with what to use instead', async () => {
    assert.throws(() => sessionMiddleware({ type: 'memory', tiemout: 5 }), /unknown option "tiemout"/);
    assert.throws(() => sessionMiddleware({ type: 'memory', lock: 'yes' }), /option lock must be/);
    assert.throws(() => sessionMiddleware({ type: 'memory', autoSave: 1 }), /option autoSave must be/);
    assert.throws(() => sessionMiddleware({ type: 'memory', proxy: 'x' }), /option proxy must be/);
    assert.throws(() => sessionMiddleware({}), /dataDir is required/);
    assert.throws(() => sessionMiddleware({ type: 'memory', name: 'sid' }), /"name" is an express-session option; use key/);
    assert.throws(() => sessionMiddleware({ type: 'memory', saveUninitialized: false }), /not needed: a session without data is never stored/);
    assert.throws(() => sessionMiddleware({ type: 'memory', resave: false }), /not needed/);
    assert.throws(() => sessionMiddleware({ type: 'memory', rolling: true }), /cookieExpires/);
    assert.throws(() => sessionMiddleware({ type: 'memory', cookie: { maxAge: 1000 } }), /cookieExpires \(seconds/);
    assert.throws(() => sessionMiddleware({ session_type: 'memory', use_session: false }), /use_session must be true/);
    assert.throws(() => sessionMiddleware({ session_type: 'memory', session_bogus: 1 }), /unknown session option "session_bogus"/);
    const Fastify = (await import('fastify')).default;
    const app = Fastify();
    app.register(fastifySession, { type: 'memory', tiemout: 5 });
    await assert.rejects(app.ready(), /unknown option "tiemout"/);
  });

  it('a request whose session an earlier middleware opened is left alone', async () => {
    const first = sessionMiddleware({ type: 'memory', key: 'outer' });
    const second = sessionMiddleware({ type: 'memory', key: 'inner' });
    const app = await startApp('express5', { type: 'memory', key: 'third' }, { before: (req, res, next) => first(req, res, () => second(req, res, next)) });
    try {
      const r = await new CookieJar(app.url).request('/count');
      assert.deepEqual(
        r.setCookie.map((l) => parseSetCookie(l).name),
        ['outer'],
      );
    } finally {
      await app.close();
    }
  });

  it('on plain node:http a failed save comes back through next(err), with the response still unsent', async () => {
    const http = await import('node:http');
    const mw = sessionMiddleware({ namespaceClass: RefusingStore, key: 'plain' });
    const server = http.createServer((req, res) =>
      mw(req, res, (err) => {
        if (err) {
          res.statusCode = 500;
          res.end(`error: ${err.code}`);
          return;
        }
        req.session.set('refused', 1);
        res.end('not this');
      }),
    );
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = await rawRequest(`http://127.0.0.1:${server.address().port}/`);
      assert.equal(r.status, 500);
      assert.equal(r.text, 'error: ERR_TEST_REFUSED');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('wasm-session/fastify with @fastify/cookie', function () {
  this.timeout(30000);
  it("our cookie and @fastify/cookie's reply.setCookie arrive in one response", async () => {
    const Fastify = (await import('fastify')).default;
    const app = Fastify();
    await app.register((await import('@fastify/cookie')).default);
    await app.register(fastifySession, { type: 'memory', key: 'fw_both' });
    app.get('/', async (request, reply) => {
      request.session.set('n', 1);
      reply.setCookie('theme', 'dark', { path: '/' });
      reply.header('set-cookie', 'plain=1; Path=/');
      return 'ok';
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await new CookieJar(`http://127.0.0.1:${app.server.address().port}`).request('/');
      const names = r.setCookie.map((l) => parseSetCookie(l).name).sort();
      assert.deepEqual(names, ['fw_both', 'plain', 'theme']);
    } finally {
      await app.close();
    }
  });
});

describe('wasm-session/express and /fastify: lock() across processes on one dataDir', function () {
  this.timeout(120000);
  const children = new Children();
  let tmp;
  before(() => {
    tmp = tempDir('fw-procs');
  });
  after(async () => {
    await children.stopAll();
    tmp.cleanup();
  });

  it('express 5, express 4, connect and fastify servers, 4 clients x 6 increments each on one session: exactly 24', async () => {
    const dataDir = tmp.file('sessions');
    const env = (framework) => ({ FRAMEWORK: framework, WAIT: '5', SESSION_OPTIONS: JSON.stringify({ dataDir, lock: true, key: 'procs' }) });
    const servers = await Promise.all(FRAMEWORKS.map((f) => children.start(SERVER, { env: env(f) })));
    const jar = new CookieJar(servers[0].url);
    await jar.request('/count');
    const cookie = jar.header();
    const client = async (c) => {
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${servers[(c + i) % servers.length].url}/inc`, { headers: { cookie } });
        assert.equal(r.status, 200, await r.text());
        await r.arrayBuffer().catch(() => {});
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    const peek = await fetch(`${servers[3].url}/peek`, { headers: { cookie } }).then((r) => r.json());
    assert.equal(peek.n, 24);
  });
});
