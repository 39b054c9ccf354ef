// Dbm.open's options for callers that do not trust the path: exclusive
// creation (O_EXCL), no links and no blocking (O_NOFOLLOW | O_NONBLOCK), an
// inspection of the open file under its lock before anything is read or
// written, and the two facts that tell one file from another: the seed of
// its meta page and the descriptor's fstat.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Dbm } from 'wasm-session/dbm';
import { tempDir } from './helpers/index.js';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('Dbm.open: exclusive, noFollow, inspect, seed, fstat', function () {
  this.timeout(20000);
  let t;
  beforeEach(() => {
    t = tempDir('open-checks');
  });
  afterEach(() => t.cleanup());

  it("exclusive with 'c' creates a new file, and fails with EEXIST (writing nothing) when anything is at the path", async () => {
    const p = t.file('a.dbm');
    const db = await Dbm.open(p, { flag: 'c', exclusive: true });
    await db.set('k', 1);
    await db.close();
    const before = fs.readFileSync(p);
    await assert.rejects(Dbm.open(p, { flag: 'c', exclusive: true }), { code: 'EEXIST' });
    assert.ok(fs.readFileSync(p).equals(before));
    // An empty file, a dangling link: EEXIST too (O_EXCL never follows a link).
    fs.writeFileSync(t.file('empty.dbm'), '');
    await assert.rejects(Dbm.open(t.file('empty.dbm'), { flag: 'c', exclusive: true }), { code: 'EEXIST' });
    assert.equal(fs.statSync(t.file('empty.dbm')).size, 0);
    fs.symlinkSync(t.file('nowhere'), t.file('link.dbm'));
    await assert.rejects(Dbm.open(t.file('link.dbm'), { flag: 'c', exclusive: true }), { code: 'EEXIST' });
    assert.equal(fs.existsSync(t.file('nowhere')), false);
  });

  it('noFollow refuses a link at the path (ELOOP) and opens a FIFO without blocking', async () => {
    const target = t.file('target');
    fs.writeFileSync(target, '');
    fs.symlinkSync(target, t.file('link.dbm'));
    for (const flag of ['r', 'w', 'c']) {
      await assert.rejects(Dbm.open(t.file('link.dbm'), { flag, noFollow: true }), { code: 'ELOOP' });
    }
    assert.equal(fs.statSync(target).size, 0, 'nothing was written through the link');
    execFileSync('mkfifo', [t.file('fifo')]);
    const fifo = t.file('fifo');
    let seen;
    const t0 = Date.now();
    // Without inspect a FIFO would be read as a database; the inspection refuses it.
    await assert.rejects(
      Dbm.open(fifo, {
        flag: 'r',
        noFollow: true,
        inspect: (st) => {
          seen = st;
          throw new Error('not a regular file');
        },
      }),
      /not a regular file/,
    );
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(seen.isFIFO(), true);
  });

  it('inspect sees the fstat under the lock before anything is written; throwing closes the file and writes nothing', async () => {
    const p = t.file('empty.dbm');
    fs.writeFileSync(p, '');
    const fds = openFds();
    let calls = 0;
    await assert.rejects(
      Dbm.open(p, {
        flag: 'w',
        inspect: (st, fd) => {
          calls++;
          assert.equal(typeof fd, 'number');
          assert.equal(st.isFile(), true);
          assert.equal(st.size, 0);
          throw Object.assign(new Error('refused'), { code: 'X_REFUSED' });
        },
      }),
      { code: 'X_REFUSED' },
    );
    assert.equal(calls, 1);
    assert.equal(fs.statSync(p).size, 0, 'an empty file refused by inspect is not initialized');
    assert.equal(openFds(), fds, 'the descriptor was closed');
    // Accepting it: the file is then initialized as usual, and the inspector may use the descriptor.
    const db = await Dbm.open(p, { flag: 'w', inspect: (_st, fd) => fs.fchmodSync(fd, 0o600) });
    assert.equal(fs.statSync(p).mode & 0o777, 0o600);
    assert.ok(fs.statSync(p).size > 0);
    await db.close();
  });

  it('inspect runs once the lock is held: a handle that waited for the lock of an unlinked file sees nlink 0', async () => {
    const p = t.file('a.dbm');
    const holder = await Dbm.open(p, { flag: 'c' });
    await holder.lock();
    let nlink;
    const waiting = Dbm.open(p, {
      flag: 'w',
      inspect: (st) => {
        nlink = st.nlink;
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    fs.unlinkSync(p);
    await holder.unlock();
    const db = await waiting;
    assert.equal(nlink, 0);
    assert.equal(db.fstat().nlink, 0);
    await db.close();
    await holder.close();
  });

  it('seed: two files created one after the other at one path differ, though their inode number may repeat', async () => {
    const p = t.file('a.dbm');
    const seeds = new Set();
    for (let i = 0; i < 20; i++) {
      const db = await Dbm.open(p, { flag: 'c', exclusive: true });
      await db.set('k', i);
      assert.match(db.seed, /^[0-9a-f]{16}$/);
      seeds.add(db.seed);
      const again = await Dbm.open(p, { flag: 'r' });
      assert.equal(again.seed, db.seed, 'the seed is the file’s, read back from its meta page');
      await again.close();
      await db.close();
      fs.unlinkSync(p);
    }
    assert.equal(seeds.size, 20);
  });

  it('validates the new options', async () => {
    const p = t.file('v.dbm');
    await assert.rejects(Dbm.open(p, { flag: 'w', exclusive: true }), { name: 'TypeError', message: /exclusive needs flag 'c'/ });
    await assert.rejects(Dbm.open(p, { flag: 'c', exclusive: 1 }), { name: 'TypeError', message: /exclusive must be a boolean/ });
    await assert.rejects(Dbm.open(p, { flag: 'c', noFollow: 'yes' }), { name: 'TypeError', message: /noFollow must be a boolean/ });
    await assert.rejects(Dbm.open(p, { flag: 'c', inspect: {} }), { name: 'TypeError', message: /inspect must be a function/ });
    assert.equal(fs.existsSync(p), false);
  });
});
