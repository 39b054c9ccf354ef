// Profiling driver (not a benchmark): runs the session suite's request
// handler in a loop so `node --cpu-prof` (see summarize.js) shows where a
// request's time goes. Usage:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile/session-path.js memory load 200000
//   node bench/profile/summarize.js /tmp/prof/*.cpuprofile
// type: memory | dbm; case: load | cycle; then the number of requests.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session/session';
import { sessionCases, createSessions } from '../contenders/session/wasm-common.js';
import { express, MAX_AGE } from '../lib/shapes.js';

const [type = 'memory', which = 'load', countArg = '100000'] = process.argv.slice(2);
const count = Number(countArg);
const dataDir = type === 'dbm' ? fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-profile-')) : undefined;
const options = { type, ...(dataDir ? { dataDir } : {}), secret: 'bench secret: a long enough server-side secret', cookieExpires: MAX_AGE };
const SESSIONS = 1000;
const cookies = await createSessions(Session, options, express, SESSIONS);
const cases = sessionCases(Session, options, express, cookies, { name: type });
const fn = cases[which].fn;
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i++) await fn((i * 7919) % SESSIONS);
const ns = Number(process.hrtime.bigint() - t0);
console.log(`${type} ${which}: ${(ns / count / 1000).toFixed(2)} µs per request over ${count}`);
if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
