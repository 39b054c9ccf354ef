// lock()/unlock(): a read-modify-write that stays exact under concurrency.
// 20 concurrent requests increment one counter, with and without the lock.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-lock-'));
const server = http.createServer(async (req, res) => {
  const session = await Session.open(req, res, { dataDir, lockTimeout: 5000 });
  const useLock = req.url === '/locked';
  if (useLock) await session.lock(); // waits (without blocking the event loop) and re-reads under the lock
  const n = (session.get('n') ?? 0) + 1;
  await new Promise((resolve) => setTimeout(resolve, 5)); // some work between read and write
  session.set('n', n);
  await session.save();
  if (useLock) await session.unlock();
  res.end(String(n));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

for (const route of ['/plain', '/locked']) {
  const first = await fetch(`${base}${route}`); // creates the session (n = 1)
  const cookie = first.headers.getSetCookie()[0].split(';')[0];
  await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}${route}`, { headers: { cookie } }).then((r) => r.text())));
  const last = await (await fetch(`${base}${route}`, { headers: { cookie } })).text();
  console.log(`${route}: 22 increments, counter = ${last}${route === '/plain' ? ' (updates were lost)' : ''}`);
}
server.close();
fs.rmSync(dataDir, { recursive: true, force: true });
