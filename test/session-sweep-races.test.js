// The collector against other processes and against being killed:
//  - a process creating sessions (some bound to owners, some rebound) into a
//    few shard directories while this one sweeps in a loop, removing the
//    shards and owner directories it finds empty: every acknowledged save
//    is there afterwards, with its owner's index entry;
//  - a process binding sessions to owners, SIGKILLed at random points: no
//    session is ever bound without its index entry;
//  - `wasm-session gc` in a child process, SIGKILLed at random points, again
//    and again: after each kill every live session is intact, every expired
//    one intact or gone (never half removed), the index lists exactly the
//    bound sessions that are there; a run to the end finishes the job;
//  - bench/gc-scale.js: the collector's time and peak memory on N files
//    (a small N here; 1,000,000 with WASM_SESSION_LONG=1).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Session, sweep } from 'wasm-session';
import { Dbm } from 'wasm-session/dbm';
import { DbmNamespace, storeOptions } from 'wasm-session/session';
import { Children, LONG, ROOT, SEED, randInt, rng, sleep, startChild, tempDir } from './helpers/index.js';
import { sessionFiles, snapshotTree } from './helpers/http.js';

const CLI = path.join(ROOT, 'dist/cli.js');
const fileOf = (dir, id) => path.join(dir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);
const HOUR = 3_600_000;

async function owned(options, owner) {
  const out = [];
  for await (const s of DbmNamespace.ownedSessions(owner, options)) out.push(s.id);
  return out.sort();
}

describe('the collector against a process making sessions into the shards it removes', function () {
  this.timeout(120000);
  const children = new Children();
  afterEach(() => children.stopAll('SIGKILL'));

  it('loses no acknowledged save, and no owner index entry, however often the shards and owner directories vanish', async () => {
    const tmp = tempDir('gc-race');
    try {
      const dataDir = path.join(tmp.dir, 'data');
      fs.mkdirSync(dataDir, { mode: 0o700 });
      // 256 shards under 16 top-level directories: most stay empty most of the time.
      const prefixes = [];
      for (let a = 0; a < 16; a++) for (let b = 0; b < 16; b++) prefixes.push(`${a.toString(16)}0${b.toString(16)}0`);
      const creator = children.spawn('ops/creator.js', [dataDir, LONG ? 30000 : 5000, prefixes.join(',')]);
      let sweeps = 0;
      let dirsRemoved = 0;
      let entriesRemoved = 0;
      while (creator.running) {
        const r = await sweep({ dataDir, idle: '1h' });
        sweeps++;
        dirsRemoved += r.dirsRemoved;
        entriesRemoved += r.ownerEntriesRemoved;
        assert.equal(r.removed, 0, 'nothing is idle');
        assert.equal(r.corrupt, 0);
      }
      const { code } = await creator.exited;
      assert.equal(code, 0, creator.stderr);
      const expected = new Map();
      for (const line of creator.lines) {
        const [what, id, owner] = line.split(' ');
        if (what === 'saved') expected.set(id, owner === '-' ? null : owner);
        else if (what === 'removed') expected.delete(id);
        else if (what === 'rebound') expected.set(id, owner);
      }
      const done = creator.lines.at(-1);
      assert.match(done, /^done \d+$/);
      assert.ok(Number(done.split(' ')[1]) > 100, `the creator made ${done}`);
      assert.ok(dirsRemoved > 50, `the collector removed ${dirsRemoved} directories in ${sweeps} sweeps: the race was run`);
      const options = storeOptions({ dataDir });
      const byOwner = new Map();
      for (const [id, owner] of expected) {
        const stored = await new DbmNamespace(id, options).read();
        assert.ok(stored, `acknowledged session ${id} is there`);
        assert.equal(Buffer.from(stored.data.get('id')).toString(), id);
        assert.equal(stored.owner?.id ?? null, owner, id);
        if (owner !== null) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
      }
      assert.equal(sessionFiles(dataDir).length, expected.size, 'and nothing else');
      for (const [owner, ids] of byOwner) assert.deepEqual(await owned(options, owner), ids.sort(), `the index of ${owner}`);
      // A sweep now finds the index clean but for stale entries, which it removes.
      const final = await sweep({ dataDir, idle: '1h' });
      assert.equal(final.ownerEntriesRestored, 0, 'no bound session lacked its entry');
      console.log(
        `      ${expected.size} sessions kept of ${done.split(' ')[1]} made; ${sweeps} sweeps removed ${dirsRemoved} directories, ${entriesRemoved + final.ownerEntriesRemoved} stale entries`,
      );
    } finally {
      tmp.cleanup();
    }
  });
});

