// The file format's compatibility rule (FORMAT.md, "Versions and reserved
// fields"): version 1 writes every reserved byte of the meta page as zero
// and refuses to read a file where one is not, so a later version can give
// them a meaning without this one misreading the file. Files are damaged
// here with a valid checksum, as a later writer would leave them.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Dbm, DbmCorruptError } from 'wasm-session/dbm';
import { tempDir } from './helpers/index.js';
// The meta checksum, to change a meta slot and keep it valid.
import * as wasm from '../dist/wasm.js';

const P = 4096;
/** The meta page's reserved fields: byte 15, and bytes 96..127. */
const RESERVED = [15, ...Array.from({ length: 32 }, (_, i) => 96 + i)];
const TXID = 16;

/** Sets `bytes[at] = value` in meta slot `slot` of `file`, optionally with a new txid, and reseals it. */
function patchMeta(file, slot, patches, txid) {
  const bytes = fs.readFileSync(file);
  const page = bytes.subarray(slot * P, (slot + 1) * P);
  for (const [at, value] of patches) page[at] = value;
  if (txid !== undefined) page.writeBigUInt64LE(BigInt(txid), TXID);
  const ptr = wasm.alloc(P);
  try {
    wasm.copyIn(ptr, page);
    wasm.metaSeal(ptr, P);
    page.set(wasm.copyOut(ptr, P));
  } finally {
    wasm.dealloc(ptr);
  }
  fs.writeFileSync(file, bytes);
}

const txidOf = (file, slot) => Number(fs.readFileSync(file).readBigUInt64LE(slot * P + TXID));

describe('dbm format: reserved meta fields', () => {
  let tmp;
  let n = 0;
  before(() => {
    tmp = tempDir('reserved');
  });
  after(() => tmp.cleanup());

  /** A small sound file with one key. */
  async function sound() {
    const file = tmp.file(`r${++n}.dbm`);
    const db = await Dbm.open(file, { flag: 'n', pageSize: P });
    await db.set('k', 'v');
    await db.close();
    return file;
  }

  it('are written as zero in both meta slots', async () => {
    const file = await sound();
    const bytes = fs.readFileSync(file);
    for (const slot of [0, 1]) {
      for (const at of RESERVED) assert.equal(bytes[slot * P + at], 0, `slot ${slot}, byte ${at}`);
    }
  });

  for (const [at, field] of [
    [15, 'byte 15'],
    [96, 'bytes 96..127'],
    [110, 'bytes 96..127'],
    [127, 'bytes 96..127'],
  ]) {
    it(`a non-zero byte ${at} is a DbmCorruptError naming the field, and the file is left as it was`, async () => {
      const file = await sound();
      patchMeta(file, 0, [[at, 0x5a]]);
      patchMeta(file, 1, [[at, 0x5a]]);
      const before = fs.readFileSync(file);
      for (const flag of ['r', 'w']) {
        await assert.rejects(Dbm.open(file, { flag }), (err) => {
          assert.ok(err instanceof DbmCorruptError, String(err));
          assert.equal(err.page, 0);
          assert.match(err.reason, new RegExp(`meta field 'reserved' \\(${field.replace(/\./g, '\\.')}\\) is not zero: byte ${at} is 0x5a`));
          return true;
        });
      }
      assert.deepEqual(fs.readFileSync(file), before);
    });
  }

  it('the newest slot decides: no falling back to an older state when it has a reserved byte set', async () => {
    const file = await sound();
    // As if a later version had committed into slot 1 and then stopped.
    patchMeta(file, 1, [[100, 1]], txidOf(file, 1) + 1);
    await assert.rejects(Dbm.open(file, { flag: 'r' }), (err) => err instanceof DbmCorruptError && err.page === 1 && /byte 100 is 0x01/.test(err.reason));
  });

  it('an open handle refuses a commit by another writer that sets a reserved byte', async () => {
    const file = await sound();
    const db = await Dbm.open(file, { flag: 'r' });
    try {
      assert.equal(await db.get('k'), 'v');
      // Let the handle's operation-scoped lock go, then commit "from elsewhere".
      await new Promise((resolve) => setImmediate(resolve));
      const txid = txidOf(file, 0) + 1;
      patchMeta(file, 0, [[15, 2]], txid);
      patchMeta(file, 1, [[15, 2]], txid);
      await assert.rejects(db.get('k'), (err) => err instanceof DbmCorruptError && /\(byte 15\) is not zero: byte 15 is 0x02/.test(err.reason));
    } finally {
      await db.close();
    }
  });

  it('check() reports a stale slot whose reserved bytes are not zero', async () => {
    const file = await sound();
    // Slot 1 older than slot 0 (as after an interrupted commit) and carrying a reserved byte.
    patchMeta(file, 1, [[120, 9]], txidOf(file, 1) - 1);
    const db = await Dbm.open(file, { flag: 'r' });
    try {
      assert.equal(await db.get('k'), 'v');
      await assert.rejects(db.check(), (err) => {
        assert.ok(err instanceof DbmCorruptError, String(err));
        assert.ok(
          err.problems.some((p) => p.page === 1 && /byte 120 is 0x09/.test(p.reason)),
          JSON.stringify(err.problems),
        );
        return true;
      });
    } finally {
      await db.close();
    }
  });
});
