// dbm suite: this dbm (wasm-session/dbm used directly) against lmdb-js,
// better-sqlite3 (WAL) used as a key-value table and plain JSON files, in
// one run, on the real disk (a temp directory, removed at the end).
//
// Small files (one session each: the mixed 20-key shape of
// bench/lib/shapes.js, ~1 KiB encoded; 1,000 files per contender, visited
// in one seeded random order by every contender):
//   - read:  open + read every key + close
//   - write: open + change one key + commit + close
// against the floor (bench/contenders/kv/floor.js): open, flock, one read
// (or one in-place write), close, plus one msgpack decode of the whole map
// for the read. Large file (100,000 keys of 100-byte values, written in
// transactions of 10,000 keys): random get and random single-key commits,
// then durable commits for context. A second dbm file with the same keys
// written in one transaction (so with almost no free pages) shows how much
// of a commit's cost depends on the size of the free list.
//
// Contenders: bench/contenders/kv/ (index.js lists them). Counting: a row
// does N operations per call and the harness divides by N, so every ops/s
// (and µs/op) is per operation. Operations inside one call run back to
// back; for the dbm an awaited burst stays within one event-loop turn,
// which lets the lock it takes (and the meta read that comes with it) be
// shared by the burst. Rows marked "one per event-loop turn" await a
// setImmediate after each operation instead, so each pays its own lock and
// meta read; the bare cost of that turn is printed under the table.
//
// Targets are decided by interleaved runs (pairedRatio); the tables give the
// context. Environment: BENCH_MIN_TIME (default 1; a case takes about 4-6 x
// that many seconds, the suite about 3 minutes), BENCH_DBM_FILES (small
// files per contender, default 1000), BENCH_DBM_KEYS (keys in the large
// file, default 100000).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KV_CONTENDERS, betterSqlite3, dbm, floor, json, lmdb } from '../contenders/kv/index.js';
import { packr } from '../lib/codec.js';
import { codeUnderTest, describeFs, removeTempDir, tempDir } from '../lib/files.js';
import { packageVersion, pairedRatio } from '../lib/harness.js';
import { currentReport } from '../lib/report.js';
import { prng } from '../lib/random.js';
import { bound, MIN_TIME, runTable, setupAll, teardownAll } from '../lib/scenario.js';
import { mixed20 } from '../lib/shapes.js';

export const title = 'dbm';

const FILES = Number(process.env.BENCH_DBM_FILES ?? 1000);
const LARGE_KEYS = Number(process.env.BENCH_DBM_KEYS ?? 100_000);
const VALUE_BYTES = 100;
const CHUNK = 10_000;
const GROUP_OPTS = { minTime: MIN_TIME / 2.5, maxTime: 2 * MIN_TIME };
const B = 10; // small-file operations per call, for every contender
const GETS = 1000;
const TURN_OPS = 100;
const COMMITS = 100;
const SYNCED = 10;

export function versions() {
  const all = {};
  for (const c of KV_CONTENDERS) Object.assign(all, c.version());
  all['benchmark.js'] = packageVersion('benchmark');
  return all;
}

const fmtMs = (ms) => (ms >= 100 ? Math.round(ms).toLocaleString('en-US') : ms.toFixed(1));

export async function run() {
  const root = tempDir('dbm');
  try {
    console.log(codeUnderTest());
    console.log(`Temp dir: ${root} (${describeFs(root)}); BENCH_MIN_TIME=${MIN_TIME}; ${FILES} small files per contender.`);
    await smallFiles(root);
    await largeFile(root);
  } finally {
    removeTempDir(root);
  }
}

