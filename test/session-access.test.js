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
    clock += 7000;
    const got = await jar.request('/');
    assert.equal(got.json.n, 1);
    // Read as soon as the response is here: the access is already on disk.
    const after = await fileState(file);
    assert.equal(after.txid, before.txid + 1);
    assert.equal(after.accessed, clock);
    assert.equal(after.created, before.created);
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
