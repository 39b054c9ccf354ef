// The small-file cycles as the bench visits them - every file cold when
// touched (1000 files per variant, round-robin) - next to their floors,
// the dbm's own system calls alone ('sys'), and, for writes, the least
// the format needs ('ideal': verify, change one record, seal, written
// straight against the wasm exports). Each variant has its own files;
// blocks of 10 alternate in order. Prints median µs per cycle and the
// ratio to the floor of the same run.
//
//   node bench/profile/cold.js [read|write|both]
// Env: P (page size of the dbm files, default 4096), NOATIME=1 (open the
// dbm's files with O_NOATIME through the io option; sys/ideal use it too),
// BUILD (a dist directory whose Dbm to measure instead of this one's), ROUNDS (400),
// ONLY=a,b (run only these variants, and the floor: for profiling one).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fsExt from 'fs-ext';
import { Packr } from 'msgpackr';

const what = process.argv[2] ?? 'both';
const dist = path.resolve(process.env.BUILD ?? new URL('../../dist', import.meta.url).pathname);
const { Dbm, nodeFileIO } = await import(path.join(dist, 'dbm/index.js'));
// sys and ideal always use this build's wasm boundary (older builds lack memoryBuffer()).
const w = await import(new URL('../../dist/wasm.js', import.meta.url).pathname);
const packr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, copyBuffers: true });
const P = Number(process.env.P ?? 4096);
const NA = process.env.NOATIME === '1' ? (fs.constants.O_NOATIME ?? 0) : 0;
const ROUNDS = Number(process.env.ROUNDS ?? 400);
const N = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-cold-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** The bench's session: 20 keys, ~1 KiB as one msgpack map. */
function makeSession(i) {
  const hex = (n) => ((i * 2654435761 + n * 40503) >>> 0).toString(16).padStart(8, '0');
  return {
    cookie: { originalMaxAge: 86_400_000, expires: new Date(1_767_225_600_000 + i * 1000), secure: true, httpOnly: true, path: '/', sameSite: 'lax' },
    userId: 100_000 + i,
    username: `user${i}`,
    email: `user${i}@example.com`,
    displayName: `Example User ${i}`,
    roles: ['user', i % 7 === 0 ? 'admin' : 'editor', 'billing-viewer'],
    locale: 'en-GB',
    timezone: 'Europe/Amsterdam',
    csrfToken: hex(1) + hex(2) + hex(3) + hex(4),
    loggedInAt: new Date(1_767_200_000_000 + i * 997),
    lastSeen: 1_767_225_600_000 + i,
    visits: i % 500,
    isAdmin: i % 7 === 0,
    mfaVerified: true,
    cart: {
      currency: 'EUR',
      items: [
        { sku: 'SKU-10042', name: 'Wireless mouse', qty: 2, price: 19.99 },
        { sku: 'SKU-20077', name: 'Mechanical keyboard', qty: 1, price: 149.5 },
        { sku: 'SKU-30011', name: 'USB-C cable, 2 m', qty: 3, price: 9.95 },
      ],
      coupon: null,
    },
    preferences: { newsletter: false, itemsPerPage: 25, compactView: true, notifications: { email: true, push: false } },
    flash: { info: ['Your profile was updated.'], warning: ['Your card on file expires next month; please update your billing details.'] },
    returnTo: '/account/orders?page=2&sort=date-desc',
    recentlyViewed: [10042, 20077, 30011, 40999, 51234, 61000, 70707, 80808],
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  };
}

async function dbmFiles(tag) {
  const files = [];
  for (let i = 0; i < N; i++) {
    const f = path.join(dir, `${tag}${i}.db`);
    files.push(f);
    const db = await Dbm.open(f, { flag: 'n', pageSize: P });
    await db.transaction((tx) => {
      for (const [k, v] of Object.entries(makeSession(i))) tx.set(k, v);
    });
    await db.close();
  }
  return files;
}
function floorFiles(tag) {
  return Array.from({ length: N }, (_, i) => {
    const p = path.join(dir, `${tag}${i}.msgpack`);
    fs.writeFileSync(p, packr.pack(makeSession(i)));
    return p;
  });
}

