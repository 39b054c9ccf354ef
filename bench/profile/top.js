// Summarises a .cpuprofile (node --cpu-prof): self time and inclusive time
// per function, top N.   node bench/profile/top.js FILE.cpuprofile [N] [filter]
import fs from 'node:fs';

const [file, nArg = '40', filter = ''] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
for (const id of prof.samples) self.set(id, (self.get(id) ?? 0) + 1);
const total = prof.samples.length;
const name = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/');
  return `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
};
const selfBy = new Map();
const inclBy = new Map();
for (const [id, count] of self) {
  const n = byId.get(id);
  const k = name(n);
  selfBy.set(k, (selfBy.get(k) ?? 0) + count);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = name(byId.get(cur));
    if (seen.has(kk)) continue;
    seen.add(kk);
    inclBy.set(kk, (inclBy.get(kk) ?? 0) + count);
  }
}
const show = (title, m) => {
  console.log(`\n${title} (of ${total} samples)`);
  for (const [k, v] of [...m]
    .filter(([k]) => k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(nArg))) {
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
show('self', selfBy);
show('inclusive', inclBy);
