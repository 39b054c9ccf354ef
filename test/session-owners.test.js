// A user's sessions: Session.setOwner() at login, listSessions() and
// revokeSessions() ("log out my other devices"), on the dbm, memory and
// Redis stores through the Session API (Redis's own index is in
// redis-owners.test.js); then the dbm store's owner index on disk
// (layout, modes, stale and missing entries, crashes between the index and
// the session, hostile entries, rebuilding it from the session files).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Session, SessionCorruptError, listSessions, revokeSessions, sweep } from 'wasm-session';
import { Dbm } from 'wasm-session/dbm';
import { rebuildOwnerIndex } from '../dist/session/stores/dbm-gc.js';
import { closeRedisConnections, storeOptions } from 'wasm-session/session';
import { tempDir } from './helpers/index.js';
import { snapshotTree } from './helpers/http.js';
import { describeRedis, startRedis } from './helpers/redis.js';
import { login, openSession as open, ownerHashOf as hashOf } from './helpers/owners.js';

const fileOf = (dir, id) => path.join(dir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);
const entryOf = (dir, owner, id) => path.join(dir, 'owners', hashOf(owner).slice(0, 2), hashOf(owner), id);

let spaces = 0;
let redis = null;
/** [name, the session options of a test, describe(), hooks around the suite]. */
const STORES = [
  ['dbm', (dir) => ({ dataDir: dir, useCookies: false }), describe],
  ['memory', () => ({ type: 'memory', key: `owners_${process.pid}_${++spaces}`, useCookies: false }), describe],
  [
    'redis',
    () => ({ type: 'redis', redis: { url: redis.url, prefix: `owners${process.pid}_${++spaces}:` }, useCookies: false }),
    describeRedis,
    {
      before: async () => {
        redis = await startRedis();
      },
      after: async () => {
        await closeRedisConnections();
        await redis?.stop();
      },
    },
  ],
];

