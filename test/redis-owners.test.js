// Owners and sweep() on the Redis store (type 'redis'), on real servers the
// tests start, on one server and on a 3-master cluster: the layout (m:o and
// m:i in the session's hash, the owner index `<prefix>{<h>}:owner`, a
// sorted set scored by the index node's clock in µs), the index entry made
// before the session's write, revokes racing requests in flight and lock
// holders, stale and missing index entries (the grace period), and sweep()
// by stored times: locked sessions skipped, dry runs, corrupt hashes,
// abort and progress.

import assert from 'node:assert/strict';
import { createClient, createCluster } from 'redis';
import { RedisNamespace, closeRedisConnections, listSessions, revokeSessions, storeOptions, sweep } from 'wasm-session/session';
import { waitFor } from './helpers/index.js';
import { cli, describeRedis, startCluster, startRedis } from './helpers/redis.js';
import { login, openSession as open, ownerHashOf as hashOf } from './helpers/owners.js';

const HOUR = 3_600_000;
const T = Date.UTC(2030, 0, 1);
let prefixes = 0;

/** A session stored at `at` (ms) with `data`, optionally bound to `owner`; its id. */
async function stored(options, at, data = { k: 1 }, owner) {
  const s = await open({ ...options, now: () => at });
  for (const [k, v] of Object.entries(data)) s.set(k, v);
  if (owner) s.setOwner(owner);
  assert.equal(await s.save(), true);
  return s.id;
}

const ids = (list) => list.map((s) => s.idPrefix).sort();

/**
 * The suite, on one deployment: `deploy()` resolves to { url (a URL or the
 * cluster's URLs), raw(key, args) (a command routed by key), stop() }.
 */
