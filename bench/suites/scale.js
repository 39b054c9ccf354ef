// scale suite: the session cycle (bench/suites/session.js's, express-like
// shape) on N stored sessions against the same on 1000, for this project's
// 'dbm' and 'memory' types and the better-sqlite3 table; plus what a stored
// session costs: disk (du of the data directory / sessions, and st_blocks *
// 512 per file) or heap.
//
// Environment: BENCH_SCALE: the session counts, default "1000,100k"
// ("1M" alone means 1000,100k,1M; a comma list such as "1000,10k,50k" is
// taken as is, 1000 is always added as the reference). 1,000,000 dbm
// sessions take minutes to create and several GiB of disk. BENCH_MIN_TIME
// scales the measurement as elsewhere.

import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { betterSqlite3, wasmDbm, wasmMemory } from '../contenders/session/index.js';
import { codeUnderTest, describeFs, duBytes, fileStats, fmtBytes, removeTempDir, tempDir } from '../lib/files.js';
import { finishGroup, measureOnly, packageVersion, pairedRatio } from '../lib/harness.js';
import { fmtUs } from '../lib/report.js';
import { bound, MIN_TIME, warmUp } from '../lib/scenario.js';
import { describeShape, express } from '../lib/shapes.js';
import { packr } from '../lib/codec.js';

export const title = 'scale';

const SECRET = 'bench secret: a long enough server-side secret';
const GROUP_OPTS = { minTime: MIN_TIME / 2, maxTime: 2.5 * MIN_TIME };
const REFERENCE = 1000;

/** BENCH_SCALE as a sorted list of counts, always with the 1000 reference. */
export function scaleCounts(spec = process.env.BENCH_SCALE) {
  const parse = (s) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
    if (!m) throw new Error(`BENCH_SCALE: cannot read ${JSON.stringify(s)} (e.g. 1000, 100k, 1M)`);
    return Math.round(Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]]);
  };
  let counts;
  if (spec === undefined || spec === '') counts = [REFERENCE, 100_000];
  else if (/^1m$/i.test(spec.trim())) counts = [REFERENCE, 100_000, 1_000_000];
  else counts = spec.split(',').map(parse);
  return [...new Set([REFERENCE, ...counts])].sort((a, b) => a - b);
}

