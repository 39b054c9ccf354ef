// Change detection without re-encoding: save() compares each handed-out
// object with a copy taken when it was handed out (or, on the memory store,
// with the store's decoded value), so an object changed in place at any
// depth is written and an untouched one is not. Checked for every kind of
// value the codec stores, on the memory and dbm stores, counting what the
// store is asked to write.

import assert from 'node:assert/strict';
import { DbmNamespace, MemoryNamespace, Session } from 'wasm-session/session';
import { copyValue, sameValue, CANNOT_COPY } from '../dist/session/copy.js';
import { tempDir } from './helpers/index.js';

function fakeRes() {
  const headers = {};
  return {
    headersSent: false,
    getHeader: (n) => headers[n.toLowerCase()],
    setHeader: (n, v) => {
      headers[n.toLowerCase()] = v;
    },
    end() {},
    headers,
  };
}

class Point {
  constructor() {
    this.x = 1;
  }
}

/** Every kind of value, with a change made in place deep inside it. */
const CASES = [
  ['plain object, nested', () => ({ a: { b: { c: 1 } }, list: [1, 2] }), (v) => (v.a.b.c = 2)],
  ['plain object, a key added', () => ({ a: 1 }), (v) => (v.b = undefined)],
  [
    'plain object, keys reordered',
    () => ({ a: 1, b: 2 }),
    (v) => {
      delete v.a;
      v.a = 1;
    },
  ],
  ['array, pushed', () => [1, { x: 'y' }], (v) => v.push(3)],
  ['array, element changed in place', () => [{ x: 'y' }], (v) => (v[0].x = 'z')],
  ['Date, setTime', () => ({ when: new Date(1000) }), (v) => v.when.setTime(2000)],
  ['Map, set', () => new Map([['k', { n: 1 }]]), (v) => v.get('k').n++],
  ['Map, new entry', () => new Map([['k', 1]]), (v) => v.set('j', 2)],
  ['Set, add', () => new Set([1, 'two']), (v) => v.add(3)],
  ['Buffer, byte changed', () => Buffer.from([1, 2, 3]), (v) => (v[1] = 9)],
  ['Float64Array, element changed', () => new Float64Array([1.5, 2.5]), (v) => (v[0] = Number.NaN)],
  ['nested typed array in an object', () => ({ bytes: new Uint8Array([1, 2]) }), (v) => (v.bytes[0] = 7)],
  ['RegExp replaced inside an object', () => ({ re: /a+/g }), (v) => (v.re = /b/i)],
  ['BigInt inside an array', () => [10n ** 30n], (v) => (v[0] = 10n ** 31n)],
  ['NaN to Infinity', () => ({ n: Number.NaN }), (v) => (v.n = Number.POSITIVE_INFINITY)],
  ['an Error (compared by encoding)', () => ({ err: new Error('boom') }), (v) => (v.err.message = 'bang')],
  ['a class instance (stored as a plain object)', () => ({ p: new Point() }), (v) => (v.p.x = 2)],
];

const STORES = [
  ['memory', () => ({ options: { type: 'memory', key: `values_${Math.random().toString(36).slice(2)}` }, cleanup() {} })],
  [
    'dbm',
    () => {
      const tmp = tempDir('values');
      return { options: { dataDir: tmp.dir }, cleanup: tmp.cleanup };
    },
  ],
];

/** Counts what reaches the store's save(). */
function counting(Base) {
  const calls = [];
  class Counting extends Base {
    async save(changes) {
      calls.push([...changes.set.keys()]);
      return super.save(changes);
    }
  }
  return { Counting, calls };
}

