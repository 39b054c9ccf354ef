// The dbm store's reliability rules, with real files and real processes:
//  1. create and update are different operations (namespace.ts): a
//     'create' save is exclusive, an 'update' save or touch() writes only
//     into the file this instance read or created, so a session removed by
//     one process is never brought back by a request in flight in another;
//  2. the data directory is not trusted blindly: dataDir and shard
//     directories are checked, session files are opened without following
//     links or blocking, and anything but a regular session file of this
//     user at a session path is corruption that remove() can clear.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';
import { DbmNamespace, Session, SessionCorruptError, UnsafeDataDirError, generateId, maxSessionFileBytes } from 'wasm-session/session';
import { FIXTURES, ROOT, sleep, startChild, tempDir } from './helpers/index.js';

const storeOptions = (dataDir, extra = {}) => ({
  dataDir,
  allowUnsafeDataDir: false,
  key: 'myghty_session_id',
  timeout: null,
  maxLifetime: null,
  maxSessionBytes: 1024 * 1024,
  lockTimeout: 10_000,
  sync: 'none',
  now: Date.now,
  namespaceOptions: {},
  ...extra,
});
const bytesOf = (obj) => new Map(Object.entries(obj).map(([k, v]) => [k, Buffer.from(v)]));
const create = (ns, obj, at = 1) => ns.save({ mode: 'create', set: bytesOf(obj), delete: [], created: at, accessed: at });
const update = (ns, obj, at = 2) => ns.save({ mode: 'update', set: bytesOf(obj), delete: [], created: 1, accessed: at });
const text = (stored) => (stored === null ? null : Object.fromEntries([...stored.data].map(([k, v]) => [k, Buffer.from(v).toString()])));
const fakeRes = () => {
  const headers = {};
  return { headersSent: false, getHeader: (n) => headers[n], setHeader: (n, v) => (headers[n] = v) };
};

/** Can this process give a file to another user (root can; others usually cannot)? */
function canChown(dir) {
  const probe = path.join(dir, '.chown-probe');
  fs.writeFileSync(probe, '');
  try {
    fs.chownSync(probe, 65534, 65534);
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

/**
 * A timer firing every 5 ms, and the longest the event loop went without
 * firing it: a blocking open() shows as a gap of seconds.
 */
function startTicker() {
  let last = Date.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, Date.now() - last);
    },
  };
}

/** A DbmNamespace in another process (test/fixtures/session/store-worker.js). */
async function startWorker(dataDir, id) {
  const child = startChild('session/store-worker.js', [dataDir, id], { stdin: 'pipe' });
  assert.equal(await child.waitFor('ready'), 'ready', child.stderr);
  const worker = {
    child,
    /** Sends a command; resolves once the worker has started it. */
    async start(op, ...args) {
      child.send(`${JSON.stringify([op, ...args])}\n`);
      assert.equal(await child.waitFor('started'), `started ${op}`, child.stderr);
    },
    /** The answer to the command started last. */
    async done() {
      const line = await child.waitFor('done ');
      assert.ok(line, `no answer from the worker: ${child.stderr}`);
      const answer = JSON.parse(line.slice(5));
      if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
      return answer.result;
    },
    async call(op, ...args) {
      await worker.start(op, ...args);
      return worker.done();
    },
    stop: () => child.stop(),
  };
  return worker;
}

