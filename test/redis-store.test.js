// The Redis store (type 'redis') on real servers the tests start: the
// NamespaceManager contract suite on one server and on a 3-master cluster,
// then what is Redis's own: the layout (one hash, k:/m: fields, the hash
// tag), TTLs from timeout and maxLifetime, maxSessionBytes counted with
// keys others added, corrupt keys, ids() and clear() across masters, each
// session's keys on one slot, lock leases, a client the application owns,
// unavailability as a typed error within a bounded time, and a process
// that is done exiting with its idle connection open.

import assert from 'node:assert/strict';
import path from 'node:path';
import { RESP_TYPES, createClient, createCluster } from 'redis';
import {
  LockTimeoutError,
  RedisNamespace,
  Session,
  SessionCorruptError,
  SessionLockLostError,
  SessionStoreUnavailableError,
  closeRedisConnections,
  generateId,
  storeOptions,
} from 'wasm-session/session';
import { describeStoreContract } from './fixtures/store-contract.js';
import { FIXTURES, LONG, startChild, waitFor } from './helpers/index.js';
import { cli, describeRedis, startCluster, startRedis } from './helpers/redis.js';

const bytes = (s) => Buffer.from(s);
const create = (set, times = 1) => ({ mode: 'create', set: new Map(set), delete: [], created: times, accessed: times });
const update = (set, deleted = [], created = 1, accessed = 2) => ({ mode: 'update', set: new Map(set), delete: deleted, created, accessed });
let prefixes = 0;
/** A prefix of its own per test, so tests on one server never see each other's sessions. */
const freshPrefix = () => `t${process.pid}-${++prefixes}:`;

function fakeRes() {
  const headers = {};
  return { headersSent: false, getHeader: (n) => headers[n.toLowerCase()], setHeader: (n, v) => (headers[n.toLowerCase()] = v), headers };
}