for (const [name, makeOptions, describeStore, hooks] of STORES) {
  describeStore(`owners on the ${name} store: setOwner(), listSessions(), revokeSessions()`, function () {
    this.timeout(30000);
    if (hooks) {
      before(hooks.before);
      after(hooks.after);
    }
    let tmp;
    let options;
    beforeEach(() => {
      tmp = tempDir('owners');
      options = makeOptions(tmp.dir);
    });
    afterEach(() => tmp.cleanup());

    it('setOwner() is stored with the next save(); a later request sees owner and ownerInfo, not as data', async () => {
      const s = await open(options);
      assert.equal(s.owner, null);
      assert.equal(s.ownerInfo, null);
      s.set('cart', ['apple']);
      s.setOwner('ann', { userAgent: 'Firefox', mobile: false });
      assert.equal(s.owner, 'ann');
      await s.save();
      const again = await open(options, s.id);
      assert.equal(again.owner, 'ann');
      assert.deepEqual(again.ownerInfo, { userAgent: 'Firefox', mobile: false });
      assert.deepEqual(again.keys(), ['cart']);
      assert.equal(again.size, 1);
    });

    it('a session holding only an owner is stored; setOwner(null) on an unbound one stores nothing', async () => {
      const s = await open(options);
      s.setOwner('ann');
      await s.save();
      assert.equal((await open(options, s.id)).isNew, false);
      const t = await open(options);
      t.setOwner(null);
      await t.save();
      assert.equal((await open(options, t.id)).isNew, true);
    });

    it("listSessions() lists the owner's live sessions only: id prefixes (never full ids), times, info, the current one first", async () => {
      const a = await login(options, 'ann', { userAgent: 'Firefox' });
      const b = await login(options, 'ann', { userAgent: 'Chrome' });
      const c = await login(options, 'bob', { userAgent: 'Safari' });
      const list = await listSessions('ann', options, { current: b.id });
      assert.equal(list.length, 2);
      assert.deepEqual(
        list.map((s) => [s.idPrefix, s.current, s.info.userAgent]),
        [
          [b.id.slice(0, 8), true, 'Chrome'],
          [a.id.slice(0, 8), false, 'Firefox'],
        ],
      );
      for (const s of list) {
        assert.ok(s.created instanceof Date && s.accessed instanceof Date && s.since instanceof Date);
        assert.deepEqual(Object.keys(s).sort(), ['accessed', 'created', 'current', 'idPrefix', 'info', 'since']);
      }
      const text = JSON.stringify(list);
      for (const id of [a.id, b.id, c.id]) assert.ok(!text.includes(id), 'no full id in the listing');
      assert.deepEqual(
        (await listSessions('bob', options)).map((s) => s.idPrefix),
        [c.id.slice(0, 8)],
      );
      assert.deepEqual(await listSessions('nobody', options), []);
    });

    it('listing records no access', async () => {
      let now = Date.now();
      const clocked = { ...options, now: () => now };
      const a = await login(clocked, 'ann');
      const before = (await listSessions('ann', clocked))[0].accessed.getTime();
      now += 3_600_000;
      await listSessions('ann', clocked);
      assert.equal((await listSessions('ann', clocked))[0].accessed.getTime(), before);
      assert.equal((await open(clocked, a.id)).accessed.getTime(), before);
    });

    it('sessions past timeout or maxLifetime are not listed', async () => {
      let now = Date.now();
      const clocked = { ...options, now: () => now, timeout: 600, maxLifetime: 3600 };
      await login(clocked, 'ann');
      now += 300_000;
      const fresh = await login(clocked, 'ann');
      now += 400_000; // the first is idle 700 s > timeout 600
      assert.deepEqual(
        (await listSessions('ann', clocked)).map((s) => s.idPrefix),
        [fresh.id.slice(0, 8)],
      );
      now += 3_000_000; // and this one is older than maxLifetime even if active
      await open(clocked, fresh.id).then((s) => s.save());
      assert.deepEqual(await listSessions('ann', clocked), []);
    });

    it('revokeSessions() ends every other session of the owner at once, keeps the current one and no one else is touched', async () => {
      const a = await login(options, 'ann');
      const b = await login(options, 'ann');
      const c = await login(options, 'ann');
      const bob = await login(options, 'bob');
      assert.equal(await revokeSessions('ann', options, { except: a.id }), 2);
      for (const id of [b.id, c.id]) {
        const s = await open(options, id);
        assert.equal(s.isNew, true, 'revoked: a fresh session');
        assert.equal(s.get('user'), undefined);
      }
      assert.equal((await open(options, a.id)).get('user'), 'ann');
      assert.equal((await open(options, bob.id)).get('user'), 'bob');
      assert.deepEqual(
        (await listSessions('ann', options)).map((s) => s.idPrefix),
        [a.id.slice(0, 8)],
      );
      // Without except: everywhere, this one too.
      assert.equal(await revokeSessions('ann', options), 1);
      assert.deepEqual(await listSessions('ann', options), []);
      assert.equal(await revokeSessions('ann', options), 0);
    });

    it('a request in flight on a revoked session cannot bring it back: its save() is false, it is a fresh session', async () => {
      const a = await login(options, 'ann');
      const b = await login(options, 'ann');
      const inFlight = await open(options, b.id);
      inFlight.set('late', 'write');
      assert.equal(await revokeSessions('ann', options, { except: a.id }), 1);
      assert.equal(await inFlight.save(), false);
      assert.equal(inFlight.wasInvalidated, true);
      assert.notEqual(inFlight.id, b.id);
      assert.equal(inFlight.owner, null);
      assert.equal((await open(options, b.id)).isNew, true);
      assert.deepEqual(
        (await listSessions('ann', options)).map((s) => s.idPrefix),
        [a.id.slice(0, 8)],
      );
    });

    it('also under lock(): a revoke waits for (or beats) the holder, and what the holder saved does not survive it', async () => {
      const a = await login(options, 'ann');
      const b = await login(options, 'ann');
      const holder = await open(options, b.id);
      await holder.lock();
      const revoking = revokeSessions('ann', options, { except: a.id });
      holder.set('during', 'lock');
      await holder.save();
      await holder.unlock();
      assert.equal(await revoking, 1);
      assert.equal((await open(options, b.id)).isNew, true);
    });

    it('regenerateId() keeps the owner and moves the listing to the new id', async () => {
      const s = await login(options, 'ann', { userAgent: 'UA' });
      const oldId = s.id;
      await s.regenerateId();
      assert.equal(s.owner, 'ann');
      assert.deepEqual(s.ownerInfo, { userAgent: 'UA' });
      assert.deepEqual(
        (await listSessions('ann', options)).map((x) => x.idPrefix),
        [s.id.slice(0, 8)],
      );
      assert.notEqual(oldId, s.id);
      assert.equal((await open(options, s.id)).owner, 'ann');
    });

    it('invalidate() and delete() clear the owner; setOwner(null) unbinds; setOwner(other) rebinds', async () => {
      const s = await login(options, 'ann');
      await s.invalidate();
      assert.equal(s.owner, null);
      s.set('x', 1);
      await s.save();
      assert.deepEqual(await listSessions('ann', options), []);

      const t = await login(options, 'ann');
      await t.delete();
      assert.equal(t.owner, null);
      t.set('y', 1);
      await t.save();
      assert.equal((await open(options, t.id)).owner, null);
      assert.deepEqual(await listSessions('ann', options), []);

      const u = await login(options, 'ann');
      const uu = await open(options, u.id);
      uu.setOwner(null);
      await uu.save();
      assert.deepEqual(await listSessions('ann', options), []);
      assert.equal((await open(options, u.id)).owner, null);
      uu.setOwner('bob', { how: 'rebound' });
      await uu.save();
      assert.deepEqual(await listSessions('ann', options), []);
      assert.deepEqual(
        (await listSessions('bob', options)).map((x) => [x.idPrefix, x.info.how]),
        [[u.id.slice(0, 8), 'rebound']],
      );
    });

    it('lock() keeps an owner set before it, like any unsaved change', async () => {
      const s = await login(options, 'ann');
      const t = await open(options, s.id);
      t.setOwner('bob');
      await t.lock();
      assert.equal(t.owner, 'bob');
      await t.save();
      await t.unlock();
      assert.equal((await open(options, s.id)).owner, 'bob');
    });

    it('checks what it is given: owner ids, info, a loaded session', async () => {
      const s = await open(options);
      for (const bad of [undefined, 42, '', {}, ['ann']]) assert.throws(() => s.setOwner(bad), TypeError, String(bad));
      assert.throws(() => s.setOwner('x'.repeat(1001)), RangeError);
      assert.throws(() => s.setOwner('é'.repeat(501)), RangeError, 'UTF-8 bytes are counted');
      s.setOwner('é'.repeat(500));
      for (const bad of [[], 'ua', new Map(), Object.create(null), { f: () => 1 }, { o: {} }, { n: Number.NaN }, { u: undefined }]) {
        assert.throws(() => s.setOwner('ann', bad), TypeError);
      }
      assert.throws(() => s.setOwner('ann', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]))), RangeError);
      assert.throws(() => s.setOwner('ann', { ua: 'x'.repeat(5000) }), RangeError);
      for (const bad of [42, {}]) {
        await assert.rejects(listSessions(bad, options), TypeError);
        await assert.rejects(revokeSessions(bad, options), TypeError);
      }
      await assert.rejects(revokeSessions('ann', options, { except: [42] }), TypeError);
      const unloaded = new Session(undefined, undefined, options);
      assert.throws(() => unloaded.setOwner('ann'), { code: 'ERR_SESSION_NOT_LOADED' });
    });
  });
}

