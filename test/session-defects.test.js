// Issue 8 item 3, the smaller defects, each with the case that showed it:
// secrets rotated in place, stores handed secrets, a quadratic Cookie
// parser, no size limit, one memory map for every application, values with
// an own __proto__ key, a synchronous log append per line, and the id
// option with a secret.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { MemoryNamespace, Session, SessionError, storeOptions } from 'wasm-session/session';
import { readCookieValues } from '../dist/session/cookies.js';
import { tempDir, waitFor } from './helpers/index.js';

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
const cookieOf = (res, key = KEY) => res.headers['set-cookie'].find((l) => l.startsWith(`${key}=`)).split(';')[0];
const withCookie = (cookie) => ({ headers: { cookie } });

describe('secrets rotated by editing the options array in place', () => {
  it('a cookie signed with a removed secret no longer verifies; one with the new secret does', async () => {
    const options = { type: 'memory', secret: ['old secret'] };
    const res = fakeRes();
    const s = await Session.open(withCookie(''), res, options);
    s.set('user', 'ann');
    await s.save();
    const oldCookie = cookieOf(res);
    assert.equal((await Session.open(withCookie(oldCookie), fakeRes(), options)).get('user'), 'ann');

    // Rotation in place: new secret first, the old one still accepted.
    options.secret.unshift('new secret');
    const res2 = fakeRes();
    const rotated = await Session.open(withCookie(oldCookie), res2, options);
    assert.equal(rotated.get('user'), 'ann');
    assert.notEqual(rotated.externalId, oldCookie.split('=')[1], 'ids are now signed with the new secret');

    // The old secret removed in place: its cookie is no session any more.
    options.secret.pop();
    const after = await Session.open(withCookie(oldCookie), fakeRes(), options);
    assert.equal(after.isNew, true);
    assert.equal(after.get('user'), undefined);
    assert.equal((await Session.open(withCookie(`${KEY}=${rotated.externalId}`), fakeRes(), options)).get('user'), 'ann');
  });

  it('the session exposes a copy of the secrets, not the caller array', async () => {
    const secrets = ['a secret'];
    const s = await Session.open(withCookie(''), fakeRes(), { type: 'memory', secret: secrets });
    assert.deepEqual(s.secret, ['a secret']);
    assert.notEqual(s.secret, secrets);
    assert.ok(Object.isFrozen(s.secret));
  });
});

describe('stores are given options without secrets', () => {
  it('a custom store sees the store options (dataDir, timeouts, namespaceOptions), never secret or signer', async () => {
    let seen;
    class Spy {
      constructor(_id, options) {
        seen = options;
      }
      async load() {
        return null;
      }
      async save() {
        return 'ok';
      }
      async remove() {}
    }
    await Session.open(withCookie(''), fakeRes(), { namespaceClass: Spy, secret: 'top secret', timeout: 60, namespaceOptions: { table: 't' } });
    assert.equal(seen.timeout, 60);
    assert.deepEqual(seen.namespaceOptions, { table: 't' });
    assert.equal('secret' in seen, false);
    assert.equal('signer' in seen, false);
    assert.equal(JSON.stringify(seen).includes('top secret'), false);
    assert.ok(Object.isFrozen(seen));
    assert.deepEqual(Object.keys(storeOptions({ type: 'memory', secret: 'x' })).includes('secret'), false);
  });
});