describe(`a process binding sessions to owners, killed at random points (seed ${SEED})`, function () {
  this.timeout(120000);
  const children = new Children();
  afterEach(() => children.stopAll('SIGKILL'));

  it('never leaves a session bound to an owner without its index entry (the entry is made first)', async () => {
    const tmp = tempDir('bind-kill');
    const rand = rng(SEED);
    try {
      const dataDir = path.join(tmp.dir, 'data');
      fs.mkdirSync(dataDir, { mode: 0o700 });
      const prefixes = ['a0a0', 'a0b0', 'b0a0'];
      const options = storeOptions({ dataDir });
      let bound = 0;
      for (let round = 0; round < (LONG ? 20 : 6); round++) {
        const creator = children.spawn('ops/creator.js', [dataDir, 60000, prefixes.join(',')]);
        await creator.waitFor('saved');
        await sleep(randInt(rand, 1, 150));
        await creator.stop();
        // Every session file that names an owner is listed for that owner, without any repair.
        for (const file of sessionFiles(dataDir)) {
          const id = path.basename(file, '.dbm');
          let stored;
          try {
            stored = await new DbmNamespace(id, options).read();
          } catch (err) {
            assert.fail(`${id}: ${err.message}`);
          }
          if (stored?.owner == null) continue;
          bound++;
          assert.ok((await owned(options, stored.owner.id)).includes(id), `round ${round}: ${id} bound to ${stored.owner.id} is in the index`);
        }
      }
      assert.ok(bound > 0);
      // What the kills left behind is only stale entries, which gc removes; it restores nothing.
      const r = await sweep({ dataDir, idle: '1h' });
      assert.equal(r.ownerEntriesRestored, 0);
      assert.equal(r.corrupt, 0);
    } finally {
      tmp.cleanup();
    }
  });
});

