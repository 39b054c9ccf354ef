// The Session through a real node:http server and a real client (fetch with
// a cookie jar), for the dbm store, the memory store and a custom
// namespaceClass: data methods, what save() writes, the Set-Cookie rules,
// delete/invalidate/regenerateId, locking, timeouts on a controllable clock.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';
import { Session, MemoryNamespace, SessionError } from 'wasm-session/session';
import { sessionHandler } from './fixtures/session/app.js';
import { tempDir } from './helpers/index.js';
import { CookieJar, sessionFiles, startServer } from './helpers/http.js';

/** A small custom store with only the required methods, recording every call. */
class RecordingMapNamespace {
  static sessions = new Map();
  static calls = [];

  constructor(id, options) {
    this.id = id;
    this.options = options;
  }

  async load(accessed) {
    RecordingMapNamespace.calls.push({ op: 'load', id: this.id });
    const entry = RecordingMapNamespace.sessions.get(this.id);
    if (!entry) return null;
    const stored = { data: new Map(entry.data), created: entry.created, accessed: entry.accessed };
    entry.accessed = accessed;
    return stored;
  }

  async save(changes) {
    RecordingMapNamespace.calls.push({ op: 'save', id: this.id, set: [...changes.set.keys()], delete: [...changes.delete] });
    const entry = RecordingMapNamespace.sessions.get(this.id) ?? { data: new Map() };
    for (const key of changes.delete) entry.data.delete(key);
    for (const [key, bytes] of changes.set) entry.data.set(key, Buffer.from(bytes));
    entry.created = changes.created;
    entry.accessed = changes.accessed;
    RecordingMapNamespace.sessions.set(this.id, entry);
  }

  async remove() {
    RecordingMapNamespace.calls.push({ op: 'remove', id: this.id });
    RecordingMapNamespace.sessions.delete(this.id);
  }
}

/** What each store holds for an id: { keys, values (decoded), created, accessed } or null. */
const inspectors = {
  async dbm(id, dataDir) {
    const file = path.join(dataDir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);
    if (!fs.existsSync(file)) return null;
    const db = await Dbm.open(file, { flag: 'r' });
    try {
      const values = {};
      for await (const [k, v] of db.entries()) values[k] = v;
      return { keys: Object.keys(values).sort(), values, ...db.times };
    } finally {
      await db.close();
    }
  },
  async memory(id) {
    const s = MemoryNamespace.snapshot(id);
    if (!s) return null;
    const { msgpackCodec } = await import('../dist/codec.js');
    const values = Object.fromEntries([...s.data].map(([k, b]) => [k, msgpackCodec.decode(b)]));
    return { keys: Object.keys(values).sort(), values, created: s.created, accessed: s.accessed };
  },
  async custom(id) {
    const e = RecordingMapNamespace.sessions.get(id);
    if (!e) return null;
    const { msgpackCodec } = await import('../dist/codec.js');
    const values = Object.fromEntries([...e.data].map(([k, b]) => [k, msgpackCodec.decode(b)]));
    return { keys: Object.keys(values).sort(), values, created: e.created, accessed: e.accessed };
  },
};

const T0 = Date.UTC(2030, 0, 1);

