// The operations command line: wasm-session gc, stat, inspect and owners
// (rebuild, list), as a child process and through main() (for the progress
// line on a terminal and SIGINT). The dbm commands are in cli.test.js.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'wasm-session';
import { main } from '../dist/cli.js';
import { nextTurn, tempDir } from './helpers/index.js';
import { sessionFiles, snapshotTree } from './helpers/http.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
const HOUR = 3_600_000;
const fileOf = (dir, id) => path.join(dir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);

async function stored(dataDir, at, { data = { k: 1 }, owner, info } = {}) {
  const s = await Session.open(undefined, undefined, { dataDir, useCookies: false, now: () => at });
  for (const [k, v] of Object.entries(data)) s.set(k, v);
  if (owner) s.setOwner(owner, info);
  await s.save();
  // The lock a save takes is kept until the event loop turns: let it go before a spawnSync blocks the loop.
  await nextTurn();
  return s.id;
}

/** main() in this process, collecting stdout and stderr lines and what went to the (fake) terminal. */
async function runMain(args, { tty = false, signal } = {}) {
  const out = [];
  const err = [];
  const progress = { isTTY: tty, text: '', write: (t) => (progress.text += t) };
  const code = await main(
    args,
    (l) => out.push(l),
    (l) => err.push(l),
    { progress, signal },
  );
  return { code, out: out.join('\n'), err: err.join('\n'), progress: progress.text };
}

