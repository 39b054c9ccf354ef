// dbm suite: this dbm against lmdb-js, better-sqlite3 (WAL) used as a
// key-value table and plain JSON files, in one run, on the real disk
// (a temp directory under os.tmpdir(), removed at the end).
//
// Small files (one session: 20 keys, ~1 KiB encoded; 1,000 files per
// contender, visited round-robin in the same order by every contender):
//   - read:  open + read every key + close
//   - write: open + change one key + commit + close
// against the bare floor in Node: open, flock, one read (or one in-place
// write), unlock, close, plus one msgpackr decode of the whole map for the
// read. Large file (100,000 keys of 100-byte values, written in
// transactions of 10,000 keys): random get and random single-key commits,
// then durable commits for context. A second dbm file with the same keys
// written in one transaction (so with almost no free pages) shows how much
// of a commit's cost depends on the size of the free list.
//
// Counting: a case with `opsPerCycle: N` does N operations per call and the
// harness divides by N, so every ops/s (and µs/op) is per operation.
// Operations inside one call run back to back; for the dbm an awaited burst
// stays within one event-loop turn, which lets the lock it takes (and the
// meta read that comes with it) be shared by the burst. Rows marked "one per
// event-loop turn" await a setImmediate after each operation instead, so
// each pays its own lock and meta read; the bare cost of that turn is
// printed under the table.
//
// Targets are checked twice: from the tables (cases measured one after the
// other) and from an interleaved A/B run (pairedRatio), which holds up when
// the machine's load changes during the suite.
//
// Environment: BENCH_MIN_TIME (default 1): each benchmark.js sample runs at
// least BENCH_MIN_TIME/2.5 s and a case stops once it has 5 samples and has
// run 2 x BENCH_MIN_TIME s, so a case takes about 4-6 x BENCH_MIN_TIME s
// and the suite about 3 minutes at the default. BENCH_DBM_FILES (small
// files per contender, default 1000), BENCH_DBM_KEYS (keys in the large
// file, default 100000). BENCH_PROGRESS=1 logs each case's time on stderr.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fsExt from 'fs-ext';
import { Packr } from 'msgpackr';
import { open as lmdbOpen } from 'lmdb';
import Database from 'better-sqlite3';
import { Dbm } from 'wasm-session/dbm';
import { runGroup, pairedRatio, packageVersion as versionOf } from './lib/harness.js';

export const title = 'dbm';

const MIN_TIME = Number(process.env.BENCH_MIN_TIME ?? 1);
const FILES = Number(process.env.BENCH_DBM_FILES ?? 1000);
const LARGE_KEYS = Number(process.env.BENCH_DBM_KEYS ?? 100_000);
const VALUE_BYTES = 100;
const GROUP_OPTS = { minTime: MIN_TIME / 2.5, maxTime: 2 * MIN_TIME };

// The same msgpackr configuration as the dbm's 'msgpack' codec
// (src/dbm/codec.ts), so the floor decodes exactly what the dbm decodes.
const packr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, copyBuffers: true });

export function versions() {
  let sqlite = '?';
  try {
    const mem = new Database(':memory:');
    sqlite = mem.prepare('SELECT sqlite_version()').pluck().get();
    mem.close();
  } catch {
    // reported as '?'
  }
  return {
    'wasm-session dbm': versionOf('wasm-session'),
    'lmdb (lmdb-js)': versionOf('lmdb'),
    'better-sqlite3': `${versionOf('better-sqlite3')} (SQLite ${sqlite})`,
    msgpackr: versionOf('msgpackr'),
    'fs-ext': versionOf('fs-ext'),
    'benchmark.js': versionOf('benchmark'),
  };
}

// ---------------------------------------------------------------------------
// Data and helpers

/** A session of 20 keys with mixed values; about 1 KiB as one msgpack map. */
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

