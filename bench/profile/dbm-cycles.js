// Focused micro-benchmark of the dbm engine's hot cycles, for profiling
// (node --cpu-prof, valgrind --tool=callgrind) and same-run A/B comparisons.
// Not part of `npm run bench`.
//
//   node bench/profile/dbm-cycles.js pairs            interleaved A/B ratios vs the floors
//   node bench/profile/dbm-cycles.js loop OP [sec]    run one operation in a loop (for profilers)
//   node bench/profile/dbm-cycles.js count OP [n]     run OP n times (for callgrind: fixed work)
//
// OP: floorRead dbmGetAll dbmEntries floorWrite dbmWrite dbmSet sqliteSet
//     (with DBM_B set, also dbmGetAllB dbmWriteB dbmSetB: the same on another build)
// Env: PHASES=1 (pairs also times open + close alone), DBM_PAGE (page size of the small files, default the dbm's default),
//      DBM_FILES (small files, default 1000), DBM_KEYS (large file keys, default 100000,
//      0 = no large file), DBM_A (path of a build's dist/dbm/index.js to measure instead of
//      this one), DBM_B (path of another build's dist/dbm/index.js to compare with),
//      ROUNDS (pairs rounds, default 150), DBM_NOATIME=1 (see noatimeIO), DBM_MEMIO=1 (the dbm's small files live in
//      memory behind the `io` option: one real descriptor for flock, no other file
//      system calls, so what is left is the engine's own work; the floors stay real).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import fsExt from 'fs-ext';
import { Packr } from 'msgpackr';

const FILES = Number(process.env.DBM_FILES ?? 1000);
const LARGE = Number(process.env.DBM_KEYS ?? 100_000);
const PAGE = process.env.DBM_PAGE ? Number(process.env.DBM_PAGE) : undefined;
const ROUNDS = Number(process.env.ROUNDS ?? 150);
// DBM_A: measure another build as the main one (for instruction counts of an older build).
const { Dbm } = process.env.DBM_A ? await import(path.resolve(process.env.DBM_A)) : await import('wasm-session/dbm');
const DbmB = process.env.DBM_B ? (await import(path.resolve(process.env.DBM_B))).Dbm : null;
const MEMIO = process.env.DBM_MEMIO === '1';
const packr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, copyBuffers: true });