describe('owners need a store that keeps them', () => {
  class PlainStore {
    static data = new Map();
    constructor(id) {
      this.id = id;
    }
    async load() {
      return PlainStore.data.get(this.id) ?? null;
    }
    async save(c) {
      PlainStore.data.set(this.id, { data: c.set, created: c.created, accessed: c.accessed });
      return 'ok';
    }
    async remove() {
      PlainStore.data.delete(this.id);
    }
  }
  it('setOwner(), listSessions() and revokeSessions() on a store without ownedSessions()/revokeOwned() are ERR_SESSION_OWNERS_UNSUPPORTED', async () => {
    const options = { namespaceClass: PlainStore, useCookies: false };
    const s = await open(options);
    assert.throws(() => s.setOwner('ann'), { code: 'ERR_SESSION_OWNERS_UNSUPPORTED' });
    await assert.rejects(listSessions('ann', options), { code: 'ERR_SESSION_OWNERS_UNSUPPORTED' });
    await assert.rejects(revokeSessions('ann', options), { code: 'ERR_SESSION_OWNERS_UNSUPPORTED' });
  });
});

describe('the dbm owner index on disk', function () {
  this.timeout(30000);
  let tmp;
  let dir;
  let options;
  beforeEach(() => {
    tmp = tempDir('owner-index');
    dir = tmp.dir;
    options = { dataDir: dir, useCookies: false };
  });
  afterEach(() => tmp.cleanup());

  it('is <dataDir>/owners/<h[0:2]>/<h>/<id> with h = SHA-256(owner) (32 hex): directories 0700, entries empty 0600 files; owner ids never become paths', async () => {
    const owner = 'ann@example.com/../../etc';
    const s = await login(options, owner, { userAgent: 'UA' });
    const entry = entryOf(dir, owner, s.id);
    const st = fs.lstatSync(entry);
    assert.ok(st.isFile());
    assert.equal(st.size, 0);
    assert.equal(st.mode & 0o777, 0o600);
    for (const d of ['owners', `owners/${hashOf(owner).slice(0, 2)}`, `owners/${hashOf(owner).slice(0, 2)}/${hashOf(owner)}`]) {
      assert.equal(fs.statSync(path.join(dir, d)).mode & 0o777, 0o700, d);
    }
    const tree = snapshotTree(dir);
    assert.ok(
      tree.every((p) => !p.includes('ann') && !p.includes('etc')),
      tree.join('\n'),
    );
    // The owner is also in the session file itself, under the empty key (no session key can be empty).
    const db = await Dbm.open(fileOf(dir, s.id), { flag: 'r' });
    const raw = await db.getAll();
    await db.close();
    assert.deepEqual([...raw.keys()].sort(), ['', 'user']);
    assert.equal(raw.get('')[1], owner);
  });

  it('a login (regenerateId) leaves one entry, under the new id; logout (invalidate) removes it', async () => {
    const s = await login(options, 'ann');
    const ownerDir = path.dirname(entryOf(dir, 'ann', s.id));
    assert.deepEqual(fs.readdirSync(ownerDir), [s.id]);
    await s.regenerateId();
    assert.deepEqual(fs.readdirSync(ownerDir), [s.id]);
    await s.invalidate();
    assert.deepEqual(fs.readdirSync(ownerDir), []);
    // gc removes the empty directories.
    await sweep({ dataDir: dir, idle: '1h' });
    assert.equal(fs.existsSync(path.join(dir, 'owners', hashOf('ann').slice(0, 2))), false);
  });

  it("stale entries are harmless: an entry naming another owner's session, a missing one or an unbound one is neither listed nor revoked; gc removes them", async () => {
    const ann = await login(options, 'ann');
    const bob = await login(options, 'bob');
    const plain = await open(options);
    plain.set('x', 1);
    await plain.save();
    const gone = '0123456789abcdef0123456789abcdef';
    // As if planted, or left by a rebind, a crash, or two owners sharing a hash.
    for (const id of [bob.id, plain.id, gone]) fs.writeFileSync(entryOf(dir, 'ann', id), '', { mode: 0o600 });
    assert.deepEqual(
      (await listSessions('ann', options)).map((s) => s.idPrefix),
      [ann.id.slice(0, 8)],
    );
    assert.equal(await revokeSessions('ann', options, { except: ann.id }), 0);
    assert.equal((await open(options, bob.id)).get('user'), 'bob', "bob's session is not ann's to revoke");
    assert.equal((await open(options, plain.id)).get('x'), 1);
    const r = await sweep({ dataDir: dir, idle: '1h' });
    assert.equal(r.ownerEntriesRemoved, 3);
    assert.equal(r.removed, 0);
    assert.deepEqual(fs.readdirSync(path.dirname(entryOf(dir, 'ann', ann.id))), [ann.id]);
  });

  it('a crash between the index entry and the session write (the entry is made first) leaves a stale entry: not listed, cleaned by gc', async () => {
    const s = await open(options);
    s.set('x', 1);
    await s.save();
    // The binder made ann's entry, then died before its commit: the session is not ann's.
    fs.mkdirSync(path.dirname(entryOf(dir, 'ann', s.id)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(entryOf(dir, 'ann', s.id), '', { mode: 0o600 });
    assert.deepEqual(await listSessions('ann', options), []);
    assert.equal((await sweep({ dataDir: dir, idle: '1h' })).ownerEntriesRemoved, 1);
    assert.equal(fs.existsSync(entryOf(dir, 'ann', s.id)), false);
  });

  it('the index is rebuilt from the session files (owners rebuild, and gc): a bound session whose entry was lost is listed again', async () => {
    const a = await login(options, 'ann');
    const b = await login(options, 'bob');
    fs.rmSync(path.join(dir, 'owners'), { recursive: true });
    assert.deepEqual(await listSessions('ann', options), []);
    const dry = await rebuildOwnerIndex(storeOptions({ dataDir: dir }), { dryRun: true });
    assert.equal(dry.ownerEntriesRestored, 2);
    assert.deepEqual(await listSessions('ann', options), []);
    const r = await rebuildOwnerIndex(storeOptions({ dataDir: dir }), { dryRun: false });
    assert.equal(r.ownerEntriesRestored, 2);
    assert.equal(r.removed, 0);
    assert.deepEqual(
      (await listSessions('ann', options)).map((s) => s.idPrefix),
      [a.id.slice(0, 8)],
    );
    fs.unlinkSync(entryOf(dir, 'bob', b.id));
    assert.equal((await sweep({ dataDir: dir, idle: '1h' })).ownerEntriesRestored, 1);
    assert.deepEqual(
      (await listSessions('bob', options)).map((s) => s.idPrefix),
      [b.id.slice(0, 8)],
    );
  });

  it('never follows a link: a link in the index is refused or ignored, not read through', async () => {
    const s = await login(options, 'ann');
    const elsewhere = tempDir('owner-elsewhere');
    try {
      // An entry that is a link (to a real session file): ignored.
      const other = await login(options, 'bob');
      fs.symlinkSync(fileOf(dir, other.id), entryOf(dir, 'ann', other.id));
      assert.deepEqual(
        (await listSessions('ann', options)).map((x) => x.idPrefix),
        [s.id.slice(0, 8)],
      );
      // The owner's directory replaced by a link: refused.
      const ownerDir = path.dirname(entryOf(dir, 'ann', s.id));
      fs.renameSync(ownerDir, path.join(elsewhere.dir, 'moved'));
      fs.symlinkSync(path.join(elsewhere.dir, 'moved'), ownerDir);
      await assert.rejects(listSessions('ann', options), { code: 'ERR_SESSION_UNSAFE_DATA_DIR' });
      await assert.rejects(revokeSessions('ann', options), { code: 'ERR_SESSION_UNSAFE_DATA_DIR' });
      assert.equal((await open(options, s.id)).get('user'), 'ann', 'nothing removed through the link');
    } finally {
      elsewhere.cleanup();
    }
  });

  it('an owner record that does not decode is corruption (SessionCorruptError, or a fresh session with invalidateCorrupt)', async () => {
    const s = await login(options, 'ann');
    const db = await Dbm.open(fileOf(dir, s.id), { flag: 'w' });
    await db.setRaw('', Buffer.from([0xc1]));
    await db.close();
    await assert.rejects(open(options, s.id), SessionCorruptError);
    const fresh = await open({ ...options, invalidateCorrupt: true }, s.id);
    assert.equal(fresh.wasInvalidated, true);
    assert.equal(fs.existsSync(fileOf(dir, s.id)), false);
  });
});
