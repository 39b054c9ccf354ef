// The collector at scale: N session files (default 1,000,000), then
// `wasm-session gc`'s sweep over them in a child process of its own,
// reporting its wall time, files per second and peak RSS (getrusage's
// ru_maxrss of that process), and the same for `wasm-session stat`. The
// point is that memory stays flat whatever N is (the walk is streamed) and
// that the time is linear in N.
//
//   node bench/gc-scale.js [N] [--expired 0.5] [--owned 0.1] [--dir DIR] [--keep] [--make-only] [--json]
//
// Then gc once more over what is left (all kept): the scan alone, without
// the file system's work of deleting half a million files.
//
// The files are made fast: one template session file per kind (expired,
// live; bound to an owner or not), made with the Session API, then copied to
// every id's path (the collector reads only the meta page's times and the
// owner record; a shared seed does not matter to it). A fraction --owned of
// them is bound to one of 200 owners, with its index entry. N = 1,000,000
// takes about 8 GiB of disk and 1M inodes (in the system's temp directory
// unless --dir), a few minutes to create, and is removed afterwards unless
// --keep. The default test run uses a small N (test/session-sweep-races.test.js);
// WASM_SESSION_LONG=1 runs 1,000,000 there.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const HOUR = 3_600_000;

function parseArgs(argv) {
  const o = { n: 1_000_000, expired: 0.5, owned: 0.1, dir: null, keep: false, json: false, makeOnly: false };
  const it = argv[Symbol.iterator]();
  for (const a of it) {
    if (a === '--expired') o.expired = Number(it.next().value);
    else if (a === '--owned') o.owned = Number(it.next().value);
    else if (a === '--dir') o.dir = it.next().value;
    else if (a === '--keep') o.keep = true;
    else if (a === '--make-only') o.makeOnly = true;
    else if (a === '--json') o.json = true;
    else if (/^\d+(\.\d+)?[kKmM]?$/.test(a)) o.n = Math.round(Number.parseFloat(a) * ({ k: 1e3, m: 1e6 }[a.slice(-1).toLowerCase()] ?? 1));
    else throw new Error(`gc-scale: unknown argument ${a}`);
  }
  return o;
}

const sha = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32);

/** How many owners the bound sessions are spread over. */
const OWNERS = 200;

/** The template files: `${expired}/${owner}` (owner: an index, or -1 for none) -> bytes of a session file of that kind. */
async function templates(scratch) {
  const { Session } = await import('wasm-session');
  const out = new Map();
  for (const expired of [false, true]) {
    for (let owner = -1; owner < OWNERS; owner++) {
      const at = expired ? Date.now() - 2 * HOUR : Date.now() + 24 * HOUR; // live ones stay live while the bench runs
      const s = await Session.open(undefined, undefined, { dataDir: scratch, useCookies: false, now: () => at });
      s.set('user', 'someone');
      s.set('cart', ['apple', 'pear']);
      s.set('visits', 12);
      if (owner >= 0) s.setOwner(`user${owner}`, { userAgent: 'bench' });
      await s.save();
      out.set(`${expired}/${owner}`, fs.readFileSync(s.namespace.file.path));
    }
  }
  return out;
}

/** N session files under dataDir (a fraction `owned` of them bound to one of OWNERS owners, with index entries); returns what was made. */
async function populate(dataDir, { n, expired, owned }, log) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-gc-template-'));
  const made = { files: 0, expired: 0, owned: 0 };
  try {
    const bytes = await templates(scratch);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const dirs = new Set();
    const mkdir = (dir) => {
      if (dirs.has(dir)) return;
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      dirs.add(dir);
    };
    const ownerDirs = Array.from({ length: OWNERS }, (_, i) => {
      const h = sha(`user${i}`);
      return path.join(dataDir, 'owners', h.slice(0, 2), h);
    });
    const every = owned > 0 ? Math.round(1 / owned) : 0;
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      const id = crypto.randomBytes(16).toString('hex');
      const shard = path.join(dataDir, id.slice(0, 2), id.slice(2, 4));
      mkdir(shard);
      const isExpired = i < n * expired;
      const owner = every > 0 && i % every === 0 ? (i / every) % OWNERS : -1;
      fs.writeFileSync(path.join(shard, `${id}.dbm`), bytes.get(`${isExpired}/${owner}`), { mode: 0o600, flag: 'wx' });
      if (owner >= 0) {
        mkdir(ownerDirs[owner]);
        fs.writeFileSync(path.join(ownerDirs[owner], id), '', { mode: 0o600, flag: 'wx' });
        made.owned++;
      }
      made.files++;
      if (isExpired) made.expired++;
      if (i > 0 && i % 100_000 === 0) log(`  ${i} files (${Math.round(i / ((Date.now() - started) / 1000))} files/s)`);
    }
    made.seconds = (Date.now() - started) / 1000;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return made;
}

