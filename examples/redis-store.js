// type: 'redis': two servers (two "hosts") share their sessions through one
// Redis. This example starts its own redis-server (Debian's, on a free
// loopback port, in a temp dir) and stops it at the end. A request on host A
// logs in, host B sees the session, a logout on B sticks on A.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Session, closeRedisConnections } from 'wasm-session';

if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
  console.log('redis-server is not installed (apt-get install redis-server): nothing to show');
  process.exit(0);
}
const port = await new Promise((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-example-redis-'));
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const options = { type: 'redis', redis: { url: `redis://127.0.0.1:${port}`, prefix: 'example:' }, secret: 'example secret', timeout: 3600 };

// Wait until Redis answers (a failing open says SessionStoreUnavailableError).
for (;;) {
  try {
    await Session.open(undefined, undefined, { ...options, useCookies: false });
    break;
  } catch (err) {
    if (err.code !== 'ERR_SESSION_STORE_UNAVAILABLE') throw err;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function host(name) {
  return http.createServer(async (req, res) => {
    const session = await Session.open(req, res, options);
    if (req.url === '/login') {
      await session.regenerateId();
      session.set('user', 'ann');
    } else if (req.url === '/logout') {
      await session.invalidate();
    }
    session.set('visits', (session.get('visits') ?? 0) + 1);
    if (session.get('user')) await session.save();
    res.end(`${name}: user ${session.get('user') ?? '(none)'}, visits ${session.get('visits')}\n`);
  });
}
const hosts = await Promise.all(
  ['A', 'B'].map(
    (name) =>
      new Promise((resolve) => {
        const server = host(name).listen(0, '127.0.0.1', () => resolve(server));
      }),
  ),
);
const url = (i, p) => `http://127.0.0.1:${hosts[i].address().port}${p}`;

let cookie = '';
for (const [i, p] of [
  [0, '/login'],
  [1, '/'],
  [0, '/'],
  [1, '/logout'],
  [0, '/'],
]) {
  const res = await fetch(url(i, p), { headers: { cookie } });
  const set = res.headers.getSetCookie()[0]?.split(';')[0];
  if (set !== undefined) cookie = set.endsWith('=') ? '' : set;
  process.stdout.write(`${p} -> ${await res.text()}`);
}
for (const server of hosts) server.close();
await closeRedisConnections();
redis.kill('SIGKILL');
fs.rmSync(dir, { recursive: true, force: true });