describe('dbm store: create and update are different operations', function () {
  this.timeout(30000);
  let dir;
  let workers;
  beforeEach(() => {
    dir = path.join(tempDir('rel').dir, 'data');
    workers = [];
  });
  afterEach(async () => {
    for (const w of workers) await w.stop();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
  const worker = async (id) => {
    const w = await startWorker(dir, id);
    workers.push(w);
    return w;
  };

  it("save({ mode: 'create' }) is exclusive: 'exists' and nothing written when a session, an empty file or a link is at the path", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    assert.equal(await create(a, { k: 'first' }), 'ok');
    const file = a.file.path;
    const before = fs.readFileSync(file);
    const b = new DbmNamespace(id, storeOptions(dir));
    assert.equal(await create(b, { k: 'second', other: 'x' }), 'exists');
    assert.ok(fs.readFileSync(file).equals(before), 'the stored session is unchanged');
    assert.deepEqual(text(await b.read()), { k: 'first' });
    fs.unlinkSync(file);
    fs.writeFileSync(file, '');
    assert.equal(await create(new DbmNamespace(id, storeOptions(dir)), { k: 'x' }), 'exists');
    assert.equal(fs.statSync(file).size, 0);
    fs.unlinkSync(file);
    const elsewhere = path.join(path.dirname(dir), 'elsewhere');
    fs.symlinkSync(elsewhere, file);
    assert.equal(await create(new DbmNamespace(id, storeOptions(dir)), { k: 'x' }), 'exists');
    assert.equal(fs.existsSync(elsewhere), false, 'nothing was created through the link');
  });

  it("'update' and touch() by an instance that read nothing (or never read) are 'gone' and create nothing", async () => {
    const id = generateId();
    const ns = new DbmNamespace(id, storeOptions(dir));
    assert.equal(await update(ns, { k: 'v' }), 'gone');
    assert.equal(await ns.touch(5), 'gone');
    assert.equal(await ns.read(), null);
    assert.equal(await update(ns, { k: 'v' }), 'gone');
    assert.equal(fs.existsSync(ns.file.path), false);
    // A session stored by someone else is not this instance's to update before it read it.
    await create(new DbmNamespace(id, storeOptions(dir)), { k: 'theirs' });
    assert.equal(await update(ns, { k: 'mine' }), 'gone');
    assert.equal(text(await ns.read()).k, 'theirs');
    assert.equal(await update(ns, { k: 'mine' }), 'ok', 'once read, it is');
  });

  it("load in B (another process), remove in A, update-save in B: 'gone', and the file stays absent", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    await create(a, { user: 'ann' });
    const b = await worker(id);
    assert.deepEqual((await b.call('load', 10)).data, { user: 'ann' });
    await a.remove();
    assert.equal(await b.call('save', 'update', { cart: '3 items' }), 'gone');
    assert.equal(fs.existsSync(a.file.path), false, 'the logout stuck');
    assert.equal(await b.call('touch', 20), 'gone');
    assert.equal(fs.existsSync(a.file.path), false);
  });

  it("B's touch() after A's remove: 'gone', nothing created", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    await create(a, { user: 'ann' });
    const b = await worker(id);
    await b.call('read');
    await a.remove();
    assert.equal(await b.call('touch', 20), 'gone');
    assert.equal(fs.existsSync(a.file.path), false);
  });

  it("remove and create again by A, then B's update and touch: 'gone', and A's new file is unchanged", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    await create(a, { user: 'ann' });
    const b = await worker(id);
    await b.call('read');
    await a.remove();
    assert.equal(await create(a, { user: 'bob' }), 'ok');
    const fresh = fs.readFileSync(a.file.path);
    assert.equal(await b.call('save', 'update', { user: 'ann', cart: 'x' }), 'gone');
    assert.equal(await b.call('touch', 99), 'gone');
    assert.ok(fs.readFileSync(a.file.path).equals(fresh), "A's new session is untouched");
    assert.deepEqual(text(await a.read()), { user: 'bob' });
  });

  it("B holds lock() while A removes: B's reads see nothing, its update is 'gone'; a 'create' then makes the file and holds its lock", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    await create(a, { user: 'ann' });
    const b = await worker(id);
    await b.call('load', 5);
    await b.call('lock');
    await a.remove();
    assert.equal(await b.call('save', 'update', { cart: 'x' }), 'gone');
    assert.equal(fs.existsSync(a.file.path), false);
    assert.equal(await b.call('read'), null);
    assert.equal(await b.call('touch', 7), 'gone');
    assert.equal(await b.call('save', 'create', { fresh: 'yes' }), 'ok');
    const c = new DbmNamespace(id, storeOptions(dir, { lockTimeout: 200 }));
    await assert.rejects(c.lock(200), { code: 'ERR_LOCK_TIMEOUT' }, "B holds the new file's lock");
    await b.call('unlock');
    await c.lock(2000);
    assert.deepEqual(text(await c.read()), { fresh: 'yes' });
    await c.unlock();
  });

  it("A removes while B waits for the lock: B's lock holds nothing, its read is null, its update 'gone'; its 'create' holds the new file", async () => {
    const id = generateId();
    const holder = new DbmNamespace(id, storeOptions(dir));
    await create(holder, { user: 'ann' });
    await holder.read();
    const b = await worker(id);
    await b.call('load', 5);
    await holder.lock(1000);
    await b.start('lock');
    await sleep(150); // B is waiting for the holder's lock
    await new DbmNamespace(id, storeOptions(dir)).remove();
    await holder.unlock();
    await b.done();
    assert.equal(await b.call('locked'), true);
    assert.equal(await b.call('read'), null);
    assert.equal(await b.call('save', 'update', { cart: 'x' }), 'gone');
    assert.equal(fs.existsSync(holder.file.path), false);
    assert.equal(await b.call('save', 'create', { fresh: 'yes' }), 'ok');
    const c = new DbmNamespace(id, storeOptions(dir, { lockTimeout: 200 }));
    await assert.rejects(c.lock(200), { code: 'ERR_LOCK_TIMEOUT' });
    await b.call('unlock');
  });

  it("a save or touch that waited for the lock of a file unlinked meanwhile is 'gone' and writes nothing into the orphan", async () => {
    const id = generateId();
    const a = new DbmNamespace(id, storeOptions(dir));
    await create(a, { user: 'ann' });
    for (const op of ['save', 'touch']) {
      if (!fs.existsSync(a.file.path)) await create(a, { user: 'ann' });
      const b = await worker(id);
      await b.call('read');
      // A plain dbm handle holds the lock, and keeps the file open after it is unlinked.
      const holder = await Dbm.open(a.file.path, { flag: 'w' });
      await holder.lock();
      const before = { ...holder.times, txid: (await holder.stat()).txid };
      if (op === 'save') await b.start('save', 'update', { user: 'mallory' }, [], 1234);
      else await b.start('touch', 1234);
      await sleep(150); // B opened the file and waits for its lock
      await a.remove();
      await holder.unlock();
      assert.equal(await b.done(), 'gone', op);
      // The orphan, read through the holder's descriptor: B wrote nothing into it.
      const after = await holder.stat();
      assert.equal(after.txid, before.txid, `${op}: no commit in the orphan`);
      assert.equal(after.times.accessed, before.accessed);
      assert.equal(Buffer.from(await holder.getRaw('user')).toString(), 'ann');
      await holder.close();
      assert.equal(fs.existsSync(a.file.path), false);
      await b.stop();
    }
  });
});