describe('cli: wasm-session gc, stat, inspect, owners', function () {
  this.timeout(60000);
  let tmp;
  let dir;
  const now = Date.now();
  beforeEach(() => {
    tmp = tempDir('cli-ops');
    dir = path.join(tmp.dir, 'data');
  });
  afterEach(() => tmp.cleanup());

  it('gc removes idle and too old sessions by their stored times, and says what it did', async () => {
    const idle = await stored(dir, now - 2 * HOUR);
    const old = await stored(dir, now - 40 * 24 * HOUR);
    const s = await Session.open(undefined, undefined, { dataDir: dir, useCookies: false, id: old });
    s.set('k', 2);
    await s.save(); // active now, but created 40 days ago
    await nextTurn();
    const live = await stored(dir, now);
    const dry = run('gc', dir, '--idle', '30m', '--max-age', '30d', '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: 3 session file\(s\): 2 would remove \(8\.0 KiB\), 1 kept, 0 skipped \(in use\), 0 corrupt; [\d.]+ s\n$/);
    assert.equal(sessionFiles(dir).length, 3);
    const wet = run('gc', dir, '--idle', '30m', '--max-age', '30d');
    assert.equal(wet.status, 0, wet.stderr);
    assert.match(
      wet.stdout,
      /^3 session file\(s\): 2 removed \(8\.0 KiB\), 1 kept, 0 skipped \(in use\), 0 corrupt; \d+ empty directories removed; [\d.]+ s\n$/,
    );
    assert.equal(wet.stderr, '', 'no progress line when stderr is not a terminal');
    assert.deepEqual(sessionFiles(dir), [path.relative(dir, fileOf(dir, live))]);
    assert.ok(!snapshotTree(dir).some((p) => p.includes(idle)));
  });

  it('gc --json prints one object; --quiet prints nothing; usage errors exit 2', async () => {
    await stored(dir, now - 2 * HOUR, { owner: 'ann' });
    await stored(dir, now);
    const json = run('gc', dir, '--idle', '1h', '--json');
    assert.equal(json.status, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    assert.equal(r.dataDir, dir);
    assert.equal(r.dryRun, false);
    assert.deepEqual([r.scanned, r.removed, r.kept, r.skipped, r.corrupt, r.ownerEntriesRemoved], [2, 1, 1, 0, 0, 1]);
    const quiet = run('gc', dir, '--max-age', '30d', '--quiet');
    assert.equal(quiet.status, 0);
    assert.equal(quiet.stdout + quiet.stderr, '');
    for (const args of [
      ['gc'],
      ['gc', dir],
      ['gc', dir, '--idle'],
      ['gc', dir, '--idle', 'soon'],
      ['gc', dir, '--idle', '0s'],
      ['gc', dir, '--idle', '1h', '--json', '--quiet'],
      ['gc', dir, '--idle', '1h', '--raw'],
      ['gc', dir, 'extra', '--idle', '1h'],
      ['stat', dir, '--idle', '1h'],
      ['inspect', dir],
      ['owners', 'frobnicate', dir],
      ['owners'],
    ]) {
      const u = run(...args);
      assert.equal(u.status, 2, `${args.join(' ')}: ${u.stderr}`);
      assert.match(u.stderr, /usage: wasm-session gc DATA_DIR/);
    }
  });

  it('gc counts damaged files and removes them only with --remove-corrupt', async () => {
    const bad = await stored(dir, now);
    fs.writeFileSync(fileOf(dir, bad), Buffer.alloc(8192, 7));
    const a = run('gc', dir, '--idle', '1h');
    assert.match(a.stdout, /0 kept, 0 skipped \(in use\), 1 corrupt;/);
    assert.equal(fs.existsSync(fileOf(dir, bad)), true);
    const b = run('gc', dir, '--idle', '1h', '--remove-corrupt');
    assert.match(b.stdout, /1 corrupt \(1 removed\)/);
    assert.equal(fs.existsSync(fileOf(dir, bad)), false);
  });

  it('gc, stat and inspect refuse a missing or unsafe data directory, and never create one', () => {
    for (const args of [
      ['gc', dir, '--idle', '1h'],
      ['stat', dir],
      ['inspect', dir, '0123456789abcdef0123456789abcdef'],
      ['owners', 'rebuild', dir],
    ]) {
      const r = run(...args);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /does not exist/);
    }
    assert.equal(fs.existsSync(dir), false);
    fs.mkdirSync(dir, { mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    const r = run('gc', dir, '--idle', '1h');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refusing the session directory .*writable by all users/);
    const s = run('stat', dir);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /refusing the session directory/);
    assert.equal(run('stat', dir, '--allow-unsafe-data-dir').status, 0);
  });

  it('shows a progress line on a terminal (stderr), cleared at the end; none with --json', async () => {
    for (let i = 0; i < 300; i++) await stored(dir, now - 2 * HOUR);
    const r = await runMain(['gc', dir, '--idle', '1h', '--dry-run'], { tty: true });
    assert.equal(r.code, 0, r.err);
    // \r and ESC [ K (erase the line) around the line, which is rewritten in place.
    const shown = r.progress.replaceAll('\x1b[K', '<EL>').replaceAll('\r', '<CR>');
    assert.match(shown, /^<CR><EL>256 scanned, 256 removed, 0 kept, 0 skipped, 0 corrupt \(\d+ files\/s\)<CR><EL>$/);
    assert.match(r.out, /^dry run: 300 session file\(s\): 300 would remove/);
    const j = await runMain(['gc', dir, '--idle', '1h', '--dry-run', '--json'], { tty: true });
    assert.equal(j.progress, '');
  });

  it('gc stops at SIGINT (an aborted signal) with the counts so far, exit 130', async () => {
    for (let i = 0; i < 300; i++) await stored(dir, now - 2 * HOUR);
    const controller = new AbortController();
    controller.abort();
    const r = await runMain(['gc', dir, '--idle', '1h'], { signal: controller.signal });
    assert.equal(r.code, 130);
    assert.match(r.err, /^interrupted: 0 session file\(s\): 0 removed/);
    assert.equal(sessionFiles(dir).length, 300);
    // And as a process: Ctrl-C in the middle of a run.
    const child = spawn(process.execPath, [cli, 'gc', dir, '--idle', '1h', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const exited = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGINT');
    const code = await exited;
    if (code === 130) {
      assert.equal(JSON.parse(stdout).interrupted, true);
    } else {
      assert.equal(code, null, 'killed before it installed its handler'); // the signal came before the handler
    }
  });

  it('stat: counts, bytes, owners, age histograms by last access and by creation, oldest and newest, problems', async () => {
    const ann = await stored(dir, now - 3 * 86_400_000, { owner: 'ann', data: { a: 1, b: 2 } });
    await stored(dir, now - 2 * HOUR, { owner: 'ann' });
    await stored(dir, now - 2 * HOUR, { owner: 'bob' });
    const plain = await stored(dir, now - 30_000);
    const bad = await stored(dir, now);
    fs.writeFileSync(fileOf(dir, bad), 'garbage');
    fs.symlinkSync(fileOf(dir, plain), path.join(path.dirname(fileOf(dir, plain)), `${plain.slice(0, 4)}${'0'.repeat(28)}.dbm`));
    const r = run('stat', dir);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^sessions +4 \(16 KiB, [\d.]+ KiB on disk\), 5 keys$/m);
    assert.match(out, /^owners +3 session\(s\) bound to an owner; index: 2 owner\(s\), 3 entries$/m);
    assert.match(
      out,
      new RegExp(`^created +oldest ${new Date(now - 3 * 86_400_000).toISOString().replace(/\./g, '\\.')} \\(3 d ago, ${ann.slice(0, 8)}…\\)$`, 'm'),
    );
    assert.match(out, new RegExp(`^ +newest .*\\(\\d+ s ago, ${plain.slice(0, 8)}…\\)$`, 'm'));
    const section = (title) => out.slice(out.indexOf(title)).split('\n').slice(1, 10);
    const byAccess = section('age by last access');
    assert.match(byAccess[0], /^ {2}< 1 min +█+ 1$/);
    assert.match(byAccess[4], /^ {2}1-6 h +█{40} 2$/);
    assert.match(byAccess[5], /^ {2}6-24 h +0$/);
    assert.match(byAccess[6], /^ {2}1-7 d +█{20} 1$/);
    assert.match(out, /^problems +2 /m);
    assert.ok(out.includes(`${path.relative(dir, fileOf(dir, bad))}: `));
    assert.match(out, /a symbolic link \(never followed\)/);
    const json = JSON.parse(run('stat', dir, '--json').stdout);
    assert.equal(json.sessions, 4);
    assert.equal(
      json.byCreated.reduce((a, b) => a + b),
      4,
    );
    assert.equal(json.buckets.length, json.byCreated.length);
    assert.equal(json.problems, 2);
  });

  it('inspect shows one session read-only (keys, decoded values, times, owner) and records no access', async () => {
    const id = await stored(dir, now - HOUR, { owner: 'ann', info: { userAgent: 'UA' }, data: { user: 'ann', cart: new Set(['pear']) } });
    const before = fs.statSync(fileOf(dir, id));
    const r = run('inspect', dir, id);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^id +${id}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^accessed +${new Date(now - HOUR).toISOString().replace(/\./g, '\\.')}$`, 'm'));
    assert.match(r.stdout, /^owner +"ann", bound .* \(userAgent: "UA"\)$/m);
    assert.match(r.stdout, /^keys +2$/m);
    assert.match(r.stdout, /^ {2}user\t'ann'$/m);
    assert.match(r.stdout, /^ {2}cart\tSet\(1\) \{ 'pear' \}$/m);
    const json = JSON.parse(run('inspect', dir, id, '--json').stdout);
    assert.deepEqual(json.values, { user: 'ann', cart: ['pear'] });
    assert.equal(json.owner.id, 'ann');
    const after = fs.statSync(fileOf(dir, id));
    assert.equal(after.mtimeMs, before.mtimeMs, 'nothing written');
    const s = await Session.open(undefined, undefined, { dataDir: dir, useCookies: false, id });
    assert.equal(s.accessed.getTime(), now - HOUR, 'no access recorded');
    const missing = run('inspect', dir, '0123456789abcdef0123456789abcdef');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no session 0123456789abcdef0123456789abcdef/);
    for (const bad of ['../../etc/passwd', id.toUpperCase(), 'abc']) {
      const b = run('inspect', dir, bad);
      assert.equal(b.status, 1, bad);
      assert.match(b.stderr, /a session id is 32 lowercase hex characters/);
    }
  });

  it('owners rebuild makes the entries bound sessions lack and removes stale ones; owners list shows prefixes only', async () => {
    const a = await stored(dir, now, { owner: 'ann', info: { userAgent: 'UA' } });
    await stored(dir, now, { owner: 'bob' });
    fs.rmSync(path.join(dir, 'owners'), { recursive: true });
    assert.match(run('owners', 'list', dir, 'ann').stdout, /^0 session\(s\) of "ann"\n$/);
    const dry = run('owners', 'rebuild', dir, '--dry-run');
    assert.match(dry.stdout, /^2 session file\(s\); owner index: 2 missing entries would be made, 0 stale entries would be removed\n$/);
    const r = run('owners', 'rebuild', dir, '--json');
    const res = JSON.parse(r.stdout);
    assert.deepEqual([res.sessions, res.entriesRestored, res.entriesRemoved], [2, 2, 0]);
    const list = run('owners', 'list', dir, 'ann');
    assert.match(list.stdout, new RegExp(`^1 session\\(s\\) of "ann"\\n {2}${a.slice(0, 8)}… +accessed .* userAgent: "UA"\\n$`));
    assert.ok(!list.stdout.includes(a));
    const json = JSON.parse(run('owners', 'list', dir, 'ann', '--json').stdout);
    assert.equal(json.sessions[0].idPrefix, a.slice(0, 8));
    assert.equal(fs.existsSync(fileOf(dir, a)), true, 'rebuild removes no session');
  });
});
