// http suite: real servers on 127.0.0.1, each in a child process of its own
// (bench/http/child.js; the load generator must not share the server's
// event loop), driven by autocannon from this process:
//   - 10 connections on 10 distinct sessions: autocannon's setupClient gives
//     each connection its own Cookie header (one autocannon run, so one
//     latency histogram and one clock for all ten; ten runs of one connection
//     would each measure only a tenth of the load and need merging);
//   - 10 connections on ONE shared session, without and with lock(): the
//     counter the server ends with against the successful requests shows
//     the lost updates.
// Servers: bench/http/servers/ (README.md there says what a server file
// is); the SERVERS list below is the table, its first entry the baseline.
// Throughput is measured in rounds that alternate the servers' order, and
// the ratio against bare is the median of the per-round ratios.
//
// Environment: BENCH_MIN_TIME (default 1): each server gets 3 rounds of
// 2 x BENCH_MIN_TIME seconds (at least 1 s each) plus a warm-up;
// BENCH_HTTP_CONNECTIONS (default 10).

import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { removeTempDir, tempDir } from '../lib/files.js';
import { packageVersion } from '../lib/harness.js';
import { acquireRedis, redisAvailable, releaseRedis } from '../lib/redis-server.js';
import { currentReport } from '../lib/report.js';
import { MIN_TIME } from '../lib/scenario.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

export const title = 'http';

/** The servers, in table order; the first is the baseline. A framework is a file in bench/http/servers/ and a line here. */
const SERVERS = [
  'bare.js',
  'wasm-dbm.js',
  'wasm-memory.js',
  'express-bare.js',
  'express-wasm-dbm.js',
  'express-wasm-memory.js',
  'express-session-memorystore.js',
  'express-session-file-store.js',
  'express-session-wasm-dbm.js',
  'express-session-connect-redis.js',
  'express-session-wasm-redis.js',
  'fastify-bare.js',
  'fastify-wasm-dbm.js',
  'fastify-session-memory.js',
];
/** Throughput targets on distinct sessions, as a fraction of bare's req/s. */
const TARGETS = { 'wasm-dbm.js': 0.5, 'wasm-memory.js': 0.7 };
/** Throughput targets of one server against another (the libraries it replaces), on distinct sessions. */
const RELATIVE_TARGETS = [
  { file: 'express-wasm-dbm.js', vs: 'express-session-memorystore.js', bound: 1.5 },
  { file: 'express-session-wasm-dbm.js', vs: 'express-session-file-store.js', bound: 10 },
  { file: 'fastify-wasm-dbm.js', vs: 'fastify-session-memory.js', bound: 1 },
  // The Redis issue's bound for the store cycle, applied to whole requests.
  { file: 'express-session-wasm-redis.js', vs: 'express-session-connect-redis.js', bound: 1.2 },
];

const HOST = '127.0.0.1';
const SECRET = 'bench secret: a long enough server-side secret';
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 10);
const ROUNDS = 3;
const ROUND_SECONDS = Math.max(1, 2 * MIN_TIME);
const SHARED_REQUESTS = Math.max(1000, Math.round(5000 * MIN_TIME));
const CHILD = fileURLToPath(new URL('../http/child.js', import.meta.url));

const allModules = await Promise.all(SERVERS.map((file) => import(`../http/servers/${file}`)));
/** Why the servers on Redis are left out of this run, or null (they need a redis-server, which the suite starts). */
const redisSkipped = redisAvailable() === true ? null : redisAvailable();
const active = SERVERS.map((file, i) => [file, allModules[i]]).filter(([, m]) => !(m.meta.redis && redisSkipped));
const serverFiles = active.map(([file]) => file);
const serverModules = active.map(([, m]) => m);

export function versions() {
  const all = { autocannon: packageVersion('autocannon') };
  for (const m of serverModules) Object.assign(all, m.meta.versions());
  return all;
}