/** Deterministic PRNG (mulberry32) so every run and contender sees the same keys. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Round-robin over 0..n-1; each operation gets its own cursor. */
function rotation(n) {
  let i = 0;
  return () => {
    const v = i;
    i = i + 1 === n ? 0 : i + 1;
    return v;
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A benchmark case doing `batch` calls of `op` per call (per-op counting). */
function batchCase(name, op, batch, extra = {}) {
  if (extra.defer) {
    return {
      name,
      opsPerCycle: batch,
      ...extra,
      async fn() {
        for (let n = 0; n < batch; n++) await op();
      },
    };
  }
  return {
    name,
    opsPerCycle: batch,
    ...extra,
    fn() {
      for (let n = 0; n < batch; n++) op();
    },
  };
}

/** runGroup, then each case gets its `result` ({ hz, rme, ratio }). */
async function runCases(group, opts) {
  const results = await runGroup(group, opts);
  group.cases.forEach((c, i) => {
    c.result = results[i];
  });
  return results;
}

const fmtMs = (ms) => (ms >= 100 ? Math.round(ms).toLocaleString('en-US') : ms.toFixed(1));
const fmtUs = (us) => (us >= 100 ? Math.round(us).toLocaleString('en-US') : us.toFixed(1));
const freePages = (n) => `${n} free page${n === 1 ? '' : 's'}`;
const fmtHz = (hz) => Math.round(hz).toLocaleString('en-US');

/** Which build of this dbm is measured, and whether dist/ looks older than its sources. */
function codeUnderTest() {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  let git = 'not a git checkout';
  try {
    const run = (args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = run(['status', '--porcelain', '--', 'src', 'assembly']) !== '';
    git = `HEAD ${run(['rev-parse', '--short', 'HEAD'])}${dirty ? ' + uncommitted changes in src/ or assembly/' : ''}`;
  } catch {
    // not fatal
  }
  let built = 'dist/ missing';
  let stale = false;
  try {
    const newest = (dir, keep = () => true) => {
      let t = 0;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        t = Math.max(t, e.isDirectory() ? newest(p, keep) : keep(p) ? fs.statSync(p).mtimeMs : 0);
      }
      return t;
    };
    const wasmTime = fs.statSync(path.join(repo, 'dist/core.wasm')).mtimeMs;
    const jsTime = newest(path.join(repo, 'dist'), (p) => p.endsWith('.js'));
    built = `dist/ built ${new Date(Math.max(wasmTime, jsTime)).toISOString()}`;
    stale = newest(path.join(repo, 'assembly')) > wasmTime || newest(path.join(repo, 'src')) > jsTime;
  } catch {
    // reported as is
  }
  return `Code under test: ${git}; ${built}${stale ? ' - WARNING: src/ or assembly/ is newer than dist/, run `npm run build`' : ''}.`;
}

// ---------------------------------------------------------------------------
// Resource bookkeeping: every handle is closed and the directory removed,
// also when a case fails (the harness exits the process) or on Ctrl-C.

let root;
const openHandles = new Set();

function removeRoot() {
  if (root) {
    fs.rmSync(root, { recursive: true, force: true });
    root = undefined;
  }
}

function onSignal(signal) {
  removeRoot();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/** Registers a handle; returns a function that closes it once. */
function track(handle, close) {
  const entry = { handle, close };
  openHandles.add(entry);
  return async () => {
    if (!openHandles.delete(entry)) return;
    await close(handle);
  };
}

async function closeAll() {
  for (const entry of [...openHandles]) {
    openHandles.delete(entry);
    try {
      await entry.close(entry.handle);
    } catch (err) {
      console.error('closing a benchmark handle failed:', err);
    }
  }
}

function describeFs(dir) {
  try {
    const st = fs.statfsSync(dir);
    const types = { 61267: 'ext2/3/4', 16914836: 'tmpfs', 1481003842: 'xfs', 2435016766: 'btrfs', 2035054128: 'overlayfs', 26985: 'nfs' };
    return `file system ${types[st.type] ?? `type 0x${st.type.toString(16)}`}`;
  } catch {
    return 'file system unknown';
  }
}

// ---------------------------------------------------------------------------

export async function run() {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-bench-dbm-'));
  process.once('exit', removeRoot);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const targets = [];
  try {
    console.log(codeUnderTest());
    console.log(`Temp dir: ${root} (${describeFs(root)}); BENCH_MIN_TIME=${MIN_TIME}; ${FILES} small files per contender.`);
    await smallFiles(targets);
    await largeFile(targets);
    printTargets(targets);
  } finally {
    await closeAll();
    removeRoot();
    process.removeListener('exit', removeRoot);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

// ---------------------------------------------------------------------------
// Small files

function prefixOf(i) {
  return `s${String(i).padStart(4, '0')}/`;
}

async function smallFiles(targets) {
  const dirOf = (name) => {
    const dir = path.join(root, 'small', name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const names = (name, ext) => {
    const dir = dirOf(name);
    return Array.from({ length: FILES }, (_, i) => path.join(dir, `s${String(i).padStart(4, '0')}.${ext}`));
  };
  const sessions = Array.from({ length: FILES }, (_, i) => makeSession(i));
  const paths = {
    dbm: names('dbm', 'db'),
    floor: names('floor', 'msgpack'),
    lmdb: names('lmdb', 'mdb'),
    sqlite: names('sqlite', 'sqlite'),
    json: names('json', 'json'),
    jsonAtomic: names('json-atomic', 'json'),
  };

  // --- fixtures -------------------------------------------------------------
  const built = {};
  const timeIt = async (name, fn) => {
    const t0 = performance.now();
    await fn();
    built[name] = performance.now() - t0;
  };
  await timeIt('dbm', async () => {
    for (let i = 0; i < FILES; i++) {
      const db = await Dbm.open(paths.dbm[i], { flag: 'n', codec: 'msgpack' });
      await db.transaction((tx) => {
        for (const [k, v] of Object.entries(sessions[i])) tx.set(k, v);
      });
      await db.close();
    }
  });
  const encoded = sessions.map((s) => packr.pack(s));
  await timeIt('floor', () => {
    for (let i = 0; i < FILES; i++) fs.writeFileSync(paths.floor[i], encoded[i]);
  });
  await timeIt('lmdb', async () => {
    for (let i = 0; i < FILES; i++) {
      const env = lmdbOpen({ path: paths.lmdb[i], noSync: true, compression: false });
      env.transactionSync(() => {
        for (const [k, v] of Object.entries(sessions[i])) env.putSync(k, v);
      });
      await env.close();
    }
  });
  await timeIt('sqlite', () => {
    // Each session's database is built in memory and written out whole (a
    // WAL database created file by file costs several fsyncs each): the
    // header's read/write format bytes (offsets 18 and 19) set to 2 mark the
    // file as WAL mode, exactly what PRAGMA journal_mode = WAL persists.
    for (let i = 0; i < FILES; i++) {
      const mem = new Database(':memory:');
      mem.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
      const ins = mem.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      mem.transaction(() => {
        for (const [k, v] of Object.entries(sessions[i])) ins.run(k, packr.pack(v));
      })();
      const image = mem.serialize();
      mem.close();
      image[18] = 2;
      image[19] = 2;
      fs.writeFileSync(paths.sqlite[i], image);
    }
    const check = new Database(paths.sqlite[0]);
    const mode = check.pragma('journal_mode', { simple: true });
    check.close();
    if (mode !== 'wal') throw new Error(`sqlite fixture is in journal mode ${mode}, not wal`);
  });
  await timeIt('json', () => {
    for (let i = 0; i < FILES; i++) {
      const text = JSON.stringify(sessions[i]);
      fs.writeFileSync(paths.json[i], text);
      fs.writeFileSync(paths.jsonAtomic[i], text);
    }
  });
  // One long-lived lmdb env holding every session under a key prefix.
  let shared;
  await timeIt('lmdbShared', () => {
    shared = lmdbOpen({ path: path.join(root, 'small', 'lmdb-shared.mdb'), noSync: true, compression: false });
    shared.transactionSync(() => {
      for (let i = 0; i < FILES; i++) {
        for (const [k, v] of Object.entries(sessions[i])) shared.putSync(`${prefixOf(i)}${k}`, v);
      }
    });
  });
  const closeShared = track(shared, (env) => env.close());

  console.log(
    `\nSmall files: ${FILES} sessions of ${Object.keys(sessions[0]).length} keys; one msgpack map of a session is ${encoded[0].length} bytes. ` +
      `File sizes: dbm ${fs.statSync(paths.dbm[0]).size}, lmdb ${fs.statSync(paths.lmdb[0]).size} (+ lock file), sqlite ${fs.statSync(paths.sqlite[0]).size}, JSON ${fs.statSync(paths.json[0]).size} bytes. ` +
      `Built in ms: dbm ${fmtMs(built.dbm)}, floor ${fmtMs(built.floor)}, lmdb ${fmtMs(built.lmdb)} (+ shared env ${fmtMs(built.lmdbShared)}), sqlite ${fmtMs(built.sqlite)}, JSON ${fmtMs(built.json)}.`,
  );

  // --- operations: each has its own cursor over the same rotation -----------------
  let sink = 0;
  const readBuf = Buffer.alloc(65536);
  let stamp = 1_767_225_600_000;
  const op = {};
  {
    const next = rotation(FILES);
    op.floorRead = () => {
      const fd = fs.openSync(paths.floor[next()], 'r');
      fsExt.flockSync(fd, 'sh');
      const len = fs.readSync(fd, readBuf, 0, readBuf.length, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
      sink += packr.unpack(readBuf.subarray(0, len)).visits;
    };
  }
  {
    const next = rotation(FILES);
    op.dbmRead = async () => {
      const db = await Dbm.open(paths.dbm[next()], { flag: 'r' });
      const session = {};
      for await (const [k, v] of db.entries()) session[k] = v;
      await db.close();
      sink += session.visits;
    };
  }
  const hasGetAll = typeof Dbm.prototype.getAll === 'function';
  if (hasGetAll) {
    const next = rotation(FILES);
    op.dbmGetAll = async () => {
      const db = await Dbm.open(paths.dbm[next()], { flag: 'r' });
      const all = await db.getAll();
      await db.close();
      sink += all.get('visits');
    };
  }
  {
    const next = rotation(FILES);
    op.lmdbEnvRead = async () => {
      const env = lmdbOpen({ path: paths.lmdb[next()], noSync: true, compression: false });
      const session = {};
      for (const { key, value } of env.getRange()) session[key] = value;
      await env.close();
      sink += session.visits;
    };
  }
  {
    const next = rotation(FILES);
    op.lmdbSharedRead = () => {
      const prefix = prefixOf(next());
      const session = {};
      for (const { key, value } of shared.getRange({ start: prefix, end: `${prefix}\xff` })) session[key.slice(prefix.length)] = value;
      sink += session.visits;
    };
  }
  {
    const next = rotation(FILES);
    op.sqliteRead = () => {
      const db = new Database(paths.sqlite[next()]);
      const session = {};
      for (const row of db.prepare('SELECT k, v FROM kv').raw().all()) session[row[0]] = packr.unpack(row[1]);
      db.close();
      sink += session.visits;
    };
  }
  {
    const next = rotation(FILES);
    op.jsonRead = () => {
      sink += JSON.parse(fs.readFileSync(paths.json[next()], 'utf8')).visits;
    };
  }
  {
    const next = rotation(FILES);
    op.floorWrite = () => {
      const i = next();
      const fd = fs.openSync(paths.floor[i], 'r+');
      fsExt.flockSync(fd, 'ex');
      sink += fs.writeSync(fd, encoded[i], 0, encoded[i].length, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
    };
  }
  {
    const next = rotation(FILES);
    op.dbmWrite = async () => {
      const db = await Dbm.open(paths.dbm[next()], { flag: 'w', sync: 'none' });
      await db.set('lastSeen', ++stamp);
      await db.close();
    };
  }
  {
    const next = rotation(FILES);
    op.lmdbEnvWrite = async () => {
      const env = lmdbOpen({ path: paths.lmdb[next()], noSync: true, compression: false });
      env.putSync('lastSeen', ++stamp);
      await env.close();
    };
  }
  {
    const next = rotation(FILES);
    op.lmdbSharedWrite = () => {
      shared.putSync(`${prefixOf(next())}lastSeen`, ++stamp);
    };
  }
  {
    const next = rotation(FILES);
    op.sqliteWrite = () => {
      const db = new Database(paths.sqlite[next()]);
      db.pragma('synchronous = OFF');
      sink += db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run('lastSeen', packr.pack(++stamp)).changes;
      db.close();
    };
  }
  {
    const next = rotation(FILES);
    op.jsonWrite = () => {
      const p = paths.json[next()];
      const session = JSON.parse(fs.readFileSync(p, 'utf8'));
      session.lastSeen = ++stamp;
      fs.writeFileSync(p, JSON.stringify(session));
    };
  }
  {
    const next = rotation(FILES);
    op.jsonAtomicWrite = () => {
      const p = paths.jsonAtomic[next()];
      const session = JSON.parse(fs.readFileSync(p, 'utf8'));
      session.lastSeen = ++stamp;
      const tmp = `${p}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(session));
      fs.renameSync(tmp, p);
    };
  }

  // --- read: open + read all + close ------------------------------------------------
  const B = 10; // operations per call, for every contender
  const readCases = [
    batchCase('floor: open, flock sh, 1 read, unlock, close + msgpackr unpack of the map', op.floorRead, B, { baseline: true }),
    batchCase('this dbm: open r, for await entries(), close', op.dbmRead, B, { defer: true }),
    ...(hasGetAll ? [batchCase('this dbm: open r, getAll(), close', op.dbmGetAll, B, { defer: true })] : []),
    batchCase('lmdb: open env, getRange(), close (env per file)', op.lmdbEnvRead, B, { defer: true }),
    batchCase('lmdb, context only: ONE long-lived env, session = key prefix, getRange()', op.lmdbSharedRead, B),
    batchCase('better-sqlite3: open, SELECT all rows + unpack, close (db per file, WAL)', op.sqliteRead, B),
    batchCase('JSON file: readFileSync + JSON.parse (no lock)', op.jsonRead, B),
  ];
  await runCases(
    {
      title: `small file (session, ${Object.keys(sessions[0]).length} keys, ~1 KiB): open + read all + close`,
      showTime: true,
      cases: readCases,
      notes: [
        '',
        `Each call does ${B} operations on ${B} different files of the ${FILES}-file rotation; ops/s and µs/op are per operation. No contender syncs; every contender builds the same JS object (or Map, for getAll()) of 20 decoded values.`,
        'lmdb opens an environment per file here (mmap, lock file, reader table): that is the cost of its design when each session is its own file.',
        'The long-lived lmdb env row is context only: it is not one file per session (no per-file open or lock), so it is not comparable with the floor.',
        'better-sqlite3 prepares its statement on each fresh connection and checkpoints the WAL on close: also the cost of one database per session.',
      ],
    },
    GROUP_OPTS,
  );

  // --- write: open + change one key + commit + close --------------------------------
  const writeCases = [
    batchCase('floor: open, flock ex, 1 in-place write (~1 KiB), unlock, close', op.floorWrite, B, { baseline: true }),
    batchCase("this dbm: open w, set(one key), close (sync 'none')", op.dbmWrite, B, { defer: true }),
    batchCase('lmdb: open env, putSync(one key), close (env per file, noSync)', op.lmdbEnvWrite, B, { defer: true }),
    batchCase('lmdb, context only: ONE long-lived env, putSync(prefix + key) (noSync)', op.lmdbSharedWrite, B),
    batchCase('better-sqlite3: open, synchronous=OFF, upsert one row, close (db per file, WAL)', op.sqliteWrite, B),
    batchCase('JSON file: read + parse + modify + stringify + writeFileSync in place (no lock)', op.jsonWrite, B),
    batchCase('JSON file, atomic: read + parse + modify + stringify + write tmp + rename (session-file-store style, without its fsync)', op.jsonAtomicWrite, B),
  ];
  await runCases(
    {
      title: 'small file (session, ~1 KiB): open + change one key + commit + close',
      showTime: true,
      cases: writeCases,
      notes: [
        '',
        `Each call does ${B} operations on ${B} different files of the ${FILES}-file rotation; ops/s and µs/op are per operation.`,
        "Nothing is synced to disk: dbm sync 'none', lmdb noSync, SQLite synchronous=OFF, no fsync for the JSON files.",
        'The write floor neither reads nor encodes: the dbm also reads the file (to find what to change) and encodes the one value.',
        'lmdb opens an environment per file here: the cost of its design when each session is its own file. The long-lived env row is context only.',
        'session-file-store writes through write-file-atomic, which also fsyncs the temp file by default; the atomic row leaves that out to stay comparable.',
      ],
    },
    GROUP_OPTS,
  );
  await closeShared();

  // --- targets, also from interleaved runs ---------------------------------------------
  const readPair = await pairedRatio(op.floorRead, op.dbmRead, { rounds: 150, block: B });
  const writePair = await pairedRatio(op.floorWrite, op.dbmWrite, { rounds: 150, block: B });
  targets.push(smallTarget('small file read (open + read all via entries() + close) within 1.3x of the floor', readCases, readPair));
  targets.push(smallTarget('small file write (open + change one key + commit + close) within 1.3x of the floor', writeCases, writePair));
  if (hasGetAll) {
    const allPair = await pairedRatio(op.floorRead, op.dbmGetAll, { rounds: 150, block: B });
    targets.push(
      smallTarget('(context) small file read with getAll() instead of entries(), same 1.3x bar', readCases, allPair, (c) => c.name.includes('getAll')),
    );
  }
  if (sink === 0) console.log('(unreachable)');
}

/** A target row from the table (baseline vs the dbm row) and from the paired run. */
function smallTarget(target, cases, pair, pick = (c) => c.name.startsWith('this dbm')) {
  const floor = cases.find((c) => c.baseline).result;
  const dbm = cases.find(pick).result;
  const table = floor.hz / dbm.hz;
  return {
    target,
    table: `dbm ${fmtUs(1e6 / dbm.hz)} µs vs floor ${fmtUs(1e6 / floor.hz)} µs: ${table.toFixed(2)}x`,
    paired: `dbm ${fmtUs(pair.bUs)} µs vs floor ${fmtUs(pair.aUs)} µs: ${pair.ratio.toFixed(2)}x`,
    met: [table <= 1.3, pair.ratio <= 1.3],
  };
}

// ---------------------------------------------------------------------------
// Large file

async function largeFile(targets) {
  const dir = path.join(root, 'large');
  fs.mkdirSync(dir);
  const keys = Array.from({ length: LARGE_KEYS }, (_, i) => `key:${String(i).padStart(8, '0')}`);
  const rand = prng(0x5e55);
  const values = Array.from({ length: LARGE_KEYS }, () => {
    const b = Buffer.allocUnsafe(VALUE_BYTES);
    for (let j = 0; j < VALUE_BYTES; j++) b[j] = (rand() * 256) | 0;
    return b;
  });
  // The random access pattern, shared by every contender: 2^16 key indices.
  const ORDER = 1 << 16;
  const order = new Uint32Array(ORDER);
  for (let i = 0; i < ORDER; i++) order[i] = (rand() * LARGE_KEYS) >>> 0;
  const cursor = () => {
    let i = 0;
    return () => order[i++ & (ORDER - 1)];
  };
  // New values for commits: same size as the old ones, so nothing grows.
  const fresh = Array.from({ length: 256 }, () => crypto.randomBytes(VALUE_BYTES));
  let f = 0;
  const nextValue = () => fresh[f++ & 255];

  // --- build ------------------------------------------------------------------------
  const dbmPath = path.join(dir, 'large.db');
  const lmdbPath = path.join(dir, 'large.mdb');
  const sqlitePath = path.join(dir, 'large.sqlite');
  const CHUNK = 10_000;
  let t0 = performance.now();
  let dbm = await Dbm.open(dbmPath, { flag: 'n', codec: 'raw', sync: 'none' });
  let closeDbm = track(dbm, (db) => db.close());
  for (let from = 0; from < LARGE_KEYS; from += CHUNK) {
    await dbm.transaction((tx) => {
      for (let i = from; i < Math.min(LARGE_KEYS, from + CHUNK); i++) tx.set(keys[i], values[i]);
    });
  }
  const builtDbm = performance.now() - t0;
  // For context: the same keys written in ONE transaction, which leaves
  // (almost) no free pages behind; commit costs that grow with the free list
  // show up as the difference between the two dbm files.
  const compactPath = path.join(dir, 'large-one-txn.db');
  t0 = performance.now();
  const compact = await Dbm.open(compactPath, { flag: 'n', codec: 'raw', sync: 'none' });
  const closeCompact = track(compact, (db) => db.close());
  await compact.transaction((tx) => {
    for (let i = 0; i < LARGE_KEYS; i++) tx.set(keys[i], values[i]);
  });
  const builtCompact = performance.now() - t0;
  t0 = performance.now();
  const lmdb = lmdbOpen({ path: lmdbPath, noSync: true, compression: false, encoding: 'binary' });
  const closeLmdb = track(lmdb, (env) => env.close());
  for (let from = 0; from < LARGE_KEYS; from += CHUNK) {
    lmdb.transactionSync(() => {
      for (let i = from; i < Math.min(LARGE_KEYS, from + CHUNK); i++) lmdb.putSync(keys[i], values[i]);
    });
  }
  const builtLmdb = performance.now() - t0;
  t0 = performance.now();
  const sqlite = new Database(sqlitePath);
  const closeSqlite = track(sqlite, (db) => db.close());
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = OFF');
  sqlite.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
  const insert = sqlite.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
  const insertChunk = sqlite.transaction((from) => {
    for (let i = from; i < Math.min(LARGE_KEYS, from + CHUNK); i++) insert.run(keys[i], values[i]);
  });
  for (let from = 0; from < LARGE_KEYS; from += CHUNK) insertChunk(from);
  // Start from a checkpointed file with an empty WAL.
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const builtSqlite = performance.now() - t0;
  const stat = await dbm.stat();
  const compactStat = await compact.stat();
  console.log(
    `\nLarge file: ${LARGE_KEYS.toLocaleString('en-US')} keys (${keys[0].length}-byte keys) of ${VALUE_BYTES}-byte values, written in transactions of ${CHUNK.toLocaleString('en-US')} keys. ` +
      `Build time: dbm ${fmtMs(builtDbm)} ms, lmdb ${fmtMs(builtLmdb)} ms, better-sqlite3 ${fmtMs(builtSqlite)} ms (dbm in one transaction, for context: ${fmtMs(builtCompact)} ms). ` +
      `Sizes: dbm ${(stat.fileBytes / 2 ** 20).toFixed(1)} MiB (${stat.pageCount} pages of ${stat.pageSize}, ${stat.freePages} of them free, directory depth ${stat.depth}; ` +
      `built in one transaction: ${(compactStat.fileBytes / 2 ** 20).toFixed(1)} MiB, ${compactStat.freePages} free), ` +
      `lmdb ${(fs.statSync(lmdbPath).size / 2 ** 20).toFixed(1)} MiB, sqlite ${(fs.statSync(sqlitePath).size / 2 ** 20).toFixed(1)} MiB (checkpointed; WITHOUT ROWID table).`,
  );

  // Bare cost of one event-loop turn, for the per-turn rows.
  let turnUs;
  {
    for (let i = 0; i < 2000; i++) await turn();
    const n = 20_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) await turn();
    turnUs = ((performance.now() - t) * 1000) / n;
  }

  // --- operations -------------------------------------------------------------------
  let sink = 0;
  const selectV = sqlite.prepare('SELECT v FROM kv WHERE k = ?').pluck();
  const upsert = sqlite.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
  const op = {};
  {
    const next = cursor();
    op.lmdbGet = () => {
      sink += lmdb.get(keys[next()]).length;
    };
  }
  {
    const next = cursor();
    op.dbmGet = async () => {
      sink += (await dbm.get(keys[next()])).length;
    };
  }
  {
    const next = cursor();
    op.dbmGetTurn = async () => {
      sink += (await dbm.get(keys[next()])).length;
      await turn();
    };
  }
  {
    const next = cursor();
    op.sqliteGet = () => {
      sink += selectV.get(keys[next()]).length;
    };
  }
  {
    const next = cursor();
    op.sqliteUpsert = () => {
      sink += upsert.run(keys[next()], nextValue()).changes;
    };
  }
  {
    const next = cursor();
    op.dbmSet = () => dbm.set(keys[next()], nextValue());
  }
  {
    const next = cursor();
    op.dbmSetCompact = () => compact.set(keys[next()], nextValue());
  }
  {
    const next = cursor();
    op.dbmSetTurn = async () => {
      await dbm.set(keys[next()], nextValue());
      await turn();
    };
  }
  {
    const next = cursor();
    op.lmdbPut = () => lmdb.put(keys[next()], nextValue());
  }
  {
    const next = cursor();
    op.lmdbPutSync = () => {
      lmdb.putSync(keys[next()], nextValue());
    };
  }

  // --- random get ---------------------------------------------------------------------
  const GETS = 1000;
  const TURN_OPS = 100;
  const getCases = [
    batchCase('lmdb: db.get(k)', op.lmdbGet, GETS, { baseline: true }),
    batchCase('this dbm: await db.get(k), bursts of 1000 in one turn', op.dbmGet, GETS, { defer: true, dbm: true }),
    batchCase('this dbm: await db.get(k), one per event-loop turn (lock + meta read each)', op.dbmGetTurn, TURN_OPS, { defer: true, dbmTurn: true }),
    batchCase('better-sqlite3: prepared SELECT v WHERE k = ?', op.sqliteGet, GETS),
  ];
  await runCases(
    {
      title: `large file (${LARGE_KEYS.toLocaleString('en-US')} keys of ${VALUE_BYTES} bytes): random get`,
      showTime: true,
      cases: getCases,
      notes: [
        '',
        `Counting: a call does ${GETS} gets (${TURN_OPS} for the per-turn row) and the harness divides by that, so ops/s is per get. Keys follow one fixed random sequence, the same for every contender; values come back as Buffers (dbm codec 'raw', lmdb encoding 'binary', SQLite BLOB).`,
        `The dbm keeps the lock a get takes until the event loop turns: the burst row shares one flock + meta read among its ${GETS} gets; the per-turn row pays flock + meta read + unlock on every get, plus the turn itself (a bare \`await setImmediate\` costs ${turnUs.toFixed(2)} µs here).`,
        'Page caches: dbm 32 MiB (its default; holds the whole file once warm), lmdb reads the mmap, SQLite its default 2 MiB cache over the OS page cache.',
      ],
    },
    GROUP_OPTS,
  );

  // --- random single-key commits, nothing synced ------------------------------------------
  const COMMITS = 100;
  const commitCases = [
    batchCase('better-sqlite3: prepared upsert, autocommit (WAL, synchronous=OFF)', op.sqliteUpsert, COMMITS, { baseline: true }),
    batchCase("this dbm: await db.set(k, v), each its own commit, bursts of 100 in one turn (sync 'none')", op.dbmSet, COMMITS, { defer: true, dbm: true }),
    batchCase("this dbm: await db.set(k, v), one per event-loop turn (lock + meta read each, sync 'none')", op.dbmSetTurn, COMMITS, { defer: true }),
    batchCase(
      `this dbm, context: the burst row on the same keys built in ONE transaction (${freePages(compactStat.freePages)} instead of ${stat.freePages})`,
      op.dbmSetCompact,
      COMMITS,
      { defer: true, compact: true },
    ),
    batchCase('lmdb: await db.put(k, v), one at a time (noSync)', op.lmdbPut, COMMITS, { defer: true }),
    batchCase('lmdb: db.putSync(k, v), a write txn each (noSync)', op.lmdbPutSync, COMMITS),
  ];
  await runCases(
    {
      title: `large file (${LARGE_KEYS.toLocaleString('en-US')} keys): random single-key commits, not synced`,
      showTime: true,
      cases: commitCases,
      notes: [
        '',
        `Counting: a call does ${COMMITS} commits, each of one key (an update of an existing key with a new ${VALUE_BYTES}-byte value); ops/s is per commit.`,
        "Settings: dbm sync 'none' (survives a killed process, not power loss); lmdb noSync: true, compression off, default eventTurnBatching (each put is awaited, so each is its own transaction); SQLite journal_mode=WAL, synchronous=OFF, default wal_autocheckpoint (1000 pages).",
      ],
    },
    GROUP_OPTS,
  );

  // Targets from interleaved runs, before the handles change.
  const getPair = await pairedRatio(op.lmdbGet, op.dbmGet, { rounds: 60, block: GETS });
  const getTurnPair = await pairedRatio(op.lmdbGet, op.dbmGetTurn, { rounds: 30, block: TURN_OPS });
  const commitPair = await pairedRatio(op.sqliteUpsert, op.dbmSet, { rounds: 40, block: COMMITS });
  const compactPair = await pairedRatio(op.sqliteUpsert, op.dbmSetCompact, { rounds: 40, block: COMMITS });
  await closeCompact();

  // --- durable commits, for context -----------------------------------------------------
  await closeDbm();
  dbm = await Dbm.open(dbmPath, { flag: 'w', codec: 'raw', sync: 'commit' });
  closeDbm = track(dbm, (db) => db.close());
  await closeLmdb();
  sqlite.pragma('synchronous = FULL');
  const SYNCED = 10;
  await runCases(
    {
      title: 'context: large file, random single-key commits that survive power loss',
      showTime: true,
      cases: [
        batchCase('better-sqlite3: prepared upsert, autocommit (WAL, synchronous=FULL)', op.sqliteUpsert, SYNCED, { baseline: true }),
        batchCase("this dbm: await db.set(k, v) (sync 'commit')", op.dbmSet, SYNCED, { defer: true }),
      ],
      notes: [
        '',
        "Durable settings: dbm sync 'commit' (fdatasync after the pages and between the two meta slot writes), SQLite WAL + synchronous=FULL (WAL synced at each commit). These rows mostly measure the disk's flush latency.",
      ],
    },
    GROUP_OPTS,
  );

  await closeDbm();
  await closeSqlite();

  const pick = (cases, key) => cases.find((c) => c[key]).result;
  const lmdbGet = getCases.find((c) => c.baseline).result;
  const dbmGet = pick(getCases, 'dbm');
  const dbmGetTurn = pick(getCases, 'dbmTurn');
  targets.push({
    target: 'large file random get within 3x of lmdb-js',
    table: `dbm ${fmtHz(dbmGet.hz)}/s vs lmdb ${fmtHz(lmdbGet.hz)}/s: dbm takes ${(lmdbGet.hz / dbmGet.hz).toFixed(2)}x lmdb's time`,
    paired: `dbm ${fmtUs(getPair.bUs)} µs vs lmdb ${fmtUs(getPair.aUs)} µs: ${getPair.ratio.toFixed(2)}x`,
    met: [lmdbGet.hz / dbmGet.hz <= 3, getPair.ratio <= 3],
  });
  targets.push({
    target: '(context) the same with one dbm get per event-loop turn',
    table: `dbm ${fmtHz(dbmGetTurn.hz)}/s: ${(lmdbGet.hz / dbmGetTurn.hz).toFixed(2)}x lmdb's time`,
    paired: `dbm ${fmtUs(getTurnPair.bUs)} µs vs lmdb ${fmtUs(getTurnPair.aUs)} µs: ${getTurnPair.ratio.toFixed(2)}x`,
    met: [lmdbGet.hz / dbmGetTurn.hz <= 3, getTurnPair.ratio <= 3],
  });
  const sqliteCommit = commitCases.find((c) => c.baseline).result;
  const dbmCommit = pick(commitCases, 'dbm');
  targets.push({
    target: 'large file random single-key commits (not synced) at least as fast as better-sqlite3 WAL + synchronous=OFF',
    table: `dbm ${fmtHz(dbmCommit.hz)}/s vs sqlite ${fmtHz(sqliteCommit.hz)}/s: dbm takes ${(sqliteCommit.hz / dbmCommit.hz).toFixed(2)}x sqlite's time`,
    paired: `dbm ${fmtUs(commitPair.bUs)} µs vs sqlite ${fmtUs(commitPair.aUs)} µs: ${commitPair.ratio.toFixed(2)}x`,
    met: [dbmCommit.hz >= sqliteCommit.hz, commitPair.ratio <= 1],
  });
  const compactCommit = pick(commitCases, 'compact');
  targets.push({
    target: `(context) the same on the file built in one transaction (${freePages(compactStat.freePages)})`,
    table: `dbm ${fmtHz(compactCommit.hz)}/s: ${(sqliteCommit.hz / compactCommit.hz).toFixed(2)}x sqlite's time`,
    paired: `dbm ${fmtUs(compactPair.bUs)} µs vs sqlite ${fmtUs(compactPair.aUs)} µs: ${compactPair.ratio.toFixed(2)}x`,
    met: [compactCommit.hz >= sqliteCommit.hz, compactPair.ratio <= 1],
  });
  if (sink === 0) console.log('(unreachable)');
}

// ---------------------------------------------------------------------------

function printTargets(targets) {
  console.log('\n### targets\n');
  console.log('| target | from the tables (time ratio) | interleaved A/B run (median time ratio) | met? (tables / interleaved) |');
  console.log('|---|---|---|---|');
  const word = (ok) => (ok ? 'met' : 'NOT met');
  for (const t of targets) console.log(`| ${t.target} | ${t.table} | ${t.paired} | ${word(t.met[0])} / ${word(t.met[1])} |`);
  console.log(
    "\nTime ratio = the dbm's time per operation / the reference's. The interleaved run alternates blocks of the two operations (pairedRatio in bench/lib/harness.js), so load changes on a shared machine hit both alike.",
  );
}