/** Runs `what` ('gc' or 'stat') on dataDir in a child process; its result, wall time and peak RSS. */
function measure(what, dataDir) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [HERE, '--child', what, dataDir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`gc-scale child ${what} failed (${r.status}): ${r.stderr}`);
  return { ...JSON.parse(r.stdout), wallMs: ms };
}

/** In the child: the measured run, then its getrusage. */
async function child(what, dataDir) {
  const started = process.hrtime.bigint();
  let result;
  if (what === 'gc') {
    const { sweep } = await import('wasm-session');
    result = await sweep({ dataDir, idle: '1h' });
  } else {
    const { storeOptions } = await import('wasm-session/session');
    const { statDataDir } = await import('../dist/session/stores/dbm-gc.js');
    const s = await statDataDir(storeOptions({ dataDir }));
    result = { sessions: s.sessions, bytes: s.bytes, owned: s.owned, problems: s.problems };
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ result, ms, maxRssBytes: usage.maxRSS * 1024, heapUsed: process.memoryUsage().heapUsed }));
}

async function mainRun() {
  const o = parseArgs(process.argv.slice(2));
  const log = o.json ? () => {} : (l) => console.log(l);
  const base = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-gc-scale-'));
  const dataDir = path.join(base, 'data');
  try {
    log(`gc-scale: ${o.n} session files in ${dataDir} (${Math.round(o.expired * 100)}% expired, ${Math.round(o.owned * 100)}% bound to an owner)`);
    const made = await populate(dataDir, o, log);
    log(`  made in ${made.seconds.toFixed(1)} s`);
    if (o.makeOnly) return made;
    const stat = measure('stat', dataDir);
    log(
      `stat: ${stat.result.sessions} sessions in ${(stat.ms / 1000).toFixed(1)} s (${Math.round(stat.result.sessions / (stat.ms / 1000))} files/s), peak RSS ${(stat.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    const gc = measure('gc', dataDir);
    const r = gc.result;
    log(
      `gc: ${r.scanned} scanned, ${r.removed} removed, ${r.kept} kept, ${r.skipped} skipped, ${r.corrupt} corrupt, ${r.ownerEntriesRemoved} owner entries removed, ${r.dirsRemoved} dirs removed`,
    );
    log(`    in ${(gc.ms / 1000).toFixed(1)} s (${Math.round(r.scanned / (gc.ms / 1000))} files/s), peak RSS ${(gc.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    // Again over what is left: every file read and kept, none removed (the scan without the file system's deletions).
    const again = measure('gc', dataDir);
    log(
      `gc again: ${again.result.scanned} scanned, ${again.result.removed} removed, in ${(again.ms / 1000).toFixed(1)} s (${Math.round(again.result.scanned / (again.ms / 1000))} files/s), peak RSS ${(again.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    const out = {
      n: o.n,
      made,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${os.type()} ${os.release()}` },
      stat: { ms: stat.ms, maxRssBytes: stat.maxRssBytes, filesPerSecond: stat.result.sessions / (stat.ms / 1000), result: stat.result },
      gc: { ms: gc.ms, maxRssBytes: gc.maxRssBytes, filesPerSecond: r.scanned / (gc.ms / 1000), result: r },
      gcAgain: { ms: again.ms, maxRssBytes: again.maxRssBytes, filesPerSecond: again.result.scanned / (again.ms / 1000), result: again.result },
    };
    if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    return out;
  } finally {
    if (!o.keep && !o.makeOnly) fs.rmSync(o.dir ? dataDir : base, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await mainRun();