/** An ephemeral port the kernel hands out (closed again for the child to take). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a server file in a child process; resolves once it accepts connections. */
async function startServer(file, dataDir, redisUrl) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [CHILD, `servers/${file}`], {
      env: { ...process.env, HOST, PORT: String(port), DATA_DIR: dataDir, SECRET, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    let exited = null;
    const exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        resolve(exited);
      }),
    );
    const deadline = Date.now() + 20_000;
    // Poll until the child listens (or dies): no fixed sleep.
    while (exited === null && !(await canConnect(port))) {
      if (Date.now() > deadline) {
        process.kill(child.pid, 'SIGKILL');
        throw new Error(`server ${file} did not listen on ${HOST}:${port} within 20 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (exited === null) {
      return {
        file,
        pid: child.pid,
        port,
        async stop() {
          if (exited !== null) return;
          process.kill(child.pid, 'SIGTERM');
          const timer = setTimeout(() => exited === null && process.kill(child.pid, 'SIGKILL'), 5000);
          await exit;
          clearTimeout(timer);
        },
      };
    }
    // Lost the port to someone else between freePort() and the child's listen: try another.
    if (attempt >= 2) throw new Error(`server ${file} exited (${JSON.stringify(exited)}) before listening`);
  }
}

/** One plain request; resolves to { status, body, cookie }. */
function request(port, route, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: route, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        const set = res.headers['set-cookie'];
        resolve({ status: res.statusCode, body, cookie: set ? set[0].split(';')[0] : undefined });
      });
    });
    req.on('error', reject);
  });
}

async function newSession(server) {
  const r = await request(server.port, '/init');
  if (r.status !== 200 || !r.cookie) throw new Error(`${server.file}: /init answered ${r.status} without a cookie`);
  return r.cookie;
}

function cannon(server, { route = '/', cookies, duration, amount }) {
  let n = 0;
  return autocannon({
    url: `http://${HOST}:${server.port}${route}`,
    connections: CONNECTIONS,
    // autocannon ends a run at its next sample tick (1 s by default): 20 ms ticks keep a short run's duration honest.
    sampleInt: 20,
    ...(amount ? { amount } : { duration }),
    ...(cookies ? { setupClient: (client) => client.setHeaders({ cookie: cookies[n++ % cookies.length] }) } : {}),
  });
}

const reqPerSec = (r) => r['2xx'] / r.duration;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

