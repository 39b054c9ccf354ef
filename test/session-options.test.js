// Every Session option: eager validation with errors naming the option, the
// cookie attributes each one produces (seen by a real client, over http and
// https), signed ids and secret rotation, sessions without cookies, the
// debug log, and Myghty's snake_case config through getSession().

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Session, getSession, MemoryNamespace, DbmNamespace } from 'wasm-session/session';
import * as root from 'wasm-session';
import { createIdSigner } from 'wasm-session';
import { sessionHandler } from './fixtures/session/app.js';
import { FIXTURES, tempDir } from './helpers/index.js';
import { CookieJar, parseSetCookie, rawRequest, sessionFiles, startServer } from './helpers/http.js';

const fakeRes = () => {
  const headers = {};
  return {
    headersSent: false,
    getHeader: (n) => headers[n],
    setHeader: (n, v) => {
      headers[n] = v;
    },
    headers,
  };
};
const noReq = { headers: {} };

describe('Session options: validation', () => {
  const bad = [
    [{ type: 'couchdb' }, TypeError, /option type must be 'dbm', 'file', 'memory' or 'redis', got "couchdb"/],
    [{ type: 'redis' }, TypeError, /option redis is required for type 'redis'/],
    [{ type: 'redis', redis: {} }, TypeError, /option redis needs exactly one of url .* and client/],
    [{ type: 'redis', redis: { url: 'redis://a', client: {} } }, TypeError, /exactly one of url/],
    [{ type: 'redis', redis: { url: 'http://127.0.0.1:6379' } }, TypeError, /option redis.url must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ type: 'redis', redis: { url: [] } }, TypeError, /option redis.url must be a redis:\/\/ URL or a non-empty array/],
    [{ type: 'redis', redis: { client: { get() {} } } }, TypeError, /option redis.client must be a node-redis client/],
    [{ type: 'redis', redis: { url: 'redis://a', prefix: 'app{1}:' } }, TypeError, /option redis.prefix must be a string without '\{' or '\}'/],
    [{ type: 'redis', redis: { url: 'redis://a', ttl: 0 } }, RangeError, /option redis.ttl/],
    [{ type: 'redis', redis: { url: 'redis://a', lockLease: 50 } }, RangeError, /option redis.lockLease/],
    [{ type: 'redis', redis: { url: 'redis://a', commandTimeout: '1s' } }, TypeError, /option redis.commandTimeout/],
    [{ type: 'redis', redis: { url: 'redis://a', tls: true } }, TypeError, /unknown option redis.tls; known: url, client, prefix/],
    [{ type: 'redis', redis: 'redis://a' }, TypeError, /option redis must be an object/],
    [{ type: 'dbm' }, TypeError, /option dataDir is required for type 'dbm'/],
    [{}, TypeError, /option dataDir is required/],
    [{ type: 'memory', dataDir: '' }, TypeError, /option dataDir must be a non-empty path/],
    [{ type: 'memory', dataDir: 'a\0b' }, TypeError, /option dataDir/],
    [{ type: 'memory', key: 'bad key' }, TypeError, /option key must be a cookie name/],
    [{ type: 'memory', key: 'a;b' }, TypeError, /option key/],
    [{ type: 'memory', key: '' }, TypeError, /option key/],
    [{ type: 'memory', secret: '' }, TypeError, /option secret must be a non-empty string or a non-empty array/],
    [{ type: 'memory', secret: [] }, TypeError, /option secret/],
    [{ type: 'memory', secret: ['ok', 3] }, TypeError, /option secret/],
    [{ type: 'memory', timeout: 0 }, RangeError, /option timeout must be a finite number of seconds > 0, got number 0/],
    [{ type: 'memory', timeout: '60' }, TypeError, /option timeout must be a number of seconds/],
    [{ type: 'memory', maxLifetime: -1 }, RangeError, /option maxLifetime/],
    [{ type: 'memory', maxLifetime: Infinity }, RangeError, /option maxLifetime/],
    [{ type: 'memory', cookieExpires: -5 }, RangeError, /option cookieExpires must be a finite number of seconds >= 0/],
    [{ type: 'memory', cookieExpires: 'tomorrow' }, TypeError, /option cookieExpires must be true, false, a number of seconds or a Date/],
    [{ type: 'memory', cookieExpires: new Date('nope') }, RangeError, /option cookieExpires must be a valid Date/],
    [{ type: 'memory', path: 'relative' }, TypeError, /option path must be a cookie path starting with '\/'/],
    [{ type: 'memory', path: '/a;b' }, TypeError, /option path/],
    [{ type: 'memory', domain: 'ex ample.com' }, TypeError, /option domain/],
    [{ type: 'memory', secure: 'yes' }, TypeError, /option secure must be true, false or 'auto'/],
    [{ type: 'memory', httpOnly: 1 }, TypeError, /option httpOnly must be true or false/],
    [{ type: 'memory', sameSite: 'Lax' }, TypeError, /option sameSite must be 'lax', 'strict', 'none' or false/],
    [{ type: 'memory', sameSite: 'none' }, TypeError, /sameSite 'none' needs secure: true or 'auto'/],
    [{ type: 'memory', useCookies: 'no' }, TypeError, /option useCookies must be true or false/],
    [{ type: 'memory', invalidateCorrupt: 'yes' }, TypeError, /option invalidateCorrupt/],
    [{ type: 'memory', lockTimeout: -1 }, RangeError, /option lockTimeout must be a finite number of milliseconds >= 0/],
    [{ type: 'memory', lockTimeout: '1s' }, TypeError, /option lockTimeout must be a number of milliseconds/],
    [{ type: 'memory', sync: 'always' }, TypeError, /option sync must be 'none' or 'commit'/],
    [{ type: 'memory', logFile: 42 }, TypeError, /option logFile must be a writable stream or a path/],
    [{ type: 'memory', logFile: '' }, TypeError, /option logFile/],
    [{ type: 'memory', now: 5 }, TypeError, /option now must be a function/],
    [{ type: 'memory', id: 42 }, TypeError, /option id must be a string/],
    [{ type: 'memory', namespaceOptions: 'x' }, TypeError, /option namespaceOptions must be an object/],
    [{ type: 'memory', data_dir: '/tmp' }, TypeError, /unknown option "data_dir" \(snake_case names like session_data_dir are accepted by getSession\(\)/],
    [{ type: 'memory', cookieExpire: true }, TypeError, /unknown option "cookieExpire"/],
    [{ namespaceClass: 'MyStore' }, TypeError, /option namespaceClass must be a class implementing NamespaceManager/],
    [
      {
        namespaceClass: class Half {
          async load() {}
        },
      },
      TypeError,
      /namespaceClass Half lacks the required NamespaceManager methods save, remove/,
    ],
    [
      {
        namespaceClass: class NoRemove {
          async load() {}
          async save() {}
        },
      },
      TypeError,
      /lacks the required NamespaceManager method remove$/,
    ],
    [
      {
        namespaceClass: class OnlyLock {
          async load() {}
          async save() {}
          async remove() {}
          async lock() {}
        },
      },
      TypeError,
      /both lock\(\) and unlock\(\), or neither/,
    ],
    [{ type: 'memory', namespaceClass: MemoryNamespace }, TypeError, /either option type or option namespaceClass, not both/],
  ];
  for (const [options, Kind, message] of bad) {
    it(`rejects ${JSON.stringify(options, (_k, v) => (typeof v === 'function' ? `class ${v.name}` : v instanceof Date ? 'Invalid Date' : v))}`, () => {
      assert.throws(
        () => new Session(noReq, fakeRes(), options),
        (err) => err instanceof Kind && message.test(err.message),
      );
    });
  }

  it('rejects a missing request or response when cookies are used, and accepts neither without cookies', async () => {
    assert.throws(() => new Session(undefined, fakeRes(), { type: 'memory' }), /needs the request/);
    assert.throws(() => new Session(noReq, undefined, { type: 'memory' }), /needs the response/);
    assert.throws(() => new Session(noReq, {}, { type: 'memory' }), /needs the response/);
    const s = await Session.open(undefined, undefined, { type: 'memory', useCookies: false });
    assert.equal(s.isNew, true);
  });

  it("accepts type 'file' as the dbm store, and resolves dataDir to an absolute path", () => {
    const s = new Session(noReq, fakeRes(), { type: 'file', dataDir: 'relative/dir' });
    assert.ok(s.namespace instanceof DbmNamespace);
    assert.ok(path.isAbsolute(s.namespace.file.path));
    assert.ok(s.namespace.file.path.startsWith(path.resolve('relative/dir') + path.sep));
  });

  it('is exported from the package root too', () => {
    assert.equal(root.Session, Session);
    assert.equal(root.getSession, getSession);
    const { MemoryNamespace: a, DbmNamespace: b, SessionError: c, SessionCorruptError: d, LockTimeoutError: e } = root;
    for (const value of [a, b, c, d, e]) assert.equal(typeof value, 'function');
  });
});