export function versions() {
  return {
    ...wasmDbm.version(),
    ...betterSqlite3.version(),
    'benchmark.js': packageVersion('benchmark'),
  };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const heapUsed = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const fmtN = (n) => n.toLocaleString('en-US');

export async function run() {
  const counts = scaleCounts();
  const root = tempDir('scale');
  console.log(codeUnderTest());
  console.log(
    `Temp dir: ${root} (${describeFs(root)}); BENCH_MIN_TIME=${MIN_TIME}; session counts ${counts.map(fmtN).join(', ')} (BENCH_SCALE); shape ${describeShape(express, packr)}.`,
  );
  const costs = [];
  try {
    // The dbm and the SQLite table keep every size open at once (separate
    // directories), so the ratio is also measured interleaved.
    for (const contender of [wasmDbm, betterSqlite3]) {
      const instances = [];
      for (const n of counts) {
        const dir = path.join(root, `${contender === wasmDbm ? 'dbm' : 'sqlite'}-${n}`);
        fs.mkdirSync(dir, { recursive: true });
        const t0 = performance.now();
        const progress = (k) => process.stderr.write(`  ${contender.name}: ${fmtN(k)} of ${fmtN(n)} sessions created\r`);
        const inst = await contender.setup({ dir, shape: express, count: n, secret: SECRET, progress });
        const setupS = (performance.now() - t0) / 1000;
        if (n >= 10_000 && contender === wasmDbm) process.stderr.write('\n');
        instances.push({ ...inst, n, name: `${contender.name} @ ${n}` });
        costs.push(diskCost(contender, inst, dir, n, setupS));
      }
      await measureScale(contender.name, instances);
      for (const inst of instances) await inst.teardown();
    }
    // 'memory' is one process-wide Map: one size at a time.
    {
      const instances = [];
      const results = [];
      for (const n of counts) {
        const before = heapUsed();
        const t0 = performance.now();
        const inst = await wasmMemory.setup({ shape: express, count: n, secret: SECRET });
        const setupS = (performance.now() - t0) / 1000;
        const heap = heapUsed() - before;
        costs.push({ store: wasmMemory.name, n, setupS, line: `heap ${fmtBytes(heap)} in all, ${fmtBytes(heap / n)} per session` });
        const named = { ...inst, n, name: `${wasmMemory.name} @ ${n}` };
        results.push(...(await measureCycles([named])));
        instances.push(named);
        await inst.teardown();
      }
      printScale(wasmMemory.name, instances, results, ['Measured one size at a time (the memory store is one Map per process): no interleaved ratio.']);
    }
  } finally {
    removeTempDir(root);
  }
  console.log('\n### what a stored session costs\n');
  console.log('| store | sessions | created in | cost |');
  console.log('|---|---:|---:|---|');
  for (const c of costs) console.log(`| ${c.store} | ${fmtN(c.n)} | ${c.setupS.toFixed(1)} s | ${c.line} |`);
  console.log(
    "\nCreated through the store's own API (Session.save for this project, one transaction of UPSERTs for SQLite). du counts allocated blocks, directories included (the dbm store shards files into <dataDir>/<id[0:2]>/<id[2:4]>/).",
  );
}

function diskCost(contender, inst, dir, n, setupS) {
  const du = duBytes(dir);
  if (contender === wasmDbm) {
    const st = fileStats(inst.dataDir, (p) => p.endsWith('.dbm'));
    return {
      store: contender.name,
      n,
      setupS,
      line: `du ${fmtBytes(du)}: ${fmtBytes(du / n)} per session; per file: st_size ${fmtBytes(st.size / st.files)}, st_blocks*512 ${fmtBytes(st.allocated / st.files)} (${fmtN(st.files)} files)`,
    };
  }
  const st = fileStats(dir);
  return { store: contender.name, n, setupS, line: `du ${fmtBytes(du)}: ${fmtBytes(du / n)} per session (database + WAL: ${fmtBytes(st.size)})` };
}

async function measureCycles(instances) {
  const cases = [];
  for (const inst of instances) {
    const fn = bound(inst, 'cycle', inst.n);
    await warmUp(fn);
    cases.push({ name: `${inst.cases.cycle.label} on ${fmtN(inst.n)} sessions`, fn, defer: true });
  }
  return measureOnly(cases, GROUP_OPTS);
}

async function measureScale(name, instances) {
  const results = await measureCycles(instances);
  const ref = instances.find((i) => i.n === REFERENCE);
  const notes = [];
  for (const inst of instances) {
    if (inst === ref) continue;
    const p = await pairedRatio(bound(ref, 'cycle', REFERENCE), bound(inst, 'cycle', inst.n), { rounds: Math.max(30, Math.round(100 * MIN_TIME)), block: 10 });
    notes.push(
      `interleaved: on ${fmtN(inst.n)} sessions a cycle takes ${p.ratio.toFixed(2)}x the time it takes on ${fmtN(REFERENCE)} (${fmtUs(p.bUs)} vs ${fmtUs(p.aUs)} µs).`,
    );
  }
  printScale(name, instances, results, notes);
}

function printScale(name, instances, results, notes) {
  results.forEach((r, i) => {
    r.baseline = instances[i].n === REFERENCE;
  });
  finishGroup(
    {
      title: `${name}: session cycle on N stored sessions (baseline: ${fmtN(REFERENCE)})`,
      showTime: true,
      cases: results,
      notes: [
        '',
        "Each row: the session suite's cycle (open from the Cookie header, read every key, change a counter, save, end), sessions in a seeded random order.",
        ...notes,
      ],
    },
    results,
  );
}