const io = NA ? { ...nodeFileIO, open: (p, f, m) => nodeFileIO.open(p, f | NA, m) } : nodeFileIO;
const vb = Buffer.alloc(65536);
const buf = w.alloc(65536);
const work = w.alloc(4 * P);
let sink = 0;
let stamp = 1_767_225_600_000;

async function readVariants() {
  const F = { floor: floorFiles('rf'), sys: await dbmFiles('rs'), getAll: await dbmFiles('rg'), entries: await dbmFiles('re') };
  const ro = { flag: 'r', io };
  return {
    files: F,
    floor(i) {
      const fd = fs.openSync(F.floor[i], 'r');
      fsExt.flockSync(fd, 'sh');
      const len = fs.readSync(fd, vb, 0, 65536, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
      sink += packr.unpack(vb.subarray(0, len)).visits;
    },
    sys(i) {
      const fd = fs.openSync(F.sys[i], fs.constants.O_RDONLY | NA);
      fsExt.flockSync(fd, 'shnb');
      fs.readSync(fd, w.memoryBuffer(), buf, 65536, 0);
      fs.closeSync(fd);
    },
    async getAll(i) {
      const db = await Dbm.open(F.getAll[i], ro);
      const all = await db.getAll();
      await db.close();
      sink += all.get('visits');
    },
    async entries(i) {
      const db = await Dbm.open(F.entries[i], ro);
      const s = {};
      for await (const [k, v] of db.entries()) s[k] = v;
      await db.close();
      sink += s.visits;
    },
  };
}

async function writeVariants() {
  const F = {
    floor: floorFiles('wf'),
    sys: await dbmFiles('ws'),
    ideal: await dbmFiles('wi'),
    idealAsync: await dbmFiles('wa'),
    idealView: await dbmFiles('wv'),
    openClose: await dbmFiles('wo'),
    dbm: await dbmFiles('wd'),
  };
  const encoded = F.floor.map((f) => fs.readFileSync(f));
  const wo = { flag: 'w', io };
  return {
    files: F,
    floor(i) {
      const fd = fs.openSync(F.floor[i], 'r+');
      fsExt.flockSync(fd, 'ex');
      sink += fs.writeSync(fd, encoded[i], 0, encoded[i].length, 0);
      fsExt.flockSync(fd, 'un');
      fs.closeSync(fd);
    },
    sys(i) {
      const fd = fs.openSync(F.sys[i], fs.constants.O_RDWR | NA);
      fsExt.flockSync(fd, 'exnb');
      const m = w.memoryBuffer();
      fs.readSync(fd, m, buf, 65536, 0);
      fs.writeSync(fd, m, buf, 2 * P, 0);
      fs.closeSync(fd);
    },
    ideal(i) {
      const fd = fs.openSync(F.ideal[i], fs.constants.O_RDWR | NA);
      fsExt.flockSync(fd, 'exnb');
      fs.readSync(fd, w.memoryBuffer(), buf, 65536, 0);
      if (w.metaVerify(buf, P) !== 0 || !w.sameBytes(buf, buf + P, P)) throw new Error('ideal: bad meta');
      w.copyWithin(work, buf, P);
      let used = w.u32(work + 80);
      const klen = w.stageKey('lastSeen', 1000);
      const h = w.keyHash(w.STAGE, klen, w.u32(work + 40), w.u32(work + 44)) >>> 0;
      const off = w.recFind(work + 128, used, h, w.STAGE, klen);
      used = w.recRemove(work + 128, used, off);
      const v = packr.pack(++stamp);
      const vp = w.stageValueAfterKey(klen, v);
      used = w.recAppend(work + 128, used, P - 128, h, w.STAGE, klen, 0, vp, v.byteLength, 0);
      w.setU32(work + 80, used);
      w.setU64(work + 16, w.u64(work + 16) + 1);
      w.metaSeal(work, P);
      w.copyWithin(work + P, work, P);
      fs.writeSync(fd, w.memoryBuffer(), work, 2 * P, 0);
      fs.closeSync(fd);
    },
    idealView(i) {
      const fd = fs.openSync(F.idealView[i], fs.constants.O_RDWR | NA);
      fsExt.flockSync(fd, 'exnb');
      fs.readSync(fd, w.memoryBuffer(), buf, 65536, 0);
      if (w.metaVerify(buf, P) !== 0 || !w.sameBytes(buf, buf + P, P)) throw new Error('ideal: bad meta');
      w.copyWithin(work, buf, P);
      let used = w.u32(work + 80);
      const klen = w.stageKey('lastSeen', 1000);
      const h = w.keyHash(w.STAGE, klen, w.u32(work + 40), w.u32(work + 44)) >>> 0;
      const off = w.recFind(work + 128, used, h, w.STAGE, klen);
      used = w.recRemove(work + 128, used, off);
      const v = packr.pack(++stamp);
      const vp = w.stageValueAfterKey(klen, v);
      used = w.recAppend(work + 128, used, P - 128, h, w.STAGE, klen, 0, vp, v.byteLength, 0);
      w.setU32(work + 80, used);
      w.setU64(work + 16, w.u64(work + 16) + 1);
      w.metaSeal(work, P);
      w.copyWithin(work + P, work, P);
      fs.writeSync(fd, w.view(work, 2 * P), 0, 2 * P, 0);
      fs.closeSync(fd);
    },
    async idealAsync(i) {
      // ideal's work in the dbm's promise shape: an async open, set and close, each awaited
      const fd = await (async () => {
        const fd = fs.openSync(F.idealAsync[i], fs.constants.O_RDWR | NA);
        fsExt.flockSync(fd, 'exnb');
        fs.readSync(fd, w.memoryBuffer(), buf, 65536, 0);
        if (w.metaVerify(buf, P) !== 0 || !w.sameBytes(buf, buf + P, P)) throw new Error('ideal: bad meta');
        return fd;
      })();
      await Promise.resolve().then(() => {
        w.copyWithin(work, buf, P);
        let used = w.u32(work + 80);
        const klen = w.stageKey('lastSeen', 1000);
        const h = w.keyHash(w.STAGE, klen, w.u32(work + 40), w.u32(work + 44)) >>> 0;
        const off = w.recFind(work + 128, used, h, w.STAGE, klen);
        used = w.recRemove(work + 128, used, off);
        const v = packr.pack(++stamp);
        const vp = w.stageValueAfterKey(klen, v);
        used = w.recAppend(work + 128, used, P - 128, h, w.STAGE, klen, 0, vp, v.byteLength, 0);
        w.setU32(work + 80, used);
        w.setU64(work + 16, w.u64(work + 16) + 1);
        w.metaSeal(work, P);
        w.copyWithin(work + P, work, P);
        fs.writeSync(fd, w.memoryBuffer(), work, 2 * P, 0);
      });
      await (async () => fs.closeSync(fd))();
    },
    async openClose(i) {
      // the dbm's open and close alone, with its own set of files
      const db = await Dbm.open(F.openClose[i], wo);
      await db.close();
    },
    async dbm(i) {
      const db = await Dbm.open(F.dbm[i], wo);
      await db.set('lastSeen', ++stamp);
      await db.close();
    },
  };
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
async function run(title, variants) {
  const only = process.env.ONLY ? process.env.ONLY.split(',') : null;
  const names = Object.keys(variants).filter((n) => n !== 'files' && (only === null || n === 'floor' || only.includes(n)));
  const res = Object.fromEntries(names.map((n) => [n, []]));
  const cursor = Object.fromEntries(names.map((n) => [n, 0]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      await new Promise((resolve) => setImmediate(resolve));
      const t = process.hrtime.bigint();
      for (let k = 0; k < 10; k++) {
        cursor[n] = (cursor[n] + 1) % N;
        const x = variants[n](cursor[n]);
        if (x) await x;
      }
      res[n].push(Number(process.hrtime.bigint() - t) / 10_000);
    }
  }
  const floor = median(res.floor);
  const size = fs.statSync(variants.files[names[1]][0]).size;
  console.log(`${title} (P=${P}, ${size}-byte files, NOATIME=${NA ? 1 : 0}, ${path.relative(process.cwd(), dist) || dist})`);
  for (const n of names) console.log(`  ${n.padEnd(8)} ${median(res[n]).toFixed(2).padStart(6)} µs  ${(median(res[n]) / floor).toFixed(2)}x`);
}

if (what !== 'write') await run('read: open + read all + close', await readVariants());
if (what !== 'read') await run('write: open + change one key + close', await writeVariants());
if (sink === 0) console.log('(sink)');