function suite(title, deploy) {
  describeRedis(title, function () {
    this.timeout(60000);
    let redis;
    let options;
    let prefix;
    before(async () => {
      redis = await deploy();
    });
    after(async () => {
      await closeRedisConnections();
      await redis?.stop();
    });
    beforeEach(() => {
      prefix = `own${process.pid}-${++prefixes}:`;
      options = { type: 'redis', redis: { url: redis.url, prefix }, useCookies: false };
    });

    const sessionKey = (id) => `${prefix}{${id}}`;
    const indexKey = (owner) => `${prefix}{${hashOf(owner)}}:owner`;
    const str = (v) => (v === null || v === undefined ? v : Buffer.isBuffer(v) ? v.toString() : String(v));
    const raw = async (key, ...args) => {
      const reply = await redis.raw(key, args.map(String));
      if (Array.isArray(reply)) return reply.map(str);
      // A map reply (HGETALL) as a flat list, as Redis sends it.
      if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) return Object.entries(reply).flat().map(str);
      return str(reply);
    };
    const isStored = async (id) => (await raw(sessionKey(id), 'EXISTS', sessionKey(id))) === '1';
    const members = async (owner) => {
      const flat = await raw(indexKey(owner), 'ZRANGE', indexKey(owner), 0, -1);
      return [...flat].sort();
    };
    /** The index node's clock in µs (what the store scores entries with). */
    const nowUs = async (owner) => {
      const [s, us] = await raw(indexKey(owner), 'TIME');
      return Number(s) * 1e6 + Number(us);
    };
    /** An entry planted in `owner`'s index, `ageMs` old by the index node's clock (0: made just now). */
    const plant = async (owner, id, ageMs) => {
      await raw(indexKey(owner), 'ZADD', indexKey(owner), String((await nowUs(owner)) - ageMs * 1000), id);
    };
    const unbound = async () => stored(options, Date.now());

    describe('layout', () => {
      it('the owner is m:o (its UTF-8 bytes) and m:i (JSON of since and info) in the session hash; the entry is <prefix>{<h>}:owner, scored by the node clock in µs', async () => {
        const owner = 'ann@example.com';
        const before = await nowUs(owner);
        const s = await login({ ...options, now: () => 1_700_000_000_000 }, owner, { userAgent: 'Firefox', mobile: false });
        const after = await nowUs(owner);
        const fields = await raw(sessionKey(s.id), 'HGETALL', sessionKey(s.id));
        const hash = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
        assert.deepEqual(Object.keys(hash).sort(), ['k:user', 'm:a', 'm:c', 'm:g', 'm:i', 'm:o', 'm:s']);
        assert.equal(hash['m:o'], owner);
        assert.deepEqual(JSON.parse(hash['m:i']), { since: 1_700_000_000_000, info: { userAgent: 'Firefox', mobile: false } });
        assert.equal(hash['m:s'], String(4 + 1 + owner.length), 'the owner is not counted as session data (user: a fixstr of the owner id)');
        assert.equal(await raw(indexKey(owner), 'TYPE', indexKey(owner)), 'zset');
        assert.deepEqual(await members(owner), [s.id]);
        const score = Number(await raw(indexKey(owner), 'ZSCORE', indexKey(owner), s.id));
        assert.ok(Number.isInteger(score) && score >= before && score <= after, `score ${score} in [${before}, ${after}]`);
        // The index is not a session: ids() and the owner's id never show up as keys.
        const listed = [];
        for await (const id of RedisNamespace.ids(storeOptions(options))) listed.push(id);
        assert.deepEqual(listed, [s.id]);
        assert.equal(await raw(indexKey(owner), 'EXISTS', `${prefix}{${owner}}:owner`), '0');
        // Loaded, the binding is the session's owner, not a data key.
        const again = await open(options, s.id);
        assert.equal(again.owner, owner);
        assert.deepEqual(again.ownerInfo, { userAgent: 'Firefox', mobile: false });
        assert.deepEqual(again.keys(), ['user']);
      });

      it('the index lives (at least) maxLifetime + 1 day after its last bind; without maxLifetime it has no TTL (sessions may live on)', async () => {
        await login(options, 'ann');
        assert.equal(await raw(indexKey('ann'), 'PTTL', indexKey('ann')), '-1');
        const bounded = { ...options, maxLifetime: 3600 };
        await login(bounded, 'bob');
        const ttl = Number(await raw(indexKey('bob'), 'PTTL', indexKey('bob')));
        assert.ok(ttl > 3600_000 + 86_400_000 - 60_000 && ttl <= 3600_000 + 86_400_000, `PTTL ${ttl}`);
        // A bind by a configuration without maxLifetime makes it persistent; a bounded one then leaves it so.
        await login(options, 'bob');
        assert.equal(await raw(indexKey('bob'), 'PTTL', indexKey('bob')), '-1');
        await login(bounded, 'bob');
        assert.equal(await raw(indexKey('bob'), 'PTTL', indexKey('bob')), '-1');
        // The TTL only grows.
        await login({ ...options, maxLifetime: 7200 }, 'cy');
        await login(bounded, 'cy');
        assert.ok(Number(await raw(indexKey('cy'), 'PTTL', indexKey('cy'))) > 7200_000 + 86_400_000 - 60_000);
      });

      it('the entry is made before the session is written: when it cannot be made, the save writes nothing', async () => {
        await raw(indexKey('ann'), 'SET', indexKey('ann'), 'not a sorted set');
        const s = await open(options);
        s.set('k', 1);
        s.setOwner('ann');
        await assert.rejects(s.save(), (err) => err.code === 'ERR_SESSION_STORE' && err.message.includes('not an owner index'));
        assert.equal(await isStored(s.id), false, 'nothing written');
        // An update that binds: the session stays as it was (unbound).
        const plain = await unbound();
        const t = await open(options, plain);
        t.setOwner('ann');
        t.set('more', 2);
        await assert.rejects(t.save(), { code: 'ERR_SESSION_STORE' });
        const after = await open(options, plain);
        assert.equal(after.owner, null);
        assert.equal(after.get('more'), undefined);
        await raw(indexKey('ann'), 'DEL', indexKey('ann'));
      });

      it('owner fields that do not make a binding are corruption (SessionCorruptError; a fresh session with invalidateCorrupt)', async () => {
        const s = await login(options, 'ann');
        await raw(sessionKey(s.id), 'HDEL', sessionKey(s.id), 'm:i');
        await assert.rejects(open(options, s.id), { code: 'ERR_SESSION_CORRUPT' });
        const t = await login(options, 'ann');
        await raw(sessionKey(t.id), 'HSET', sessionKey(t.id), 'm:i', '{"since":"yesterday","info":{}}');
        await assert.rejects(open(options, t.id), { code: 'ERR_SESSION_CORRUPT' });
        const fresh = await open({ ...options, invalidateCorrupt: true }, t.id);
        assert.equal(fresh.wasInvalidated, true);
        assert.equal(await isStored(t.id), false);
        // Neither is listed (a damaged session is left out).
        assert.deepEqual(await listSessions('ann', options), []);
      });
    });

    describe('revoking', () => {
      it('a request that loaded a session before the revoke cannot bring it back by saving (without lock())', async () => {
        const a = await login(options, 'ann');
        const b = await login(options, 'ann');
        const inFlight = await open(options, b.id);
        inFlight.set('late', 'write');
        assert.equal(await revokeSessions('ann', options, { except: a.id }), 1);
        assert.equal(await inFlight.save(), false);
        assert.equal(inFlight.wasInvalidated, true);
        assert.equal(await isStored(b.id), false);
        assert.equal(inFlight.owner, null);
        assert.deepEqual(ids(await listSessions('ann', options)), [a.id.slice(0, 8)]);
        // The entry of the revoked session went with it; the kept one stays.
        assert.deepEqual(await members('ann'), [a.id]);
      });

      it('a revoke waits for a lock() holder; what the holder saved meanwhile does not survive it', async () => {
        const b = await login(options, 'ann');
        const holder = await open(options, b.id);
        await holder.lock();
        let done = false;
        const revoking = revokeSessions('ann', options).then((n) => {
          done = true;
          return n;
        });
        // It waits: the session is still there while the lock is held (a few round trips give the revoke its first attempts).
        for (let i = 0; i < 10; i++) assert.equal(await isStored(b.id), true);
        assert.equal(done, false, 'the revoke waits for the holder');
        holder.set('during', 'lock');
        assert.equal(await holder.save(), true);
        await holder.unlock();
        assert.equal(await revoking, 1);
        assert.equal(await isStored(b.id), false);
        const later = await open(options, b.id);
        assert.equal(later.isNew, true);
        assert.equal(later.get('during'), undefined);
      });

      it('a request that loaded the session, then takes lock() after a revoke, finds it ended: a fresh session, nothing of the old one saved', async () => {
        const b = await login(options, 'ann');
        const reader = await open(options, b.id);
        reader.set('late', 'write');
        assert.equal(await revokeSessions('ann', options), 1);
        await reader.lock();
        assert.equal(reader.wasInvalidated, true);
        assert.equal(reader.owner, null);
        assert.equal(reader.get('user'), undefined);
        reader.set('after', 'revoke');
        await reader.save();
        await reader.unlock();
        assert.notEqual(reader.id, b.id);
        assert.equal(await isStored(b.id), false);
        assert.deepEqual(await listSessions('ann', options), []);
      });

      it('a lock held past lockTimeout: the other sessions are revoked, then the LockTimeoutError (with `removed`) is thrown', async () => {
        const quick = { ...options, lockTimeout: 200 };
        const a = await login(quick, 'ann');
        const b = await login(quick, 'ann');
        const c = await login(quick, 'ann');
        const holder = await open(quick, b.id);
        await holder.lock();
        const err = await revokeSessions('ann', quick).then(
          () => null,
          (e) => e,
        );
        assert.ok(err, 'rejected');
        assert.equal(err.code, 'ERR_LOCK_TIMEOUT');
        assert.equal(err.removed, 2);
        assert.equal(await isStored(a.id), false);
        assert.equal(await isStored(c.id), false);
        assert.equal(await isStored(b.id), true, 'the locked one stays');
        await holder.unlock();
        assert.equal(await revokeSessions('ann', quick), 1);
        assert.deepEqual(await members('ann'), []);
      });

      it("a session rebound to another owner is not the old owner's to revoke; the old entry goes once past the grace period", async () => {
        const s = await login(options, 'ann');
        await plant('ann', s.id, 10 * 60_000); // bound long ago
        const t = await open(options, s.id);
        t.setOwner('bob');
        await t.save();
        assert.deepEqual(await members('ann'), [], 'the rebind removed the old entry');
        assert.deepEqual(await members('bob'), [s.id]);
        assert.equal(await revokeSessions('ann', options), 0);
        assert.equal(await isStored(s.id), true);
        assert.equal(await revokeSessions('bob', options), 1);
      });
    });

    describe('stale and missing index entries', () => {
      it('an entry whose session was deleted (or expired) is not listed or revoked; it is removed once past the grace period, not before', async () => {
        const a = await login(options, 'ann');
        const b = await login(options, 'ann');
        await raw(sessionKey(b.id), 'DEL', sessionKey(b.id)); // what the TTL does
        assert.deepEqual(ids(await listSessions('ann', options)), [a.id.slice(0, 8)]);
        assert.deepEqual(await members('ann'), [a.id, b.id].sort(), 'within the grace period: kept');
        assert.equal((await sweep({ ...options, idle: '1h' })).ownerEntriesRemoved, 0);
        assert.deepEqual(await members('ann'), [a.id, b.id].sort());
        assert.equal(await revokeSessions('ann', options, { except: a.id }), 0);
        // Older than the grace period: the next cleaner removes it.
        await plant('ann', b.id, 5 * 60_000);
        const dry = await sweep({ ...options, idle: '1h', dryRun: true });
        assert.equal(dry.ownerEntriesRemoved, 1);
        assert.deepEqual(await members('ann'), [a.id, b.id].sort(), 'a dry run removes nothing');
        const r = await sweep({ ...options, idle: '1h' });
        assert.equal(r.ownerEntriesRemoved, 1);
        assert.equal(r.removed, 0);
        assert.deepEqual(await members('ann'), [a.id]);
        // Listing cleans too.
        await raw(sessionKey(a.id), 'DEL', sessionKey(a.id));
        await plant('ann', a.id, 5 * 60_000);
        assert.deepEqual(await listSessions('ann', options), []);
        assert.equal(await raw(indexKey('ann'), 'EXISTS', indexKey('ann')), '0', 'an index without entries is gone');
      });

      it('a bind in flight (its entry made, its save not yet applied) is never undone by a cleaner', async () => {
        const id = await unbound();
        // The binder's first step: the entry, just now. The session does not name ann (yet).
        await plant('ann', id, 0);
        assert.deepEqual(await listSessions('ann', options), []);
        assert.equal(await revokeSessions('ann', options), 0);
        const r = await sweep({ ...options, idle: '1h' });
        assert.equal(r.ownerEntriesRemoved, 0);
        assert.equal(r.ownerEntriesRestored, 0);
        assert.deepEqual(await members('ann'), [id], 'the young entry stays');
        // The binder's save lands now: the session is ann's and indexed, so a revoke finds it.
        const s = await open(options, id);
        s.setOwner('ann');
        await s.save();
        assert.deepEqual(ids(await listSessions('ann', options)), [id.slice(0, 8)]);
        assert.equal(await revokeSessions('ann', options), 1);
      });

      it("entries naming another owner's session or an unbound one are stale: not listed, not revoked, removed past the grace period; an old entry of a bound session stays", async () => {
        const ann = await login(options, 'ann');
        const bob = await login(options, 'bob');
        const plain = await unbound();
        const gone = '0123456789abcdef0123456789abcdef';
        for (const id of [bob.id, plain, gone, 'not-a-session-id']) await plant('ann', id, 5 * 60_000);
        await plant('ann', ann.id, 5 * 60_000); // old, but the session is ann's
        assert.deepEqual(ids(await listSessions('ann', options)), [ann.id.slice(0, 8)]);
        assert.equal(await revokeSessions('ann', options, { except: ann.id }), 0);
        assert.equal((await open(options, bob.id)).get('user'), 'bob', "bob's session is not ann's to revoke");
        assert.equal(await isStored(plain), true);
        // Listing and revoking removed them already (all past the grace period); plant them again for sweep.
        for (const id of [bob.id, plain, gone]) await plant('ann', id, 5 * 60_000);
        const r = await sweep({ ...options, idle: '1h' });
        assert.equal(r.ownerEntriesRemoved, 3);
        assert.equal(r.removed, 0);
        assert.deepEqual(await members('ann'), [ann.id]);
        assert.deepEqual(await members('bob'), [bob.id]);
      });

      it('a bound session whose entry is missing: sweep() makes it again (not in a dry run), and a revoke then finds it', async () => {
        const a = await login(options, 'ann');
        const b = await login(options, 'bob');
        await raw(indexKey('ann'), 'DEL', indexKey('ann'));
        await raw(indexKey('bob'), 'ZREM', indexKey('bob'), b.id);
        assert.deepEqual(await listSessions('ann', options), []);
        const dry = await sweep({ ...options, idle: '1h', dryRun: true });
        assert.equal(dry.ownerEntriesRestored, 2);
        assert.deepEqual(await members('ann'), []);
        const r = await sweep({ ...options, idle: '1h' });
        assert.equal(r.ownerEntriesRestored, 2);
        assert.equal(r.kept, 2);
        assert.deepEqual(await members('ann'), [a.id]);
        assert.deepEqual(ids(await listSessions('bob', options)), [b.id.slice(0, 8)]);
        assert.equal((await sweep({ ...options, idle: '1h' })).ownerEntriesRestored, 0, 'nothing missing any more');
        assert.equal(await revokeSessions('ann', options), 1);
      });

      it('remove() of a bound session (a logout) drops its entry when past the grace period; a fresh one stays for the cleaners', async () => {
        const s = await login(options, 'ann');
        const young = await login(options, 'ann');
        await plant('ann', s.id, 5 * 60_000);
        const again = await open(options, s.id);
        await again.invalidate();
        const gone = await open(options, young.id);
        await gone.invalidate();
        assert.deepEqual(await members('ann'), [young.id]);
        assert.deepEqual(await listSessions('ann', options), []);
      });
    });

    describe('sweep()', () => {
      it('removes by the stored times (idle by last access, maxAge by creation), with their owner entries; keeps the rest', async () => {
        const idle = await stored(options, T - 2 * HOUR, { k: 1 }, 'ann');
        const active = await stored(options, T - 2 * HOUR);
        const s = await open({ ...options, now: () => T - 60_000 }, active);
        s.set('k', 2);
        await s.save();
        const old = await stored(options, T - 40 * 24 * HOUR);
        const o = await open({ ...options, now: () => T - 1000 }, old);
        o.set('k', 3);
        await o.save();
        const young = await stored(options, T - 1000, { k: 4 }, 'ann');
        await plant('ann', idle, 5 * 60_000);
        const r = await sweep({ ...options, idle: '1h', maxAge: '30d', now: () => T });
        assert.deepEqual([r.scanned, r.removed, r.kept, r.skipped, r.corrupt, r.foreign, r.dirsRemoved], [4, 2, 2, 0, 0, 0, 0]);
        assert.ok(r.bytesFreed > 0);
        assert.equal(r.ownerEntriesRemoved, 1);
        for (const id of [idle, old]) assert.equal(await isStored(id), false);
        for (const id of [active, young]) assert.equal(await isStored(id), true);
        assert.deepEqual(await members('ann'), [young]);
        assert.equal((await open({ ...options, now: () => T }, active)).get('k'), 2);
      });

      it("sweep(sessionOptions) uses the application's timeout and maxLifetime", async () => {
        const app = { ...options, timeout: 1800, maxLifetime: 86400 };
        await stored(app, T - HOUR);
        const kept = await stored(app, T - 60_000);
        const r = await sweep({ ...app, now: () => T });
        assert.deepEqual([r.removed, r.kept], [1, 1]);
        assert.equal(await isStored(kept), true);
      });

      it('skips a locked session (counted as skipped), removes it once unlocked', async () => {
        const id = await stored(options, T - 2 * HOUR);
        const holder = await open({ ...options, now: () => T - 2 * HOUR }, id);
        await holder.lock();
        const r = await sweep({ ...options, idle: '1h', now: () => T });
        assert.deepEqual([r.scanned, r.removed, r.skipped], [1, 0, 1]);
        assert.equal(await isStored(id), true);
        // The holder's own work goes on.
        holder.set('k', 5);
        assert.equal(await holder.save(), true);
        await holder.unlock();
        const again = await sweep({ ...options, idle: '1h', now: () => T });
        assert.deepEqual([again.removed, again.skipped], [1, 0]);
        assert.equal(await isStored(id), false);
      });

      it('decides by the times stored when it gets there: a session used since it was scanned is kept', async () => {
        const id = await stored(options, T - 2 * HOUR);
        // A request touches it (its access now newer than idle), then the sweep runs: the script re-reads the times.
        const s = await open({ ...options, now: () => T - 1000 }, id);
        s.set('k', 9);
        await s.save();
        const r = await sweep({ ...options, idle: '1h', now: () => T });
        assert.deepEqual([r.removed, r.kept], [0, 1]);
      });

      it('dryRun counts what would go and removes nothing', async () => {
        const a = await stored(options, T - 2 * HOUR, { k: 1 }, 'ann');
        const b = await stored(options, T - 2 * HOUR);
        await stored(options, T - 1000);
        await plant('ann', a, 5 * 60_000);
        const r = await sweep({ ...options, idle: '1h', dryRun: true, now: () => T });
        assert.deepEqual([r.scanned, r.removed, r.kept, r.ownerEntriesRemoved], [3, 2, 1, 1]);
        assert.ok(r.bytesFreed > 0);
        for (const id of [a, b]) assert.equal(await isStored(id), true);
        assert.deepEqual(await members('ann'), [a]);
        const real = await sweep({ ...options, idle: '1h', now: () => T });
        assert.deepEqual([real.removed, real.bytesFreed, real.ownerEntriesRemoved], [r.removed, r.bytesFreed, 1]);
      });

      it('corrupt keys are counted, removed only with removeCorrupt; keys under the prefix that are not sessions are foreign and never touched', async () => {
        const good = await stored(options, T - 1000);
        const notHash = '1111111111111111aaaaaaaaaaaaaaaa';
        const noMeta = '2222222222222222bbbbbbbbbbbbbbbb';
        await raw(sessionKey(notHash), 'SET', sessionKey(notHash), 'not a hash');
        await raw(sessionKey(noMeta), 'HSET', sessionKey(noMeta), 'k:x', 'y');
        await raw(sessionKey('not-an-id'), 'SET', sessionKey('not-an-id'), 'x');
        const r = await sweep({ ...options, idle: '1h', now: () => T });
        assert.deepEqual([r.scanned, r.kept, r.corrupt, r.removedCorrupt, r.foreign], [3, 1, 2, 0, 1]);
        const dry = await sweep({ ...options, idle: '1h', removeCorrupt: true, dryRun: true, now: () => T });
        assert.deepEqual([dry.corrupt, dry.removedCorrupt], [2, 2]);
        assert.equal(await isStored(notHash), true);
        const rc = await sweep({ ...options, idle: '1h', removeCorrupt: true, now: () => T });
        assert.deepEqual([rc.corrupt, rc.removedCorrupt, rc.foreign], [2, 2, 1]);
        assert.equal(await isStored(notHash), false);
        assert.equal(await isStored(noMeta), false);
        assert.equal(await isStored(good), true);
        assert.equal(await raw(sessionKey('not-an-id'), 'GET', sessionKey('not-an-id')), 'x');
      });

      it('an aborted sweep rejects with the counts so far; onProgress reports along the way', async () => {
        const n = 600;
        const made = [];
        for (let i = 0; i < n; i += 50) {
          made.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => stored(options, T - 2 * HOUR)))));
        }
        const seen = [];
        const r = await sweep({ ...options, idle: '1h', dryRun: true, now: () => T, onProgress: (c) => seen.push(c.scanned) });
        assert.equal(r.scanned, n);
        assert.equal(r.removed, n);
        assert.ok(seen.length >= 1 && seen[0] > 0 && seen[0] <= 256, String(seen));
        const controller = new AbortController();
        const err = await sweep({ ...options, idle: '1h', now: () => T, signal: controller.signal, onProgress: () => controller.abort() }).then(
          () => null,
          (e) => e,
        );
        assert.ok(err, 'rejected');
        assert.equal(err.name, 'AbortError');
        assert.ok(err.result.scanned > 0 && err.result.scanned < n, `scanned ${err.result.scanned}`);
        assert.equal(err.result.removed, err.result.scanned);
        let left = 0;
        for (const id of made) if (await isStored(id)) left++;
        assert.equal(left, n - err.result.removed);
        assert.equal((await sweep({ ...options, idle: '1h', now: () => T })).removed, left);
      });

      it('an empty configuration sweeps to zeros', async () => {
        const r = await sweep({ ...options, idle: '1h' });
        assert.deepEqual(
          [
            r.scanned,
            r.removed,
            r.kept,
            r.skipped,
            r.corrupt,
            r.removedCorrupt,
            r.foreign,
            r.bytesFreed,
            r.ownerEntriesRemoved,
            r.ownerEntriesRestored,
            r.dirsRemoved,
          ],
          [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
      });
    });
  });
}