describe('Cookie header parsing is linear', () => {
  /** Median time of `fn` over a few runs (ms). */
  function timeOf(fn) {
    const runs = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      fn();
      runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return runs.sort((a, b) => a - b)[2];
  }

  it("a 256 KiB header of 'a;a;...' costs about what an ordinary header of the same size costs", () => {
    const size = 256 * 1024;
    const hostile = 'a;'.repeat(size / 2);
    const ordinary = Array.from({ length: size / 16 }, (_, i) => `c${i.toString(36).padStart(5, '0')}=v12345`)
      .join('; ')
      .slice(0, size);
    assert.deepEqual(readCookieValues(hostile, KEY), []);
    const tHostile = timeOf(() => readCookieValues(hostile, KEY));
    const tOrdinary = timeOf(() => readCookieValues(ordinary, KEY));
    // Quadratic parsing made the hostile header ~1000x the ordinary one (870 ms); linear keeps them within a small factor.
    assert.ok(tHostile < 10 * tOrdinary + 5, `hostile ${tHostile.toFixed(2)} ms vs ordinary ${tOrdinary.toFixed(2)} ms`);
  });

  it('still finds our cookie among others, with spaces, quotes and %-escapes, and several of them in order', () => {
    assert.deepEqual(readCookieValues(' a=1;  myghty_session_id = "x%41" ;b; myghty_session_id=y', KEY), ['xA', 'y']);
    assert.deepEqual(readCookieValues(['a=1', 'myghty_session_id=z'], KEY), ['z']);
    assert.deepEqual(readCookieValues('xmyghty_session_id=1; myghty_session_idx=2', KEY), []);
  });
});

describe('maxSessionBytes', () => {
  for (const type of ['memory', 'dbm']) {
    it(`${type}: a save over the limit is a SessionError (ERR_SESSION_TOO_LARGE) and writes nothing`, async () => {
      const tmp = tempDir('limits');
      try {
        const options = type === 'dbm' ? { dataDir: tmp.dir, maxSessionBytes: 4096 } : { type, maxSessionBytes: 4096 };
        const res = fakeRes();
        const s = await Session.open(withCookie(''), res, options);
        s.set('small', 'x'.repeat(100));
        assert.equal(await s.save(), true);
        const cookie = cookieOf(res);
        const again = await Session.open(withCookie(cookie), fakeRes(), options);
        again.set('big', 'y'.repeat(5000));
        again.set('small', 'changed');
        await assert.rejects(again.save(), (err) => err instanceof SessionError && err.code === 'ERR_SESSION_TOO_LARGE' && /maxSessionBytes/.test(err.message));
        const stored = await Session.open(withCookie(cookie), fakeRes(), options);
        assert.deepEqual(stored.keys(), ['small']);
        assert.equal(stored.get('small'), 'x'.repeat(100), 'nothing of the refused save was written');
      } finally {
        tmp.cleanup();
      }
    });

    it(`${type}: a stored session over the limit is corrupt at load (SessionCorruptError, or a fresh session with invalidateCorrupt)`, async () => {
      const tmp = tempDir('limits');
      try {
        const base = type === 'dbm' ? { dataDir: tmp.dir } : { type, key: 'limit_load' };
        const res = fakeRes();
        const s = await Session.open(withCookie(''), res, base);
        s.set('big', 'y'.repeat(10_000));
        await s.save();
        const cookie = cookieOf(res, base.key ?? KEY);
        await assert.rejects(Session.open(withCookie(cookie), fakeRes(), { ...base, maxSessionBytes: 4096 }), (err) => err.code === 'ERR_SESSION_CORRUPT');
        const fresh = await Session.open(withCookie(cookie), fakeRes(), { ...base, maxSessionBytes: 4096, invalidateCorrupt: true });
        assert.equal(fresh.wasInvalidated, true);
        assert.equal(fresh.size, 0);
      } finally {
        tmp.cleanup();
      }
    });
  }

  for (const type of ['memory', 'dbm']) {
    it(`${type}: the size is counted exactly (keys plus encoded values) across updates, removals and a second save in one request`, async () => {
      const tmp = tempDir('limits');
      try {
        // 'x' x 1000 encodes as a str16: 3 + 1000 bytes; with a one-letter key, 1004 per entry.
        const big = 'x'.repeat(1000);
        const options = type === 'dbm' ? { dataDir: tmp.dir, maxSessionBytes: 3 * 1004 } : { type, key: `exact_${type}`, maxSessionBytes: 3 * 1004 };
        const key = options.key ?? KEY;
        const res = fakeRes();
        const s = await Session.open(withCookie(''), res, options);
        s.set('a', big).set('b', big).set('c', big);
        assert.equal(await s.save(), true, 'exactly at the limit');
        const cookie = cookieOf(res, key);
        const over = await Session.open(withCookie(cookie), fakeRes(), options);
        over.set('d', big);
        await assert.rejects(over.save(), (err) => err.code === 'ERR_SESSION_TOO_LARGE' && /4016 bytes/.test(err.message));
        const swap = await Session.open(withCookie(cookie), fakeRes(), options);
        swap.remove('c');
        swap.set('d', big);
        assert.equal(await swap.save(), true, 'one out, one in: still at the limit');
        swap.set('a', `${big}y`);
        await assert.rejects(swap.save(), (err) => err.code === 'ERR_SESSION_TOO_LARGE' && /3013 bytes/.test(err.message));
        swap.set('a', 'small');
        assert.equal(await swap.save(), true);
        const back = await Session.open(withCookie(cookie), fakeRes(), options);
        assert.deepEqual(back.keys().sort(), ['a', 'b', 'd']);
        // a: 1 + 6 ('small' is a fixstr), b and d: 1004 each: 2015 stored, 997 left: key 'e' + str16 of 993.
        back.set('e', 'x'.repeat(993));
        assert.equal(await back.save(), true, 'exactly the room left after the shrink');
        back.set('f', 1);
        await assert.rejects(back.save(), (err) => err.code === 'ERR_SESSION_TOO_LARGE' && /3014 bytes/.test(err.message));
      } finally {
        tmp.cleanup();
      }
    });
  }

  it('the default is 1 MiB, and the option is validated', async () => {
    const s = await Session.open(withCookie(''), fakeRes(), { type: 'memory' });
    s.set('v', Buffer.alloc(1024 * 1024 + 1));
    await assert.rejects(s.save(), (err) => err.code === 'ERR_SESSION_TOO_LARGE');
    const ok = await Session.open(withCookie(''), fakeRes(), { type: 'memory' });
    ok.set('v', Buffer.alloc(1000 * 1000));
    assert.equal(await ok.save(), true);
    for (const bad of [0, -1, 1.5, '1000', Number.NaN]) {
      assert.throws(() => new Session(withCookie(''), fakeRes(), { type: 'memory', maxSessionBytes: bad }), /maxSessionBytes/);
    }
  });
});

