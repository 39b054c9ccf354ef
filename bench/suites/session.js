// session suite: a request as a server runs it, on every session store, for
// each session shape (bench/lib/shapes.js: express-session-like 10 keys
// ~1.1 KiB, and 20 flat keys ~1 KiB), 1000 sessions per store visited in one
// seeded random order, one request in flight:
//   load:  open the session from the request's Cookie header (signed id),
//          read every key, res.end() (this project stores the access time
//          there, as it does in a server);
//   cycle: the same, then change one counter, save (a Set-Cookie goes out:
//          the cookie has an expiry), res.end().
// Then the cycle with lock() held, and a lost-update check: 8 concurrent
// clients x 200 increments of one counter.
//
// Contenders: bench/contenders/session/ (index.js lists them; each file
// says exactly what its request does). The peers run through their store
// API with express-session's own cookie work (bench/lib/express-cookie.js
// says what is and is not included of express-session's middleware).
//
// Targets are decided by interleaved runs (pairedRatio); the tables give
// the context. Environment: BENCH_MIN_TIME (default 1; a case takes about
// 3 x that many seconds), BENCH_SESSIONS (sessions per store, default 1000).

import path from 'node:path';
import fs from 'node:fs';
import {
  SESSION_CONTENDERS,
  expressMemoryStore,
  betterSqlite3,
  connectRedis,
  fileFloor,
  sessionFileStore,
  wasmDbm,
  wasmMemory,
  wasmRedis,
} from '../contenders/session/index.js';
import { packr } from '../lib/codec.js';
import { EXPRESS_WORK_NOTE } from '../lib/express-cookie.js';
import { codeUnderTest, describeFs, removeTempDir, tempDir } from '../lib/files.js';
import { pairedRatio, packageVersion } from '../lib/harness.js';
import { currentReport } from '../lib/report.js';
import { bound, caseKeys, MIN_TIME, runTable, setupAll, teardownAll } from '../lib/scenario.js';
import { describeShape, SESSION_SHAPES } from '../lib/shapes.js';

export const title = 'session';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const SECRET = 'bench secret: a long enough server-side secret';
const GROUP_OPTS = { minTime: MIN_TIME / 2, maxTime: 2.5 * MIN_TIME };
const ROUNDS = Math.max(30, Math.round(150 * MIN_TIME));

export function versions() {
  const all = {};
  for (const c of SESSION_CONTENDERS) Object.assign(all, c.version());
  all['benchmark.js'] = packageVersion('benchmark');
  return all;
}

export async function run() {
  const root = tempDir('session');
  console.log(codeUnderTest());
  console.log(
    `Temp dir: ${root} (${describeFs(root)}); BENCH_MIN_TIME=${MIN_TIME}; ${SESSIONS} sessions per store, one seeded random order, one request in flight.`,
  );
  try {
    let first = true;
    for (const shape of SESSION_SHAPES) {
      await runShape(root, shape, first);
      first = false;
    }
  } finally {
    removeTempDir(root);
  }
}