describeRedis('RedisNamespace on one redis-server', function () {
  this.timeout(30000);
  let server;
  let probe; // an independent client, to look at what is stored
  const ctx = { prefix: '' };
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
  beforeEach(() => {
    ctx.prefix = freshPrefix();
  });

  const opts = (extra = {}, redis = {}) => storeOptions({ type: 'redis', redis: { url: server.url, prefix: ctx.prefix, ...redis }, ...extra });
  const store = (id, extra, redis) => new RedisNamespace(id, opts(extra, redis));

  describeStoreContract('RedisNamespace (one server)', {
    makeStore: (id, extra) => store(id, extra),
    stored: async (id) => (await probe.exists(`${ctx.prefix}{${id}}`)) === 1,
    statics: (extra) => ({ ids: () => RedisNamespace.ids(opts(extra)), clear: () => RedisNamespace.clear(opts(extra)) }),
    // Each test has a prefix of its own (ctx.prefix): that is the space extra.key names.
    owners: (extra) => ({
      owned: (owner) => RedisNamespace.ownedSessions(owner, opts(extra)),
      revoke: (owner, except) => RedisNamespace.revokeOwned(owner, opts(extra), except),
    }),
  });

  it('stores one hash per session under <prefix>{<id>}: k:<key> fields hold the msgpack bytes, m:c / m:a / m:g the times and generation', async () => {
    const id = generateId();
    const s = await Session.open({ headers: {} }, fakeRes(), { type: 'redis', redis: { url: server.url, prefix: ctx.prefix }, now: () => 1_700_000_000_000 });
    s.set('user', 'ann');
    s.set('m:c', 'a user key that looks like metadata');
    await s.save();
    const key = `${ctx.prefix}{${s.id}}`;
    const raw = await probe.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).hGetAll(key);
    assert.deepEqual(Object.keys(raw).sort(), ['k:m:c', 'k:user', 'm:a', 'm:c', 'm:g', 'm:s']);
    // m:s: the session's size, key bytes + value bytes: 'user' + a3 'ann', 'm:c' + d9 <length> <the string>.
    assert.equal(raw['m:s'].toString(), String(4 + 4 + 3 + 2 + 'a user key that looks like metadata'.length));
    assert.equal(raw['m:c'].toString(), '1700000000000');
    assert.equal(raw['m:a'].toString(), '1700000000000');
    assert.match(raw['m:g'].toString(), /^[A-Za-z0-9_-]{16}$/);
    // msgpack 'ann' is a3 61 6e 6e
    assert.deepEqual([...raw['k:user']], [0xa3, 0x61, 0x6e, 0x6e]);
    assert.equal(await probe.exists(`${key}:lock`), 0);
    assert.notEqual(id, s.id);
  });

  it('saves send only the changed fields: a key another request added stays, a removed key is deleted', async () => {
    const id = generateId();
    await store(id).save(
      create([
        ['a', bytes('1')],
        ['b', bytes('2')],
      ]),
    );
    const mine = store(id);
    await mine.read();
    const theirs = store(id);
    await theirs.read();
    assert.equal(await theirs.save(update([['c', bytes('3')]])), 'ok');
    assert.equal(await mine.save(update([['a', bytes('9')]], ['b'])), 'ok');
    const got = await store(id).read();
    assert.deepEqual([...got.data].map(([k, v]) => [k, v.toString()]).sort(), [
      ['a', '9'],
      ['c', '3'],
    ]);
  });

  it('the TTL is the timeout, cut to the time left of maxLifetime; without a timeout, 14 days or redis.ttl', async () => {
    const pttl = async (id) => Number(await probe.pTTL(`${ctx.prefix}{${id}}`));
    const day = 24 * 3600 * 1000;
    const a = generateId();
    await store(a).save(create([['k', bytes('v')]], 1000));
    assert.ok(Math.abs((await pttl(a)) - 14 * day) < 60_000, `default TTL ${await pttl(a)}`);
    const b = generateId();
    await store(b, {}, { ttl: 3600 }).save(create([['k', bytes('v')]], 1000));
    assert.ok(Math.abs((await pttl(b)) - 3600_000) < 60_000);
    const c = generateId();
    await store(c, { timeout: 600 }).save(create([['k', bytes('v')]], 1000));
    assert.ok(Math.abs((await pttl(c)) - 600_000) < 60_000);
    // created at 1000, maxLifetime 300 s, accessed 100 s later: 200 s left, less than the timeout.
    const d = generateId();
    const withLife = store(d, { timeout: 600, maxLifetime: 300 });
    await withLife.save(create([['k', bytes('v')]], 1000));
    await withLife.touch(101_000);
    assert.ok(Math.abs((await pttl(d)) - 200_000) < 60_000, `TTL ${await pttl(d)}`);
    // load() records the access and resets the TTL too.
    await store(d, { timeout: 600, maxLifetime: 300 }).load(1000 + 250_000);
    assert.ok(Math.abs((await pttl(d)) - 50_000) < 20_000, `TTL after load ${await pttl(d)}`);
    // A read records nothing: neither the time nor the TTL.
    await probe.pExpire(`${ctx.prefix}{${d}}`, 40_000);
    const seen = await store(d, { timeout: 600, maxLifetime: 300 }).read();
    assert.equal(seen.accessed, 251_000);
    assert.ok((await pttl(d)) <= 40_000);
  });

  it('a session whose key expired reads as nothing, and a late save does not bring it back', async () => {
    const id = generateId();
    const ns = store(id);
    await ns.save(create([['k', bytes('v')]]));
    await store(id).read();
    await probe.del(`${ctx.prefix}{${id}}`); // what the TTL does
    assert.equal(await ns.save(update([['k', bytes('w')]])), 'gone');
    assert.equal(await ns.touch(3), 'gone');
    assert.equal(await probe.exists(`${ctx.prefix}{${id}}`), 0);
  });

  it('maxSessionBytes counts the keys other requests added: a save that would pass it writes nothing', async () => {
    const id = generateId();
    await store(id, { maxSessionBytes: 100 }).save(create([['a', Buffer.alloc(40)]]));
    const other = store(id, { maxSessionBytes: 100 });
    await other.read();
    await other.save(update([['b', Buffer.alloc(40)]]));
    const mine = store(id, { maxSessionBytes: 100 });
    await mine.read();
    await assert.rejects(mine.save(update([['c', Buffer.alloc(30)]])), (err) => err.code === 'ERR_SESSION_TOO_LARGE');
    assert.deepEqual([...(await store(id).read()).data.keys()].sort(), ['a', 'b']);
    // Replacing and deleting count too: b goes, c fits.
    assert.equal(await mine.save(update([['c', Buffer.alloc(50)]], ['b'])), 'ok');
  });

  it('a key of another type or a hash without the metadata is corrupt; with invalidateCorrupt the Session starts clean', async () => {
    const base = { type: 'redis', redis: { url: server.url, prefix: ctx.prefix }, useCookies: false };
    const wrongType = generateId();
    await probe.set(`${ctx.prefix}{${wrongType}}`, 'not a hash');
    await assert.rejects(store(wrongType).read(), (err) => err instanceof SessionCorruptError && /not a hash/.test(err.message));
    const foreign = generateId();
    await probe.hSet(`${ctx.prefix}{${foreign}}`, 'k:x', 'y');
    await assert.rejects(store(foreign).read(), SessionCorruptError);
    await assert.rejects(Session.open(undefined, undefined, { ...base, id: foreign }), SessionCorruptError);
    const s = await Session.open(undefined, undefined, { ...base, id: wrongType, invalidateCorrupt: true });
    assert.equal(s.wasInvalidated, true);
    assert.notEqual(s.id, wrongType);
    assert.equal(await probe.exists(`${ctx.prefix}{${wrongType}}`), 0, 'the corrupt key was removed');
  });

  it('ids() lists the configuration’s sessions (not their locks, not other prefixes); clear() removes them', async () => {
    const ids = [];
    for (let i = 0; i < 30; i++) {
      const id = generateId();
      ids.push(id);
      await store(id).save(create([['k', bytes('v')]]));
    }
    const locked = store(ids[0]);
    await locked.lock(1000);
    const otherPrefix = `${ctx.prefix}other:`;
    await store(generateId(), {}, { prefix: otherPrefix }).save(create([['k', bytes('v')]]));
    const listed = [];
    for await (const id of RedisNamespace.ids(opts())) listed.push(id);
    assert.deepEqual(listed.sort(), [...ids].sort());
    await RedisNamespace.clear(opts());
    const after = [];
    for await (const id of RedisNamespace.ids(opts())) after.push(id);
    assert.deepEqual(after, []);
    let others = 0;
    for await (const _ of RedisNamespace.ids(opts({}, { prefix: otherPrefix }))) others++;
    assert.equal(others, 1);
    await locked.unlock();
  });

  it('a prefix with glob characters is matched literally by ids()', async () => {
    ctx.prefix = `g*[?]${ctx.prefix}`;
    const id = generateId();
    await store(id).save(create([['k', bytes('v')]]));
    await new RedisNamespace(generateId(), storeOptions({ type: 'redis', redis: { url: server.url, prefix: `gX[?]${ctx.prefix.slice(5)}` } })).save(
      create([['k', bytes('v')]]),
    );
    const listed = [];
    for await (const x of RedisNamespace.ids(opts())) listed.push(x);
    assert.deepEqual(listed, [id]);
  });

  it('the lock is SET NX PX with a random token, renewed while held; a lease that ran out makes the next save fail with SessionLockLostError', async () => {
    const id = generateId();
    const holder = store(id, {}, { lockLease: 300 });
    await holder.save(create([['n', bytes('0')]]));
    await holder.lock(1000);
    const lockKey = `${ctx.prefix}{${id}}:lock`;
    const token = await probe.get(lockKey);
    assert.match(token, /^[A-Za-z0-9_-]{20}$/);
    // Renewal keeps it alive well past one lease.
    await waitFor(async () => (await probe.pTTL(lockKey)) > 250, { message: 'a renewed lease' });
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 > 700, { interval: 50 });
    assert.equal(await probe.get(lockKey), token, 'still held after two leases');
    // The lease is lost (here: taken away, as a failover or a long stall would).
    await probe.set(lockKey, 'someone-else', { PX: 5000 });
    await assert.rejects(holder.save(update([['n', bytes('1')]])), (err) => err instanceof SessionLockLostError && err.code === 'ERR_SESSION_LOCK_LOST');
    await assert.rejects(store(id, { lockTimeout: 50 }).read(), LockTimeoutError, 'others wait for the new holder');
    await probe.del(lockKey);
    assert.equal((await store(id).read()).data.get('n').toString(), '0', 'the lost save wrote nothing');
    // unlock() is compare-and-delete: it does not release a lock that is someone else's.
    await probe.set(lockKey, 'someone-else', { PX: 5000 });
    await holder.unlock();
    assert.equal(await probe.get(lockKey), 'someone-else');
    await probe.del(lockKey);
  });

  it('the lock mark (m:l): a locked session reads as locked from its hash alone; a mark whose lease ran out is ignored and then removed', async () => {
    const id = generateId();
    const key = `${ctx.prefix}{${id}}`;
    await store(id).save(create([['n', bytes('0')]]));
    const holder = store(id);
    await holder.lock(1000);
    assert.equal(await probe.hGet(key, 'm:l'), await probe.get(`${key}:lock`), 'the mark is the token');
    await assert.rejects(store(id, { lockTimeout: 60 }).read(), LockTimeoutError, 'a plain read waits for the holder');
    // The holder's lease runs out (here: the lock key goes), the mark stays behind.
    await probe.del(`${key}:lock`);
    const seen = await store(id, { lockTimeout: 60 }).read();
    assert.equal(seen.data.get('n').toString(), '0', 'a stale mark does not make readers wait');
    const writer = store(id);
    await writer.read();
    assert.equal(await writer.save(update([['n', bytes('1')]])), 'ok');
    assert.equal(await probe.hExists(key, 'm:l'), 0, 'the next write removed the stale mark');
    // unlock() of a lock that is not ours any more leaves the new holder's mark.
    const next = store(id);
    await next.lock(1000);
    await holder.unlock();
    assert.equal(await probe.hGet(key, 'm:l'), await probe.get(`${key}:lock`));
    await next.unlock();
    assert.equal(await probe.hExists(key, 'm:l'), 0);
    assert.equal(await probe.exists(`${key}:lock`), 0);
    // A session created under the lock carries the mark from its first write.
    const fresh = generateId();
    const creator = store(fresh);
    await creator.lock(1000);
    assert.equal(await creator.save(create([['k', bytes('v')]])), 'ok');
    await assert.rejects(store(fresh, { lockTimeout: 60 }).read(), LockTimeoutError);
    await creator.unlock();
    assert.equal((await store(fresh).read()).data.get('k').toString(), 'v');
  });

  it('uses a client the application passes in (redis: { client }) and never closes it', async () => {
    const client = createClient({ url: server.url });
    await client.connect();
    const options = storeOptions({ type: 'redis', redis: { client, prefix: ctx.prefix } });
    const id = generateId();
    await new RedisNamespace(id, options).save(create([['k', bytes('v')]]));
    assert.equal((await new RedisNamespace(id, options).read()).data.get('k').toString(), 'v');
    await closeRedisConnections();
    assert.equal(client.isReady, true, 'closeRedisConnections() leaves it alone');
    assert.equal(await client.exists(`${ctx.prefix}{${id}}`), 1);
    await client.close();
    await assert.rejects(new RedisNamespace(id, options).read(), SessionStoreUnavailableError);
  });

  it('a process that is done exits with its idle connection open (the socket is unref’d between operations)', async () => {
    const child = startChild(path.join(FIXTURES, 'redis/idle-exit.js'), [server.url, ctx.prefix]);
    const line = await child.waitFor('saved');
    assert.ok(line, child.stderr);
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr);
  });
});

