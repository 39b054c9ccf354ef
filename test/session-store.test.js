// The stores: the NamespaceManager contract checked on both built-in stores,
// the dbm store's files (sharding, modes, mtime as last access, a file
// deleted from outside, corrupt files with and without invalidateCorrupt),
// and the memory store's sweep of expired sessions.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';
import { DbmNamespace, MemoryNamespace, SessionCorruptError, generateId, storeOptions } from 'wasm-session/session';
import { describeStoreContract } from './fixtures/store-contract.js';
import { sessionHandler } from './fixtures/session/app.js';
import { tempDir, waitFor } from './helpers/index.js';
import { CookieJar, sessionFiles, startServer } from './helpers/http.js';

const bytes = (s) => Buffer.from(s);
/** What a Session would give its store (memory when there is no dataDir). */
const options = (dataDir, extra = {}) => storeOptions(dataDir ? { dataDir, ...extra } : { type: 'memory', ...extra });

const contractDir = { path: '' };
describeStoreContract('DbmNamespace', {
  setup: () => {
    contractDir.path = tempDir('contract').dir;
  },
  teardown: () => fs.rmSync(contractDir.path, { recursive: true, force: true }),
  makeStore: (id, extra) => new DbmNamespace(id, options(contractDir.path, extra)),
  stored: (id) => fs.existsSync(path.join(contractDir.path, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`)),
  statics: (extra) => ({ ids: () => DbmNamespace.ids(options(contractDir.path, extra)), clear: () => DbmNamespace.clear(options(contractDir.path, extra)) }),
  owners: (extra) => ({
    owned: (owner) => DbmNamespace.ownedSessions(owner, options(contractDir.path, extra)),
    revoke: (owner, except) => DbmNamespace.revokeOwned(owner, options(contractDir.path, extra), except),
  }),
});
describeStoreContract('MemoryNamespace', {
  makeStore: (id, extra) => new MemoryNamespace(id, options('', extra)),
  stored: (id) => MemoryNamespace.snapshot(id) !== null,
  statics: (extra) => ({ ids: () => MemoryNamespace.ids(options('', extra)), clear: () => MemoryNamespace.clear(options('', extra)) }),
  owners: (extra) => ({
    owned: (owner) => MemoryNamespace.ownedSessions(owner, options('', extra)),
    revoke: (owner, except) => MemoryNamespace.revokeOwned(owner, options('', extra), except),
  }),
});

describe('DbmNamespace files', function () {
  this.timeout(20000);
  let dir;
  beforeEach(() => {
    dir = tempDir('files').dir;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shards files two hex levels deep: <dataDir>/<id[0:2]>/<id[2:4]>/<id>.dbm, directories 0700, files 0600', async () => {
    const id = 'abcdef0123456789abcdef0123456789';
    const ns = new DbmNamespace(id, options(path.join(dir, 'data')));
    const expected = path.join(dir, 'data', 'ab', 'cd', `${id}.dbm`);
    assert.equal(ns.file.path, expected);
    assert.deepEqual(ns.file.getFilenames(), [expected]);
    await ns.save({ mode: 'create', set: new Map([['a', bytes('x')]]), delete: [], created: 1, accessed: 1 });
    assert.equal(fs.statSync(expected).mode & 0o777, 0o600);
    for (const d of ['data', 'data/ab', 'data/ab/cd']) assert.equal(fs.statSync(path.join(dir, d)).mode & 0o777, 0o700, d);
    // It is a plain dbm file: the values decode with the dbm API.
    const db = await Dbm.open(expected, { flag: 'r' });
    assert.equal(db.size, 1);
    await db.close();
  });

  it('a session of about 1.5 KiB is one 4 KiB file (2 KiB pages: the meta pair is one block), also after many saves', async () => {
    const id = generateId();
    const ns = new DbmNamespace(id, options(path.join(dir, 'data')));
    const set = new Map();
    // 12 keys, 1.5 KiB of values encoded (each value stays inline: under ~490 bytes).
    for (let i = 0; i < 12; i++) set.set(`key${i}`, Buffer.concat([Buffer.from([0xc4, 120]), Buffer.alloc(120, i)]));
    await ns.save({ mode: 'create', set, delete: [], created: 1, accessed: 1 });
    const file = ns.file.path;
    const db = await Dbm.open(file, { flag: 'r' });
    assert.equal(db.pageSize, 2048);
    await db.close();
    for (let i = 0; i < 50; i++) {
      await ns.read();
      assert.equal(
        await ns.save({
          mode: 'update',
          set: new Map([[`key${i % 12}`, Buffer.concat([Buffer.from([0xc4, 120]), Buffer.alloc(120, i)])]]),
          delete: [],
          created: 1,
          accessed: i,
        }),
        'ok',
      );
    }
    const st = fs.statSync(file);
    assert.equal(st.size, 4096);
    assert.ok(st.blocks * 512 <= 4096, `${st.blocks} blocks of 512`);
  });

  it('refuses anything but a 32-hex id (defence in depth: a path is made of it)', () => {
    for (const bad of ['../../etc/passwd', 'ABCDEF0123456789ABCDEF0123456789', 'abc', '', 'a'.repeat(33), 'abcdef0123456789abcdef012345678/', null]) {
      assert.throws(() => new DbmNamespace(bad, options(dir)), TypeError);
    }
    assert.throws(() => new DbmNamespace(generateId(), { ...options(dir), dataDir: '' }), /needs options.dataDir/);
  });

  describe('through HTTP', () => {
    let server;
    let clock;
    before(async () => {
      clock = { now: Date.now() };
      server = await startServer((req, res) => sessionHandler({ dataDir: currentDir, now: () => clock.now, ...currentExtra })(req, res));
    });
    after(() => server.close());
    let currentDir;
    let currentExtra = {};
    beforeEach(() => {
      currentDir = dir;
      currentExtra = {};
      clock.now = Date.now();
    });
    const run = (jar, steps, opts) => jar.request('/', { method: 'POST', body: { steps, options: opts } });

    it('the file mtime tracks the last access (load and save), so find -mmin cleanup works', async () => {
      const jar = new CookieJar(server.url);
      const { file } = (await run(jar, [['set', 'a', 1], ['save'], ['state']])).json.results[2];
      const old = new Date(Date.now() - 3600_000);
      fs.utimesSync(file, old, old);
      assert.ok(Date.now() - fs.statSync(file).mtimeMs > 3000_000);
      await run(jar, [['get', 'a']], { touchAfter: 0 }); // a read-only request (touchAfter 0: every access is written)
      assert.ok(Date.now() - fs.statSync(file).mtimeMs < 60_000, 'loading touched the file');
      fs.utimesSync(file, old, old);
      await run(jar, [['save']], { touchAfter: 0 }); // the load and an unchanged save
      assert.ok(Date.now() - fs.statSync(file).mtimeMs < 60_000);
    });

    it('a file deleted from outside while the app runs is just a new session', async () => {
      const jar = new CookieJar(server.url);
      const { id, file } = (await run(jar, [['set', 'user', 'ann'], ['save'], ['state']])).json.results[2];
      fs.unlinkSync(file);
      const r = await run(jar, [['state'], ['keys'], ['set', 'b', 1], ['save'], ['state']]);
      assert.equal(r.status, 200, r.text);
      assert.notEqual(r.json.results[0].id, id, 'the vanished id is not adopted');
      assert.equal(r.json.results[0].isNew, true);
      assert.deepEqual(r.json.results[1], []);
      assert.match(r.setCookie[0], new RegExp(`=${r.json.results[4].id};`));
      assert.equal(fs.existsSync(file), false);
    });

    it('a file deleted between load and save (a logout elsewhere, a cleanup job): save() writes nothing, and the session says so', async () => {
      const jar = new CookieJar(server.url);
      const { id, file } = (await run(jar, [['set', 'a', 1], ['set', 'b', 2], ['save'], ['state']])).json.results[3];
      const loaded = path.join(currentDir, 'loaded.mark');
      const go = path.join(currentDir, 'go.mark');
      const pending = run(jar, [['set', 'b', 3], ['signal', loaded], ['waitFor', go], ['save'], ['state']]);
      await waitFor(() => fs.existsSync(loaded), { message: 'the request to load' });
      fs.unlinkSync(file);
      fs.writeFileSync(go, '');
      const r = await pending;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.results[3], false, 'save() resolves false');
      const after = r.json.results[4];
      assert.equal(after.wasInvalidated, true);
      assert.equal(after.isNew, true);
      assert.notEqual(after.id, id);
      assert.equal(fs.existsSync(file), false, 'the deleted session stays deleted');
      assert.deepEqual(sessionFiles(currentDir), []);
      assert.equal(r.setCookie.length, 0, 'no cookie for the fresh, unsaved session');
    });

    it('a corrupt file is a SessionCorruptError naming the file, and is left alone', async () => {
      const jar = new CookieJar(server.url);
      const { id, file } = (await run(jar, [['set', 'a', 1], ['save'], ['state']])).json.results[2];
      fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
      const r = await run(jar, [['state']]);
      assert.equal(r.status, 500);
      assert.equal(r.json.error.name, 'SessionCorruptError');
      assert.equal(r.json.error.code, 'ERR_SESSION_CORRUPT');
      assert.equal(r.json.error.file, file);
      assert.match(r.json.error.message, new RegExp(`stored session ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt: .*invalidateCorrupt`));
      assert.equal(fs.readFileSync(file).equals(Buffer.alloc(8192, 0x5a)), true, 'nothing was changed');
      assert.deepEqual(r.setCookie, []);
      assert.ok(id);
    });

    it('with invalidateCorrupt, a corrupt file becomes a clean new session and the file is removed', async () => {
      currentExtra = { invalidateCorrupt: true };
      const jar = new CookieJar(server.url);
      const { id, file } = (await run(jar, [['set', 'a', 1], ['save'], ['state']])).json.results[2];
      fs.writeFileSync(file, 'not a dbm file at all');
      const r = await run(jar, [['state'], ['keys'], ['set', 'b', 2], ['save']]);
      assert.equal(r.status, 200, r.text);
      const state = r.json.results[0];
      assert.notEqual(state.id, id);
      assert.equal(state.isNew, true);
      assert.equal(state.wasInvalidated, true);
      assert.deepEqual(r.json.results[1], []);
      assert.equal(fs.existsSync(file), false);
      assert.equal(sessionFiles(dir).length, 1);
    });

    it('a value that does not decode is corruption too (with and without invalidateCorrupt)', async () => {
      const jar = new CookieJar(server.url);
      const { id, file } = (await run(jar, [['set', 'a', 1], ['save'], ['state']])).json.results[2];
      const db = await Dbm.open(file, { flag: 'w' });
      await db.setRaw('bad', Buffer.from([0x92, 0x01])); // an array of 2 holding 1 item: truncated
      await db.close();
      const r = await run(jar, [['state']]);
      assert.equal(r.status, 500);
      assert.equal(r.json.error.code, 'ERR_SESSION_CORRUPT');
      assert.match(r.json.error.message, /the value of key "bad" does not decode/);
      currentExtra = { invalidateCorrupt: true };
      const ok = await run(jar, [['state']]);
      assert.equal(ok.status, 200);
      assert.notEqual(ok.json.results[0].id, id);
      assert.equal(ok.json.results[0].wasInvalidated, true);
    });

    it('a store error that is not corruption reaches the caller unchanged', async () => {
      const blocker = path.join(dir, 'not-a-dir');
      fs.writeFileSync(blocker, 'x');
      currentDir = blocker;
      const r = await run(new CookieJar(server.url), [['set', 'a', 1], ['save']]);
      assert.equal(r.status, 500);
      assert.equal(r.json.error.code, 'ERR_SESSION_UNSAFE_DATA_DIR');
      assert.equal(r.json.error.name, 'UnsafeDataDirError');
    });
  });
});

describe('MemoryNamespace', () => {
  it('snapshot() shows what is stored without recording an access; clear() empties the store', async () => {
    const id = generateId();
    const ns = new MemoryNamespace(id, options(''));
    await ns.save({ mode: 'create', set: new Map([['a', bytes('1')]]), delete: [], created: 10, accessed: 20 });
    assert.equal(MemoryNamespace.snapshot(id).accessed, 20);
    assert.equal(MemoryNamespace.snapshot(id).accessed, 20);
    assert.ok(MemoryNamespace.size >= 1);
    assert.equal(MemoryNamespace.snapshot(generateId()), null);
  });

  it('save() sweeps out sessions past timeout or maxLifetime (at most once a minute)', async () => {
    const t = Date.UTC(2040, 0, 1);
    const opts = options('', { timeout: 60, maxLifetime: 3600 });
    const idle = generateId();
    const old = generateId();
    const fresh = generateId();
    await new MemoryNamespace(idle, opts).save({ mode: 'create', set: new Map(), delete: [], created: t, accessed: t });
    await new MemoryNamespace(old, opts).save({ mode: 'create', set: new Map(), delete: [], created: t - 4000_000, accessed: t });
    // A jump of the (test) clock makes the next save sweep.
    await new MemoryNamespace(fresh, opts).save({ mode: 'create', set: new Map(), delete: [], created: t + 61_000, accessed: t + 61_000 });
    assert.equal(MemoryNamespace.snapshot(idle), null);
    assert.equal(MemoryNamespace.snapshot(old), null);
    assert.notEqual(MemoryNamespace.snapshot(fresh), null);
  });
});

describe('a custom store reporting corruption', () => {
  class BrokenStore {
    static removed = [];
    constructor(id) {
      this.id = id;
    }
    async load() {
      throw Object.assign(new Error('checksum mismatch in row 7'), { code: 'ERR_DBM_CORRUPT' });
    }
    async save() {}
    async remove() {
      BrokenStore.removed.push(this.id);
    }
  }
  const id = '0123456789abcdef0123456789abcdef';
  const req = { headers: { cookie: `myghty_session_id=${id}` } };
  const res = () => ({ headersSent: false, getHeader() {}, setHeader() {} });

  it('is a SessionCorruptError naming the store and an id prefix, with the cause', async () => {
    const { Session } = await import('wasm-session/session');
    await assert.rejects(
      Session.open(req, res(), { namespaceClass: BrokenStore }),
      (err) =>
        err instanceof SessionCorruptError &&
        err.file === 'BrokenStore session 01234567…' &&
        err.id === id &&
        /checksum mismatch in row 7/.test(err.message) &&
        err.cause.code === 'ERR_DBM_CORRUPT',
    );
    assert.deepEqual(BrokenStore.removed, []);
  });

  it('with invalidateCorrupt: removed, and a fresh session', async () => {
    const { Session } = await import('wasm-session/session');
    const s = await Session.open(req, res(), { namespaceClass: BrokenStore, invalidateCorrupt: true });
    assert.deepEqual(BrokenStore.removed, [id]);
    assert.notEqual(s.id, id);
    assert.equal(s.isNew, true);
    assert.equal(s.wasInvalidated, true);
  });
});
