// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function and
// per file, highest first. Usage: node bench/profile/summarize.js FILE [TOP]

import fs from 'node:fs';

const [file, topArg = '40'] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]);
  self.set(node.id, (self.get(node.id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const perFunction = new Map();
const perFile = new Map();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  perFile.set(where || '(native)', (perFile.get(where || '(native)') ?? 0) + us);
}
const show = (title, map, top) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show('self time by function', perFunction, Number(topArg));
show('self time by file', perFile, 20);

// With a third argument, who calls the functions of that name (self time by caller chain, 3 levels).
const callee = process.argv[4];
if (callee) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chains = new Map();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node.callFrame.functionName !== callee) continue;
    const chain = [];
    for (let p = parent.get(id), i = 0; p !== undefined && i < 4; p = parent.get(p), i++) chain.push(byId.get(p).callFrame.functionName || '(anonymous)');
    const key = chain.join(' < ');
    chains.set(key, (chains.get(key) ?? 0) + us);
  }
  show(`callers of ${callee}`, chains, 15);
}