describeRedis('RedisNamespace when Redis is unavailable', function () {
  this.timeout(30000);
  after(() => closeRedisConnections());

  (LONG ? it : it.skip)('(long) a process that is done while Redis is down exits by itself: its idle connection stops reconnecting', async function () {
    this.timeout(60000);
    const server = await startRedis();
    try {
      const child = startChild(path.join(FIXTURES, 'redis/down-exit.js'), [server.url, freshPrefix()], { stdin: 'pipe' });
      assert.equal(await child.nextLine(), 'saved', child.stderr);
      await server.kill();
      child.send('go\n');
      assert.equal(await child.nextLine(), 'ERR_SESSION_STORE_UNAVAILABLE', child.stderr);
      const { code } = await child.exited;
      assert.equal(code, 0, child.stderr);
    } finally {
      await server.stop();
    }
  });

  it('a server that is down: load and save fail with SessionStoreUnavailableError at once; after it is back, work resumes', async () => {
    const server = await startRedis();
    try {
      const options = storeOptions({ type: 'redis', redis: { url: server.url, prefix: freshPrefix() } });
      const id = generateId();
      await new RedisNamespace(id, options).save(create([['k', bytes('v')]]));
      await server.kill();
      const t0 = Date.now();
      await assert.rejects(
        new RedisNamespace(id, options).read(),
        (err) => err instanceof SessionStoreUnavailableError && err.code === 'ERR_SESSION_STORE_UNAVAILABLE',
      );
      await assert.rejects(new RedisNamespace(generateId(), options).save(create([['k', bytes('v')]])), SessionStoreUnavailableError);
      assert.ok(Date.now() - t0 < 2500, `failed within the command timeout (${Date.now() - t0} ms)`);
      await server.restart();
      const back = await waitFor(
        () =>
          new RedisNamespace(generateId(), options).read().then(
            () => true,
            () => false,
          ),
        {
          message: 'the store to work again',
        },
      );
      assert.equal(back, true);
    } finally {
      await server.stop();
    }
  });

  it('a server that hangs (SIGSTOP): the operation fails after commandTimeout, not later; after SIGCONT it works', async () => {
    const server = await startRedis();
    try {
      const options = storeOptions({ type: 'redis', redis: { url: server.url, prefix: freshPrefix(), commandTimeout: 300 } });
      const id = generateId();
      await new RedisNamespace(id, options).save(create([['k', bytes('v')]]));
      process.kill(server.pid, 'SIGSTOP');
      const t0 = Date.now();
      try {
        await assert.rejects(new RedisNamespace(id, options).read(), SessionStoreUnavailableError);
        const took = Date.now() - t0;
        assert.ok(took >= 250 && took < 2000, `failed after ${took} ms`);
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
      assert.equal((await new RedisNamespace(id, options).read()).data.get('k').toString(), 'v');
    } finally {
      await server.stop();
    }
  });

  it('nothing listening at the URL at all: the first operation fails within the command timeout', async () => {
    const server = await startRedis();
    const url = server.url;
    await server.stop();
    const options = storeOptions({ type: 'redis', redis: { url, commandTimeout: 400 } });
    const t0 = Date.now();
    await assert.rejects(new RedisNamespace(generateId(), options).read(), SessionStoreUnavailableError);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    await closeRedisConnections();
  });
});

describeRedis('RedisNamespace on a 3-master cluster', function () {
  this.timeout(60000);
  let cluster;
  let probe;
  const ctx = { prefix: '' };
  before(async () => {
    cluster = await startCluster();
    probe = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
    await probe.connect();
  });
  after(async () => {
    await probe?.close();
    await closeRedisConnections();
    await cluster?.stop();
  });
  beforeEach(() => {
    ctx.prefix = freshPrefix();
  });
  const opts = (extra = {}) => storeOptions({ type: 'redis', redis: { url: cluster.urls, prefix: ctx.prefix }, ...extra });

  describeStoreContract('RedisNamespace (3-master cluster)', {
    makeStore: (id, extra) => new RedisNamespace(id, opts(extra)),
    stored: async (id) => (await probe.exists(`${ctx.prefix}{${id}}`)) === 1,
    statics: (extra) => ({ ids: () => RedisNamespace.ids(opts(extra)), clear: () => RedisNamespace.clear(opts(extra)) }),
    owners: (extra) => ({
      owned: (owner) => RedisNamespace.ownedSessions(owner, opts(extra)),
      revoke: (owner, except) => RedisNamespace.revokeOwned(owner, opts(extra), except),
    }),
  });

  it('spreads many sessions over every master, each session’s hash and lock on one slot; ids() and clear() cover every master', async () => {
    const ids = Array.from({ length: 300 }, () => generateId());
    await Promise.all(
      ids.map(async (id, i) => {
        const ns = new RedisNamespace(id, opts());
        if (i % 3 === 0) await ns.lock(5000);
        await ns.save(create([['k', bytes(String(i))]]));
        if (i % 3 === 0) await ns.unlock();
      }),
    );
    for (const id of ids.slice(0, 20)) {
      const slot = await cli(cluster.ports[0], 'CLUSTER', 'KEYSLOT', `${ctx.prefix}{${id}}`);
      assert.equal(await cli(cluster.ports[0], 'CLUSTER', 'KEYSLOT', `${ctx.prefix}{${id}}:lock`), slot);
      assert.equal(await cli(cluster.ports[0], 'CLUSTER', 'KEYSLOT', id), slot, 'the slot is the id’s');
    }
    const perMaster = await Promise.all(cluster.ports.map(async (p) => Number(await cli(p, 'DBSIZE'))));
    for (const n of perMaster) assert.ok(n > 50, `sessions per master: ${perMaster}`);
    const listed = [];
    for await (const id of RedisNamespace.ids(opts())) listed.push(id);
    assert.deepEqual(listed.sort(), [...ids].sort());
    const values = await Promise.all(ids.map(async (id) => (await new RedisNamespace(id, opts()).read()).data.get('k').toString()));
    assert.deepEqual(
      values,
      ids.map((_, i) => String(i)),
    );
    await RedisNamespace.clear(opts());
    let left = 0;
    for await (const _ of RedisNamespace.ids(opts())) left++;
    assert.equal(left, 0);
  });

  it("takes the application's cluster client (redis: { client })", async () => {
    const options = storeOptions({ type: 'redis', redis: { client: probe, prefix: ctx.prefix } });
    const id = generateId();
    await new RedisNamespace(id, options).save(create([['k', bytes('v')]]));
    assert.equal((await new RedisNamespace(id, opts()).read()).data.get('k').toString(), 'v');
    const listed = [];
    for await (const x of RedisNamespace.ids(options)) listed.push(x);
    assert.deepEqual(listed, [id]);
  });
});