suite('owners and sweep() on the Redis store (one server)', async () => {
  const server = await startRedis();
  const client = createClient({ url: server.url });
  await client.connect();
  return {
    url: server.url,
    raw: (_key, args) => client.sendCommand(args),
    async stop() {
      await client.close();
      await server.stop();
    },
  };
});

suite('owners and sweep() on the Redis store (3-master cluster)', async () => {
  const cluster = await startCluster();
  const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
  await client.connect();
  return {
    url: cluster.urls,
    raw: (key, args) => client.sendCommand(key, false, args),
    async stop() {
      await client.close();
      await cluster.stop();
    },
  };
});

describeRedis('the owner index on a cluster', function () {
  this.timeout(60000);
  let cluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await closeRedisConnections();
    await cluster?.stop();
  });

  it("is on its owner hash's slot, not the session's: many owners spread over every master, and listing, revoking and sweeping reach them all", async () => {
    const options = { type: 'redis', redis: { url: cluster.urls, prefix: `spread${process.pid}:` }, useCookies: false };
    const owners = Array.from({ length: 30 }, (_, i) => `user${i}`);
    const sessions = new Map();
    for (const owner of owners) sessions.set(owner, [await login(options, owner), await login(options, owner)]);
    const slots = new Set();
    for (const owner of owners) slots.add(Number(await cli(cluster.ports[0], 'CLUSTER', 'KEYSLOT', `${options.redis.prefix}{${hashOf(owner)}}:owner`)));
    assert.ok(slots.size > 20, 'the indexes spread over many slots');
    const perMaster = await Promise.all(cluster.ports.map(async (p) => Number(await cli(p, 'DBSIZE'))));
    for (const n of perMaster) assert.ok(n > 5, `keys per master: ${perMaster}`);
    for (const owner of owners.slice(0, 10)) assert.equal((await listSessions(owner, options)).length, 2);
    for (const owner of owners.slice(0, 10)) assert.equal(await revokeSessions(owner, options, { except: sessions.get(owner)[0].id }), 1);
    const r = await sweep({ ...options, idle: '1h' });
    assert.equal(r.scanned, 50);
    assert.equal(r.kept, 50);
    assert.equal(r.ownerEntriesRestored, 0);
    await waitFor(async () => (await listSessions(owners[0], options)).length === 1, { message: 'one left' });
  });
});