describe('Session options: cookies', function () {
  this.timeout(20000);
  let server;
  let dataDir;
  const run = (jar, steps, options) => jar.request('/', { method: 'POST', body: { steps, options } });
  const cookieOf = (r) => parseSetCookie(r.setCookie[0]);

  before(async () => {
    dataDir = tempDir('options').dir;
    server = await startServer(sessionHandler({ type: 'dbm', dataDir }));
  });
  after(async () => {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('defaults: myghty_session_id, Path=/, HttpOnly, SameSite=Lax, no Domain, no Secure, no Expires', async () => {
    const c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']]));
    assert.equal(c.name, 'myghty_session_id');
    assert.match(c.value, /^[0-9a-f]{32}$/);
    assert.deepEqual(c.attrs, { path: '/', httponly: true, samesite: 'Lax' });
  });

  it('key, path, domain, httpOnly: false, sameSite strict / none / false', async () => {
    let c = cookieOf(
      await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], {
        key: 'sid',
        path: '/app',
        domain: 'example.test',
        httpOnly: false,
        sameSite: 'strict',
      }),
    );
    assert.equal(c.name, 'sid');
    assert.deepEqual(c.attrs, { path: '/app', domain: 'example.test', samesite: 'Strict' });
    c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], { sameSite: 'none', secure: true }));
    assert.deepEqual(c.attrs, { path: '/', httponly: true, secure: true, samesite: 'None' });
    c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], { sameSite: false }));
    assert.deepEqual(c.attrs, { path: '/', httponly: true });
  });

  it('the key option names the cookie that is read back', async () => {
    const jar = new CookieJar(server.url);
    const id = (await run(jar, [['set', 'a', 1], ['save'], ['state']], { key: 'app_sid' })).json.results[2].id;
    assert.equal((await run(jar, [['state']], { key: 'app_sid' })).json.results[0].id, id);
    // Under another name the same cookie is not ours: a fresh session.
    assert.notEqual((await run(jar, [['state']])).json.results[0].id, id);
  });

  it('cookieExpires: false = far future; a Date = that date; a number = Max-Age, re-sent on every save', async () => {
    let c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], { cookieExpires: false }));
    assert.equal(c.attrs.expires, 'Fri, 31 Dec 9999 23:59:59 GMT');
    assert.equal(c.attrs['max-age'], undefined);
    const when = new Date(Date.UTC(2031, 5, 15, 12, 0, 0));
    // A Date does not cross JSON: use the API directly for it.
    const res = fakeRes();
    const s = await Session.open(noReq, res, { type: 'memory', cookieExpires: when });
    s.set('a', 1);
    await s.save();
    assert.equal(parseSetCookie(res.headers['set-cookie'][0]).attrs.expires, when.toUTCString());

    const jar = new CookieJar(server.url);
    const t0 = Date.now();
    const first = await run(jar, [['set', 'a', 1], ['save']], { cookieExpires: 3600 });
    c = cookieOf(first);
    assert.equal(c.attrs['max-age'], '3600');
    const expires = Date.parse(c.attrs.expires);
    assert.ok(expires >= Math.floor(t0 / 1000) * 1000 + 3600_000 && expires <= Date.now() + 3600_000, c.attrs.expires);
    const again = await run(jar, [['save']], { cookieExpires: 3600 });
    assert.equal(again.setCookie.length, 1, 'a relative expiry rolls on every save');
    const notSaved = await run(jar, [['get', 'a']], { cookieExpires: 3600 });
    assert.deepEqual(notSaved.setCookie, [], 'no save, no cookie');
    const fixed = await run(jar, [['save']], { cookieExpires: true });
    assert.deepEqual(fixed.setCookie, [], 'a browser-session cookie is not re-sent');
  });

  it('secure: true always; secure: auto only over TLS', async () => {
    let c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], { secure: true }));
    assert.equal(c.attrs.secure, true);
    c = cookieOf(await run(new CookieJar(server.url), [['set', 'a', 1], ['save']], { secure: 'auto' }));
    assert.equal(c.attrs.secure, undefined, 'plain http');

    const tls = { key: fs.readFileSync(path.join(FIXTURES, 'session/tls/key.pem')), cert: fs.readFileSync(path.join(FIXTURES, 'session/tls/cert.pem')) };
    const secureServer = await startServer(sessionHandler({ type: 'dbm', dataDir, secure: 'auto' }), { tls });
    try {
      const body = JSON.stringify({ steps: [['set', 'a', 1], ['save']] });
      const setCookie = await new Promise((resolve, reject) => {
        const req = https.request(secureServer.url, { method: 'POST', ca: tls.cert, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers['set-cookie']));
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(parseSetCookie(setCookie[0]).attrs.secure, true, 'https');
    } finally {
      await secureServer.close();
    }
  });

  it('secret: the cookie carries the HMAC-MD5 signature then the id; tampering or another secret means a fresh session', async () => {
    const secret = 'server secret';
    const jar = new CookieJar(server.url);
    const r = await run(jar, [['set', 'a', 1], ['save'], ['state']], { secret });
    const { id, externalId } = r.json.results[2];
    const value = cookieOf(r).value;
    assert.equal(value.length, 64);
    assert.equal(value, createIdSigner(secret).sign(id));
    assert.equal(externalId, value);
    assert.equal((await run(jar, [['state'], ['get', 'a']], { secret })).json.results[1], 1);
    // An unsigned id, a flipped signature, or the wrong secret: no session.
    for (const cookie of [`myghty_session_id=${id}`, `myghty_session_id=${(value[0] === 'a' ? 'b' : 'a') + value.slice(1)}`]) {
      const s = await rawRequest(server.url, { method: 'POST', headers: { cookie }, body: JSON.stringify({ steps: [['state']], options: { secret } }) });
      assert.notEqual(s.json.results[0].id, id);
      assert.equal(s.json.results[0].isNew, true);
    }
    assert.notEqual((await run(jar, [['state']], { secret: 'another' })).json.results[0].id, id);
  });

  it('secret rotation: [new, old] accepts cookies signed with old and signs new cookies with new', async () => {
    const jar = new CookieJar(server.url);
    const id = (await run(jar, [['set', 'a', 1], ['save'], ['state']], { secret: 'old' })).json.results[2].id;
    const r = await run(jar, [['state'], ['regenerateId'], ['state']], { secret: ['new', 'old'] });
    assert.equal(r.json.results[0].id, id, 'the old signature still verifies');
    const newId = r.json.results[2].id;
    assert.equal(cookieOf(r).value, createIdSigner('new').sign(newId));
    assert.equal((await run(jar, [['state']], { secret: ['new'] })).json.results[0].id, newId);
  });

  it('useCookies: false: the id comes from the id option, no cookie is read or written', async () => {
    const jar = new CookieJar(server.url);
    const created = await run(jar, [['set', 'a', 1], ['save'], ['state']], { useCookies: false });
    assert.deepEqual(created.setCookie, []);
    const id = created.json.results[2].id;
    // A cookie with that id is ignored without cookies...
    jar.store([`myghty_session_id=${id}`]);
    assert.notEqual((await run(jar, [['state']], { useCookies: false })).json.results[0].id, id);
    // ...the id option is what counts (e.g. taken from the URL).
    const byId = await run(new CookieJar(server.url), [['state'], ['get', 'a'], ['invalidate'], ['set', 'b', 2], ['save']], { useCookies: false, id });
    assert.equal(byId.json.results[0].id, id);
    assert.equal(byId.json.results[1], 1);
    assert.deepEqual(byId.setCookie, []);

    // No response object at all.
    const dir = tempDir('nocookie').dir;
    try {
      const s = await Session.open(undefined, undefined, { dataDir: dir, useCookies: false });
      s.set('x', 'y');
      await s.save();
      const t = await Session.open(undefined, undefined, { dataDir: dir, useCookies: false, id: s.id });
      assert.equal(t.isNew, false);
      assert.equal(t.get('x'), 'y');
      await t.delete();
      await t.regenerateId();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the id option with a secret takes the signed form (externalId) and the bare id (session.id) alike', async () => {
    const secret = 's3cret';
    const first = await Session.open(undefined, undefined, { type: 'memory', useCookies: false, secret });
    first.set('a', 1);
    await first.save();
    const signed = await Session.open(undefined, undefined, { type: 'memory', useCookies: false, secret, id: first.externalId });
    assert.equal(signed.id, first.id);
    assert.equal(signed.get('a'), 1);
    const bare = await Session.open(undefined, undefined, { type: 'memory', useCookies: false, secret, id: first.id });
    assert.equal(bare.id, first.id, 'the id the documentation puts in URLs is accepted');
    assert.equal(bare.get('a'), 1);
    // A forged signature is still no session, as is an unknown id.
    const forged = await Session.open(undefined, undefined, { type: 'memory', useCookies: false, secret, id: `${'0'.repeat(32)}${first.id}` });
    assert.notEqual(forged.id, first.id);
    assert.equal(forged.isNew, true);
  });

  it('the id option with cookies on wins over the cookie, and the cookie is then set to it on save', async () => {
    const jar = new CookieJar(server.url);
    const a = (await run(jar, [['set', 'n', 'a'], ['save'], ['state']])).json.results[2].id;
    const b = (await run(new CookieJar(server.url), [['set', 'n', 'b'], ['save'], ['state']])).json.results[2].id;
    const r = await run(jar, [['get', 'n'], ['save']], { id: b });
    assert.equal(r.json.results[0], 'b');
    assert.match(r.setCookie[0], new RegExp(`=${b};`));
    assert.notEqual(a, b);
  });

  it("sync: 'commit' stores the same data", async () => {
    const jar = new CookieJar(server.url);
    await run(jar, [['set', 'a', 1], ['save']], { sync: 'commit' });
    assert.equal((await run(jar, [['get', 'a']], { sync: 'commit' })).json.results[0], 1);
  });
});