for (const kind of ['dbm', 'memory', 'custom']) {
  describe(`Session over HTTP, ${kind} store`, function () {
    this.timeout(30000);
    let dataDir;
    let server;
    const clock = { now: T0 };
    const base = () => ({
      ...(kind === 'dbm' ? { type: 'dbm', dataDir } : kind === 'memory' ? { type: 'memory' } : { namespaceClass: RecordingMapNamespace }),
      now: () => clock.now,
    });
    const stored = (id) => inspectors[kind](id, dataDir);
    const run = (jar, steps, options) => jar.request('/', { method: 'POST', body: { steps, options } });
    const newJar = () => new CookieJar(server.url);

    before(async () => {
      dataDir = tempDir('http').dir;
      server = await startServer(sessionHandler(base()));
    });
    after(async () => {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    beforeEach(() => {
      clock.now = T0;
      RecordingMapNamespace.calls.length = 0;
    });

    it('a new session that is never saved stores nothing and sends no cookie', async () => {
      const jar = newJar();
      const r = await run(jar, [['state'], ['keys'], ['set', 'a', 1], ['remove', 'a']]);
      assert.equal(r.status, 200, r.text);
      const [state, keys] = r.json.results;
      assert.match(state.id, /^[0-9a-f]{32}$/);
      assert.equal(state.isNew, true);
      assert.equal(state.wasInvalidated, false);
      assert.deepEqual(keys, []);
      assert.deepEqual(r.setCookie, []);
      assert.equal(await stored(state.id), null);
      if (kind === 'dbm')
        assert.deepEqual(
          sessionFiles(dataDir).filter((f) => f.includes(state.id)),
          [],
        );
    });

    it('save() of a new session without data stores nothing and sends no cookie', async () => {
      const jar = newJar();
      const r = await run(jar, [['save'], ['state']]);
      assert.deepEqual(r.setCookie, []);
      assert.equal(await stored(r.json.results[1].id), null);
    });

    it('the first save stores the data and sends the cookie; the next request loads it without a cookie', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'user', 'ann'], ['set', 'n', 1], ['save'], ['state']]);
      const id = first.json.results[3].id;
      assert.equal(first.setCookie.length, 1);
      assert.match(first.setCookie[0], new RegExp(`^myghty_session_id=${id}; Path=/; HttpOnly; SameSite=Lax$`));
      assert.deepEqual((await stored(id)).keys, ['n', 'user']);
      assert.equal((await stored(id)).created, T0);

      clock.now = T0 + 61_000; // past the touch interval, so this read-only save records the access
      const second = await run(jar, [['state'], ['get', 'user'], ['get', 'n'], ['has', 'user'], ['has', 'nope'], ['keys'], ['size'], ['entries'], ['save']]);
      const [state, user, n, hasUser, hasNope, keys, size, entries] = second.json.results;
      assert.equal(state.id, id);
      assert.equal(state.isNew, false);
      assert.equal(state.created, T0);
      assert.equal(state.accessed, T0, 'accessed is the previous access');
      assert.equal(user, 'ann');
      assert.equal(n, 1);
      assert.equal(hasUser, true);
      assert.equal(hasNope, false);
      assert.deepEqual(keys.sort(), ['n', 'user']);
      assert.equal(size, 2);
      assert.deepEqual(entries.sort(), [
        ['n', 1],
        ['user', 'ann'],
      ]);
      assert.deepEqual(second.setCookie, [], 'no cookie for a session the client already has');
      assert.equal((await stored(id)).accessed, T0 + 61_000, 'loading records the access');
    });

    it('save() writes only what changed: set, removed and in-place mutated keys', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'list', [1]], ['set', 'obj', { a: 1 }], ['set', 'keep', 'k'], ['set', 'gone', 'g'], ['save'], ['state']]);
      const id = first.json.results[5].id;
      RecordingMapNamespace.calls.length = 0;
      await run(jar, [['push', 'list', 2], ['mutate', 'obj', 'b', 2], ['get', 'keep'], ['remove', 'gone'], ['set', 'new', true], ['save']]);
      const s = await stored(id);
      assert.deepEqual(s.keys, ['keep', 'list', 'new', 'obj']);
      assert.deepEqual(s.values.list, [1, 2], 'an in-place push is detected');
      assert.deepEqual(s.values.obj, { a: 1, b: 2 }, 'an in-place property change is detected');
      if (kind === 'custom') {
        const save = RecordingMapNamespace.calls.find((c) => c.op === 'save');
        assert.deepEqual(save.set.sort(), ['list', 'new', 'obj'], 'unchanged keys are not written');
        assert.deepEqual(save.delete, ['gone']);
      }
    });

    it('setting a value equal to the stored one writes nothing but the access time', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'a', { x: [1, 2] }], ['save'], ['state']]);
      const id = first.json.results[2].id;
      RecordingMapNamespace.calls.length = 0;
      clock.now = T0 + 60_000;
      await run(jar, [['set', 'a', { x: [1, 2] }], ['get', 'a'], ['save']]);
      const s = await stored(id);
      assert.equal(s.accessed, T0 + 60_000);
      assert.deepEqual(s.values, { a: { x: [1, 2] } });
      if (kind === 'custom') {
        // This store has neither read() nor touch(): its load() recorded the access, and the unchanged save writes nothing.
        assert.deepEqual(
          RecordingMapNamespace.calls.filter((c) => c.op === 'save'),
          [],
        );
      }
    });

    it('two concurrent requests changing different keys both keep their changes', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'a', 0], ['set', 'b', 0], ['set', 'c', 'drop me'], ['save'], ['state']]);
      const id = first.json.results[4].id;
      // Both load first; the slow one saves after the fast one.
      const slow = run(jar, [['set', 'a', 'slow'], ['remove', 'c'], ['sleep', 300], ['save']]);
      const fast = run(jar, [['set', 'b', 'fast'], ['set', 'added', 'by fast'], ['save']]);
      const [rs, rf] = await Promise.all([slow, fast]);
      assert.equal(rs.status, 200, rs.text);
      assert.equal(rf.status, 200, rf.text);
      const s = await stored(id);
      assert.deepEqual(s.values, { a: 'slow', b: 'fast', added: 'by fast' });
    });

    it('clear() then save() deletes every stored key', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'a', 1], ['set', 'b', 2], ['save'], ['state']]);
      const id = first.json.results[3].id;
      const r = await run(jar, [['clear'], ['keys'], ['save']]);
      assert.deepEqual(r.json.results[1], []);
      assert.deepEqual((await stored(id)).keys, []);
    });

    it('delete() removes the storage and expires the cookie; the session stays usable and a later save() stores the new data', async () => {
      const jar = newJar();
      const first = await run(jar, [['set', 'a', 1], ['save'], ['state']]);
      const id = first.json.results[2].id;
      const del = await run(jar, [['delete'], ['keys'], ['state']]);
      assert.deepEqual(del.json.results[1], []);
      assert.equal(del.json.results[2].id, id);
      assert.equal(await stored(id), null);
      assert.equal(del.setCookie.length, 1);
      assert.match(del.setCookie[0], /^myghty_session_id=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
      assert.equal(jar.cookies.size, 0, 'the client dropped the cookie');

      // Same response: delete, then new data, then save: one cookie line, the live one.
      const jar2 = newJar();
      const id2 = (await run(jar2, [['set', 'a', 1], ['save'], ['state']])).json.results[2].id;
      const again = await run(jar2, [['delete'], ['set', 'b', 2], ['save'], ['state']]);
      assert.equal(again.json.results[3].id, id2);
      assert.equal(again.setCookie.length, 1);
      assert.match(again.setCookie[0], new RegExp(`^myghty_session_id=${id2};`));
      assert.deepEqual((await stored(id2)).values, { b: 2 });
    });

    it('delete() of a session the client has no cookie for sends no Set-Cookie', async () => {
      const r = await run(newJar(), [['set', 'a', 1], ['delete'], ['state']]);
      assert.deepEqual(r.setCookie, []);
      assert.equal(await stored(r.json.results[2].id), null);
    });

    it('invalidate() removes the storage, issues a new id and expires the cookie; save() then sends the new one', async () => {
      const jar = newJar();
      const id = (await run(jar, [['set', 'user', 'ann'], ['save'], ['state']])).json.results[2].id;
      const inv = await run(jar, [['invalidate'], ['state'], ['keys']]);
      const state = inv.json.results[1];
      assert.notEqual(state.id, id);
      assert.equal(state.isNew, true);
      assert.equal(state.wasInvalidated, true);
      assert.deepEqual(inv.json.results[2], []);
      assert.equal(await stored(id), null);
      assert.equal(inv.setCookie.length, 1);
      assert.match(inv.setCookie[0], /^myghty_session_id=; Max-Age=0;/);

      const jar2 = newJar();
      const old2 = (await run(jar2, [['set', 'user', 'bob'], ['save'], ['state']])).json.results[2].id;
      const r = await run(jar2, [['invalidate'], ['set', 'guest', true], ['save'], ['state']]);
      const fresh = r.json.results[3].id;
      assert.notEqual(fresh, old2);
      assert.equal(r.setCookie.length, 1, 'the expiry is replaced by the new cookie in the same response');
      assert.match(r.setCookie[0], new RegExp(`^myghty_session_id=${fresh};`));
      assert.equal(await stored(old2), null);
      assert.deepEqual((await stored(fresh)).values, { guest: true });
      const next = await run(jar2, [['state'], ['get', 'user'], ['get', 'guest']]);
      assert.deepEqual(next.json.results.slice(1), [null, true]);
      assert.equal(next.json.results[0].id, fresh);
    });

    it('regenerateId() keeps the data (unsaved changes too) under a new id, removes the old storage and sends the new cookie', async () => {
      const jar = newJar();
      const oldCookie = () => jar.header();
      const id = (await run(jar, [['set', 'cart', [1, 2]], ['save'], ['state']])).json.results[2].id;
      const before = oldCookie();
      const r = await run(jar, [['set', 'user', 'ann'], ['regenerateId'], ['state']]);
      const state = r.json.results[2];
      assert.notEqual(state.id, id);
      assert.equal(state.isNew, false);
      assert.equal(state.wasInvalidated, false);
      assert.equal(state.created, T0, 'the session keeps its creation time');
      assert.equal(r.setCookie.length, 1);
      assert.match(r.setCookie[0], new RegExp(`^myghty_session_id=${state.id};`));
      assert.equal(await stored(id), null);
      assert.deepEqual((await stored(state.id)).values, { cart: [1, 2], user: 'ann' });
      // The old id (a fixated one, say) is now no session at all.
      const stale = new CookieJar(server.url);
      stale.store([`${before.split('=')[0]}=${before.split('=')[1]}`]);
      const s = await run(stale, [['state'], ['keys']]);
      assert.equal(s.json.results[0].isNew, true);
      assert.notEqual(s.json.results[0].id, id);
      assert.deepEqual(s.json.results[1], []);
    });

    it('regenerateId() on a never-saved session only changes the id; the first save sends it', async () => {
      const jar = newJar();
      const r = await run(jar, [['state'], ['regenerateId'], ['state'], ['set', 'a', 1], ['save'], ['state']]);
      const [s1, , s2, , , s3] = r.json.results;
      assert.notEqual(s1.id, s2.id);
      assert.equal(s2.id, s3.id);
      assert.equal(r.setCookie.length, 1);
      assert.match(r.setCookie[0], new RegExp(`^myghty_session_id=${s3.id};`));
      assert.equal(await stored(s1.id), null);
    });

    it('other Set-Cookie headers on the response are kept', async () => {
      const r = await run(newJar(), [['otherCookie', 'theme=dark; Path=/'], ['set', 'a', 1], ['save'], ['otherCookie', 'lang=en']]);
      assert.equal(r.setCookie.length, 3);
      assert.equal(r.setCookie[0], 'theme=dark; Path=/');
      assert.match(r.setCookie[1], /^myghty_session_id=[0-9a-f]{32};/);
      assert.equal(r.setCookie[2], 'lang=en');
    });

    it('a cookie that must go out after the headers were sent is a SessionError, and nothing is stored', async () => {
      const r = await run(newJar(), [['set', 'a', 1], ['flushHeaders'], ['try', ['save']], ['state']]);
      const [, flushed, attempt, state] = r.json.results;
      assert.equal(flushed, true);
      assert.equal(attempt.error.name, 'SessionError');
      assert.equal(attempt.error.code, 'ERR_SESSION_HEADERS_SENT');
      assert.match(attempt.error.message, /headers were already sent/);
      assert.equal(await stored(state.id), null);
      // A save that needs no cookie works after the headers went out.
      const jar = newJar();
      const id = (await run(jar, [['set', 'a', 1], ['save'], ['state']])).json.results[2].id;
      const late = await run(jar, [['flushHeaders'], ['set', 'a', 2], ['try', ['save']]]);
      assert.deepEqual(late.json.results[2], { ok: true });
      assert.deepEqual((await stored(id)).values, { a: 2 });
    });

    it('an idle session older than timeout is invalidated on load; a recent one is kept', async () => {
      const jar = newJar();
      const id = (await run(jar, [['set', 'a', 1], ['save'], ['state']], { timeout: 60 })).json.results[2].id;
      clock.now = T0 + 59_000;
      const kept = await run(jar, [['state'], ['get', 'a']], { timeout: 60 });
      assert.equal(kept.json.results[0].id, id);
      assert.equal(kept.json.results[1], 1);
      // The load above counted as an access: 59 s later it is still alive.
      clock.now = T0 + 118_000;
      assert.equal((await run(jar, [['state']], { timeout: 60 })).json.results[0].id, id);
      clock.now += 60_001;
      const late = await run(jar, [['state'], ['keys']], { timeout: 60 });
      const state = late.json.results[0];
      assert.notEqual(state.id, id);
      assert.equal(state.isNew, true);
      assert.equal(state.wasInvalidated, true);
      assert.deepEqual(late.json.results[1], []);
      assert.equal(await stored(id), null, 'the timed-out storage is removed');
    });

    it('maxLifetime invalidates a session by age even while it is in use', async () => {
      const jar = newJar();
      const opts = { maxLifetime: 3600, timeout: 600 };
      const id = (await run(jar, [['set', 'a', 1], ['save'], ['state']], opts)).json.results[2].id;
      for (let t = 500_000; t <= 3_500_000; t += 500_000) {
        clock.now = T0 + t;
        assert.equal((await run(jar, [['state']], opts)).json.results[0].id, id);
      }
      clock.now = T0 + 3_600_001;
      const s = (await run(jar, [['state']], opts)).json.results[0];
      assert.notEqual(s.id, id);
      assert.equal(s.wasInvalidated, true);
      assert.equal(await stored(id), null);
    });

    it('members: id, key, created, accessed, isNew, wasInvalidated, timeout, namespace', async () => {
      const jar = newJar();
      const r = await run(jar, [['set', 'a', 1], ['save'], ['state']], { timeout: 30, key: 'sid' });
      const s = r.json.results[2];
      assert.equal(s.key, 'sid');
      assert.equal(s.timeout, 30);
      assert.equal(s.created, T0);
      assert.equal(s.accessed, T0);
      assert.equal(s.externalId, s.id);
      if (kind === 'dbm') assert.equal(s.file, path.join(dataDir, s.id.slice(0, 2), s.id.slice(2, 4), `${s.id}.dbm`));
      else assert.equal(s.file, null);
      clock.now = T0 + 1000;
      const again = (await run(jar, [['state']], { timeout: 30, key: 'sid' })).json.results[0];
      assert.equal(again.accessed, T0);
      assert.equal(again.isNew, false);
    });

    it('lock() and unlock() around a read-modify-write', async () => {
      const jar = newJar();
      await run(jar, [['set', 'n', 1], ['save']]);
      const r = await run(jar, [['lock'], ['state'], ['incr', 'n'], ['save'], ['unlock'], ['state']]);
      if (kind === 'custom') {
        assert.equal(r.status, 500);
        assert.equal(r.json.error.code, 'ERR_SESSION_LOCK_UNSUPPORTED');
        assert.match(r.json.error.message, /RecordingMapNamespace does not implement lock\(\)/);
        return;
      }
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.results[1].locked, true);
      assert.equal(r.json.results[2], 2);
      assert.equal(r.json.results[5].locked, false);
      assert.equal((await run(jar, [['get', 'n']])).json.results[0], 2);
    });

    // (The custom store has no lock(): see the previous test.)
    if (kind !== 'custom')
      it('lock() re-reads the stored data and keeps local changes on top', async () => {
        const jar = newJar();
        const id = (await run(jar, [['set', 'n', 1], ['set', 'mine', 'old'], ['set', 'other', 'x'], ['save'], ['state']])).json.results[4].id;
        // A loads, waits; meanwhile B changes n and other, adds new; then A locks.
        const a = run(jar, [
          ['set', 'mine', 'A'],
          ['remove', 'other'],
          ['sleep', 300],
          ['lock'],
          ['get', 'n'],
          ['get', 'new'],
          ['has', 'other'],
          ['get', 'mine'],
          ['incr', 'n'],
          ['save'],
          ['unlock'],
        ]);
        await new Promise((r) => setTimeout(r, 100));
        await run(jar, [['set', 'n', 10], ['set', 'other', 'B'], ['set', 'new', 'B'], ['save']]);
        const ra = await a;
        assert.equal(ra.status, 200, ra.text);
        assert.deepEqual(ra.json.results.slice(4, 9), [10, 'B', false, 'A', 11]);
        assert.deepEqual((await stored(id)).values, { n: 11, mine: 'A', new: 'B' });
      });

    it('data access before load() is a SessionError', async () => {
      const r = await fetch(server.url); // any request: build a session by hand
      assert.equal(r.status, 200);
      const s = new Session({ headers: {} }, { getHeader() {}, setHeader() {}, headersSent: false }, base());
      assert.throws(
        () => s.get('a'),
        (e) => e instanceof SessionError && e.code === 'ERR_SESSION_NOT_LOADED',
      );
      assert.throws(
        () => s.keys(),
        (e) => e.code === 'ERR_SESSION_NOT_LOADED',
      );
      await s.load();
      assert.deepEqual(s.keys(), []);
    });

    it('keys must be non-empty strings of at most 488 UTF-8 bytes (the session files’ limit); functions and symbols are refused at set()', async () => {
      const s = await Session.open({ headers: {} }, { getHeader() {}, setHeader() {}, headersSent: false }, base());
      assert.throws(() => s.set('', 1), TypeError);
      assert.throws(() => s.set(1, 1), TypeError);
      assert.throws(() => s.get(null), TypeError);
      assert.throws(() => s.set('k'.repeat(489), 1), RangeError);
      assert.throws(() => s.set('é'.repeat(245), 1), RangeError, '490 UTF-8 bytes');
      s.set('k'.repeat(488), 1);
      s.set('é'.repeat(244), 2);
      await s.save();
      const back = await Session.open({ headers: {} }, { getHeader() {}, setHeader() {}, headersSent: false }, { ...base(), useCookies: false, id: s.id });
      assert.equal(back.get('k'.repeat(488)), 1);
      assert.equal(back.get('é'.repeat(244)), 2);
      assert.throws(() => s.set('f', () => 1), /is a function, which cannot be stored/);
      assert.throws(() => s.set('s', Symbol('x')), /is a symbol/);
      assert.equal(s.has('f'), false);
    });
  });
}