/** A contender's small- or large-file part as a setupAll contender. */
const part = (c, which) => ({ name: c.name, of: c, version: c.version, setup: (ctx) => c[which].setup(ctx) });
const dirFor = (root, which, c) => {
  const dir = path.join(root, which, c.name.replace(/[^a-z0-9]+/gi, '-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

async function smallFiles(root) {
  const shape = mixed20;
  const list = KV_CONTENDERS.filter((c) => c.small).map((c) => part(c, 'small'));
  const instances = await setupAll(list, (c) => ({ dir: dirFor(root, 'small', c), shape, count: FILES }));
  const by = (c) => instances.find((i) => i.contender.of === c);
  const [fl, db, lm, sq, js] = [floor, dbm, lmdb, betterSqlite3, json].map(by);
  const describe = (f) => instances.map((i) => `${i.name} ${f(i)}`).join(', ');
  console.log(
    `\nSmall files: ${FILES} sessions of ${shape.keys.length} keys; one msgpack map of a session is ${packr.pack(shape.make(0)).length} bytes. ` +
      `File sizes: ${describe((i) => `${i.size}${i.sizeNote ? ` ${i.sizeNote}` : ''}`)} bytes. Built in ms: ${describe((i) => `${fmtMs(i.built)}${i.builtNote ? ` (${i.builtNote})` : ''}`)}.`,
  );

  const readTitle = `small file (session, ${shape.keys.length} keys, ~1 KiB): open + read all + close`;
  const read = await runTable({
    title: readTitle,
    count: FILES,
    rows: [
      [fl, 'read', { baseline: true }],
      [db, 'read'],
      [db, 'read:getAll'],
      [lm, 'read'],
      [lm, 'read:shared'],
      [sq, 'read'],
      [js, 'read'],
    ],
    notes: [
      '',
      `Each call does ${B} operations on ${B} files of the ${FILES}-file rotation; ops/s and µs/op are per operation. No contender syncs; every contender builds the same JS object (or Map, for getAll()) of 20 decoded values.`,
      'lmdb opens an environment per file here (mmap, lock file, reader table): that is the cost of its design when each session is its own file.',
      'The long-lived lmdb env row is context only: it is not one file per session (no per-file open or lock), so it is not comparable with the floor.',
      'better-sqlite3 prepares its statement on each fresh connection and checkpoints the WAL on close: also the cost of one database per session.',
    ],
    opts: { ...GROUP_OPTS, batch: B },
  });
  const writeTitle = 'small file (session, ~1 KiB): open + change one key + commit + close';
  const write = await runTable({
    title: writeTitle,
    count: FILES,
    rows: [
      [fl, 'write', { baseline: true }],
      [db, 'write'],
      [lm, 'write'],
      [lm, 'write:shared'],
      [sq, 'write'],
      [js, 'write'],
      [js, 'write:atomic'],
    ],
    notes: [
      '',
      `Each call does ${B} operations on ${B} files of the ${FILES}-file rotation; ops/s and µs/op are per operation.`,
      "Nothing is synced to disk: dbm sync 'none', lmdb noSync, SQLite synchronous=OFF, no fsync for the JSON files.",
      'The write floor neither reads nor encodes: the dbm also reads the file (to find what to change) and encodes the one value.',
      'lmdb opens an environment per file here: the cost of its design when each session is its own file. The long-lived env row is context only.',
      'session-file-store writes through write-file-atomic, which also fsyncs the temp file by default; the atomic row leaves that out to stay comparable.',
    ],
    opts: { ...GROUP_OPTS, batch: B },
  });

  const report = currentReport();
  const rounds = Math.max(30, Math.round(150 * MIN_TIME));
  const target = async (text, kind, limit, [a, aKey], [b, bKey], table, group) => {
    const paired = await pairedRatio(bound(a, aKey, FILES), bound(b, bKey, FILES), { rounds, block: B });
    report?.addTarget({
      target: text,
      kind,
      bound: limit,
      paired,
      table: { caseHz: table.get(`${b.name}/${bKey}`).hz, refHz: table.get(`${a.name}/${aKey}`).hz },
      row: { group, case: b.cases[bKey].label, reference: a.cases[aKey].label },
    });
  };
  await target(
    'dbm API: small file read (open + read all via entries() + close) within 1.3x of the floor',
    'time',
    1.3,
    [fl, 'read'],
    [db, 'read'],
    read,
    readTitle,
  );
  await target(
    'dbm API: small file write (open + change one key + commit + close) within 1.3x of the floor',
    'time',
    1.3,
    [fl, 'write'],
    [db, 'write'],
    write,
    writeTitle,
  );
  await target(
    '(context) dbm API: small file read with getAll() instead of entries(), same 1.3x bar',
    'time',
    1.3,
    [fl, 'read'],
    [db, 'read:getAll'],
    read,
    readTitle,
  );
  await teardownAll(instances);
}

async function largeFile(root) {
  const keys = Array.from({ length: LARGE_KEYS }, (_, i) => `key:${String(i).padStart(8, '0')}`);
  const rand = prng(0x5e55);
  const values = Array.from({ length: LARGE_KEYS }, () => {
    const b = Buffer.allocUnsafe(VALUE_BYTES);
    for (let j = 0; j < VALUE_BYTES; j++) b[j] = (rand() * 256) | 0;
    return b;
  });
  // New values for commits: same size as the old ones, so nothing grows.
  const fresh = Array.from({ length: 256 }, () => crypto.randomBytes(VALUE_BYTES));
  let f = 0;
  const nextValue = () => fresh[f++ & 255];
  const list = KV_CONTENDERS.filter((c) => c.large).map((c) => part(c, 'large'));
  const instances = await setupAll(list, (c) => ({ dir: dirFor(root, 'large', c), keys, values, chunk: CHUNK, nextValue }));
  const by = (c) => instances.find((i) => i.contender.of === c);
  const [db, lm, sq] = [dbm, lmdb, betterSqlite3].map(by);
  console.log(
    `\nLarge file: ${LARGE_KEYS.toLocaleString('en-US')} keys (${keys[0].length}-byte keys) of ${VALUE_BYTES}-byte values, written in transactions of ${CHUNK.toLocaleString('en-US')} keys. ` +
      `Build time: ${instances.map((i) => `${i.name} ${fmtMs(i.built)} ms`).join(', ')}. Sizes: ${instances.map((i) => i.info).join(', ')}.`,
  );

  // Bare cost of one event-loop turn, for the per-turn rows.
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 2000; i++) await turn();
  const t = performance.now();
  for (let i = 0; i < 20_000; i++) await turn();
  const turnUs = ((performance.now() - t) * 1000) / 20_000;

  const getTitle = `large file (${LARGE_KEYS.toLocaleString('en-US')} keys of ${VALUE_BYTES} bytes): random get`;
  const gets = await runTable({
    title: getTitle,
    count: LARGE_KEYS,
    rows: [
      [lm, 'get', { baseline: true, batch: GETS }],
      [db, 'get', { batch: GETS }],
      [db, 'get:turn', { batch: TURN_OPS }],
      [sq, 'get', { batch: GETS }],
    ],
    notes: [
      '',
      `Counting: a call does ${GETS} gets (${TURN_OPS} for the per-turn row) and the harness divides by that, so ops/s is per get. Keys follow one fixed random sequence, the same for every contender; values come back as Buffers (dbm codec 'raw', lmdb encoding 'binary', SQLite BLOB).`,
      `The dbm keeps the lock a get takes until the event loop turns: the burst row shares one flock + meta read among its ${GETS} gets; the per-turn row pays flock + meta read + unlock on every get, plus the turn itself (a bare \`await setImmediate\` costs ${turnUs.toFixed(2)} µs here).`,
      'Page caches: dbm 32 MiB (its default; holds the whole file once warm), lmdb reads the mmap, SQLite its default 2 MiB cache over the OS page cache.',
    ],
    opts: GROUP_OPTS,
  });
  const commitTitle = `large file (${LARGE_KEYS.toLocaleString('en-US')} keys): random single-key commits, not synced`;
  const commits = await runTable({
    title: commitTitle,
    count: LARGE_KEYS,
    rows: [
      [sq, 'commit', { baseline: true }],
      [db, 'commit'],
      [db, 'commit:turn'],
      [db, 'commit:compact'],
      [lm, 'commit'],
      [lm, 'commit:putSync'],
    ],
    notes: [
      '',
      `Counting: a call does ${COMMITS} commits, each of one key (an update of an existing key with a new ${VALUE_BYTES}-byte value); ops/s is per commit.`,
      "Settings: dbm sync 'none' (survives a killed process, not power loss); lmdb noSync: true, compression off, default eventTurnBatching (each put is awaited, so each is its own transaction); SQLite journal_mode=WAL, synchronous=OFF, default wal_autocheckpoint (1000 pages).",
    ],
    opts: { ...GROUP_OPTS, batch: COMMITS },
  });

  // Targets from interleaved runs, before the handles change.
  const report = currentReport();
  const scale = Math.max(0.2, MIN_TIME);
  const target = async (text, kind, limit, [a, aKey], [b, bKey], table, group, { rounds, block }) => {
    const paired = await pairedRatio(bound(a, aKey, LARGE_KEYS), bound(b, bKey, LARGE_KEYS), { rounds: Math.round(rounds * scale), block });
    report?.addTarget({
      target: text,
      kind,
      bound: limit,
      paired,
      table: { caseHz: table.get(`${b.name}/${bKey}`).hz, refHz: table.get(`${a.name}/${aKey}`).hz },
      row: { group, case: b.cases[bKey].label, reference: a.cases[aKey].label },
    });
  };
  await target('large file random get within 3x of lmdb-js', 'time', 3, [lm, 'get'], [db, 'get'], gets, getTitle, { rounds: 60, block: GETS });
  await target('(context) the same with one dbm get per event-loop turn', 'time', 3, [lm, 'get'], [db, 'get:turn'], gets, getTitle, {
    rounds: 30,
    block: TURN_OPS,
  });
  await target(
    'large file: single-key commits (not synced) at least as fast as better-sqlite3 WAL + synchronous=OFF',
    'speed',
    1,
    [sq, 'commit'],
    [db, 'commit'],
    commits,
    commitTitle,
    { rounds: 40, block: COMMITS },
  );
  await target('(context) the same on the dbm file built in one transaction', 'speed', 1, [sq, 'commit'], [db, 'commit:compact'], commits, commitTitle, {
    rounds: 40,
    block: COMMITS,
  });
  await db.closeContext();
  await lm.teardown();

  // Durable commits, for context: the same handles switched to syncing commits.
  const durable = [
    { ...sq, cases: { durable: await sq.durable() } },
    { ...db, cases: { durable: await db.durable() } },
  ];
  await runTable({
    title: 'context: large file, random single-key commits that survive power loss',
    count: LARGE_KEYS,
    rows: [
      [durable[0], 'durable', { baseline: true }],
      [durable[1], 'durable'],
    ],
    notes: [
      '',
      "Durable settings: dbm sync 'commit' (fdatasync after the pages and between the two meta slot writes), SQLite WAL + synchronous=FULL (WAL synced at each commit). These rows mostly measure the disk's flush latency.",
    ],
    opts: { ...GROUP_OPTS, batch: SYNCED },
  });
  await teardownAll(instances);
}