describe('Set-Cookie serialization', () => {
  it('writes exactly what cookie@1 stringifySetCookie writes, for every combination of attributes', async () => {
    const { serializeCookie, serializeExpiredCookie } = await import('../dist/session/cookies.js');
    const { stringifySetCookie } = await import('cookie');
    let n = 0;
    for (const path of ['/', '/app'])
      for (const domain of [undefined, 'example.test'])
        for (const secure of [false, true])
          for (const httpOnly of [false, true])
            for (const sameSite of ['lax', 'strict', 'none', false])
              for (const [expires, maxAge] of [
                [undefined, undefined],
                [new Date(Date.UTC(2031, 0, 2, 3, 4, 5)), 3600],
                [new Date(Date.UTC(9999, 11, 31, 23, 59, 59)), undefined],
              ]) {
                const a = { path, domain, secure, httpOnly, sameSite, expires, maxAge };
                const reference = stringifySetCookie('sid', 'ab12', { path, domain, secure, httpOnly, sameSite: sameSite || undefined, expires, maxAge });
                assert.equal(serializeCookie('sid', 'ab12', a), reference);
                assert.equal(
                  serializeExpiredCookie('sid', a),
                  stringifySetCookie('sid', '', { path, domain, secure, httpOnly, sameSite: sameSite || undefined, expires: new Date(0), maxAge: 0 }),
                );
                n++;
              }
    assert.equal(n, 2 * 2 * 2 * 2 * 4 * 3);
  });

  it('cookie options that cookie@1 would not write are rejected when the options are checked', () => {
    assert.throws(
      () => new Session(noReq, fakeRes(), { type: 'memory', domain: '-bad-.example' }),
      /cookie options do not make a valid Set-Cookie header: option domain is invalid/,
    );
  });
});