for (const [storeName, make] of STORES) {
  describe(`change detection without re-encoding (${storeName} store)`, () => {
    let env;
    beforeEach(() => {
      env = make();
    });
    afterEach(() => env.cleanup());

    for (const [what, value, change] of CASES) {
      it(`${what}: an untouched get() writes nothing, a change in place is written and read back`, async () => {
        const { Counting, calls } = counting(storeName === 'memory' ? MemoryNamespace : DbmNamespace);
        const { type: _t, ...rest } = env.options;
        const options = { ...rest, namespaceClass: Counting, touchAfter: 3600 };
        const res = fakeRes();
        const first = await Session.open({ headers: {} }, res, options);
        first.set('v', value());
        first.set('other', 'x');
        await first.save();
        const cookie = res.headers['set-cookie'][0].split(';')[0];
        calls.length = 0;

        const untouched = await Session.open({ headers: { cookie } }, fakeRes(), options);
        untouched.get('v');
        [...untouched]; // entries() hands everything out too
        await untouched.save();
        assert.deepEqual(calls, [], 'nothing written for values only read');

        const changing = await Session.open({ headers: { cookie } }, fakeRes(), options);
        const v = changing.get('v');
        change(v);
        await changing.save();
        assert.deepEqual(calls, [['v']], 'only the changed key is written');

        const back = await Session.open({ headers: { cookie } }, fakeRes(), options);
        const expected = value();
        change(expected);
        if (expected.err instanceof Error) assert.equal(back.get('v').err.message, 'bang');
        else if (expected.p instanceof Point)
          assert.deepEqual(back.get('v'), { p: { x: 2 } }); // class instances come back as plain objects
        else assert.deepEqual(back.get('v'), expected);

        // A change made after a save in the same request is seen by the next save.
        const twice = await Session.open({ headers: { cookie } }, fakeRes(), options);
        twice.set('v', value()); // back to the original, saved: the object set() is now the stored one
        await twice.save();
        calls.length = 0;
        change(twice.get('v'));
        await twice.save();
        assert.deepEqual(calls, [['v']], 'a change after the first save');
      });
    }

    it('an object made cyclic in place fails save() with ERR_SESSION_VALUE and writes nothing', async () => {
      const res = fakeRes();
      const s = await Session.open({ headers: {} }, res, env.options);
      s.set('node', { name: 'a' });
      await s.save();
      const cookie = res.headers['set-cookie'][0].split(';')[0];
      const again = await Session.open({ headers: { cookie } }, fakeRes(), env.options);
      const node = again.get('node');
      node.self = node;
      await assert.rejects(again.save(), (err) => err.code === 'ERR_SESSION_VALUE');
      assert.deepEqual((await Session.open({ headers: { cookie } }, fakeRes(), env.options)).get('node'), { name: 'a' });
    });

    it('values handed out are the application’s own: changing one never changes what another request sees', async () => {
      const res = fakeRes();
      const s = await Session.open({ headers: {} }, res, env.options);
      s.set('cart', [{ sku: 'a' }]);
      await s.save();
      const cookie = res.headers['set-cookie'][0].split(';')[0];
      const a = await Session.open({ headers: { cookie } }, fakeRes(), env.options);
      const b = await Session.open({ headers: { cookie } }, fakeRes(), env.options);
      a.get('cart')[0].sku = 'changed, not saved';
      assert.equal(b.get('cart')[0].sku, 'a');
      assert.notEqual(a.get('cart'), b.get('cart'));
    });
  });
}

for (const [storeName, make] of STORES) {
  describe(`re-reads merge (${storeName} store): lock() and regenerateId()`, () => {
    let env;
    beforeEach(() => {
      env = make();
    });
    afterEach(() => env.cleanup());
    async function stored() {
      const res = fakeRes();
      const s = await Session.open({ headers: {} }, res, env.options);
      s.set('user', { name: 'ann' });
      s.set('cart', ['apple']);
      await s.save();
      return res.headers['set-cookie'][0].split(';')[0];
    }
    const open = (cookie) => Session.open({ headers: { cookie } }, fakeRes(), env.options);

    it('lock() takes what another request saved meanwhile, keeps local changes on top, and keeps the objects it handed out for untouched keys', async () => {
      const cookie = await stored();
      const a = await open(cookie);
      const cart = a.get('cart');
      a.set('note', 'local');
      const b = await open(cookie);
      b.get('user').name = 'bob';
      await b.save();
      await a.lock();
      assert.deepEqual(a.get('user'), { name: 'bob' }, "the other request's change");
      assert.equal(a.get('cart'), cart, 'the same object as before lock()');
      assert.equal(a.get('note'), 'local');
      cart.push('pear');
      await a.save();
      await a.unlock();
      const after = await open(cookie);
      assert.deepEqual(after.get('cart'), ['apple', 'pear']);
      assert.deepEqual(after.get('user'), { name: 'bob' });
      assert.equal(after.get('note'), 'local');
    });

    it('regenerateId() moves what other requests saved since this one loaded, under its own changes', async () => {
      const cookie = await stored();
      const login = await open(cookie);
      const b = await open(cookie);
      b.get('cart').push('pear');
      await b.save();
      login.set('user', { name: 'ann', loggedIn: true });
      await login.regenerateId();
      const moved = await Session.open({ headers: { cookie: `${env.options.key ?? 'myghty_session_id'}=${login.id}` } }, fakeRes(), env.options);
      assert.deepEqual(moved.get('cart'), ['apple', 'pear']);
      assert.deepEqual(moved.get('user'), { name: 'ann', loggedIn: true });
      assert.equal((await open(cookie)).isNew, true, 'the old id is dead');
    });
  });
}

describe('copyValue and sameValue', () => {
  it('copies every codec type deeply and compares equal to the original; a change anywhere compares unequal', () => {
    for (const [what, value, change] of CASES) {
      const original = value();
      const copy = copyValue(original);
      if (copy === CANNOT_COPY) {
        assert.match(what, /Error|class instance/, `${what} is copyable`);
        continue;
      }
      assert.notEqual(copy, original, what);
      assert.equal(sameValue(copy, original), true, what);
      change(copy);
      assert.equal(sameValue(copy, original), false, `${what}: changed`);
    }
  });

  it('says "cannot" or "not the same" for what it does not know, and never loops on a cycle', () => {
    assert.equal(copyValue(new Point()), CANNOT_COPY);
    assert.equal(copyValue({ p: new Point() }), CANNOT_COPY);
    assert.equal(sameValue(new Point(), new Point()), false);
    const cyclic = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(sameValue(cyclic, { a: 1, self: { a: 1 } }), false);
    // Two cycles of the same shape recurse until the stack runs out: the Session treats that as "changed" and the encoder reports the cycle.
    const other = { a: 1 };
    other.self = other;
    assert.throws(() => sameValue(cyclic, other), RangeError);
  });
});
