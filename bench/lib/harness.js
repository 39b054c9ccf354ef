// Runs groups of benchmark.js cases and prints, per group, ops/s and the
// ratio of each case against the group's baseline measured in the same run
// (machines are shared and noisy, so only same-run ratios mean anything).

import Benchmark from 'benchmark';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);

/** The installed version of an npm package, or '?' when it is not installed. */
export function versionOf(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return '?';
  }
}

export function machineLine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${process.platform} ${os.release()}, Node ${process.version}`;
}

/**
 * A group: { title, cases: [{ name, fn, baseline?, defer? }] }. The case with
 * `baseline: true` is the reference for the ratio column. `fn` may be async
 * when `defer` is set (benchmark.js deferred mode).
 */
export async function runGroup(group, { minTime = Number(process.env.BENCH_MIN_TIME ?? 1) } = {}) {
  const suite = new Benchmark.Suite(group.title);
  for (const c of group.cases) {
    if (c.defer) {
      suite.add(c.name, {
        defer: true,
        minSamples: 5,
        minTime,
        fn(deferred) {
          c.fn().then(() => deferred.resolve(), (err) => {
            console.error(`${c.name} failed:`, err);
            process.exit(1);
          });
        },
      });
    } else {
      suite.add(c.name, c.fn, { minSamples: 5, minTime });
    }
  }
  await new Promise((resolve, reject) => {
    suite.on('complete', resolve).on('error', (e) => reject(e.target.error)).run({ async: true });
  });
  const results = suite.map((b, i) => ({
    name: b.name,
    hz: b.hz,
    rme: b.stats.rme,
    baseline: !!group.cases[i].baseline,
    error: b.error,
  }));
  const base = results.find((r) => r.baseline) ?? results[0];
  for (const r of results) r.ratio = r.hz / base.hz;
  printTable(group.title, results);
  return results;
}

function formatOps(hz) {
  return hz >= 100 ? Math.round(hz).toLocaleString('en-US') : hz.toFixed(2);
}

export function printTable(title, results) {
  console.log(`\n### ${title}\n`);
  console.log('| case | ops/s | ± | vs baseline |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    if (r.error) {
      console.log(`| ${r.name} | error: ${r.error.message} | | |`);
      continue;
    }
    const mark = r.baseline ? ' (baseline)' : '';
    console.log(`| ${r.name}${mark} | ${formatOps(r.hz)} | ${r.rme.toFixed(1)}% | ${r.ratio.toFixed(2)}x |`);
  }
}
