// Profiling driver (not a benchmark): runs the session suite's request
// handler in a loop so `node --cpu-prof` (see summarize.js) shows where a
// request's time goes. Usage:
//   PROFILE=/tmp/load.cpuprofile node bench/profile/session-path.js memory load 200000
//   node bench/profile/summarize.js /tmp/load.cpuprofile
// (PROFILE profiles the request loop only, not the setup.)
// type: memory | dbm; case: load | cycle; then the number of requests.

import fs from 'node:fs';
import { Session as Inspector } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session/session';
import { sessionCases, createSessions } from '../contenders/session/wasm-common.js';
import { express, flat20, MAX_AGE } from '../lib/shapes.js';

const shape = { express, flat20 }[process.env.SHAPE ?? 'express'];

const [type = 'memory', which = 'load', countArg = '100000'] = process.argv.slice(2);
const count = Number(countArg);
const dataDir = type === 'dbm' ? fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-profile-')) : undefined;
const options = { type, ...(dataDir ? { dataDir } : {}), secret: 'bench secret: a long enough server-side secret', cookieExpires: MAX_AGE };
const SESSIONS = 1000;
const cookies = await createSessions(Session, options, shape, SESSIONS);
const cases = sessionCases(Session, options, shape, cookies, { name: type });
const fn = cases[which].fn;
for (let i = 0; i < 2000; i++) await fn((i * 7919) % SESSIONS); // warm up
const inspector = process.env.PROFILE ? new Inspector() : null;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
}
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i++) await fn((i * 7919) % SESSIONS);
const ns = Number(process.hrtime.bigint() - t0);
if (inspector) {
  const { profile } = await inspector.post('Profiler.stop');
  fs.writeFileSync(process.env.PROFILE, JSON.stringify(profile));
}
console.log(`${type} ${which}: ${(ns / count / 1000).toFixed(2)} µs per request over ${count}`);
if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
