// Switching stores without logging anyone out: an express app on
// express-session with session-file-store logs users in; its files are
// imported into a WasmSessionStore (dbm); the same app on the new store,
// with the same secret, serves the same cookies as the same sessions.
// Expired sessions are not copied; unreadable files are counted, not fatal.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { connectRedisSource, importSessions, sessionFileStoreSource } from 'wasm-session/import';
import { closeRedisConnections } from 'wasm-session';
import { createClient, createCluster } from 'redis';
import { describeRedis, startCluster, startRedis } from './helpers/redis.js';
import { WasmSessionStore } from 'wasm-session/express-session';
import { tempDir } from './helpers/index.js';
import { assertLoggedIn, logIn } from './helpers/legacy-app.js';

const require = createRequire(import.meta.url);
const session = require('express-session');
const FileStore = require('session-file-store')(session);
const { RedisStore } = require('connect-redis');

describe('import from session-file-store into a WasmSessionStore', function () {
  this.timeout(30000);
  let tmp;
  beforeEach(() => {
    tmp = tempDir('import');
  });
  afterEach(() => tmp.cleanup());

  it('keeps every live session under its id: the same cookies log the same users in on the new store', async () => {
    const source = tmp.file('sessions');
    const cookies = await logIn(new FileStore({ path: source, logFn: () => {}, retries: 0 }), ['ann', 'bob', 'cy']);
    assert.equal(fs.readdirSync(source).filter((f) => f.endsWith('.json')).length, 3);

    const dataDir = tmp.file('data');
    const dry = await importSessions(sessionFileStoreSource(source), { dataDir }, { dryRun: true });
    assert.deepEqual({ imported: dry.imported, expired: dry.expired, failed: dry.failed }, { imported: 3, expired: 0, failed: 0 });
    assert.equal(fs.existsSync(dataDir), false, 'a dry run writes nothing');

    const result = await importSessions(sessionFileStoreSource(source), { dataDir });
    assert.deepEqual({ imported: result.imported, expired: result.expired, failed: result.failed }, { imported: 3, expired: 0, failed: 0 });

    const store = new WasmSessionStore({ dataDir });
    await assertLoggedIn(store, cookies);
    const stored = await store.get(decodeURIComponent(cookies.ann.split('=')[1]).slice(2).split('.')[0]);
    assert.equal('__lastAccess' in stored, false, "session-file-store's bookkeeping is not copied");
  });

  it('skips sessions session-file-store would treat as expired, and counts unreadable files without stopping', async () => {
    const source = tmp.file('sessions');
    fs.mkdirSync(source);
    const now = Date.now();
    const write = (sid, value) => fs.writeFileSync(path.join(source, `${sid}.json`), typeof value === 'string' ? value : JSON.stringify(value));
    const cookie = (ms) => ({ originalMaxAge: ms, expires: new Date(now + ms).toISOString(), httpOnly: true, path: '/' });
    write('live', { cookie: cookie(3600_000), user: 'ann', __lastAccess: now });
    write('idle-too-long', { cookie: cookie(60_000), user: 'bob', __lastAccess: now - 120_000 });
    write('no-max-age-old', { cookie: { expires: null, path: '/' }, user: 'cy', __lastAccess: now - 2 * 3600_000 });
    write('no-max-age-fresh', { cookie: { expires: null, path: '/' }, user: 'dee', __lastAccess: now - 60_000 });
    write('cookie-expired', { cookie: { ...cookie(3600_000), expires: new Date(now - 1000).toISOString() }, user: 'eve', __lastAccess: now });
    write('broken', '{"user": ');
    fs.symlinkSync('/etc/passwd', path.join(source, 'linked.json'));
    fs.writeFileSync(path.join(source, 'not-a-session.txt'), 'x');

    const dataDir = tmp.file('data');
    const result = await importSessions(sessionFileStoreSource(source, { ttl: 3600 }), { dataDir });
    assert.equal(result.imported, 2);
    assert.equal(result.expired, 3);
    assert.equal(result.failed, 2);
    assert.deepEqual(result.errors.map((e) => e.sid).sort(), ['broken', 'linked']);
    const store = new WasmSessionStore({ dataDir });
    assert.deepEqual((await store.ids()).sort(), ['live', 'no-max-age-fresh']);
    assert.equal((await store.get('live')).user, 'ann');
  });
});

describeRedis('import from connect-redis into a WasmSessionStore', function () {
  this.timeout(60000);
  let tmp;
  let redis;
  let client;
  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
  });
  after(async () => {
    await client?.close();
    await closeRedisConnections();
    await redis?.stop();
  });
  beforeEach(() => {
    tmp = tempDir('import-redis');
  });
  afterEach(() => tmp.cleanup());

  for (const target of ['dbm', 'redis']) {
    it(`the users connect-redis logged in stay logged in on a WasmSessionStore (${target})`, async () => {
      const prefix = `app${target}:`;
      const cookies = await logIn(new RedisStore({ client, prefix }), ['ann', 'bob']);
      // Something else under another prefix, and an entry that is not JSON: neither is a session of this app.
      await client.set('other:x', JSON.stringify({ cookie: {}, user: 'zed' }));
      await client.set(`${prefix}broken`, 'not json');
      const options = target === 'dbm' ? { dataDir: tmp.file('data') } : { type: 'redis', redis: { url: redis.url, prefix: `wasm-${target}:` } };
      const dry = await importSessions(connectRedisSource(redis.url, { prefix }), options, { dryRun: true });
      assert.deepEqual({ imported: dry.imported, failed: dry.failed }, { imported: 2, failed: 1 });
      const result = await importSessions(connectRedisSource(redis.url, { prefix }), options);
      assert.deepEqual({ imported: result.imported, expired: result.expired, failed: result.failed }, { imported: 2, expired: 0, failed: 1 });
      await assertLoggedIn(new WasmSessionStore(options), cookies);
    });
  }

  it('reads every master of a cluster, and skips sessions whose cookie has expired', async () => {
    const cluster = await startCluster();
    const clusterClient = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
    try {
      await clusterClient.connect();
      const store = new RedisStore({ client: clusterClient, prefix: 'c:' });
      const now = Date.now();
      for (let i = 0; i < 40; i++) {
        const expires = new Date(now + (i % 10 === 0 ? -5000 : 3600_000)).toISOString();
        // connect-redis itself refuses to store an expired session (ttl <= 0): write that one as it would have been.
        if (i % 10 === 0) await clusterClient.set(`c:s${i}`, JSON.stringify({ cookie: { expires }, n: i }));
        else await store.set(`s${i}`, { cookie: { expires, originalMaxAge: 3600_000 }, n: i });
      }
      const dataDir = tmp.file('data');
      const result = await importSessions(connectRedisSource(cluster.urls, { prefix: 'c:', count: 7 }), { dataDir });
      assert.deepEqual({ imported: result.imported, expired: result.expired, failed: result.failed }, { imported: 36, expired: 4, failed: 0 });
      const ids = await new WasmSessionStore({ dataDir }).ids();
      assert.equal(ids.length, 36);
      assert.ok(!ids.includes('s0') && ids.includes('s1') && ids.includes('s39'));
    } finally {
      await clusterClient.close().catch(() => {});
      await cluster.stop();
    }
  });
});