describe('Session values over HTTP (what msgpack round-trips), dbm and memory', function () {
  this.timeout(20000);
  for (const type of ['dbm', 'memory']) {
    it(`${type}: Date, Map, Set, Buffer, typed arrays, BigInt, RegExp, Error, nested objects, undefined, NaN survive; class instances become plain objects; a cycle fails save() cleanly`, async () => {
      const dataDir = tempDir('values').dir;
      class Point {
        constructor() {
          this.x = 1;
        }
        method() {
          return 2;
        }
      }
      const values = {
        date: new Date(Date.UTC(2031, 1, 2, 3, 4, 5, 678)),
        map: new Map([
          ['a', 1],
          [2, new Map([['deep', [1n]]])],
        ]),
        set: new Set(['x', 1, null]),
        buffer: Buffer.from([0, 1, 254, 255]),
        floats: new Float64Array([1.5, -0, Infinity]),
        bigint: -(2n ** 130n),
        regexp: /a+b/giu,
        nested: { list: [1, 'two', { three: [true, false, null] }], undef: undefined, nan: NaN },
        unicode: 'héllo 😀 \u0000',
        empty: '',
      };
      let server;
      try {
        server = await startServer(async (req, res) => {
          const session = await Session.open(req, res, { type, dataDir });
          if (req.url === '/write') {
            for (const [k, v] of Object.entries(values)) session.set(k, v);
            session.set('point', new Point());
            session.set('error', new Error('boom'));
            await session.save();
            const cyclic = { name: 'cycle' };
            cyclic.self = cyclic;
            session.set('cyclic', cyclic);
            let error;
            try {
              await session.save();
            } catch (err) {
              error = err;
            }
            res.end(JSON.stringify({ code: error?.code, name: error?.name, message: error?.message }));
            return;
          }
          const got = Object.fromEntries(session.keys().map((k) => [k, session.get(k)]));
          for (const [k, v] of Object.entries(values)) assert.deepStrictEqual(got[k], v, k);
          assert.ok(got.date instanceof Date);
          assert.ok(got.map instanceof Map && got.map.get(2) instanceof Map);
          assert.ok(Buffer.isBuffer(got.buffer));
          assert.ok(got.floats instanceof Float64Array);
          assert.deepStrictEqual(got.point, { x: 1 });
          assert.equal(Object.getPrototypeOf(got.point), Object.prototype);
          assert.ok(got.error instanceof Error);
          assert.equal(got.error.message, 'boom');
          assert.equal('cyclic' in got, false, 'the failed save wrote nothing');
          res.end('{"ok":true}');
        });
        const jar = new CookieJar(server.url);
        const w = await jar.request('/write');
        assert.equal(w.json.name, 'SessionError');
        assert.equal(w.json.code, 'ERR_SESSION_VALUE');
        assert.match(w.json.message, /the value for session key "cyclic" cannot be stored: .*nothing was written/);
        const r = await jar.request('/read');
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { ok: true });
      } finally {
        await server?.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
