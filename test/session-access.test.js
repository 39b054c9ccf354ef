// When the access time is stored: load() reads under a shared lock (the
// built-in stores have read()), and the access goes to disk with the
// request's save(), or just before the response ends. Counted through the
// dbm file's transaction id, one per commit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Session } from 'wasm-session';
import fsExt from 'fs-ext';
import { Dbm } from 'wasm-session/dbm';
import { tempDir } from './helpers/index.js';
import { CookieJar, startServer } from './helpers/http.js';

async function fileState(file) {
  const db = await Dbm.open(file, { flag: 'r' });
  try {
    return { txid: (await db.stat()).txid, ...db.times };
  } finally {
    await db.close();
  }
}

describe('Session access time: stored with save(), or at the end of the response', () => {
  let dir;
  let server;
  let clock;
  let afterLoad; // a hook to run inside the request, after the session is open
  before(async () => {
    dir = tempDir('access').dir;
    server = await startServer(async (req, res) => {
      const url = new URL(req.url, 'http://x');
      const session = await Session.open(req, res, { dataDir: dir, now: () => clock });
      if (afterLoad) await afterLoad(session);
      if (url.pathname === '/set') {
        session.set('n', (session.get('n') ?? 0) + 1);
        await session.save();
      }
      res.end(JSON.stringify({ id: session.id, n: session.get('n') ?? null, file: session.namespace.file.path }));
    });
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = 1_000_000;
    afterLoad = undefined;
  });

  it('a request that loads, changes and saves commits once', async () => {
    const jar = new CookieJar(server.url);
    const { file } = (await jar.request('/set')).json;
    const before = await fileState(file);
    clock += 5000;
    await jar.request('/set');
    const after = await fileState(file);
    assert.equal(after.txid, before.txid + 1, 'one commit for load + save');
    assert.equal(after.accessed, clock);
  });

  it('a request that only loads stores the access once, before the client gets the response', async () => {
    const jar = new CookieJar(server.url);
    const { file } = (await jar.request('/set')).json;
    const before = await fileState(file);
    clock += 61_000; // past the default touch interval (60 s)
    const got = await jar.request('/');
    assert.equal(got.json.n, 1);
    // Read as soon as the response is here: the access is already on disk.
    const after = await fileState(file);
    assert.equal(after.txid, before.txid + 1);
    assert.equal(after.accessed, clock);
    assert.equal(after.created, before.created);
  });

  it('the touch interval: a read-only request within touchAfter (default 60 s) of the stored access writes nothing; one after it writes once', async () => {
    const jar = new CookieJar(server.url);
    const { file } = (await jar.request('/set')).json;
    const before = await fileState(file);
    for (const seconds of [10, 20, 59]) {
      clock = before.accessed + seconds * 1000;
      assert.equal((await jar.request('/')).json.n, 1);
      assert.equal((await fileState(file)).txid, before.txid, `nothing written ${seconds} s after the stored access`);
    }
    clock = before.accessed + 60_000;
    await jar.request('/');
    const after = await fileState(file);
    assert.equal(after.txid, before.txid + 1, 'one write once the interval has passed');
    assert.equal(after.accessed, clock);
    // A change is always written, and carries the access with it.
    clock += 1000;
    await jar.request('/set');
    assert.equal((await fileState(file)).txid, before.txid + 2);
    assert.equal((await fileState(file)).accessed, clock);
  });

  it('touchAfter: 0 records every access; the default is capped at a tenth of timeout; touchAfter beyond timeout is refused', async () => {
    const tmp = tempDir('touch');
    const response = () => {
      const headers = {};
      return { headersSent: false, getHeader: (n) => headers[n], setHeader: (n, v) => (headers[n] = v), headers };
    };
    try {
      let now = 1_000_000;
      const every = { dataDir: tmp.dir, touchAfter: 0, now: () => now };
      const res = response();
      const s = await Session.open({ headers: {} }, res, every);
      s.set('a', 1);
      await s.save();
      const cookie = res.headers['set-cookie'][0].split(';')[0];
      const file = s.namespace.file.path;
      const t0 = (await fileState(file)).txid;
      for (let i = 1; i <= 3; i++) {
        now += 1;
        await (await Session.open({ headers: { cookie } }, response(), every)).save(); // unchanged: only the access
        assert.equal((await fileState(file)).txid, t0 + i);
      }
      // timeout 30 s: the default interval becomes 3 s.
      const capped = { dataDir: tmp.dir, timeout: 30, now: () => now };
      now += 2900;
      await (await Session.open({ headers: { cookie } }, response(), capped)).save();
      assert.equal((await fileState(file)).txid, t0 + 3, '2.9 s after the last access: not yet');
      now += 200;
      await (await Session.open({ headers: { cookie } }, response(), capped)).save();
      assert.equal((await fileState(file)).txid, t0 + 4, '3.1 s after it: written');
      assert.throws(() => new Session({ headers: {} }, response(), { dataDir: tmp.dir, timeout: 30, touchAfter: 31 }), /touchAfter .* must not exceed timeout/);
      for (const bad of [-1, Number.NaN, '5'])
        assert.throws(() => new Session({ headers: {} }, response(), { dataDir: tmp.dir, touchAfter: bad }), /touchAfter/);
    } finally {
      tmp.cleanup();
    }
  });

  it('load() needs only a shared lock: it runs while another reader holds one, save() waits', async () => {
    const jar = new CookieJar(server.url);
    const { file } = (await jar.request('/set')).json;
    const cookie = jar.header();
    // Another reader (a separate open file description) holds a shared flock.
    const fd = fs.openSync(file, 'r');
    fsExt.flockSync(fd, 'sh');
    try {
      const res = { headersSent: false, getHeader() {}, setHeader() {}, end() {} };
      const options = { dataDir: dir, lockTimeout: 300, now: () => clock };
      const session = await Session.open({ headers: { cookie } }, res, options);
      assert.equal(session.isNew, false);
      assert.equal(session.get('n'), 1);
      session.set('n', 2);
      await assert.rejects(session.save(), { name: 'LockTimeoutError', message: /exclusive lock/ });
    } finally {
      fs.closeSync(fd);
    }
  });
});