describe('dbm store: the data directory is not trusted blindly', function () {
  this.timeout(30000);
  let root;
  let dir;
  let chownable;
  beforeEach(() => {
    root = tempDir('dir').dir;
    dir = path.join(root, 'data');
    chownable = canChown(root);
  });
  afterEach(() => {
    // Give everything back (foreign owners, mode 0) so it can be removed.
    for (const p of walk(root)) {
      try {
        if (chownable) fs.lchownSync(p, process.getuid(), process.getgid());
        if (!fs.lstatSync(p).isSymbolicLink()) fs.chmodSync(p, 0o700);
      } catch {
        // gone already
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  });
  function walk(d) {
    const out = [d];
    let entries = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) out.push(...walk(p));
      else out.push(p);
    }
    return out;
  }
  const skipUnlessChown = (ctx) => {
    if (!chownable) {
      console.log('      (skipped: this process cannot chown files to another user, so foreign owners cannot be set up)');
      ctx.skip();
    }
  };
  /** A stored session and its namespace. */
  async function stored(obj = { user: 'ann' }, id = generateId()) {
    const ns = new DbmNamespace(id, storeOptions(dir));
    assert.equal(await create(ns, obj), 'ok');
    return ns;
  }
  const corrupt = (file, what) => (err) => {
    assert.equal(err.code, 'ERR_DBM_CORRUPT', `${err.code}: ${err.message}`);
    assert.equal(err.path, file);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, what);
    return true;
  };
  /** load, read, update and lock all reject with corruption naming `what`. */
  async function assertCorrupt(id, what) {
    const ns = new DbmNamespace(id, storeOptions(dir, { lockTimeout: 500 }));
    const file = ns.file.path;
    // read() first: a blocking open of a FIFO for reading is what froze a process.
    await assert.rejects(ns.read(), corrupt(file, what), 'read');
    await assert.rejects(ns.load(1), corrupt(file, what), 'load');
    assert.equal(await ns.touch(1), 'gone', 'touch: nothing read, nothing to touch');
    // Under lock(): the reads report it, so the Session can recover.
    await ns.lock(500);
    await assert.rejects(ns.read(), corrupt(file, what), 'read under lock');
    await ns.unlock();
    return ns;
  }

  describe('dataDir', () => {
    it('a missing dataDir is created 0700, with its parents if need be', async () => {
      const deep = path.join(root, 'a', 'b', 'data');
      const ns = new DbmNamespace(generateId(), storeOptions(deep));
      assert.equal(await ns.read(), null);
      assert.equal(fs.statSync(deep).mode & 0o7777, 0o700);
      assert.equal(await create(ns, { k: 'v' }), 'ok');
    });

    it('dataDir, shards and files are 0700/0600 even under a umask that takes bits away', async () => {
      const old = process.umask(0o277);
      try {
        const ns = new DbmNamespace(generateId(), storeOptions(dir));
        assert.equal(await create(ns, { k: 'v' }), 'ok');
        assert.equal(fs.statSync(dir).mode & 0o7777, 0o700);
        assert.equal(fs.statSync(path.dirname(ns.file.path)).mode & 0o7777, 0o700);
        assert.equal(fs.statSync(path.dirname(path.dirname(ns.file.path))).mode & 0o7777, 0o700);
        assert.equal(fs.statSync(ns.file.path).mode & 0o7777, 0o600);
        assert.deepEqual(text(await ns.read()), { k: 'v' });
      } finally {
        process.umask(old);
      }
    });

    it('a group- or world-writable dataDir is refused with UnsafeDataDirError before anything is written; allowUnsafeDataDir accepts it', async () => {
      for (const mode of [0o777, 0o770, 0o1777, 0o720]) {
        const d = path.join(root, `open-${mode.toString(8)}`);
        fs.mkdirSync(d);
        fs.chmodSync(d, mode);
        const ns = new DbmNamespace(generateId(), storeOptions(d));
        for (const op of [() => create(ns, { k: 'v' }), () => ns.load(1), () => ns.read(), () => ns.remove(), () => ns.lock(100)]) {
          await assert.rejects(op(), (err) => {
            assert.ok(err instanceof UnsafeDataDirError);
            assert.equal(err.code, 'ERR_SESSION_UNSAFE_DATA_DIR');
            assert.equal(err.path, d);
            assert.match(err.message, /writable by (all users|its group).*allowUnsafeDataDir: true/);
            return true;
          });
        }
        assert.deepEqual(fs.readdirSync(d), [], 'nothing was written');
        const unsafe = new DbmNamespace(generateId(), storeOptions(d, { allowUnsafeDataDir: true }));
        assert.equal(await create(unsafe, { k: 'v' }), 'ok');
      }
    });

    it('a refused dataDir is looked at again: once fixed, it is accepted', async () => {
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.chmodSync(dir, 0o777);
      const ns = new DbmNamespace(generateId(), storeOptions(dir));
      await assert.rejects(create(ns, { k: 'v' }), UnsafeDataDirError);
      fs.chmodSync(dir, 0o700);
      assert.equal(await create(ns, { k: 'v' }), 'ok');
    });

    it('a dataDir owned by another user is refused (allowUnsafeDataDir accepts it)', async function () {
      skipUnlessChown(this);
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.chownSync(dir, 65534, 65534);
      const ns = new DbmNamespace(generateId(), storeOptions(dir));
      await assert.rejects(create(ns, { k: 'v' }), { name: 'UnsafeDataDirError', message: /owned by uid 65534, not by this process's user/ });
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.equal(await create(new DbmNamespace(generateId(), storeOptions(dir, { allowUnsafeDataDir: true })), { k: 'v' }), 'ok');
    });

    it('a dataDir that is not a directory is refused, even with allowUnsafeDataDir', async () => {
      fs.writeFileSync(dir, 'x');
      for (const allowUnsafeDataDir of [false, true]) {
        const ns = new DbmNamespace(generateId(), storeOptions(dir, { allowUnsafeDataDir }));
        await assert.rejects(create(ns, { k: 'v' }), { name: 'UnsafeDataDirError', message: /not a directory/ });
      }
      assert.equal(fs.readFileSync(dir, 'utf8'), 'x');
    });

    it("a link as dataDir: accepted when the link is this user's and the directory is safe; refused when the link is another user's", async function () {
      const real = path.join(root, 'real');
      fs.mkdirSync(real, { mode: 0o700 });
      fs.symlinkSync(real, dir);
      assert.equal(await create(new DbmNamespace(generateId(), storeOptions(dir)), { k: 'v' }), 'ok');
      if (!chownable) return skipUnlessChown(this);
      const theirs = path.join(root, 'theirs');
      fs.symlinkSync(real, theirs);
      fs.lchownSync(theirs, 65534, 65534);
      await assert.rejects(create(new DbmNamespace(generateId(), storeOptions(theirs)), { k: 'v' }), {
        name: 'UnsafeDataDirError',
        message: /symbolic link owned by uid 65534/,
      });
    });

    it('through the Session: a world-writable dataDir fails the save with UnsafeDataDirError', async () => {
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o777);
      const s = await Session.open({ headers: {} }, fakeRes(), { dataDir: dir });
      s.set('k', 1);
      await assert.rejects(s.save(), { name: 'UnsafeDataDirError', code: 'ERR_SESSION_UNSAFE_DATA_DIR' });
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  });

  describe('shard directories', () => {
    it('a shard made by another user is refused: no session file lands in it', async function () {
      skipUnlessChown(this);
      const id = generateId();
      const ns = new DbmNamespace(id, storeOptions(dir));
      fs.mkdirSync(path.dirname(ns.file.path), { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      fs.chownSync(path.dirname(ns.file.path), 65534, 65534);
      fs.chmodSync(path.dirname(ns.file.path), 0o777);
      await assert.rejects(create(ns, { k: 'v' }), {
        name: 'UnsafeDataDirError',
        message: /owned by uid 65534, not by this process's user.*someone else made it/,
      });
      assert.deepEqual(fs.readdirSync(path.dirname(ns.file.path)), []);
    });

    it('a shard of this user with another mode is fixed to 0700', async () => {
      const id = generateId();
      const ns = new DbmNamespace(id, storeOptions(dir));
      fs.mkdirSync(path.dirname(ns.file.path), { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      fs.chmodSync(path.dirname(ns.file.path), 0o755);
      fs.chmodSync(path.dirname(path.dirname(ns.file.path)), 0o711);
      assert.equal(await create(ns, { k: 'v' }), 'ok');
      assert.equal(fs.statSync(path.dirname(ns.file.path)).mode & 0o7777, 0o700);
      assert.equal(fs.statSync(path.dirname(path.dirname(ns.file.path))).mode & 0o7777, 0o700);
    });

    it('a shard that is a link: create is refused, and remove() refuses to reach through it (the file outside dataDir survives)', async () => {
      const id = generateId();
      const ns = new DbmNamespace(id, storeOptions(dir));
      const shard = path.dirname(ns.file.path);
      const outside = path.join(root, 'outside');
      fs.mkdirSync(outside);
      const victim = path.join(outside, path.basename(ns.file.path));
      fs.writeFileSync(victim, 'precious');
      fs.mkdirSync(path.dirname(shard), { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      fs.symlinkSync(outside, shard);
      const other = new DbmNamespace(`${id.slice(0, 4)}${generateId().slice(4)}`, storeOptions(dir));
      await assert.rejects(create(other, { k: 'v' }), { name: 'UnsafeDataDirError', message: /symbolic link, not a directory/ });
      assert.deepEqual(fs.readdirSync(outside), [path.basename(victim)]);
      await assert.rejects(ns.remove(), { name: 'UnsafeDataDirError', message: /symbolic link: the session file is not removed through it/ });
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    });
  });

  describe('what is at a session path', () => {
    it('a FIFO: every operation rejects at once with corruption (the process is not frozen), and remove() clears it', async () => {
      const id = generateId();
      const file = (await stored({}, id)).file.path;
      fs.unlinkSync(file);
      execFileSync('mkfifo', ['-m', '600', file]);
      // Would a blocking open() freeze this process, a writer appearing after
      // 3 s ends it, and the assertions below still fail rather than hang.
      const rescue = spawn(process.execPath, ['-e', `setTimeout(() => { try { require('fs').openSync(${JSON.stringify(file)}, 'r+') } catch {} }, 3000)`]);
      const ticker = startTicker();
      try {
        const t0 = Date.now();
        await assertCorrupt(id, /it is a FIFO, not a session file/);
        const elapsed = Date.now() - t0;
        const gap = ticker.stop();
        assert.ok(elapsed < 2000, `took ${elapsed} ms`);
        assert.ok(gap < 1000, `the timer kept firing (longest gap ${gap} ms)`);
        await new DbmNamespace(id, storeOptions(dir)).remove();
        assert.equal(fs.existsSync(file), false);
      } finally {
        ticker.stop();
        rescue.kill('SIGKILL');
      }
    });

    it('a directory: corruption (not a raw EISDIR); remove() removes an empty one, and leaves a full one with a warning', async () => {
      const id = generateId();
      const file = (await stored({}, id)).file.path;
      fs.unlinkSync(file);
      fs.mkdirSync(file);
      await assertCorrupt(id, /it is a directory, not a session file/);
      await new DbmNamespace(id, storeOptions(dir)).remove();
      assert.equal(fs.existsSync(file), false, 'an empty directory is removed');
      fs.mkdirSync(file);
      fs.writeFileSync(path.join(file, 'keep'), 'mine');
      const warnings = [];
      const onWarning = (w) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        await new DbmNamespace(id, storeOptions(dir)).remove();
        await sleep(10);
      } finally {
        process.off('warning', onWarning);
      }
      assert.equal(fs.readFileSync(path.join(file, 'keep'), 'utf8'), 'mine', 'a directory someone planted is not deleted recursively');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].code, 'WASM_SESSION_DIRECTORY_LEFT');
      assert.ok(warnings[0].message.includes(file));
    });

    it('a link (to a file outside, to /dev/null, dangling, to another session): never followed, corruption; remove() removes the link only', async () => {
      const id = generateId();
      const file = (await stored({}, id)).file.path;
      const victim = path.join(root, 'victim');
      const another = await stored({ other: 'session' });
      const targets = [victim, '/dev/null', path.join(root, 'nowhere'), another.file.path];
      for (const target of targets) {
        fs.writeFileSync(victim, '');
        const anotherBefore = fs.readFileSync(another.file.path);
        fs.rmSync(file, { force: true });
        fs.symlinkSync(target, file);
        await assertCorrupt(id, /it is a symbolic link/);
        assert.equal(fs.statSync(victim).size, 0, `nothing written through the link to ${target}`);
        assert.ok(fs.readFileSync(another.file.path).equals(anotherBefore));
        await new DbmNamespace(id, storeOptions(dir)).remove();
        assert.throws(() => fs.lstatSync(file), { code: 'ENOENT' });
      }
      assert.equal(fs.existsSync(victim), true);
      assert.equal(fs.existsSync(another.file.path), true);
      assert.equal(fs.existsSync(path.join(root, 'nowhere')), false);
    });

    it('a socket: corruption; remove() clears it', async () => {
      const id = generateId();
      const file = (await stored({}, id)).file.path;
      fs.unlinkSync(file);
      const server = net.createServer();
      await new Promise((resolve) => server.listen(file, resolve));
      try {
        await assertCorrupt(id, /it is a socket/);
        await new DbmNamespace(id, storeOptions(dir)).remove();
        assert.throws(() => fs.lstatSync(file), { code: 'ENOENT' });
      } finally {
        server.close();
      }
    });

    it('a device node: corruption; remove() clears it', async function () {
      const id = generateId();
      const file = (await stored({}, id)).file.path;
      fs.unlinkSync(file);
      try {
        execFileSync('mknod', ['-m', '600', file, 'c', '1', '3'], { stdio: 'ignore' });
      } catch {
        console.log('      (skipped: mknod needs root)');
        return this.skip();
      }
      await assertCorrupt(id, /it is a character device/);
      await new DbmNamespace(id, storeOptions(dir)).remove();
      assert.throws(() => fs.lstatSync(file), { code: 'ENOENT' });
    });

    it('a session file with a second hard link: corruption; remove() unlinks only the session path', async () => {
      const ns = await stored({ user: 'ann' });
      const other = path.join(root, 'hardlink');
      fs.linkSync(ns.file.path, other);
      const before = fs.readFileSync(other);
      await assertCorrupt(ns.id, /it has 2 hard links/);
      assert.ok(fs.readFileSync(other).equals(before), 'nothing was written');
      await ns.remove();
      assert.equal(fs.existsSync(ns.file.path), false);
      assert.ok(fs.readFileSync(other).equals(before));
    });

    it('a session file of another user: corruption; remove() clears it', async function () {
      skipUnlessChown(this);
      const ns = await stored({ user: 'ann' });
      fs.chownSync(ns.file.path, 65534, 65534);
      await assertCorrupt(ns.id, /it is owned by uid 65534, not by this process's user/);
      await ns.remove();
      assert.equal(fs.existsSync(ns.file.path), false);
    });

    it('EACCES (a file or a shard of mode 0): corruption, and remove() clears it (run as uid 65534 when root)', async function () {
      const asRoot = process.getuid() === 0;
      let spawnOptions = {};
      if (asRoot) {
        fs.chownSync(root, 65534, 65534);
        spawnOptions = { uid: 65534, gid: 65534 };
      }
      if (asRoot) {
        try {
          execFileSync(process.execPath, ['--input-type=module', '-e', "import 'wasm-session/session'"], { ...spawnOptions, cwd: ROOT, stdio: 'pipe' });
        } catch (err) {
          console.log(
            `      (skipped: uid 65534 cannot load this checkout: ${String(err.stderr)
              .split('\n')
              .find((l) => /Error/.test(l))})`,
          );
          return this.skip();
        }
      }
      const out = execFileSync(process.execPath, [path.join(FIXTURES, 'session', 'eacces-check.js'), dir], { ...spawnOptions, encoding: 'utf8' });
      const result = JSON.parse(out);
      assert.notEqual(result.uid, 0, 'permissions apply to the checking process');
      for (const which of ['file', 'shard']) {
        for (const op of ['load', 'read']) {
          const err = result[which][op];
          assert.equal(err.code, 'ERR_DBM_CORRUPT', `${which} ${op}: ${JSON.stringify(err)}`);
          assert.ok(err.message.includes(result[which].path));
          assert.match(err.message, /this process may not open it \(EACCES\)/);
        }
        assert.equal(result[which].removed, true, which);
      }
    });

    it('a session file of mode 0644 is made 0600 when it is opened', async () => {
      const ns = await stored({ user: 'ann' });
      for (const op of [() => ns.read(), () => ns.load(5), () => ns.lock(100).then(() => ns.unlock())]) {
        fs.chmodSync(ns.file.path, 0o644);
        await op();
        assert.equal(fs.statSync(ns.file.path).mode & 0o7777, 0o600);
      }
      assert.deepEqual(text(await ns.read()), { user: 'ann' });
    });

    it("an empty file is nothing stored: read and load are null, update and touch 'gone', create 'exists'; it stays empty", async () => {
      const id = generateId();
      const ns = new DbmNamespace(id, storeOptions(dir));
      await create(ns, { k: 'v' });
      await ns.read();
      fs.truncateSync(ns.file.path, 0);
      assert.equal(await update(ns, { k: 'w' }), 'gone');
      const other = new DbmNamespace(id, storeOptions(dir));
      assert.equal(await other.read(), null);
      assert.equal(await other.load(5), null);
      assert.equal(await other.touch(5), 'gone');
      assert.equal(await create(other, { k: 'x' }), 'exists');
      await other.lock(100);
      assert.equal(await other.read(), null);
      assert.equal(await update(other, { k: 'y' }), 'gone');
      await other.unlock();
      assert.equal(fs.statSync(ns.file.path).size, 0, 'nothing was written');
      // The Session does not adopt it.
      const s = await Session.open({ headers: { cookie: `myghty_session_id=${id}` } }, fakeRes(), { dataDir: dir });
      assert.equal(s.isNew, true);
      assert.notEqual(s.id, id);
    });

    it('a file much larger than maxSessionBytes allows is corruption, found before it is read', async () => {
      const maxSessionBytes = 4096;
      const limit = maxSessionFileBytes(maxSessionBytes);
      assert.equal(limit, 32 * maxSessionBytes + 1024 * 1024);
      const id = generateId();
      const ns = new DbmNamespace(id, storeOptions(dir, { maxSessionBytes }));
      await create(ns, { k: 'v' });
      // Within the limit (a file grown by free pages, say): read as usual.
      fs.truncateSync(ns.file.path, limit);
      assert.deepEqual(text(await ns.read()), { k: 'v' });
      // Beyond it (sparse: nothing to read anyway): refused by its size alone.
      fs.truncateSync(ns.file.path, limit + 1);
      for (const op of [() => ns.read(), () => ns.load(1)]) {
        await assert.rejects(op(), corrupt(ns.file.path, new RegExp(`it is ${limit + 1} bytes, more than the ${limit}`)));
      }
      assert.deepEqual(text(await new DbmNamespace(id, storeOptions(dir, { maxSessionBytes: 1024 * 1024 })).read()), { k: 'v' });
    });

    it('with invalidateCorrupt the Session recovers from each of them; without, it is a SessionCorruptError naming the file', async () => {
      const makers = {
        fifo: (f) => execFileSync('mkfifo', [f]),
        directory: (f) => fs.mkdirSync(f),
        link: (f) => fs.symlinkSync('/dev/null', f),
      };
      for (const [name, make] of Object.entries(makers)) {
        const id = generateId();
        const file = (await stored({}, id)).file.path;
        fs.unlinkSync(file);
        make(file);
        const req = { headers: { cookie: `myghty_session_id=${id}` } };
        await assert.rejects(Session.open(req, fakeRes(), { dataDir: dir }), (err) => {
          assert.ok(err instanceof SessionCorruptError, `${name}: ${err}`);
          assert.equal(err.file, file);
          return true;
        });
        const s = await Session.open(req, fakeRes(), { dataDir: dir, invalidateCorrupt: true });
        assert.equal(s.wasInvalidated, true, name);
        assert.notEqual(s.id, id);
        assert.throws(() => fs.lstatSync(file), { code: 'ENOENT' }, name);
        s.set('k', 1);
        await s.save();
      }
    });
  });
});