describe('the memory store: one space per application, optionally bounded', () => {
  afterEach(() => MemoryNamespace.clear());

  it("an app with another cookie name does not accept another app's ids or data", async () => {
    const resA = fakeRes();
    const a = await Session.open(withCookie(''), resA, { type: 'memory', key: 'app_a' });
    a.set('user', 'ann');
    await a.save();
    const id = a.id;
    // App B, same process, another cookie: the id from A's cookie, under B's name, is no session there.
    const b = await Session.open(withCookie(`app_b=${id}`), fakeRes(), { type: 'memory', key: 'app_b' });
    assert.equal(b.isNew, true);
    assert.notEqual(b.id, id);
    assert.equal(b.get('user'), undefined);
    // And with the id option, which bypasses cookies, neither.
    const c = await Session.open(undefined, undefined, { type: 'memory', key: 'app_b', useCookies: false, id });
    assert.equal(c.isNew, true);
    assert.equal((await Session.open(withCookie(`app_a=${id}`), fakeRes(), { type: 'memory', key: 'app_a' })).get('user'), 'ann');
  });

  it("one app's timeout sweep never removes another app's sessions", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const longLived = fakeRes();
    const keep = await Session.open(withCookie(''), longLived, { type: 'memory', key: 'app_keep', now: clock });
    keep.set('user', 'bob');
    await keep.save();
    now += 10 * 60_000; // ten minutes: beyond app_short's timeout, and past its sweep interval
    const short = await Session.open(withCookie(''), fakeRes(), { type: 'memory', key: 'app_short', timeout: 60, now: clock });
    short.set('x', 1);
    await short.save(); // sweeps app_short's space only
    const back = await Session.open(withCookie(cookieOf(longLived, 'app_keep')), fakeRes(), { type: 'memory', key: 'app_keep', now: clock });
    assert.equal(back.get('user'), 'bob');
  });

  it('memory.maxEntries keeps at most that many sessions, evicting the least recently used', async () => {
    const options = { type: 'memory', key: 'bounded', memory: { maxEntries: 3 } };
    const cookies = [];
    for (let i = 0; i < 3; i++) {
      const res = fakeRes();
      const s = await Session.open(withCookie(''), res, options);
      s.set('n', i);
      await s.save();
      cookies.push(cookieOf(res, 'bounded'));
    }
    // Use session 0, so session 1 is the least recently used; then a fourth arrives.
    assert.equal((await Session.open(withCookie(cookies[0]), fakeRes(), options)).get('n'), 0);
    const res = fakeRes();
    const fourth = await Session.open(withCookie(''), res, options);
    fourth.set('n', 3);
    await fourth.save();
    const alive = [];
    for (const c of [...cookies, cookieOf(res, 'bounded')]) alive.push((await Session.open(withCookie(c), fakeRes(), options)).get('n') ?? null);
    assert.deepEqual(alive, [0, null, 2, 3]);
    assert.throws(() => new Session(withCookie(''), fakeRes(), { type: 'memory', memory: { maxEntries: 0 } }), /memory.maxEntries/);
    assert.throws(() => new Session(withCookie(''), fakeRes(), { type: 'memory', memory: { max: 1 } }), /memory.max/);
  });
});

