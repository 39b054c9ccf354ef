// The dbm store keeps idle session files open across requests (dbm.openFiles)
// so a session used again soon skips open(2) and close(2). A kept handle must
// never serve a file that changed under it: deleted (a logout in another
// process, a cleanup job), deleted and created again, truncated, linked, or
// given a wrong mode. Each case changes the file from outside while this
// process holds it open, then goes through the Session. Descriptors are
// counted in /proc/self/fd.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DbmNamespace, Session } from 'wasm-session/session';
import { marker, tempDir } from './helpers/index.js';

const KEY = 'myghty_session_id';
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
const withId = (id) => ({ headers: { cookie: `${KEY}=${id}` } });

/** Session files this process has open now. */
function openSessionFiles(dataDir) {
  const out = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dataDir) && target.includes('.dbm')) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

describe('dbm store: idle session files kept open (dbm.openFiles)', function () {
  this.timeout(30000);
  let tmp;
  let options;
  beforeEach(() => {
    DbmNamespace.closeIdleFiles();
    tmp = tempDir('openfiles');
    options = { dataDir: tmp.dir, touchAfter: 0 };
  });
  afterEach(() => {
    DbmNamespace.closeIdleFiles();
    tmp.cleanup();
  });

  async function stored(values, opts = options) {
    const s = await Session.open({ headers: {} }, fakeRes(), opts);
    for (const [k, v] of Object.entries(values)) s.set(k, v);
    await s.save();
    return s;
  }

  it('keeps a used file open and reuses it; at most openFiles of them, least recently used closed first', async () => {
    const bounded = { ...options, dbm: { openFiles: 3 } };
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await stored({ n: i }, bounded));
    assert.equal(openSessionFiles(tmp.dir).length, 3);
    const kept = new Set(openSessionFiles(tmp.dir));
    for (const s of sessions.slice(3)) assert.ok(kept.has(s.namespace.file.path), 'the last three used are the ones kept');
    // Using an old one opens it and closes the least recently used.
    assert.equal((await Session.open(withId(sessions[0].id), fakeRes(), bounded)).get('n'), 0);
    const now = new Set(openSessionFiles(tmp.dir));
    assert.equal(now.size, 3);
    assert.ok(now.has(sessions[0].namespace.file.path));
    assert.ok(!now.has(sessions[3].namespace.file.path));
  });

  it('openFiles: 0 keeps nothing open between operations', async () => {
    const none = { ...options, dbm: { openFiles: 0 } };
    const s = await stored({ a: 1 }, none);
    await Session.open(withId(s.id), fakeRes(), none);
    assert.deepEqual(openSessionFiles(tmp.dir), []);
    assert.throws(() => new Session({ headers: {} }, fakeRes(), { ...options, dbm: { openFiles: -1 } }), /dbm.openFiles/);
    assert.throws(() => new Session({ headers: {} }, fakeRes(), { ...options, dbm: { open: 1 } }), /dbm.open/);
  });

  it('a kept file deleted from outside: the next request gets a fresh session, and a save writes nothing into the deleted file', async () => {
    const s = await stored({ user: 'ann' });
    const file = s.namespace.file.path;
    assert.ok(openSessionFiles(tmp.dir).includes(file));
    const inFlight = await Session.open(withId(s.id), fakeRes(), options);
    fs.unlinkSync(file); // e.g. `wasm-session gc` or a logout in another process
    inFlight.set('user', 'mallory');
    assert.equal(await inFlight.save(), false);
    assert.equal(fs.existsSync(file), false);
    const next = await Session.open(withId(s.id), fakeRes(), options);
    assert.equal(next.isNew, true);
    assert.equal(next.get('user'), undefined);
  });

  it('a kept file deleted and created again by another process: the new file is read, never the old handle', async () => {
    const s = await stored({ user: 'ann' });
    const file = s.namespace.file.path;
    await Session.open(withId(s.id), fakeRes(), options); // the handle is cached now
    // Another process removes it and creates a new session under the same id (its own delete() + save()).
    const script = `
      import { DbmNamespace, storeOptions } from 'wasm-session/session';
      const ns = new DbmNamespace(${JSON.stringify(s.id)}, storeOptions({ dataDir: ${JSON.stringify(tmp.dir)} }));
      await ns.remove();
      await ns.save({ mode: 'create', set: new Map([['flash', Buffer.from([0xa3, 0x62, 0x79, 0x65])]]), delete: [], created: 5, accessed: 5 });
    `;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.resolve('.') });
    const next = await Session.open(withId(s.id), fakeRes(), options);
    assert.equal(next.id, s.id);
    assert.deepEqual(next.keys(), ['flash']);
    assert.equal(next.get('flash'), 'bye');
    assert.ok(fs.existsSync(file));
  });

  it('a kept file truncated, hard-linked or chmod-ed from outside is checked again on its next use', async () => {
    const truncated = await stored({ a: 1 });
    fs.truncateSync(truncated.namespace.file.path, 0);
    assert.equal((await Session.open(withId(truncated.id), fakeRes(), options)).isNew, true, 'an empty file is nothing stored');

    const linked = await stored({ a: 1 });
    fs.linkSync(linked.namespace.file.path, path.join(tmp.dir, 'second-link'));
    await assert.rejects(Session.open(withId(linked.id), fakeRes(), options), (err) => err.code === 'ERR_SESSION_CORRUPT' && /hard links/.test(err.message));

    const widened = await stored({ a: 1 });
    fs.chmodSync(widened.namespace.file.path, 0o644);
    assert.equal((await Session.open(withId(widened.id), fakeRes(), options)).get('a'), 1);
    assert.equal(fs.statSync(widened.namespace.file.path).mode & 0o777, 0o600);
  });

  it("lock() on a kept handle uses the request's lockTimeout, not the one the handle was opened with", async () => {
    const s = await stored({ n: 0 });
    const holder = await Session.open(withId(s.id), fakeRes(), options);
    await holder.lock();
    // The cached handle was opened with the default 10 s; this request allows 100 ms.
    const handlesOwnTimeout = marker(5000);
    const waiter = await Session.open(withId(s.id), fakeRes(), { ...options, lockTimeout: 100 }).catch((err) => err);
    assert.equal(waiter.code, 'ERR_LOCK_TIMEOUT');
    assert.equal(handlesOwnTimeout.fired, false, 'gave up long before the handle’s own 10 s');
    handlesOwnTimeout.cancel();
    await holder.unlock();
  });
});