async function runShape(root, shape, withLostUpdates) {
  console.log(`\n## shape: ${describeShape(shape, packr)}`);
  const base = path.join(root, shape.name);
  const instances = await setupAll(SESSION_CONTENDERS, (c) => {
    const dir = path.join(base, c.name.replace(/[^a-z0-9]+/gi, '-'));
    fs.mkdirSync(dir, { recursive: true });
    return { dir, shape, count: SESSIONS, secret: SECRET };
  });
  const by = (contender) => instances.find((i) => i.contender === contender);
  const info = instances.flatMap((i) => (i.skipped ? [] : (i.info ?? [])));

  const rowsFor = (key, { skip = () => false } = {}) =>
    instances.flatMap((inst) =>
      inst.skipped
        ? [[inst, key]]
        : caseKeys(inst, key)
            .filter((k) => !skip(inst.cases[k]))
            .map((k) => [inst, k, { baseline: inst.contender === expressMemoryStore && k === key }]),
    );

  const loadTitle = `${shape.title}: load (read-only request)`;
  const load = await runTable({
    title: loadTitle,
    count: SESSIONS,
    rows: rowsFor('load'),
    notes: [
      '',
      'One row = one request (µs/op per request): Cookie header -> signed id -> the stored session -> every key read -> res.end().',
      EXPRESS_WORK_NOTE,
      "This project's load also stores the access time when the response ends (an 8-byte field in the dbm's meta page; the entry's time in 'memory'), as it does in a server; the 'load + touch' rows are the peers' equivalent (express-session touches an unchanged session at the end of the request when the store has touch()).",
      ...info,
    ],
    opts: GROUP_OPTS,
  });
  const cycleTitle = `${shape.title}: cycle (read every key, change a counter, save)`;
  const cycle = await runTable({
    title: cycleTitle,
    count: SESSIONS,
    rows: rowsFor('cycle', { skip: (c) => c.lockGroup }),
    notes: [
      '',
      "One row = one request. Durability: session-file-store fsyncs every write, as does the dbm with sync: 'commit'; the dbm's sync 'none', SQLite's WAL + synchronous=NORMAL survive a crash of the process, not always a power loss; the memory stores survive neither. The Redis rows (connect-redis and 'redis') run on one redis-server of this run, on loopback, without persistence: they measure the round trips and the work on both ends, not a disk.",
    ],
    opts: GROUP_OPTS,
  });
  const lockTitle = `${shape.title}: cycle with lock() held across it`;
  await runTable({
    title: lockTitle,
    count: SESSIONS,
    rows: [
      [by(wasmDbm), 'cycle', { baseline: true }],
      [by(wasmDbm), 'cycle:lock'],
      [by(wasmMemory), 'cycle'],
      [by(wasmMemory), 'cycle:lock'],
      ...(by(wasmRedis).skipped
        ? [[by(wasmRedis), 'cycle']]
        : [
            [by(wasmRedis), 'cycle'],
            [by(wasmRedis), 'cycle:lock'],
          ]),
    ],
    opts: GROUP_OPTS,
  });

  // Targets, decided by interleaved runs.
  const report = currentReport();
  const pair = (a, aKey, b, bKey, block) => pairedRatio(bound(a, aKey, SESSIONS), bound(b, bKey, SESSIONS), { rounds: ROUNDS, block });
  const hz = (map, inst, key) => map.get(`${inst.name}/${key}`)?.hz;
  const label = (inst, key) => inst.cases[key].label;
  const [mem, dbm, express, sqlite, floor, sfs] = [wasmMemory, wasmDbm, expressMemoryStore, betterSqlite3, fileFloor, sessionFileStore].map(by);
  const target = async (text, kind, limit, [a, aKey], [b, bKey], table, group, block = 10) => {
    const paired = await pair(a, aKey, b, bKey, block);
    report?.addTarget({
      target: `${shape.name}: ${text}`,
      kind,
      bound: limit,
      paired,
      table: { caseHz: hz(table, b, bKey), refHz: hz(table, a, aKey) },
      row: { group, case: label(b, bKey), reference: label(a, aKey) },
    });
  };
  await target("'memory' load >= 1.5x MemoryStore get", 'speed', 1.5, [express, 'load'], [mem, 'load'], load, loadTitle, 20);
  await target("'memory' cycle >= 1.5x MemoryStore get+set", 'speed', 1.5, [express, 'cycle'], [mem, 'cycle'], cycle, cycleTitle, 20);
  await target("'dbm' cycle >= 1.0x better-sqlite3 cycle", 'speed', 1.0, [sqlite, 'cycle'], [dbm, 'cycle'], cycle, cycleTitle);
  await target("'dbm' cycle within 1.3x of the floor (read floor + write floor)", 'time', 1.3, [floor, 'cycle'], [dbm, 'cycle'], cycle, cycleTitle);
  await target("'dbm' load within 1.3x of the read floor", 'time', 1.3, [floor, 'load'], [dbm, 'load'], load, loadTitle);
  const [redis, connect] = [wasmRedis, connectRedis].map(by);
  if (redis.skipped || connect.skipped) {
    console.log(`\nRedis target not measured: ${redis.skipped || connect.skipped}`);
  } else {
    await target("'redis' cycle >= 1.2x connect-redis get+set", 'speed', 1.2, [connect, 'cycle'], [redis, 'cycle'], cycle, cycleTitle);
  }
  if (sfs && !sfs.skipped) {
    const ratio = hz(cycle, dbm, 'cycle') / hz(cycle, sfs, 'cycle');
    report?.addTarget({
      target: `${shape.name}: (earlier target) 'dbm' cycle >= 50x session-file-store`,
      kind: 'speed',
      bound: 50,
      measured: ratio,
      detail: `tables only (session-file-store is too slow to interleave): ${(1e6 / hz(cycle, dbm, 'cycle')).toFixed(1)} vs ${(1e6 / hz(cycle, sfs, 'cycle')).toFixed(0)} µs; sync 'none' against fsync`,
      row: { group: cycleTitle, case: label(dbm, 'cycle'), reference: label(sfs, 'cycle') },
    });
  }

  if (withLostUpdates) await lostUpdates(instances, report);
  await teardownAll(instances);
}

/** 8 concurrent clients x 200 cycles of session 0 of every store; lost = 1600 - what the counter gained. */
async function lostUpdates(instances, report) {
  const CLIENTS = 8;
  const EACH = 200;
  const total = CLIENTS * EACH;
  console.log(`\n### lost-update check: ${CLIENTS} concurrent clients x ${EACH} increments of one counter (${total.toLocaleString('en-US')})\n`);
  console.log('| store | counter gained | lost |');
  console.log('|---|---:|---:|');
  const locked = {};
  for (const inst of instances) {
    if (inst.skipped || !inst.peek) continue;
    for (const key of caseKeys(inst, 'cycle')) {
      if (inst.cases[key].slow && inst.contender !== sessionFileStore) continue;
      const before = await inst.peek(0);
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          for (let n = 0; n < EACH; n++) await inst.cases[key].fn(0);
        }),
      );
      const gained = (await inst.peek(0)) - before;
      console.log(`| ${inst.cases[key].label} | ${gained} | ${total - gained} |`);
      if (key === 'cycle:lock') locked[inst.contender === wasmDbm ? 'dbm' : inst.contender === wasmRedis ? 'redis' : 'memory'] = gained;
    }
  }
  console.log(
    "\nThe clients interleave at every await of a cycle. The SQLite table's cycle has none (better-sqlite3 is synchronous: SELECT to UPSERT runs in one go), so in one process it loses nothing; across processes it would.",
  );
  report?.addTarget({
    target: 'lost-update check: lock() loses nothing (dbm and memory)',
    kind: 'speed',
    bound: 1,
    measured: Math.min(locked.dbm ?? 0, locked.memory ?? 0) / total,
    met: locked.dbm === total && locked.memory === total,
    detail: `counter gained ${locked.dbm} (dbm) and ${locked.memory} (memory) of ${total}`,
  });
  if (locked.redis !== undefined) {
    report?.addTarget({
      target: "lost-update check: lock() loses nothing ('redis')",
      kind: 'speed',
      bound: 1,
      measured: locked.redis / total,
      met: locked.redis === total,
      detail: `counter gained ${locked.redis} of ${total}`,
    });
  }
}
