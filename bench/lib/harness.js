// Runs groups of benchmark.js cases and prints, per group, ops/s and the
// ratio of each case against the group's baseline measured in the same run
// (machines are shared and noisy, so only same-run ratios mean anything).

import Benchmark from 'benchmark';
import { createRequire } from 'node:module';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { currentReport } from './report.js';

const require = createRequire(import.meta.url);

/**
 * The installed version of an npm package, or '?' when it is not installed.
 * Packages whose `exports` hide package.json report '?': see packageVersion.
 */
export function versionOf(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return '?';
  }
}

/**
 * Like versionOf, but also for packages whose `exports` do not expose
 * package.json: finds the package's entry point and walks up to its
 * package.json.
 */
export function packageVersion(name) {
  const direct = versionOf(name);
  if (direct !== '?') return direct;
  try {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (pkg.name === name) return pkg.version;
      }
      const up = path.dirname(dir);
      if (up === dir) return '?';
      dir = up;
    }
  } catch {
    return '?';
  }
}

export function machineLine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${process.platform} ${os.release()}, Node ${process.version}`;
}

/**
 * A group: { title, cases: [{ name, fn, baseline?, defer?, opsPerCycle? }],
 * notes?, showTime? }. The case with `baseline: true` is the reference for
 * the ratio column. `fn` may be async when `defer` is set (benchmark.js
 * deferred mode). A case whose `fn` does a batch of N operations per call
 * says `opsPerCycle: N`: its ops/s (and µs/op) are per operation, not per
 * call. `notes` are lines printed under the table; `showTime` adds a µs/op
 * column. Options: `minTime` (seconds per sample, default BENCH_MIN_TIME or
 * 1) and `maxTime` (seconds per case once 5 samples exist; benchmark.js's
 * default, 5, when not given). BENCH_PROGRESS=1 logs each case's wall time
 * on stderr.
 */
export async function runGroup(group, opts = {}) {
  const results = await measureOnly(group.cases, opts);
  return finishGroup(group, results);
}

/** Runs `cases` (as in a group) with benchmark.js; resolves to [{ name, hz, rme, baseline, error }] in order. */
export async function measureOnly(cases, { minTime = Number(process.env.BENCH_MIN_TIME ?? 1), maxTime } = {}) {
  const suite = new Benchmark.Suite('cases');
  const timing = maxTime === undefined ? {} : { maxTime };
  for (const c of cases) {
    if (c.defer) {
      suite.add(c.name, {
        defer: true,
        minSamples: 5,
        minTime,
        ...timing,
        fn(deferred) {
          c.fn().then(
            () => deferred.resolve(),
            (err) => {
              console.error(`${c.name} failed:`, err);
              process.exit(1);
            },
          );
        },
      });
    } else {
      suite.add(c.name, c.fn, { minSamples: 5, minTime, ...timing });
    }
  }
  if (process.env.BENCH_PROGRESS) {
    // Progress on stderr: each case's wall time, to find slow cases.
    let start = performance.now();
    suite.on('cycle', (event) => {
      const now = performance.now();
      console.error(`  [${((now - start) / 1000).toFixed(1)} s] ${event.target.name}`);
      start = now;
    });
  }
  await new Promise((resolve, reject) => {
    suite
      .on('complete', resolve)
      .on('error', (e) => reject(e.target.error))
      .run({ async: true });
  });
  return suite.map((b, i) => ({
    name: b.name,
    hz: b.hz * (cases[i].opsPerCycle ?? 1),
    rme: b.stats.rme,
    baseline: !!cases[i].baseline,
    error: b.error,
  }));
}

/** Ratios against the group's baseline, the printed table and its notes; the table also goes into the suite's report. */
export function finishGroup(group, results) {
  const base = results.find((r) => r.baseline) ?? results[0];
  for (const r of results) r.ratio = r.hz / base.hz;
  printTable(group.title, results, { showTime: group.showTime });
  for (const line of group.notes ?? []) console.log(line);
  currentReport()?.addGroup(group.title, results);
  results.title = group.title;
  return results;
}

function formatOps(hz) {
  return hz >= 100 ? Math.round(hz).toLocaleString('en-US') : hz.toFixed(2);
}

function formatMicros(hz) {
  const us = 1e6 / hz;
  return us >= 100 ? Math.round(us).toLocaleString('en-US') : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

/** Prints a group's table; `showTime` adds a µs/op column. */
export function printTable(title, results, { showTime = false } = {}) {
  console.log(`\n### ${title}\n`);
  console.log(showTime ? '| case | ops/s | µs/op | ± | vs baseline |' : '| case | ops/s | ± | vs baseline |');
  console.log(showTime ? '|---|---:|---:|---:|---:|' : '|---|---:|---:|---:|');
  for (const r of results) {
    if (r.error) {
      console.log(`| ${r.name} | error: ${r.error.message} | | |${showTime ? ' |' : ''}`);
      continue;
    }
    const mark = r.baseline ? ' (baseline)' : '';
    const time = showTime ? ` ${formatMicros(r.hz)} |` : '';
    console.log(`| ${r.name}${mark} | ${formatOps(r.hz)} |${time} ${r.rme.toFixed(1)}% | ${r.ratio >= 0.1 ? r.ratio.toFixed(2) : r.ratio.toPrecision(2)}x |`);
  }
}

/**
 * Interleaved A/B timing, for ratios that must survive a machine whose load
 * changes while a suite runs (benchmark.js measures cases one after another).
 * Runs `rounds` rounds; each times a block of `block` calls of `a` and one of
 * `b`, alternating which goes first. `a` and `b` may return promises (they
 * are awaited). The event loop turns between blocks (untimed), as it does
 * between benchmark.js cycles. Resolves to { aUs, bUs, ratio }: the median
 * µs per call of each, and the median over rounds of (b's block time / a's
 * block time).
 */
export async function pairedRatio(a, b, { rounds = 200, block = 10, warmup = 2 } = {}) {
  const timeBlock = async (fn) => {
    await new Promise((resolve) => setImmediate(resolve));
    const t = process.hrtime.bigint();
    for (let i = 0; i < block; i++) {
      const r = fn();
      if (r && typeof r.then === 'function') await r;
    }
    return Number(process.hrtime.bigint() - t) / 1000 / block;
  };
  for (let i = 0; i < warmup; i++) {
    await timeBlock(a);
    await timeBlock(b);
  }
  const as = [];
  const bs = [];
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    let ta;
    let tb;
    if (r % 2 === 0) {
      ta = await timeBlock(a);
      tb = await timeBlock(b);
    } else {
      tb = await timeBlock(b);
      ta = await timeBlock(a);
    }
    as.push(ta);
    bs.push(tb);
    ratios.push(tb / ta);
  }
  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  return { aUs: median(as), bUs: median(bs), ratio: median(ratios) };
}
