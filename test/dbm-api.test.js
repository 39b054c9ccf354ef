// The public API of wasm-session/dbm: open flags, option validation, typed
// errors, keys and values of every supported kind, times, transactions and
// iteration while another handle commits. Real files in a temp directory.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { Dbm, DbmError, DbmClosedError, DbmReadOnlyError } from 'wasm-session/dbm';
import { nextTurn, randomBytes, rng, SEED, sleep, tempDir } from './helpers/index.js';
import { faultyIO, readAll } from './helpers/dbm.js';

const fileHash = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The bytes of pages 2.. of a file: everything but the two meta slots. */
const dataPages = (file, pageSize) => fs.readFileSync(file).subarray(2 * pageSize);

describe('dbm API', () => {
  let tmp;
  let n = 0;
  const fresh = () => tmp.file(`db${++n}.dbm`);
  const open = [];
  /** Opens a handle that afterEach closes. */
  async function openDb(file, options) {
    const db = await Dbm.open(file, options);
    open.push(db);
    return db;
  }

  before(() => {
    tmp = tempDir('api');
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });
  after(() => tmp.cleanup());

  describe('open flags', () => {
    it("'r' (the default) and 'w' reject a missing file with a DbmError naming flag 'c', creating nothing", async () => {
      const file = fresh();
      for (const options of [{}, { flag: 'r' }, { flag: 'w' }]) {
        await assert.rejects(Dbm.open(file, options), (err) => {
          assert.ok(err instanceof DbmError, err);
          assert.equal(err.path, file);
          assert.match(err.message, /does not exist.*'c'/);
          assert.equal(err.cause.code, 'ENOENT');
          return true;
        });
      }
      assert.equal(fs.existsSync(file), false);
    });

    it("'c' creates the file with mode 0600 by default, and the given mode otherwise", async () => {
      const a = fresh();
      const db = await openDb(a, { flag: 'c' });
      assert.equal(fs.statSync(a).mode & 0o777, 0o600);
      assert.equal(db.size, 0);
      assert.equal((await db.check()).ok, true);
      const b = fresh();
      const old = process.umask(0o022);
      try {
        await openDb(b, { flag: 'c', mode: 0o640 });
      } finally {
        process.umask(old);
      }
      assert.equal(fs.statSync(b).mode & 0o777, 0o640);
    });

    it("'c' on an existing file keeps its data; 'w' writes and the data persists", async () => {
      const file = fresh();
      let db = await Dbm.open(file, { flag: 'c' });
      await db.set('a', 1);
      await db.close();
      db = await Dbm.open(file, { flag: 'c' });
      assert.equal(await db.get('a'), 1);
      await db.close();
      db = await Dbm.open(file, { flag: 'w' });
      await db.set('b', 2);
      await db.close();
      db = await openDb(file);
      assert.deepEqual(Object.fromEntries(await readAll(db)), { a: 1, b: 2 });
    });

    it("'n' empties an existing file (even one of another page size) and starts over", async () => {
      const file = fresh();
      let db = await Dbm.open(file, { flag: 'c', pageSize: 512 });
      for (let i = 0; i < 300; i++) await db.set(`k${i}`, i);
      await db.close();
      db = await openDb(file, { flag: 'n', pageSize: 1024 });
      assert.equal(db.size, 0);
      assert.equal(db.pageSize, 1024);
      assert.equal(await db.get('k1'), undefined);
      const report = await db.check();
      assert.equal(report.keys, 0);
      assert.equal(report.pageCount, 2);
      assert.equal(fs.statSync(file).size, 2 * 1024);
    });

    it('either meta slot alone is enough to open a file, at every page size', async () => {
      for (let pageSize = 512; pageSize <= 65536; pageSize *= 2) {
        const file = fresh();
        const db = await Dbm.open(file, { flag: 'c', pageSize });
        await db.transaction((tx) => {
          for (let i = 0; i < 50; i++) tx.set(`k${i}`, 'v'.repeat(i * 20));
        });
        await db.close();
        const sound = fs.readFileSync(file);
        for (const slot of [0, 1]) {
          const damaged = Buffer.from(sound);
          damaged.fill(0xa5, slot * pageSize + 4, slot * pageSize + 64);
          fs.writeFileSync(file, damaged);
          const r = await openDb(file, { flag: 'r' });
          assert.equal(r.pageSize, pageSize);
          assert.equal(await r.get('k49'), 'v'.repeat(980), `${pageSize}: slot ${slot} damaged`);
          const report = await r.check();
          assert.equal(report.metaSlots[slot], 'invalid');
          assert.equal(report.metaSlots[1 - slot], 'current');
          await r.close();
        }
      }
    });

    it("a handle sees the file emptied by another handle's 'n', and goes on writing to the new one", async () => {
      const file = fresh();
      const h1 = await openDb(file, { flag: 'c', pageSize: 512 });
      await h1.transaction((tx) => {
        for (let i = 0; i < 300; i++) tx.set(`k${i}`, i);
      });
      assert.equal(await h1.get('k7'), 7);
      await nextTurn(); // h1 drops its lock when the event loop turns
      const h2 = await openDb(file, { flag: 'n', pageSize: 512 });
      await h2.set('fresh', 1);
      await h2.close();
      assert.equal(await h1.get('k7'), undefined);
      assert.equal(await h1.count(), 1);
      await h1.set('more', 2);
      assert.deepEqual(Object.fromEntries(await readAll(h1)), { fresh: 1, more: 2 });
      assert.equal((await h1.check()).keys, 2);
      // Re-created with another page size, the file is not one h1 can read.
      await nextTurn();
      await (await Dbm.open(file, { flag: 'n', pageSize: 1024 })).close();
      await assert.rejects(h1.get('more'), (err) => err instanceof DbmError && /replaced by a file with another page size/.test(err.message));
    });

    it("a file's own page size wins over the pageSize option when it exists", async () => {
      const file = fresh();
      await (await Dbm.open(file, { flag: 'c', pageSize: 2048 })).close();
      const db = await openDb(file, { flag: 'w', pageSize: 8192 });
      assert.equal(db.pageSize, 2048);
      assert.equal((await db.stat()).pageSize, 2048);
    });

    it("an 'r' handle refuses every write with DbmReadOnlyError and leaves the file byte for byte unchanged", async () => {
      const file = fresh();
      const w = await Dbm.open(file, { flag: 'c' });
      await w.set('a', 1);
      await w.close();
      const before = fileHash(file);
      const db = await openDb(file, { flag: 'r' });
      assert.equal(db.readOnly, true);
      const writes = {
        set: () => db.set('b', 2),
        setRaw: () => db.setRaw('b', Buffer.from([0xc0])),
        delete: () => db.delete('a'),
        clear: () => db.clear(),
        setTimes: () => db.setTimes({ accessed: 1 }),
        touch: () => db.touch(),
        transaction: () => db.transaction((tx) => tx.set('b', 2)),
        lock: () => db.lock(),
      };
      for (const [name, write] of Object.entries(writes)) {
        await assert.rejects(write(), (err) => err instanceof DbmReadOnlyError && err.code === 'ERR_DBM_READONLY', name);
      }
      assert.equal(await db.get('a'), 1);
      assert.equal((await db.check()).keys, 1);
      await db.close();
      assert.equal(fileHash(file), before);
    });

    it("a zero-length file opens as an empty database: 'r' leaves it empty, 'w' initializes it", async () => {
      const file = fresh();
      fs.writeFileSync(file, '');
      const r = await openDb(file, { flag: 'r' });
      assert.equal(r.size, 0);
      assert.equal(await r.get('x'), undefined);
      assert.deepEqual([...(await readAll(r))], []);
      const report = await r.check();
      assert.equal(report.keys, 0);
      assert.deepEqual(report.metaSlots, ['absent', 'absent']);
      await r.close();
      assert.equal(fs.statSync(file).size, 0);
      const w = await openDb(file, { flag: 'w', pageSize: 512 });
      await w.set('x', 1);
      await w.close();
      assert.equal(fs.statSync(file).size, 1024);
    });
  });

  describe('option validation', () => {
    const cases = [
      ['an empty path', '', {}, TypeError, /path must be a non-empty string/],
      ['a path with NUL', 'a\0b', {}, TypeError, /must not contain NUL/],
      ['null options', 'x', null, TypeError, /options must be an object/],
      ['an unknown flag', 'x', { flag: 'rw' }, TypeError, /flag must be one of 'r', 'w', 'c', 'n', got "rw"/],
      ['a page size that is not a power of two', 'x', { pageSize: 1000 }, RangeError, /pageSize must be a power of two from 512 to 65536, got 1000/],
      ['a page size below 512', 'x', { pageSize: 256 }, RangeError, /pageSize/],
      ['a page size above 65536', 'x', { pageSize: 131072 }, RangeError, /pageSize/],
      ['a fractional page size', 'x', { pageSize: 4096.5 }, RangeError, /pageSize/],
      ['an unknown sync mode', 'x', { sync: 'always' }, TypeError, /sync must be 'none' or 'commit'/],
      ['a negative lockTimeout', 'x', { lockTimeout: -1 }, RangeError, /lockTimeout must be a finite number/],
      ['a NaN lockTimeout', 'x', { lockTimeout: NaN }, RangeError, /lockTimeout/],
      ['an infinite lockTimeout', 'x', { lockTimeout: Infinity }, RangeError, /lockTimeout/],
      ['a string lockTimeout', 'x', { lockTimeout: '10' }, RangeError, /lockTimeout/],
      ['an unknown codec', 'x', { codec: 'json' }, TypeError, /codec must be 'msgpack' or 'raw'/],
      ['an unknown keyEncoding', 'x', { keyEncoding: 'hex' }, TypeError, /keyEncoding must be 'utf8' or 'buffer'/],
      ['a zero cacheSize', 'x', { cacheSize: 0 }, RangeError, /cacheSize must be a positive number/],
    ];
    for (const [what, name, options, type, message] of cases) {
      it(`rejects ${what} with a ${type.name}, before touching the file system`, async () => {
        const file = name === 'x' ? fresh() : name;
        await assert.rejects(Dbm.open(file, options === null ? null : { flag: 'c', ...options }), (err) => {
          assert.equal(err.constructor, type);
          assert.match(err.message, message);
          return true;
        });
        if (name === 'x') assert.equal(fs.existsSync(file), false);
      });
    }
  });

  describe('durability: the sync option', () => {
    const P = 512;
    // Each operation is one commit; `data` marks those that must write data pages (HASHED mode, overflow runs).
    const OPS = [
      ['set (INLINE: the meta page holds the records)', false, (db) => db.set('a', 1)],
      [
        'a transaction of 300 keys (HASHED: buckets and DIR pages)',
        true,
        (db) =>
          db.transaction((tx) => {
            for (let i = 0; i < 300; i++) tx.set(`k${i}`, 'v'.repeat(i % 40));
          }),
      ],
      ['set of an overflow value', true, (db) => db.set('big', 'x'.repeat(5000))],
      ['delete', true, (db) => db.delete('k7')],
      ['touch (the meta page alone)', false, (db) => db.touch(1234)],
      ['clear', false, (db) => db.clear()],
    ];

    /** Runs `op`, returning the FileIO calls it made and how many commits (txids) it took. */
    async function traced(db, io, op) {
      const from = io.calls.length;
      const txid = (await db.stat()).txid;
      await op(db);
      return { calls: io.calls.slice(from), commits: (await db.stat()).txid - txid };
    }

    it("sync: 'commit' calls fdatasync twice per commit: after the data pages, and after the first meta slot before the second (FORMAT.md, commit protocol)", async () => {
      const io = faultyIO({ log: true });
      const db = await openDb(fresh(), { flag: 'c', pageSize: P, sync: 'commit', io });
      assert.ok(io.syncs > 0, 'creating the file did not sync its first meta pair');
      const syncsBefore = io.syncs;
      let commits = 0;
      for (const [what, data, op] of OPS) {
        const trace = await traced(db, io, op);
        assert.equal(trace.commits, 1, what);
        commits += trace.commits;
        const steps = trace.calls.map((c) => (c.op === 'write' ? (c.position < 2 * P ? `slot ${c.position / P} (${c.bytes} bytes)` : 'data') : c.op));
        const at = steps.flatMap((step, i) => (step === 'sync' ? [i] : []));
        assert.equal(at.length, 2, `${what}: ${steps.join(', ')}`);
        // 1-3: the data pages (and the file's growth), then fdatasync.
        const before = steps.slice(0, at[0]);
        assert.ok(
          before.every((step) => step === 'data' || step === 'truncate'),
          `${what}: a meta slot was written before the first fdatasync: ${steps.join(', ')}`,
        );
        if (data) assert.ok(before.includes('data'), `${what}: no data page written: ${steps.join(', ')}`);
        // 4: one slot, fdatasync, then the other slot, and nothing after it.
        const first = trace.calls[at[0] + 1];
        assert.ok(first.position === 0 || first.position === P, `${what}: ${steps.join(', ')}`);
        assert.deepEqual(steps.slice(at[0] + 1), [`slot ${first.position / P} (${P} bytes)`, 'sync', `slot ${1 - first.position / P} (${P} bytes)`], what);
      }
      assert.equal(io.syncs - syncsBefore, 2 * commits);
      // A transaction that changes nothing commits nothing: no write, no fdatasync.
      const idle = await traced(db, io, (d) => d.transaction((tx) => tx.get('a')));
      assert.deepEqual(idle, { calls: [], commits: 0 });
      assert.equal((await db.check()).keys, 0);
    });

    it("sync: 'none' (the default) never calls fdatasync, for the same commits", async () => {
      for (const options of [{ sync: 'none' }, {}]) {
        const io = faultyIO({ log: true });
        const db = await openDb(fresh(), { flag: 'c', pageSize: P, io, ...options });
        for (const [what, data, op] of OPS) {
          const trace = await traced(db, io, op);
          assert.equal(trace.commits, 1, what);
          if (data)
            assert.ok(
              trace.calls.some((c) => c.op === 'write' && c.position >= 2 * P),
              `${what}: no data page written`,
            );
          assert.ok(
            trace.calls.some((c) => c.op === 'write' && c.position < 2 * P),
            `${what}: no meta slot written`,
          );
        }
        assert.equal(io.syncs, 0, JSON.stringify(options));
        assert.equal(io.calls.filter((c) => c.op === 'sync').length, 0);
      }
    });
  });

  describe('closed handles', () => {
    it('every operation after close() rejects with DbmClosedError; close() twice is fine', async () => {
      const file = fresh();
      const db = await Dbm.open(file, { flag: 'c' });
      await db.set('a', 1);
      await db.close();
      assert.equal(db.closed, true);
      await db.close();
      const ops = {
        get: () => db.get('a'),
        getRaw: () => db.getRaw('a'),
        has: () => db.has('a'),
        set: () => db.set('a', 2),
        delete: () => db.delete('a'),
        clear: () => db.clear(),
        count: () => db.count(),
        stat: () => db.stat(),
        check: () => db.check(),
        lock: () => db.lock(),
        touch: () => db.touch(),
        transaction: () => db.transaction(() => {}),
        keys: () => db.keys().next(),
        entries: () => db.entries().next(),
      };
      for (const [name, op] of Object.entries(ops)) {
        await assert.rejects(op(), (err) => err instanceof DbmClosedError && err.code === 'ERR_DBM_CLOSED' && err.path === file, name);
      }
    });

    it('close() while an operation waits for the lock rejects that operation with DbmClosedError', async () => {
      const file = fresh();
      const holder = await openDb(file, { flag: 'c' });
      await holder.set('a', 1);
      const waiter = await Dbm.open(file, { flag: 'w', lockTimeout: 5000 });
      await holder.lock();
      const pending = [waiter.get('a'), waiter.set('b', 2)];
      const outcomes = Promise.allSettled(pending);
      await sleep(50);
      await waiter.close();
      await holder.unlock();
      for (const result of await outcomes) {
        assert.equal(result.status, 'rejected');
        assert.ok(result.reason instanceof DbmClosedError, result.reason);
      }
      // The holder's lock is its own again: a transaction works and sees only 'a'.
      assert.deepEqual(await holder.transaction((tx) => tx.keys()), ['a']);
    });

    it('a transaction whose handle is closed while it runs rejects and commits nothing', async () => {
      const file = fresh();
      const db = await Dbm.open(file, { flag: 'c' });
      await db.set('a', 1);
      const running = db.transaction(async (tx) => {
        tx.set('b', 2);
        await sleep(20);
        tx.set('c', 3);
      });
      await sleep(5);
      await db.close();
      await assert.rejects(running, DbmClosedError);
      const again = await openDb(file);
      assert.deepEqual(Object.fromEntries(await readAll(again)), { a: 1 });
    });
  });

  describe('codecs', () => {
    it("reopening with another codec than the file's rejects; without one, the file's codec is used", async () => {
      const file = fresh();
      let db = await Dbm.open(file, { flag: 'c', codec: 'raw' });
      await db.set('a', 'bytes');
      await db.close();
      await assert.rejects(Dbm.open(file, { flag: 'r', codec: 'msgpack' }), (err) => {
        assert.ok(err instanceof DbmError);
        assert.match(err.message, /stores values as 'raw', not 'msgpack'/);
        return true;
      });
      db = await openDb(file);
      assert.deepEqual(await db.get('a'), Buffer.from('bytes'));
      assert.equal((await db.stat()).codec, 'raw');
      const m = fresh();
      await (await Dbm.open(m, { flag: 'c' })).close();
      await assert.rejects(Dbm.open(m, { flag: 'w', codec: 'raw' }), /stores values as 'msgpack', not 'raw'/);
    });

    it('msgpack round-trips every supported type, through a reopen', async () => {
      const file = fresh();
      const huge = 2n ** 200n + 12345n;
      const values = {
        null: null,
        undefined: undefined,
        true: true,
        false: false,
        int: 42,
        negative: -7,
        float: 3.25,
        bigSafe: Number.MAX_SAFE_INTEGER,
        string: 'héllo wörld 😀 中文',
        emptyString: '',
        date: new Date('2024-02-29T12:34:56.789Z'),
        preEpochDate: new Date(-1e12),
        map: new Map([
          ['a', 1],
          ['b', { c: [1, 2] }],
        ]),
        mapWithNonStringKeys: new Map([
          [1, 'one'],
          [true, 'yes'],
        ]),
        set: new Set([1, 'two', 3]),
        buffer: Buffer.from([0, 1, 2, 255]),
        emptyBuffer: Buffer.alloc(0),
        float64Array: new Float64Array([1.5, -2.25]),
        bigintSmall: 5n,
        bigintNegative: -(2n ** 63n),
        bigintHuge: huge,
        bigintHugeNegative: -huge,
        array: [1, 'a', null, [2, [3]]],
        nested: { a: { b: { c: { d: [new Date(0), new Set(['x']), { e: 1n }] } } } },
        mapsInside: { list: [new Map([['x', new Map([[1, new Set([new Map()])]])]])], set: new Set([new Map([[2, 3]])]) },
        regexp: /ab+c/gi,
      };
      let db = await Dbm.open(file, { flag: 'c' });
      for (const [k, v] of Object.entries(values)) await db.set(k, v);
      // Storing a value leaves it as it was.
      assert.ok(values.mapsInside.list[0] instanceof Map && values.mapsInside.list[0].get('x') instanceof Map);
      assert.ok([...values.mapsInside.set][0] instanceof Map);
      for (const [k, v] of Object.entries(values)) assert.deepStrictEqual(await db.get(k), v, k);
      await db.close();
      db = await openDb(file);
      for (const [k, v] of Object.entries(values)) assert.deepStrictEqual(await db.get(k), v, `${k} after reopen`);
      // A stored undefined is a present key, unlike a missing one.
      assert.equal(await db.has('undefined'), true);
      assert.equal(await db.has('missing'), false);
    });

    it('raw stores bytes and strings as given and refuses other values', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c', codec: 'raw' });
      await db.set('bytes', new Uint8Array([1, 2, 3]));
      await db.set('text', 'é');
      await db.set('empty', Buffer.alloc(0));
      assert.deepEqual(await db.get('bytes'), Buffer.from([1, 2, 3]));
      assert.deepEqual(await db.get('text'), Buffer.from('é'));
      assert.deepEqual(await db.get('empty'), Buffer.alloc(0));
      assert.equal(await db.has('empty'), true);
      for (const bad of [1, null, { a: 1 }, undefined]) {
        await assert.rejects(db.set('x', bad), TypeError);
      }
      assert.equal(await db.has('x'), false);
      // getRaw and setRaw bypass the codec in either mode.
      assert.deepEqual(await db.getRaw('bytes'), Buffer.from([1, 2, 3]));
    });

    it('getRaw/setRaw move the encoded bytes of a msgpack value', async () => {
      const db = await openDb(fresh(), { flag: 'c' });
      await db.set('a', { x: [1, 2] });
      const raw = await db.getRaw('a');
      assert.ok(Buffer.isBuffer(raw));
      await db.setRaw('b', raw);
      assert.deepEqual(await db.get('b'), { x: [1, 2] });
      await assert.rejects(db.setRaw('c', 'not bytes'), TypeError);
    });
  });

  describe('keys', () => {
    it('string keys are their UTF-8 bytes: a string and its bytes name the same entry', async () => {
      const db = await openDb(fresh(), { flag: 'c' });
      await db.set('ключ😀', 1);
      assert.equal(await db.get(Buffer.from('ключ😀')), 1);
      assert.equal(await db.get(new Uint8Array(Buffer.from('ключ😀'))), 1);
      await db.set(Buffer.from('abc'), 2);
      assert.equal(await db.get('abc'), 2);
      assert.equal(db.size, 2);
      assert.deepEqual([...(await readAll(db)).keys()].sort(), ['abc', 'ключ😀']);
    });

    it("keyEncoding 'buffer' yields Buffers, keeping bytes that are not UTF-8", async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c', keyEncoding: 'buffer' });
      const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
      await db.set(binary, 'bin');
      await db.set('text', 'txt');
      const keys = [];
      for await (const k of db.keys()) keys.push(k);
      assert.ok(keys.every((k) => Buffer.isBuffer(k)));
      assert.deepEqual(keys.map((k) => k.toString('hex')).sort(), [binary.toString('hex'), Buffer.from('text').toString('hex')].sort());
      const viaTx = await db.transaction((tx) => tx.entries());
      assert.ok(viaTx.every(([k]) => Buffer.isBuffer(k)));
      assert.equal(await db.get(binary), 'bin');
    });

    it('the empty key is a key like any other', async () => {
      const db = await openDb(fresh(), { flag: 'c' });
      assert.equal(await db.has(''), false);
      await db.set('', 'empty');
      assert.equal(await db.get(''), 'empty');
      assert.equal(await db.get(new Uint8Array(0)), 'empty');
      assert.deepEqual([...(await readAll(db)).keys()], ['']);
      assert.equal(await db.delete(''), true);
      assert.equal(await db.delete(''), false);
      assert.equal(db.size, 0);
    });

    for (const pageSize of [512, 4096, 65536]) {
      const max = pageSize / 4 - 24;
      it(`keys up to pageSize/4 - 24 = ${max} bytes work with ${pageSize}-byte pages; longer ones are a RangeError`, async () => {
        const db = await openDb(fresh(), { flag: 'c', pageSize });
        const longest = 'k'.repeat(max);
        await db.set(longest, 'v'.repeat(pageSize));
        await db.set(Buffer.alloc(max, 7), 1);
        assert.equal(await db.get(longest), 'v'.repeat(pageSize));
        // Multi-byte characters count by their UTF-8 bytes.
        const euros = Math.floor(max / 3);
        await db.set('€'.repeat(euros), 3);
        assert.equal(await db.get('€'.repeat(euros)), 3);
        const tooLong = ['k'.repeat(max + 1), Buffer.alloc(max + 1), '€'.repeat(euros + 1)];
        for (const key of tooLong) {
          const message = new RegExp(`key longer than ${max} bytes`);
          await assert.rejects(db.set(key, 1), (err) => err instanceof RangeError && message.test(err.message));
          await assert.rejects(db.get(key), RangeError);
          await assert.rejects(db.has(key), RangeError);
          await assert.rejects(db.delete(key), RangeError);
          await assert.rejects(
            db.transaction((tx) => tx.set(key, 1)),
            RangeError,
          );
        }
        assert.equal(db.size, 3);
        assert.equal((await db.check()).keys, 3);
      });
    }

    it('keys that are neither strings nor bytes are a TypeError', async () => {
      const db = await openDb(fresh(), { flag: 'c' });
      for (const key of [1, null, undefined, {}, ['a']]) {
        await assert.rejects(db.set(key, 1), TypeError);
        await assert.rejects(db.get(key), TypeError);
      }
      assert.equal(db.size, 0);
    });
  });

  describe('values', () => {
    it('a 1 MiB value goes to an overflow run, reads back whole, and its pages are freed when replaced', async () => {
      const rand = rng(SEED);
      const file = fresh();
      const big = randomBytes(rand, 1 << 20);
      let db = await Dbm.open(file, { flag: 'c', codec: 'raw' });
      await db.set('big', big);
      await db.set('small', 'x');
      let report = await db.check();
      assert.ok(report.pages.overflow >= Math.ceil(big.length / 4096), JSON.stringify(report.pages));
      await db.close();
      db = await openDb(file, { flag: 'w' });
      assert.ok((await db.get('big')).equals(big));
      await db.set('big', 'now small');
      report = await db.check();
      assert.equal(report.pages.overflow, 0);
      assert.ok(report.pages.free >= 256, JSON.stringify(report.pages));
      assert.deepEqual(await db.get('big'), Buffer.from('now small'));
      // The freed run is reused rather than the file growing.
      const size = fs.statSync(file).size;
      await db.set('big2', big.subarray(0, 900 * 1024));
      assert.equal(fs.statSync(file).size, size);
      assert.ok((await db.get('big2')).equals(big.subarray(0, 900 * 1024)));
    });

    it('values on either side of the inline limit read back exactly', async () => {
      const rand = rng(SEED + 1);
      for (const pageSize of [512, 4096]) {
        const db = await openDb(fresh(), { flag: 'c', codec: 'raw', pageSize });
        const limit = (pageSize - 32) / 4 - 12 - 1; // record limit minus header and the 1-byte key
        const values = new Map();
        for (let len = limit - 3; len <= limit + 3; len++) values.set(String(len % 10), randomBytes(rand, len));
        for (const [k, v] of values) await db.set(k, v);
        for (const [k, v] of values) assert.ok((await db.get(k)).equals(v), `${pageSize}: ${k}`);
        await db.check();
      }
    });
  });

  describe('times', () => {
    it('created and accessed start at creation time, and setTimes/touch persist them', async () => {
      const file = fresh();
      const t0 = Date.now();
      let db = await Dbm.open(file, { flag: 'c' });
      const { created, accessed } = db.times;
      assert.ok(created >= t0 - 5 && created <= Date.now() + 5, String(created));
      assert.equal(accessed, created);
      await db.setTimes({ created: 1000, accessed: 2000.5 });
      assert.deepEqual(db.times, { created: 1000, accessed: 2000.5 });
      await db.close();
      db = await Dbm.open(file, { flag: 'w' });
      assert.deepEqual(db.times, { created: 1000, accessed: 2000.5 });
      await db.touch(5000);
      assert.deepEqual((await db.stat()).times, { created: 1000, accessed: 5000 });
      const before = Date.now();
      await db.touch();
      assert.ok(db.times.accessed >= before && db.times.accessed <= Date.now());
      await db.setTimes({ created: 7 });
      assert.equal(db.times.created, 7);
      await db.transaction((tx) => {
        assert.equal(tx.times.created, 7);
        tx.setTimes({ accessed: 99 });
        assert.equal(tx.times.accessed, 99);
      });
      await db.close();
      db = await openDb(file);
      assert.deepEqual(db.times, { created: 7, accessed: 99 });
    });

    // The meta page holds the times, so touching a session rewrites only it.
    for (const [what, build] of [
      [
        'an inline database',
        async (db) => {
          await db.set('a', 1);
        },
      ],
      [
        'a hashed database with overflow runs',
        async (db) => {
          await db.transaction((tx) => {
            for (let i = 0; i < 400; i++) tx.set(`k${i}`, 'v'.repeat(i % 50 === 0 ? 3000 : 20));
          });
        },
      ],
      [
        'a database whose free list spilled to FREELIST pages',
        async (db) => {
          await db.transaction((tx) => {
            for (let i = 0; i < 300; i++) tx.set(`big${i}`, 'x'.repeat(1500));
          });
          await db.transaction((tx) => {
            for (let i = 0; i < 300; i += 2) tx.delete(`big${i}`);
          });
        },
      ],
    ]) {
      it(`touch() and setTimes() write no data page of ${what}`, async () => {
        const file = fresh();
        const db = await openDb(file, { flag: 'c', pageSize: 512 });
        await build(db);
        const report = await db.check();
        if (what.includes('spilled')) assert.ok(report.pages.freelist > 0, JSON.stringify(report.pages));
        const pagesBefore = dataPages(file, 512);
        const statBefore = await db.stat();
        await db.touch(123);
        await db.setTimes({ created: 456 });
        await db.transaction((tx) => tx.setTimes({ accessed: 789 }));
        assert.ok(dataPages(file, 512).equals(pagesBefore), 'a data page changed');
        const statAfter = await db.stat();
        assert.equal(statAfter.pageCount, statBefore.pageCount);
        assert.equal(statAfter.txid, statBefore.txid + 3);
        assert.deepEqual(statAfter.times, { created: 456, accessed: 789 });
        assert.deepEqual((await db.check()).pages, report.pages);
      });
    }
  });

  describe('transactions', () => {
    it('commit once: the callback sees its own changes synchronously, and its result is returned', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c' });
      await db.set('x', 0);
      const txidBefore = (await db.stat()).txid;
      const result = await db.transaction((tx) => {
        tx.set('a', 1);
        tx.set('b', 2);
        assert.equal(tx.get('a'), 1);
        assert.equal(tx.has('b'), true);
        assert.equal(tx.delete('x'), true);
        assert.equal(tx.delete('x'), false);
        assert.equal(tx.size, 2);
        assert.deepEqual(tx.keys().sort(), ['a', 'b']);
        assert.deepEqual(tx.entries().sort(), [
          ['a', 1],
          ['b', 2],
        ]);
        tx.setRaw('c', tx.getRaw('a'));
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal((await db.stat()).txid, txidBefore + 1);
      assert.deepEqual(Object.fromEntries(await readAll(db)), { a: 1, b: 2, c: 1 });
    });

    it('a write right after open, and a burst of writes in one turn, wait for no timer (the lock open took is kept)', async () => {
      const file = fresh();
      await (await Dbm.open(file, { flag: 'c' })).close();
      const db = await openDb(file, { flag: 'w' });
      let timerFired = false;
      const timer = setTimeout(() => {
        timerFired = true;
      }, 0);
      await db.set('a', 1);
      for (let i = 0; i < 50; i++) await db.set(`k${i}`, i);
      assert.equal(await db.get('k49'), 49);
      assert.equal(timerFired, false, 'a write waited for a timer (lock released and re-taken?)');
      clearTimeout(timer);
    });

    it('tx refuses use after its transaction ended, and changes nothing then', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c' });
      let kept;
      await db.transaction((tx) => {
        tx.set('a', 1);
        kept = tx;
      });
      assert.throws(() => kept.set('a', 2), { name: 'DbmError', message: /transaction .* has ended/ });
      assert.throws(() => kept.get('a'), /has ended/);
      assert.throws(() => kept.size, /has ended/);
      // A later transaction is not reachable through the old tx either.
      await db.transaction((tx) => {
        assert.throws(() => kept.set('b', 1), /has ended/);
        tx.set('c', 3);
      });
      assert.deepEqual(Object.fromEntries(await readAll(db)), { a: 1, c: 3 });
    });

    it('setTimes rejects values that are not finite numbers, writing nothing', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c' });
      await db.setTimes({ created: 5, accessed: 6 });
      const before = fileHash(file);
      for (const bad of [{ created: 'x' }, { accessed: NaN }, { accessed: Infinity }, { created: null }, null]) {
        await assert.rejects(db.setTimes(bad), TypeError);
      }
      assert.equal(fileHash(file), before);
      assert.deepEqual(db.times, { created: 5, accessed: 6 });
    });

    it('setRaw copies the bytes: reusing the buffer right after the call changes nothing stored', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c', codec: 'raw' });
      const other = await openDb(file, { flag: 'w' });
      await other.lock(); // the write below has to wait for the lock
      const buf = Buffer.from('original');
      const pending = db.setRaw('k', buf);
      buf.write('CHANGED!');
      await other.unlock();
      await pending;
      assert.equal((await db.get('k')).toString(), 'original');
    });

    it('a transaction that changes nothing writes nothing', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c' });
      await db.set('a', 1);
      const before = fileHash(file);
      assert.equal(await db.transaction((tx) => tx.get('a')), 1);
      assert.equal(fileHash(file), before);
    });

    for (const how of ['synchronously', 'after an await']) {
      it(`a callback that throws ${how} rolls back: the error comes through and the file is unchanged, also after reopening`, async () => {
        const file = fresh();
        let db = await Dbm.open(file, { flag: 'c', pageSize: 512 });
        await db.transaction((tx) => {
          for (let i = 0; i < 100; i++) tx.set(`k${i}`, i);
        });
        const before = fileHash(file);
        const boom = new Error('boom');
        await assert.rejects(
          db.transaction(async (tx) => {
            for (let i = 0; i < 100; i++) tx.set(`k${i}`, -i);
            for (let i = 100; i < 400; i++) tx.set(`n${i}`, 'x'.repeat(i));
            tx.delete('k5');
            tx.setTimes({ accessed: 1 });
            if (how !== 'synchronously') await sleep(1);
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.equal(fileHash(file), before);
        assert.equal(db.size, 100);
        assert.equal(await db.get('k5'), 5);
        // The handle goes on working after a rollback.
        await db.set('after', true);
        await db.close();
        db = await openDb(file);
        const all = await readAll(db);
        assert.equal(all.size, 101);
        for (let i = 0; i < 100; i++) assert.equal(all.get(`k${i}`), i);
        assert.equal((await db.check()).keys, 101);
      });
    }

    it('clear() inside a transaction, then new keys, commit as one state', async () => {
      const db = await openDb(fresh(), { flag: 'c', pageSize: 512 });
      await db.transaction((tx) => {
        for (let i = 0; i < 500; i++) tx.set(`k${i}`, 'v'.repeat(i % 200));
      });
      await db.transaction((tx) => {
        tx.clear();
        assert.equal(tx.size, 0);
        assert.deepEqual(tx.keys(), []);
        tx.set('only', 1);
      });
      assert.deepEqual(Object.fromEntries(await readAll(db)), { only: 1 });
      const report = await db.check();
      assert.equal(report.keys, 1);
      assert.equal(report.pages.bucket + report.pages.dir + report.pages.overflow, 0);
    });

    it('transaction() needs a function', async () => {
      const db = await openDb(fresh(), { flag: 'c' });
      await assert.rejects(db.transaction('nope'), TypeError);
    });
  });

  describe('iteration', () => {
    it('keys(), values(), entries() and for-await cover every key once; count() and size agree', async () => {
      const db = await openDb(fresh(), { flag: 'c', pageSize: 512 });
      const expected = new Map();
      await db.transaction((tx) => {
        for (let i = 0; i < 1000; i++) {
          tx.set(`key-${i}`, i);
          expected.set(`key-${i}`, i);
        }
      });
      const keys = [];
      for await (const k of db.keys()) keys.push(k);
      assert.deepEqual(keys.sort(), [...expected.keys()].sort());
      const values = [];
      for await (const v of db.values()) values.push(v);
      assert.deepEqual(
        values.sort((a, b) => a - b),
        [...expected.values()],
      );
      const pairs = new Map();
      for await (const [k, v] of db) pairs.set(k, v);
      assert.deepEqual(pairs, expected);
      assert.equal(db.size, 1000);
      assert.equal(await db.count(), 1000);
    });

    it('yields every key present throughout exactly once while another handle commits between steps', async () => {
      const rand = rng(SEED + 2);
      const file = fresh();
      const reader = await openDb(file, { flag: 'c', pageSize: 512 });
      const writer = await openDb(file, { flag: 'w' });
      const stable = new Set();
      const volatile = new Set();
      await writer.transaction((tx) => {
        for (let i = 0; i < 600; i++) {
          tx.set(`s${i}`, i);
          stable.add(`s${i}`);
          tx.set(`v${i}`, i);
          volatile.add(`v${i}`);
        }
      });
      const seen = new Map();
      let added = 0;
      let steps = 0;
      for await (const key of reader.keys()) {
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (++steps % 7 !== 0) continue;
        // Splits, directory doubling, deletes and value updates between steps.
        await writer.transaction((tx) => {
          for (let j = 0; j < 25; j++) tx.set(`new${added++}`, 'x'.repeat(randomLength(rand)));
          const victim = `v${Math.floor(rand() * 600)}`;
          tx.delete(victim);
          tx.set(`s${Math.floor(rand() * 600)}`, -1);
        });
      }
      for (const key of stable) assert.equal(seen.get(key), 1, `${key} seen ${seen.get(key) ?? 0} times`);
      for (const [key, times] of seen) {
        assert.equal(times, 1, `${key} seen ${times} times`);
        assert.ok(stable.has(key) || volatile.has(key) || key.startsWith('new'), key);
      }
      assert.ok(added > 1000, `only ${added} keys added during the iteration`);
      const stat = await reader.stat();
      assert.ok(stat.depth > 5, `depth ${stat.depth}`);
      await reader.check();
    });
  });

  describe('stat()', () => {
    it('reports the file as it is', async () => {
      const file = fresh();
      const db = await openDb(file, { flag: 'c', pageSize: 1024, codec: 'raw' });
      let stat = await db.stat();
      assert.deepEqual(
        {
          path: stat.path,
          pageSize: stat.pageSize,
          pageCount: stat.pageCount,
          fileBytes: stat.fileBytes,
          keyCount: stat.keyCount,
          mode: stat.mode,
          depth: stat.depth,
          dirLevels: stat.dirLevels,
          freePages: stat.freePages,
          codec: stat.codec,
        },
        { path: file, pageSize: 1024, pageCount: 2, fileBytes: 2048, keyCount: 0, mode: 'inline', depth: 0, dirLevels: 0, freePages: 0, codec: 'raw' },
      );
      await db.transaction((tx) => {
        for (let i = 0; i < 2000; i++) tx.set(`k${i}`, 'v');
      });
      stat = await db.stat();
      assert.equal(stat.mode, 'hashed');
      assert.equal(stat.keyCount, 2000);
      assert.equal(stat.fileBytes, stat.pageCount * 1024);
      assert.ok(stat.depth >= 5);
      const report = await db.check();
      assert.equal(report.pageCount, stat.pageCount);
      assert.equal(report.pages.free, stat.freePages);
      assert.equal(report.depth, stat.depth);
    });
  });

  it('check() on a sound file reports every page exactly once', async () => {
    const db = await openDb(fresh(), { flag: 'c', pageSize: 512 });
    await db.transaction((tx) => {
      for (let i = 0; i < 800; i++) tx.set(`k${i}`, 'v'.repeat(i % 97 === 0 ? 2000 : 10));
    });
    const report = await db.check();
    const sum = Object.values(report.pages).reduce((a, b) => a + b, 0);
    assert.equal(sum, report.pageCount);
    assert.equal(report.keys, 800);
    assert.deepEqual(report.metaSlots, ['current', 'current']);
    assert.ok(report.pages.bucket > 0 && report.pages.overflow > 0, JSON.stringify(report.pages));
  });
});

function randomLength(rand) {
  return rand() < 0.1 ? 200 + Math.floor(rand() * 1500) : Math.floor(rand() * 40);
}
