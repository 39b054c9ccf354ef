// A redis-server for the benchmarks that need one (the Redis contenders of
// the session suite): Debian's redis-server on a free loopback port, its own
// temp dir, no persistence (--save '' --appendonly no: the peers are compared
// on the same in-memory server), ready when it answers PING (polled), and
// stopped by PID. Shared: the contenders of one run use the same server;
// it is started by the first acquire() and stopped after the last release().

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { removeTempDir, tempDir } from './files.js';

/** The path of redis-server, or null when it is not installed. */
export const REDIS_SERVER = (() => {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();

/** Why a Redis contender cannot run, or true. */
export function redisAvailable() {
  return REDIS_SERVER !== null || 'skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it for the tests)';
}

export function redisServerVersion() {
  if (REDIS_SERVER === null) return 'not installed';
  const out = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? '?';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a fresh connection: true when it answers +PONG. */
function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function start() {
  const dir = tempDir('redis');
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  let exited = false;
  const gone = new Promise((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const kill = () => {
    if (!exited) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', kill);
  const deadline = Date.now() + 20_000;
  while (!(await ping(port))) {
    if (exited || Date.now() > deadline) {
      kill();
      throw new Error(`redis-server on port ${port} did not answer PING`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      kill();
      await gone;
      process.removeListener('exit', kill);
      removeTempDir(dir);
    },
  };
}

let shared = null;
let users = 0;

/** The run's redis-server ({ url, pid }), started on first use. */
export async function acquireRedis() {
  users++;
  shared ??= start();
  return shared;
}

/** Stops the server once every acquire() is released. */
export async function releaseRedis() {
  if (--users > 0 || shared === null) return;
  const server = await shared;
  shared = null;
  await server.stop();
}