describeRedis('owners and sweep() when Redis is unavailable', function () {
  this.timeout(30000);
  after(() => closeRedisConnections());

  it('binding saves, listing, revoking and sweeping fail with SessionStoreUnavailableError, as every operation does; after it is back they work', async () => {
    const server = await startRedis();
    try {
      const options = { type: 'redis', redis: { url: server.url, prefix: `down${process.pid}:`, commandTimeout: 500 }, useCookies: false };
      const s = await login(options, 'ann');
      const t = await open(options, s.id);
      t.setOwner('bob');
      await server.kill();
      const unavailable = (err) => err.code === 'ERR_SESSION_STORE_UNAVAILABLE';
      await assert.rejects(t.save(), unavailable);
      await assert.rejects(listSessions('ann', options), unavailable);
      await assert.rejects(revokeSessions('ann', options), unavailable);
      await assert.rejects(sweep({ ...options, idle: '1h' }), unavailable);
      await server.restart();
      await waitFor(
        () =>
          listSessions('ann', options).then(
            () => true,
            () => false,
          ),
        { message: 'the store to work again' },
      );
      // Without persistence the restart lost everything: nothing listed, and a binding save starts over.
      assert.deepEqual(await listSessions('ann', options), []);
      assert.equal(await revokeSessions('ann', options), 0);
    } finally {
      await server.stop();
    }
  });
});