export async function run() {
  const root = tempDir('http');
  const servers = [];
  const redis = serverModules.some((m) => m.meta.redis) ? await acquireRedis() : null;
  try {
    if (redisSkipped) console.log(`The servers on Redis are left out: ${redisSkipped}`);
    for (const file of serverFiles) servers.push(await startServer(file, path.join(root, file.replace(/\.js$/, '')), redis?.url));
    const metas = Object.fromEntries(serverFiles.map((f, i) => [f, serverModules[i].meta]));
    console.log(
      `Servers (child processes, by PID): ${servers.map((s) => `${metas[s.file].name} pid ${s.pid} port ${s.port}`).join('; ')}. ` +
        `${CONNECTIONS} connections; ${ROUNDS} rounds of ${ROUND_SECONDS} s per server, alternating the order; shared-session runs of ${SHARED_REQUESTS} requests.`,
    );
    // Distinct sessions: each connection its own cookie.
    const cookies = {};
    for (const s of servers) {
      cookies[s.file] = metas[s.file].sessions ? await Promise.all(Array.from({ length: CONNECTIONS }, () => newSession(s))) : undefined;
      await cannon(s, { cookies: cookies[s.file], duration: Math.max(1, MIN_TIME) }); // warm-up
    }
    const runs = Object.fromEntries(serverFiles.map((f) => [f, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) runs[s.file].push(await cannon(s, { cookies: cookies[s.file], duration: ROUND_SECONDS }));
    }
    const base = serverFiles[0];
    const rows = serverFiles.map((file) => {
      const rs = runs[file];
      const total2xx = rs.reduce((a, x) => a + x['2xx'], 0);
      const seconds = rs.reduce((a, x) => a + x.duration, 0);
      const ratios = rs.map((x, i) => reqPerSec(x) / reqPerSec(runs[base][i]));
      return {
        file,
        name: `${metas[file].name}${metas[file].sessions ? `, ${CONNECTIONS} distinct sessions` : ''}`,
        hz: total2xx / seconds,
        mean: median(rs.map((x) => x.latency.mean)),
        p50: median(rs.map((x) => x.latency.p50)),
        p99: median(rs.map((x) => x.latency.p99)),
        bad: rs.reduce((a, x) => a + x.non2xx + x.errors + x.timeouts, 0),
        ratio: file === base ? 1 : median(ratios),
        baseline: file === base,
      };
    });
    // One shared session, without and with lock().
    const sharedRows = [];
    for (const s of servers) {
      if (!metas[s.file].sessions) continue;
      // A server whose session library has no lock (meta.lock false) has no /lock run.
      for (const route of metas[s.file].lock === false ? ['/'] : ['/', '/lock']) {
        const cookie = await newSession(s);
        const r = await cannon(s, { route, cookies: [cookie], amount: SHARED_REQUESTS });
        const peek = await request(s.port, '/peek', cookie);
        const counter = Number(peek.body);
        sharedRows.push({
          file: s.file,
          name: `${metas[s.file].name}, one shared session${route === '/lock' ? ', lock()' : ''}`,
          hz: reqPerSec(r),
          mean: r.latency.mean,
          p50: r.latency.p50,
          p99: r.latency.p99,
          bad: r.non2xx + r.errors + r.timeouts,
          ok: r['2xx'],
          counter,
          lock: route === '/lock',
        });
      }
    }
    const bareHz = rows[0].hz;
    for (const row of sharedRows) row.ratio = row.hz / bareHz;
    print(rows, sharedRows);
    const report = currentReport();
    if (report)
      report.measuredNote = `Measured ratio: the median over ${ROUNDS} rounds (each server in turn, the order alternating) of the server's req/s over bare's in the same round.`;
    report?.addGroup(
      `${CONNECTIONS} connections, req/s against bare node:http`,
      [...rows, ...sharedRows].map((x) => ({ name: x.name, hz: x.hz, ratio: x.ratio, baseline: x.baseline })),
      { unit: 'req/s' },
    );
    for (const row of rows) {
      const bound = TARGETS[row.file];
      if (bound === undefined) continue;
      report?.addTarget({
        target: `${row.name}: req/s >= ${bound}x bare node:http`,
        kind: 'speed',
        bound,
        measured: row.ratio,
        detail: `median of ${ROUNDS} interleaved rounds; ${fmt(row.hz)} vs ${fmt(bareHz)} req/s overall`,
        row: { group: `${CONNECTIONS} connections, req/s against bare node:http`, case: row.name },
      });
    }
    for (const { file, vs, bound } of RELATIVE_TARGETS) {
      const a = rows.find((r) => r.file === file);
      const b = rows.find((r) => r.file === vs);
      if (a === undefined || b === undefined) continue; // left out of this run (Redis)
      const ratios = runs[file].map((x, i) => reqPerSec(x) / reqPerSec(runs[vs][i]));
      report?.addTarget({
        target: `${a.name}: req/s >= ${bound}x ${b.name}`,
        kind: 'speed',
        bound,
        measured: median(ratios),
        detail: `median of ${ROUNDS} interleaved rounds; ${fmt(a.hz)} vs ${fmt(b.hz)} req/s overall`,
        row: { group: `${CONNECTIONS} connections, req/s against bare node:http`, case: a.name },
      });
      console.log(`Target: ${a.name} >= ${bound}x ${b.name}: ${median(ratios).toFixed(2)}x (${median(ratios) >= bound ? 'met' : 'NOT met'})`);
    }
    for (const row of sharedRows.filter((x) => x.lock)) {
      report?.addTarget({
        target: `${row.name}: no lost update`,
        kind: 'speed',
        bound: 1,
        measured: row.counter / row.ok,
        met: row.counter === row.ok,
        detail: `counter ${row.counter} after ${row.ok} successful requests`,
      });
    }
  } finally {
    for (const s of servers) await s.stop();
    if (redis) await releaseRedis();
    removeTempDir(root);
  }
}

function print(rows, sharedRows) {
  const ms = (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(2));
  console.log(`\n### ${CONNECTIONS} connections, ${CONNECTIONS} distinct sessions (one cookie per connection)\n`);
  console.log('| server | req/s | latency mean ms | p50 ms | p99 ms | vs bare | non-2xx + errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name}${r.baseline ? ' (baseline)' : ''} | ${fmt(r.hz)} | ${ms(r.mean)} | ${r.p50} | ${r.p99} | ${r.ratio.toFixed(2)}x | ${r.bad} |`);
  }
  console.log(
    `\nreq/s: successful responses / seconds over all ${ROUNDS} rounds; "vs bare": the median of the per-round ratios (rounds alternate the servers' order); latency: the median over rounds of autocannon's mean and percentiles (its histogram has 1 ms resolution).`,
  );
  console.log(`\n### ${CONNECTIONS} connections on ONE shared session: lost updates\n`);
  console.log('| server | req/s | latency mean ms | p50 ms | p99 ms | vs bare | successful requests | counter at the end | lost updates |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of sharedRows) {
    console.log(`| ${r.name} | ${fmt(r.hz)} | ${ms(r.mean)} | ${r.p50} | ${r.p99} | ${r.ratio.toFixed(2)}x | ${r.ok} | ${r.counter} | ${r.ok - r.counter} |`);
  }
  console.log(
    `\nEach shared run is ${SHARED_REQUESTS} requests (autocannon 'amount', so none is cut off mid-flight) on a fresh session whose counter starts at 0; the counter is read with /peek after the run. Lost updates need two requests of one session in flight at once: a handler whose store work never waits for I/O (the memory store; the dbm's synchronous file calls) runs from open to save within one event-loop turn, so in one server process requests of one session do not interleave; lock() is what makes a read-modify-write exact across awaits and processes.`,
  );
}