describe('Session options: logFile', () => {
  it('writes loaded/saved/locked/invalidated lines with the reason to a stream, with only an id prefix', async () => {
    const lines = [];
    const stream = new PassThrough();
    stream.on('data', (c) => lines.push(...String(c).split('\n').filter(Boolean)));
    let now = Date.UTC(2030, 0, 1);
    const opts = { type: 'memory', logFile: stream, timeout: 10, now: () => now };
    const res = fakeRes();
    const s = await Session.open(noReq, res, opts);
    s.set('a', 1);
    await s.save();
    const cookie = res.headers['set-cookie'][0].split(';')[0];
    const t = await Session.open({ headers: { cookie } }, fakeRes(), opts);
    await t.lock();
    await t.unlock();
    now += 11_000;
    await Session.open({ headers: { cookie } }, fakeRes(), opts);
    const text = lines.join('\n');
    assert.match(text, /2030-01-01T00:00:00\.000Z wasm-session [0-9a-f]{8}…: new session/);
    assert.match(text, /saved 1 changed and 0 deleted key\(s\)/);
    assert.match(text, /cookie sent/);
    assert.match(text, /loaded 1 key\(s\)/);
    assert.match(text, /: locked/);
    assert.match(text, /: unlocked/);
    assert.match(text, /invalidated [0-9a-f]{8}… \(timed out: idle 11 s, timeout 10 s\); new session/);
    assert.equal(text.includes(s.id), false, 'full ids (bearer secrets) stay out of logs');
  });

  it('appends to a file given by path', async () => {
    const dir = tempDir('log').dir;
    try {
      const file = path.join(dir, 'session.log');
      fs.writeFileSync(file, 'existing line\n');
      const s = await Session.open(noReq, fakeRes(), { type: 'memory', logFile: file });
      s.set('a', 1);
      await s.save();
      await s.invalidate();
      // Written asynchronously through a stream: poll until the lines arrive.
      let text = '';
      for (let i = 0; i < 200 && !text.includes('invalidated'); i++) {
        await new Promise((r) => setTimeout(r, 5));
        text = fs.readFileSync(file, 'utf8');
      }
      assert.match(text, /^existing line\n/);
      assert.match(text, /new session\n/);
      assert.match(text, /saved 1 changed/);
      assert.match(text, /invalidated [0-9a-f]{8}… \(invalidate\(\) called\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('getSession(req, res, config): Myghty snake_case names', () => {
  let dir;
  beforeEach(() => {
    dir = tempDir('getsession').dir;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('strips the session_ prefix and maps the names (session_data_dir, session_cookie_expires, session_key, ...)', async () => {
    const res = fakeRes();
    const s = await getSession(noReq, res, {
      session_data_dir: dir,
      session_cookie_expires: 60,
      session_key: 'mysid',
      session_timeout: 30,
      session_secret: 'k',
      session_invalidate_corrupt: true,
      session_cookie_path: '/p',
      session_http_only: false,
      unrelated_app_setting: 1,
    });
    s.set('a', 1);
    await s.save();
    const c = parseSetCookie(res.headers['set-cookie'][0]);
    assert.equal(c.name, 'mysid');
    assert.equal(c.attrs['max-age'], '60');
    assert.equal(c.attrs.path, '/p');
    assert.equal(c.attrs.httponly, undefined);
    assert.equal(c.value.length, 64);
    assert.equal(s.timeout, 30);
    assert.equal(s.secret, 'k');
    assert.ok(s.namespace.file.path.startsWith(dir + path.sep));
  });

  it('a general data_dir alone puts sessions under <data_dir>/sessions; session_data_dir wins over it', async () => {
    const s = await getSession(noReq, fakeRes(), { data_dir: dir });
    s.set('a', 1);
    await s.save();
    assert.equal(sessionFiles(path.join(dir, 'sessions')).length, 1);
    const t = await getSession(noReq, fakeRes(), { data_dir: dir, session_data_dir: path.join(dir, 'own') });
    t.set('a', 1);
    await t.save();
    assert.equal(sessionFiles(path.join(dir, 'own')).length, 1);
  });

  it('session_type memory, session_use_cookies false with session_id', async () => {
    const a = await getSession(undefined, undefined, { session_type: 'memory', session_use_cookies: false });
    a.set('x', 1);
    await a.save();
    const b = await getSession(undefined, undefined, { session_type: 'memory', session_use_cookies: false, session_id: a.id });
    assert.equal(b.get('x'), 1);
    assert.ok(b.namespace instanceof MemoryNamespace);
  });

  it('an unknown session_ name, a name given twice, or a bad value is a TypeError naming it', async () => {
    await assert.rejects(getSession(noReq, fakeRes(), { session_dbm_engine: 'gdbm', data_dir: dir }), /unknown session option "session_dbm_engine"/);
    // session_dbmmodule is known (option dbmModule): a module that cannot be loaded is the error.
    await assert.rejects(getSession(noReq, fakeRes(), { session_dbmmodule: 'gdbm', data_dir: dir }), /option dbmModule: cannot load "gdbm"/);
    await assert.rejects(getSession(noReq, fakeRes(), { session_path: '/a', session_cookie_path: '/b', data_dir: dir }), /given twice/);
    await assert.rejects(getSession(noReq, fakeRes(), { session_timeout: -1, data_dir: dir }), /option timeout/);
    await assert.rejects(getSession(noReq, fakeRes(), { data_dir: 7 }), /option data_dir must be a non-empty path/);
    await assert.rejects(getSession(noReq, fakeRes(), 'config'), /option config must be an object/);
  });
});