describe(`wasm-session gc killed at random points (seed ${SEED})`, function () {
  this.timeout(300000);

  it('leaves live sessions intact, expired ones intact or gone, the index exact; a run to the end finishes the job', async () => {
    const tmp = tempDir('gc-kill');
    const rand = rng(SEED);
    try {
      const dataDir = path.join(tmp.dir, 'data');
      const now = Date.now();
      const live = new Map();
      const expired = new Map();
      const ownerOf = new Map();
      const N = LONG ? 6000 : 1500;
      for (let i = 0; i < N; i++) {
        const old = i % 2 === 0;
        const at = old ? now - 2 * HOUR : now;
        const s = await Session.open(undefined, undefined, { dataDir, useCookies: false, now: () => at });
        s.set('n', i);
        s.set('blob', 'x'.repeat(i % 3 === 0 ? 3000 : 10)); // some files beyond one page
        if (i % 3 === 0) {
          const owner = `user${i % 5}`;
          s.setOwner(owner);
          ownerOf.set(s.id, owner);
        }
        await s.save();
        (old ? expired : live).set(s.id, i);
      }
      const options = storeOptions({ dataDir });
      const gc = (...extra) => startChild(CLI, ['gc', dataDir, '--idle', '1h', '--json', ...extra]);

      // How long a run takes to start (a usage error: the modules load, nothing is done) and to end, to kill in between.
      const t0 = Date.now();
      await startChild(CLI, ['gc']).exited;
      const startup = Date.now() - t0;
      const t1 = Date.now();
      const dry = gc('--dry-run');
      assert.equal((await dry.exited).code, 0, dry.stderr);
      const span = Date.now() - t1;
      assert.equal(JSON.parse(dry.lines[0]).removed, expired.size);

      const check = async (round) => {
        for (const [id, n] of live) {
          const db = await Dbm.open(fileOf(dataDir, id), { flag: 'r' });
          await db.check();
          assert.equal(await db.get('n'), n, `${round}: live session ${id}`);
          await db.close();
        }
        let present = 0;
        for (const [id, n] of expired) {
          if (!fs.existsSync(fileOf(dataDir, id))) continue;
          present++;
          const db = await Dbm.open(fileOf(dataDir, id), { flag: 'r' });
          await db.check();
          assert.equal(await db.get('n'), n, `${round}: an expired session still there is whole`);
          await db.close();
        }
        const foreign = snapshotTree(dataDir).filter(
          (p) => !/^([0-9a-f]{2}(\/[0-9a-f]{2}(\/[0-9a-f]{32}\.dbm)?)?|owners(\/[0-9a-f]{2}(\/[0-9a-f]{32}(\/[0-9a-f]{32})?)?)?)$/.test(p),
        );
        assert.deepEqual(foreign, [], `${round}: nothing but the store's files`);
        for (let o = 0; o < 5; o++) {
          const owner = `user${o}`;
          const want = [...ownerOf].filter(([id, who]) => who === owner && fs.existsSync(fileOf(dataDir, id))).map(([id]) => id);
          assert.deepEqual(await owned(options, owner), want.sort(), `${round}: the index of ${owner}`);
        }
        return present;
      };

      let finished = false;
      const kills = [];
      for (let round = 0; round < 10 && !finished; round++) {
        const child = gc();
        await sleep(randInt(rand, startup, Math.max(startup + 1, Math.round(startup + 0.9 * (span - startup)))));
        await child.stop();
        const { code } = await child.exited;
        finished = code === 0;
        const left = await check(`after kill ${round}`);
        kills.push(left);
      }
      const last = gc();
      assert.equal((await last.exited).code, 0, last.stderr);
      const r = JSON.parse(last.lines[0]);
      assert.equal(r.corrupt, 0);
      assert.equal(r.skipped, 0);
      assert.equal(r.kept, live.size);
      assert.equal(await check('after the last run'), 0, 'every expired session is gone');
      const again = gc();
      assert.equal((await again.exited).code, 0);
      assert.equal(JSON.parse(again.lines[0]).removed, 0);
      console.log(
        `      expired sessions left after each kill: ${kills.join(', ')} (of ${expired.size}; a run starts in ~${startup} ms and ends in ~${span} ms)`,
      );
      assert.ok(
        kills.some((left) => left > 0 && left < expired.size),
        'at least one kill landed in the middle of the work',
      );
    } finally {
      tmp.cleanup();
    }
  });
});

describe('bench/gc-scale.js: time and peak memory of the collector', function () {
  this.timeout(LONG ? 4 * 3_600_000 : 120000);

  it(`sweeps ${LONG ? '1,000,000' : '3,000'} session files with flat memory`, () => {
    const n = LONG ? 1_000_000 : 3000;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench/gc-scale.js'), String(n), '--json'], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: LONG ? 4 * 3_600_000 : 110000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
    const { gc, stat } = out;
    assert.equal(gc.result.scanned, n);
    assert.equal(gc.result.removed, n / 2);
    assert.equal(gc.result.kept, n / 2);
    assert.equal(gc.result.skipped + gc.result.corrupt, 0);
    assert.equal(stat.result.sessions, n);
    assert.equal(stat.result.problems, 0);
    // Flat: a streamed walk holds a few directory handles, whatever n is.
    assert.equal(out.gcAgain.result.removed, 0);
    assert.equal(out.gcAgain.result.kept, n / 2);
    assert.ok(gc.maxRssBytes < 200 * 2 ** 20, `gc peak RSS ${gc.maxRssBytes}`);
    assert.ok(stat.maxRssBytes < 200 * 2 ** 20, `stat peak RSS ${stat.maxRssBytes}`);
    console.log(
      `      gc: ${n} files in ${(gc.ms / 1000).toFixed(1)} s (${Math.round(gc.filesPerSecond)} files/s), peak RSS ${(gc.maxRssBytes / 2 ** 20).toFixed(0)} MiB; stat: ${(stat.ms / 1000).toFixed(1)} s, ${(stat.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  });
});
