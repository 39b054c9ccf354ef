process.env.DBM_A = '/tmp/ab/inst/dbm/index.js';
globalThis.__T = new Float64Array(40);
const n = Number(process.env.N ?? 60000);
process.argv = [process.argv[0], 'x', 'count', process.env.OP || 'dbmWrite', String(n)];
await import('./dbm-cycles.js');
const names = [
  'validate',
  'io.open',
  'HandleLock',
  'take (flock)',
  'pread',
  'chooseMeta',
  'readMeta',
  'new Dbm',
  'copy meta',
  'adoptMeta',
  'primeCache',
  'setCodec',
  'releaseAtTurnEnd',
  'newTxn',
  'put (fn)',
  'finishTxn',
  'afterWrite',
  'commit entry',
  'prepare',
  'writePages etc',
  'writeMetaPair',
  'commit post',
  'lock.close',
  'dispose',
  'io.close',
];
let total = 0;
for (let i = 0; i < names.length; i++) {
  const us = (globalThis.__T[i] * 1000) / n;
  total += us;
  console.log(String(i).padStart(2), names[i].padEnd(18), us.toFixed(3), 'µs');
}
console.log('total', total.toFixed(2), 'µs (incl. ~0.04 µs timer per phase)');