function makeSession(i) {
  const hex = (n) => ((i * 2654435761 + n * 40503) >>> 0).toString(16).padStart(8, '0');
  return {
    cookie: { originalMaxAge: 86_400_000, expires: new Date(1_767_225_600_000 + i * 1000), secure: true, httpOnly: true, path: '/', sameSite: 'lax' },
    userId: 100_000 + i,
    username: `user${i}`,
    email: `user${i}@example.com`,
    displayName: `Example User ${i}`,
    roles: ['user', i % 7 === 0 ? 'admin' : 'editor', 'billing-viewer'],
    locale: 'en-GB',
    timezone: 'Europe/Amsterdam',
    csrfToken: hex(1) + hex(2) + hex(3) + hex(4),
    loggedInAt: new Date(1_767_200_000_000 + i * 997),
    lastSeen: 1_767_225_600_000 + i,
    visits: i % 500,
    isAdmin: i % 7 === 0,
    mfaVerified: true,
    cart: {
      currency: 'EUR',
      items: [
        { sku: 'SKU-10042', name: 'Wireless mouse', qty: 2, price: 19.99 },
        { sku: 'SKU-20077', name: 'Mechanical keyboard', qty: 1, price: 149.5 },
        { sku: 'SKU-30011', name: 'USB-C cable, 2 m', qty: 3, price: 9.95 },
      ],
      coupon: null,
    },
    preferences: { newsletter: false, itemsPerPage: 25, compactView: true, notifications: { email: true, push: false } },
    flash: { info: ['Your profile was updated.'], warning: ['Your card on file expires next month; please update your billing details.'] },
    returnTo: '/account/orders?page=2&sort=date-desc',
    recentlyViewed: [10042, 20077, 30011, 40999, 51234, 61000, 70707, 80808],
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-profile-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

/** A FileIO over in-memory files; every open returns one real descriptor (flock needs one). */
function memIO() {
  const fd = fs.openSync(path.join(root, 'memio-lock'), 'w+');
  const files = new Map();
  let cur = null;
  return {
    open(p, flags) {
      cur = files.get(p);
      if (!cur) {
        if (!(flags & fs.constants.O_CREAT)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        cur = { buf: Buffer.alloc(65536), size: 0 };
        files.set(p, cur);
      }
      return fd;
    },
    close() {},
    pread(_fd, buffer, offset, length, position) {
      const n = Math.max(0, Math.min(length, cur.size - position));
      cur.buf.copy(buffer, offset, position, position + n);
      return n;
    },
    pwritev(_fd, buffers, position) {
      let pos = position;
      for (const b of buffers) {
        if (pos + b.byteLength > cur.buf.length) {
          const bigger = Buffer.alloc(Math.max(2 * cur.buf.length, pos + b.byteLength));
          cur.buf.copy(bigger);
          cur.buf = bigger;
        }
        cur.buf.set(b, pos);
        pos += b.byteLength;
      }
      cur.size = Math.max(cur.size, pos);
      return pos - position;
    },
    fdatasync() {},
    ftruncate(_fd, length) {
      if (length > cur.buf.length) {
        const bigger = Buffer.alloc(length);
        cur.buf.copy(bigger);
        cur.buf = bigger;
      }
      cur.buf.fill(0, length);
      cur.size = length;
    },
    size: () => cur.size,
  };
}
/**
 * DBM_NOATIME=1: the dbm's files are opened with O_NOATIME (falling back
 * without it where the kernel refuses, EPERM for a file of another user):
 * with relatime, the first read after each write updates the inode's atime,
 * about 1 us per read-modify-write cycle here.
 */
async function noatimeIO() {
  const { nodeFileIO } = await import('wasm-session/dbm');
  const NOATIME = fs.constants.O_NOATIME ?? 0;
  return {
    ...nodeFileIO,
    open(p, flags, mode) {
      try {
        return nodeFileIO.open(p, flags | NOATIME, mode);
      } catch (err) {
        if (err.code !== 'EPERM') throw err;
        return nodeFileIO.open(p, flags, mode);
      }
    },
  };
}
const io = MEMIO ? memIO() : process.env.DBM_NOATIME === '1' ? await noatimeIO() : undefined;
const withIo = (o) => (io ? { ...o, io } : o);

function rotation(n) {
  let i = 0;
  return () => {
    const v = i;
    i = i + 1 === n ? 0 : i + 1;
    return v;
  };
}

const ops = {};
let sink = 0;
let stamp = 1_767_225_600_000;

async function small(tag, D) {
  const dir = path.join(root, `small-${tag}`);
  fs.mkdirSync(dir);
  const files = Array.from({ length: FILES }, (_, i) => path.join(dir, `s${i}.db`));
  for (let i = 0; i < FILES; i++) {
    const db = await D.open(files[i], withIo({ flag: 'n', ...(PAGE ? { pageSize: PAGE } : {}) }));
    await db.transaction((tx) => {
      for (const [k, v] of Object.entries(makeSession(i))) tx.set(k, v);
    });
    await db.close();
  }
  const s = tag === 'A' ? '' : tag;
  // One options object per kind, as an application would pass a literal.
  const readOpts = withIo({ flag: 'r' });
  const writeOpts = withIo({ flag: 'w' });
  {
    const next = rotation(FILES);
    ops[`dbmGetAll${s}`] = async () => {
      const db = await D.open(files[next()], readOpts);
      const all = await db.getAll();
      await db.close();
      sink += all.get('visits');
    };
  }
  {
    const next = rotation(FILES);
    ops[`dbmEntries${s}`] = async () => {
      const db = await D.open(files[next()], readOpts);
      const session = {};
      for await (const [k, v] of db.entries()) session[k] = v;
      await db.close();
      sink += session.visits;
    };
  }
  {
    const next = rotation(FILES);
    ops[`dbmWrite${s}`] = async () => {
      const db = await D.open(files[next()], writeOpts);
      await db.set('lastSeen', ++stamp);
      await db.close();
    };
  }
  {
    const next = rotation(FILES);
    ops[`dbmOpenClose${s}`] = async () => {
      const db = await D.open(files[next()], readOpts);
      await db.close();
    };
  }
  {
    const next = rotation(FILES);
    ops[`dbmOpenCloseW${s}`] = async () => {
      const db = await D.open(files[next()], writeOpts);
      await db.close();
    };
  }
  return MEMIO ? 'in memory' : fs.statSync(files[0]).size;
}

async function floors() {
  const dir = path.join(root, 'floor');
  fs.mkdirSync(dir);
  const files = Array.from({ length: FILES }, (_, i) => path.join(dir, `s${i}.msgpack`));
  const encoded = files.map((f, i) => {
    const e = packr.pack(makeSession(i));
    fs.writeFileSync(f, e);
    return e;
  });
  const buf = Buffer.alloc(65536);
  {
    const next = rotation(FILES);
    ops.floorRead = () => {
      const fd = fs.openSync(files[next()], 'r');
      fsExt.flockSync(fd, 'sh');
      const len = fs.readSync(fd, buf, 0, buf.length, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
      sink += packr.unpack(buf.subarray(0, len)).visits;
    };
  }
  {
    const next = rotation(FILES);
    ops.floorWrite = () => {
      const i = next();
      const fd = fs.openSync(files[i], 'r+');
      fsExt.flockSync(fd, 'ex');
      sink += fs.writeSync(fd, encoded[i], 0, encoded[i].length, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
    };
  }
}

async function large(tag, D) {
  const keys = Array.from({ length: LARGE }, (_, i) => `key:${String(i).padStart(8, '0')}`);
  const value = () => crypto.randomBytes(100);
  // With DBM_MEMIO the large file is in memory too (run one operation at a time then: one current file).
  const db = await D.open(path.join(root, `large-${tag}.db`), withIo({ flag: 'n', codec: 'raw' }));
  for (let from = 0; from < LARGE; from += 10_000) {
    await db.transaction((tx) => {
      for (let i = from; i < Math.min(LARGE, from + 10_000); i++) tx.set(keys[i], value());
    });
  }
  const fresh = Array.from({ length: 256 }, value);
  let f = 0;
  let k = 12345;
  const s = tag === 'A' ? '' : tag;
  ops[`dbmSet${s}`] = () => {
    k = (k * 1103515245 + 12345) >>> 0;
    return db.set(keys[k % LARGE], fresh[f++ & 255]);
  };
  return db;
}

async function sqlite() {
  const { default: Database } = await import('better-sqlite3');
  const keys = Array.from({ length: LARGE }, (_, i) => `key:${String(i).padStart(8, '0')}`);
  const db = new Database(path.join(root, 'large.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
  const ins = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
  const chunk = db.transaction((from) => {
    for (let i = from; i < Math.min(LARGE, from + 10_000); i++) ins.run(keys[i], crypto.randomBytes(100));
  });
  for (let from = 0; from < LARGE; from += 10_000) chunk(from);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const up = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
  const fresh = Array.from({ length: 256 }, () => crypto.randomBytes(100));
  let f = 0;
  let k = 12345;
  ops.sqliteSet = () => {
    k = (k * 1103515245 + 12345) >>> 0;
    sink += up.run(keys[k % LARGE], fresh[f++ & 255]).changes;
  };
}

async function timeBlock(fn, block) {
  await new Promise((resolve) => setImmediate(resolve));
  const t = process.hrtime.bigint();
  for (let i = 0; i < block; i++) {
    const r = fn();
    if (r && typeof r.then === 'function') await r;
  }
  return Number(process.hrtime.bigint() - t) / 1000 / block;
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function paired(aName, bName, block) {
  const a = ops[aName];
  const b = ops[bName];
  for (let i = 0; i < 3; i++) {
    await timeBlock(a, block);
    await timeBlock(b, block);
  }
  const as = [];
  const bs = [];
  const rs = [];
  for (let r = 0; r < ROUNDS; r++) {
    let ta;
    let tb;
    if (r % 2 === 0) {
      ta = await timeBlock(a, block);
      tb = await timeBlock(b, block);
    } else {
      tb = await timeBlock(b, block);
      ta = await timeBlock(a, block);
    }
    as.push(ta);
    bs.push(tb);
    rs.push(tb / ta);
  }
  // The minimum block time filters out most interference from other processes on a shared machine.
  const min = (xs) => Math.min(...xs);
  console.log(
    `${bName.padEnd(14)} ${median(bs).toFixed(2).padStart(7)} µs vs ${aName.padEnd(14)} ${median(as).toFixed(2).padStart(7)} µs: ${median(rs).toFixed(3)}x` +
      `   (min ${min(bs).toFixed(2)} vs ${min(as).toFixed(2)}: ${(min(bs) / min(as)).toFixed(3)}x)`,
  );
}

const [mode = 'pairs', op, arg] = process.argv.slice(2);
const wants = (name) => mode === 'pairs' || (op ?? '').startsWith(name) || (op ?? '').startsWith('floor');
const needSmall = mode === 'pairs' || /^(dbmGetAll|dbmEntries|dbmWrite|dbmOpen|floor)/.test(op ?? '');
const needLarge = LARGE > 0 && (mode === 'pairs' || /^(dbmSet|sqliteSet)/.test(op ?? ''));
if (needSmall) {
  const size = await small('A', Dbm);
  if (DbmB) await small('B', DbmB);
  await floors();
  if (mode === 'pairs') console.log(`small files: ${FILES}, page ${PAGE ?? 'default'}, file bytes ${size}`);
}
if (needLarge) {
  await large('A', Dbm);
  if (DbmB) await large('B', DbmB);
  if (mode === 'pairs' || op === 'sqliteSet') await sqlite();
}
void wants;

if (mode === 'pairs') {
  await paired('floorRead', 'dbmGetAll', 10);
  await paired('floorRead', 'dbmEntries', 10);
  await paired('floorWrite', 'dbmWrite', 10);
  if (process.env.PHASES) {
    await paired('dbmOpenClose', 'dbmGetAll', 10);
    await paired('dbmOpenCloseW', 'dbmWrite', 10);
    await paired('floorWrite', 'dbmOpenCloseW', 10);
  }
  if (DbmB) {
    await paired('dbmGetAllB', 'dbmGetAll', 10);
    await paired('dbmWriteB', 'dbmWrite', 10);
  }
  if (LARGE > 0) {
    await paired('sqliteSet', 'dbmSet', 100);
    if (DbmB) await paired('dbmSetB', 'dbmSet', 100);
  }
} else if (mode === 'loop') {
  const fn = ops[op];
  if (!fn) throw new Error(`unknown op ${op}; have ${Object.keys(ops).join(' ')}`);
  const until = performance.now() + 1000 * Number(arg ?? 10);
  let n = 0;
  const t = performance.now();
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  console.log(`${op}: ${n} ops, ${(((performance.now() - t) * 1000) / n).toFixed(2)} µs/op`);
} else if (mode === 'count') {
  const fn = ops[op];
  if (!fn) throw new Error(`unknown op ${op}`);
  const n = Number(arg ?? 10000);
  for (let i = 0; i < n; i++) await fn();
  console.log(`${op}: ${n} ops done`);
}
if (sink === 0) console.log('(sink)');
