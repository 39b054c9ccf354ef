import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const files = process.argv.slice(2);
const SECRET = 'bench secret: a long enough server-side secret';
let port = 47000;
for (const file of files) {
  const p = port++;
  const dataDir = fs.mkdtempSync('/tmp/pb/d-');
  const child = spawn(process.execPath, ['bench/http/child.js', `servers/${file}`], { env: { ...process.env, HOST: '127.0.0.1', PORT: String(p), DATA_DIR: dataDir, SECRET }, stdio: 'inherit' });
  for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${p}/init`); break; } catch { await new Promise((r) => setTimeout(r, 50)); } }
  const cookies = [];
  for (let i = 0; i < 10; i++) { const r = await fetch(`http://127.0.0.1:${p}/init`); const c = r.headers.getSetCookie(); cookies.push(c.length ? c[0].split(';')[0] : ''); await r.text(); }
  let n = 0;
  const run = () => autocannon({ url: `http://127.0.0.1:${p}/`, connections: 10, duration: 2, sampleInt: 20, setupClient: (c) => c.setHeaders({ cookie: cookies[n++ % 10] }) });
  await run();
  const r = await run();
  console.log(`${file}: ${Math.round(r['2xx'] / r.duration)} req/s, non2xx ${r.non2xx}`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
