// npm run bench [-- suite ...]: runs the named suites (default: all) and
// prints markdown tables with same-run ratios, the machine and versions.

import { machineLine, versionOf } from './lib/harness.js';

const suites = {
  crypto: () => import('./crypto.js'),
  dbm: () => import('./dbm.js'),
  session: () => import('./session.js'),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!suites[name]) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
}

console.log(`# wasm-session ${versionOf('wasm-session')} benchmarks, ${new Date().toISOString()}`);
console.log(`Machine: ${machineLine()}`);
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  const suite = await suites[name]();
  const versions = Object.entries(suite.versions())
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`\n## suite: ${name}\nPeers: ${versions}`);
  await suite.run();
}