describe('values with an own __proto__ key', () => {
  it('are refused at save() with a clear error, and nothing is written', async () => {
    const s = await Session.open(withCookie(''), fakeRes(), { type: 'memory' });
    s.set('ok', 1);
    s.set('evil', JSON.parse('{"__proto__": {"admin": true}, "name": "x"}'));
    await assert.rejects(s.save(), (err) => err instanceof SessionError && err.code === 'ERR_SESSION_VALUE' && /__proto__/.test(err.message));
    assert.equal(MemoryNamespace.snapshot(s.id), null);
    // Nested too.
    const t = await Session.open(withCookie(''), fakeRes(), { type: 'memory' });
    t.set('deep', { list: [JSON.parse('{"__proto__": 1}')] });
    await assert.rejects(t.save(), /__proto__/);
    // An ordinary key named like it inside a Map is fine (Maps keep their keys).
    const u = await Session.open(withCookie(''), fakeRes(), { type: 'memory' });
    u.set('m', new Map([['__proto__', 1]]));
    assert.equal(await u.save(), true);
  });
});

describe('logFile given as a path', () => {
  it('writes through a stream: no synchronous file write on the request path, and every line arrives', async () => {
    const tmp = tempDir('log');
    const file = tmp.file('session.log');
    const calls = [];
    const originals = {};
    for (const name of ['appendFileSync', 'writeFileSync', 'writeSync']) {
      originals[name] = fs[name];
      fs[name] = function (...args) {
        calls.push(name);
        return originals[name].apply(this, args);
      };
    }
    syncBuiltinESMExports();
    try {
      const s = await Session.open(withCookie(''), fakeRes(), { type: 'memory', logFile: file });
      s.set('a', 1);
      await s.save();
      await s.invalidate();
      assert.deepEqual(calls, [], 'no synchronous writes while handling the request');
    } finally {
      Object.assign(fs, originals);
      syncBuiltinESMExports();
    }
    await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('invalidated'), { timeout: 5000, message: 'log lines' });
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /new session\n.*saved 1 changed.*\n.*cookie sent\n.*invalidated/s);
    tmp.cleanup();
  });
});
