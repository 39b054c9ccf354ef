// Real Redis servers for the tests: each on a free loopback port with its
// own temporary directory, started from Debian's redis-server (.ci/run
// installs it), ready when it answers PING (polled, no fixed sleeps), and
// stopped by PID. startRedis() is one server (optionally with an AOF,
// fsynced on every write); startCluster() three masters with their slots
// assigned. Anything still running when the test process exits is killed.
//
// Without redis-server installed, describeRedis() skips its suites with a
// message saying so, except under CI (CI=true), where that is a failure.

import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { sleep, tempDir, waitFor } from './index.js';

const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

export const REDIS_SERVER = which('redis-server');
export const REDIS_CLI = which('redis-cli');
export const REDIS_INSTALLED = REDIS_SERVER !== null && REDIS_CLI !== null;

/**
 * describe() for suites that need redis-server: skipped with a clear
 * message when it is not installed (`apt-get install redis-server`), and a
 * failing suite under CI, where .ci/run installs it.
 */
export function describeRedis(title, fn) {
  if (REDIS_INSTALLED) return describe(title, fn);
  if (process.env.CI) {
    return describe(title, () => {
      it('needs redis-server (.ci/run installs it)', () => {
        throw new Error('redis-server / redis-cli are not installed: .ci/run should have installed them (apt-get install redis-server)');
      });
    });
  }
  return describe.skip(`${title} (SKIPPED: redis-server is not installed; apt-get install redis-server)`, fn);
}

const live = new Set();
process.once('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A port on 127.0.0.1 nobody listens on now (and, with `bus`, port + 10000 too, for a cluster node's bus). */
async function freePort(bus = false) {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address();
        server.close(() => resolve(p));
      });
    });
    if (!bus) return port;
    if (port + 10000 > 65535) continue;
    const busFree = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

/** redis-cli against a port; resolves to its stdout ('' when it failed). */
export function cli(port, ...args) {
  return new Promise((resolve) => {
    execFile(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)], { timeout: 10_000 }, (err, stdout) => resolve(err ? '' : stdout.trim()));
  });
}

/** Spawns redis-server with `args`; resolves once it answers PING, or rejects with its log when it exits first. */
async function spawnServer(port, dir, args) {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let log = '';
  const keep = (chunk) => {
    if (log.length < 20000) log += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  let exitedWith = null;
  const exited = new Promise((resolve) =>
    child.once('close', (code, signal) => {
      live.delete(child);
      exitedWith = { code, signal };
      resolve(exitedWith);
    }),
  );
  child.once('error', () => {});
  await waitFor(
    async () => {
      if (exitedWith !== null) throw new Error(`redis-server on port ${port} exited (${JSON.stringify(exitedWith)}): ${log}`);
      return (await cli(port, 'PING')) === 'PONG';
    },
    { timeout: 20_000, interval: 10, message: `redis-server on port ${port} to answer PING` },
  );
  return {
    child,
    exited,
    get log() {
      return log;
    },
  };
}

function stopper(proc) {
  return async (signal = 'SIGKILL') => {
    if (proc.current === null) return;
    const { child, exited } = proc.current;
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
    await exited;
    proc.current = null;
  };
}

/**
 * One redis-server. `aof: true`: appendonly with appendfsync always (every
 * acknowledged write is on disk). Resolves to
 * { url, port, dir, pid, kill(signal = 'SIGKILL'), restart(), stop() }:
 * kill() ends it by PID and waits for the exit; restart() starts it again
 * on the same port and directory (its AOF) and waits until it answers.
 */
export async function startRedis({ aof = false, args = [] } = {}) {
  const tmp = tempDir('redis');
  const serverArgs = [...(aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']), ...args];
  let port;
  const proc = { current: null };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      proc.current = await spawnServer(port, tmp.dir, serverArgs);
      break;
    } catch (err) {
      if (attempt >= 4) throw err; // the port was taken meanwhile: another one
    }
  }
  const kill = stopper(proc);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: tmp.dir,
    get pid() {
      return proc.current?.child.pid ?? null;
    },
    get log() {
      return proc.current?.log ?? '';
    },
    kill,
    async restart() {
      if (proc.current !== null) throw new Error('restart(): the server is still running');
      // The port may be in TIME_WAIT for a moment after a kill: retry the bind.
      for (let attempt = 0; ; attempt++) {
        try {
          proc.current = await spawnServer(port, tmp.dir, serverArgs);
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await sleep(50);
        }
      }
    },
    async stop() {
      await kill('SIGKILL');
      tmp.cleanup();
    },
  };
}

/**
 * A cluster of `masters` (3) redis-servers, no replicas, every slot
 * assigned, polled until each node reports cluster_state:ok. Resolves to
 * { urls, ports, stop() }.
 */
export async function startCluster({ masters = 3 } = {}) {
  const tmp = tempDir('redis-cluster');
  const nodes = [];
  try {
    for (let i = 0; i < masters; i++) {
      const dir = `${tmp.dir}/node${i}`;
      fs.mkdirSync(dir);
      for (let attempt = 0; ; attempt++) {
        const port = await freePort(true);
        try {
          const proc = { current: await spawnServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no']) };
          nodes.push({ port, proc, kill: stopper(proc) });
          break;
        } catch (err) {
          if (attempt >= 4) throw err;
        }
      }
    }
    const ports = nodes.map((n) => n.port);
    const created = await new Promise((resolve) => {
      execFile(
        REDIS_CLI,
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve(err ? `${err.message}\n${stdout}\n${stderr}` : null),
      );
    });
    if (created !== null) throw new Error(`redis-cli --cluster create failed: ${created}`);
    await waitFor(
      async () => {
        for (const port of ports) if (!(await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
        return true;
      },
      { timeout: 30_000, interval: 20, message: 'cluster_state:ok on every node' },
    );
    return {
      urls: ports.map((p) => `redis://127.0.0.1:${p}`),
      ports,
      async stop() {
        await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
        tmp.cleanup();
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    tmp.cleanup();
    throw err;
  }
}
