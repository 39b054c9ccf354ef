// npm run bench [-- suite ...]: runs the named suites (default: all) and
// prints markdown tables with same-run ratios, the machine and versions.
// Each suite's output also goes to bench/results/<suite>.md and its chart
// to bench/results/<suite>.svg (BENCH_RESULTS_DIR to put them elsewhere).

import { machineLine, versionOf } from './lib/harness.js';
import { beginReport, endReport } from './lib/report.js';

const suites = {
  crypto: () => import('./suites/crypto.js'),
  dbm: () => import('./suites/dbm.js'),
  session: () => import('./suites/session.js'),
  scale: () => import('./suites/scale.js'),
  http: () => import('./suites/http.js'),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!suites[name]) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
}

const started = performance.now();
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  const suite = await suites[name]();
  const report = beginReport(name);
  console.log(`# wasm-session ${versionOf('wasm-session')} benchmarks, suite ${name}, ${new Date().toISOString()}`);
  console.log(`Machine: ${machineLine()}`);
  const versions = Object.entries(suite.versions())
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`\n## suite: ${name}\nPeers: ${versions}`);
  const t0 = performance.now();
  await suite.run();
  console.log(`\nSuite ${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  const files = endReport(report);
  console.error(`wrote ${files.join(', ')}`);
}
console.error(`all done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
