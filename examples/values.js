// What a session value can be: anything msgpack (msgpackr) round-trips.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-values-'));
const headers = {};
const res = {
  headersSent: false,
  getHeader: (n) => headers[n],
  setHeader: (n, v) => {
    headers[n] = v;
  },
};
const s = await Session.open({ headers: {} }, res, { dataDir });
class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  norm() {
    return Math.hypot(this.x, this.y);
  }
}
const values = {
  date: new Date(Date.UTC(2030, 0, 1)),
  map: new Map([
    ['a', 1],
    [2, 'b'],
  ]),
  set: new Set([1, 2, 3]),
  buffer: Buffer.from('bytes'),
  bigint: 2n ** 100n,
  nested: { list: [1, { deep: true }], nothing: null, notANumber: NaN },
  regexp: /ab+c/gi,
  point: new Point(3, 4), // a class instance comes back as a plain object
};
for (const [k, v] of Object.entries(values)) s.set(k, v);
await s.save();

const back = await Session.open(
  { headers: { cookie: headers['set-cookie'][0].split(';')[0] } },
  { headersSent: false, getHeader() {}, setHeader() {} },
  { dataDir },
);
for (const key of Object.keys(values)) {
  console.log(`${key}: ${inspect(back.get(key), { breakLength: Infinity })}`);
}
try {
  s.set('fn', () => 1);
} catch (err) {
  console.log(`functions are refused: ${err.constructor.name}`);
}
fs.rmSync(dataDir, { recursive: true, force: true });
