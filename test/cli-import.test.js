// wasm-session import, as a child process: sessions written by the real
// session-file-store and connect-redis packages (through express-session)
// are copied into the store a WasmSessionStore reads, and the same cookies
// then log the same users in on the new store. The import functions
// themselves are tested in ops-import.test.js.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { closeRedisConnections } from 'wasm-session';
import { WasmSessionStore } from 'wasm-session/express-session';
import { tempDir } from './helpers/index.js';
import { describeRedis, startRedis } from './helpers/redis.js';
import { assertLoggedIn, logIn } from './helpers/legacy-app.js';

const require = createRequire(import.meta.url);
const session = require('express-session');
const FileStore = require('session-file-store')(session);
const { RedisStore } = require('connect-redis');
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The CLI as a child process (not spawnSync: a Redis server in this process's tests must keep being served). */
function run(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

describe('cli: wasm-session import', function () {
  this.timeout(60000);
  let tmp;
  beforeEach(() => {
    tmp = tempDir('cli-import');
  });
  afterEach(() => tmp.cleanup());

  it('--from session-file-store: a dry run counts and writes nothing; the import keeps users logged in; expired files are skipped', async () => {
    const source = tmp.file('sessions');
    const cookies = await logIn(new FileStore({ path: source, logFn: () => {}, retries: 0 }), ['ann', 'bob']);
    // A session session-file-store itself would consider expired (last access two hours ago, 1 h lifetime).
    const expired = { cookie: { originalMaxAge: 3600_000, expires: new Date(Date.now() - 3600_000).toISOString(), path: '/' }, user: 'old' };
    fs.writeFileSync(path.join(source, 'gone.json'), JSON.stringify({ ...expired, __lastAccess: Date.now() - 7200_000 }));
    const dataDir = tmp.file('data');

    const dry = await run('import', '--from', 'session-file-store', source, '--to', dataDir, '--dry-run', '--json');
    assert.equal(dry.status, 0, dry.stderr);
    const counts = JSON.parse(dry.stdout);
    assert.deepEqual(
      { from: counts.from, dryRun: counts.dryRun, imported: counts.imported, expired: counts.expired, failed: counts.failed },
      { from: 'session-file-store', dryRun: true, imported: 2, expired: 1, failed: 0 },
    );
    assert.equal(fs.existsSync(dataDir), false, 'a dry run writes nothing');

    const real = await run('import', '--from', 'session-file-store', source, '--to', dataDir);
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /2 session\(s\) imported into .*data, 1 expired \(skipped\), 0 already there \(left alone\), 0 failed/);
    const store = new WasmSessionStore({ dataDir });
    assert.deepEqual((await store.ids()).length, 2);
    await assertLoggedIn(store, cookies);

    // Run again after the switch: what the users did on the new store (a visit each) is not taken back.
    const again = await run('import', '--from', 'session-file-store', source, '--to', dataDir, '--json');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual((({ imported, existing, expired }) => ({ imported, existing, expired }))(JSON.parse(again.stdout)), {
      imported: 0,
      existing: 2,
      expired: 1,
    });
    assert.deepEqual(
      Object.values(await store.all()).map((s) => s.visits),
      [2, 2],
      'the visits made on the new store are kept',
    );
  });

  it('a file it cannot read is named on stderr and makes the exit status 1; the others are imported', async () => {
    const source = tmp.file('sessions');
    fs.mkdirSync(source);
    const cookie = { originalMaxAge: 3600_000, expires: new Date(Date.now() + 3600_000).toISOString(), path: '/' };
    fs.writeFileSync(path.join(source, 'fine.json'), JSON.stringify({ cookie, user: 'ann', __lastAccess: Date.now() }));
    fs.writeFileSync(path.join(source, 'cut.json'), '{"cookie": {"originalMax');
    const dataDir = tmp.file('data');
    const r = await run('import', '--from', 'session-file-store', source, '--to', dataDir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /1 session\(s\) imported .* 1 failed/);
    assert.match(r.stderr, /cut: cut\.json: /);
    assert.equal((await new WasmSessionStore({ dataDir }).get('fine')).user, 'ann');
  });

  it('refuses bad command lines with a usage message (exit 2) before touching anything', async () => {
    const dataDir = tmp.file('data');
    const cases = [
      [['import', tmp.dir, '--to', dataDir], /import needs --from/],
      [['import', '--from', 'sqlite', tmp.dir, '--to', dataDir], /unknown --from 'sqlite'/],
      [['import', '--from', 'session-file-store', tmp.dir], /import needs --to/],
      [['import', '--from', 'session-file-store', tmp.dir, '--to', dataDir, '--prefix', 'x:'], /--prefix is an option of --from connect-redis/],
      [['import', '--from', 'session-file-store', tmp.dir, '--to', dataDir, '--ttl', 'soon'], /--ttl takes seconds/],
      [['import', '--from', 'session-file-store', tmp.dir, '--to', dataDir, '--to-prefix', 'x:'], /--to-prefix is for a redis:\/\/ target/],
      [['import', '--from', 'session-file-store', '--to', dataDir], /missing SOURCE/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: wasm-session import --from session-file-store/);
    }
    const missing = await run('import', '--from', 'session-file-store', tmp.file('nowhere'), '--to', dataDir);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nowhere does not exist/);
    assert.equal(fs.existsSync(dataDir), false);
  });
});

describeRedis('cli: wasm-session import --from connect-redis', function () {
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
    tmp = tempDir('cli-import-redis');
  });
  afterEach(() => tmp.cleanup());

  it('into a data directory and into the Redis store (--to redis://, --to-prefix): the same cookies work, and the command exits', async () => {
    const cookies = await logIn(new RedisStore({ client, prefix: 'legacy:' }), ['ann', 'bob', 'cy']);
    await client.set('unrelated:key', 'left alone');

    const dataDir = tmp.file('data');
    const toDir = await run('import', '--from', 'connect-redis', redis.url, '--prefix', 'legacy:', '--to', dataDir, '--json');
    assert.equal(toDir.status, 0, toDir.stderr);
    assert.deepEqual((({ imported, expired, failed }) => ({ imported, expired, failed }))(JSON.parse(toDir.stdout)), { imported: 3, expired: 0, failed: 0 });
    await assertLoggedIn(new WasmSessionStore({ dataDir }), cookies);

    const toRedis = await run('import', '--from', 'connect-redis', redis.url, '--prefix', 'legacy:', '--to', redis.url, '--to-prefix', 'moved:');
    assert.equal(toRedis.status, 0, toRedis.stderr);
    assert.match(toRedis.stdout, /3 session\(s\) imported into redis:/);
    const store = new WasmSessionStore({ type: 'redis', redis: { url: redis.url, prefix: 'moved:' } });
    assert.equal((await store.ids()).length, 3);
    await assertLoggedIn(store, cookies);
    assert.equal(await client.get('unrelated:key'), 'left alone');
  });
});
