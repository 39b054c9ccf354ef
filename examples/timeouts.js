// timeout (idle seconds) and maxLifetime (absolute seconds). The `now`
// option replaces the clock, as tests do, to show an hour in a moment.
import { Session } from 'wasm-session';

let now = Date.UTC(2030, 0, 1, 12, 0, 0);
const options = { type: 'memory', timeout: 15 * 60, maxLifetime: 60 * 60, now: () => now };
const headers = {};
const res = {
  headersSent: false,
  getHeader: (n) => headers[n],
  setHeader: (n, v) => {
    headers[n] = v;
  },
};

const s = await Session.open({ headers: {} }, res, options);
s.set('user', 'ann');
await s.save();
const req = { headers: { cookie: headers['set-cookie'][0].split(';')[0] } };
const fake = () => ({ headersSent: false, getHeader() {}, setHeader() {} });

for (const minutes of [10, 14, 14, 14]) {
  now += minutes * 60_000;
  const t = await Session.open(req, fake(), options);
  console.log(`+${minutes} min: user=${t.get('user') ?? '-'} isNew=${t.isNew} wasInvalidated=${t.wasInvalidated}`);
}
now += 10 * 60_000; // 62 minutes since creation: too old, though not idle
const old = await Session.open(req, fake(), options);
console.log(`+10 min (62 min old): user=${old.get('user') ?? '-'} isNew=${old.isNew} wasInvalidated=${old.wasInvalidated}`);
const s2 = await Session.open({ headers: {} }, res, options);
s2.set('user', 'bob');
await s2.save();
now += 16 * 60_000; // idle for 16 minutes
const idle = await Session.open({ headers: { cookie: headers['set-cookie'].at(-1).split(';')[0] } }, fake(), options);
console.log(`idle 16 min: user=${idle.get('user') ?? '-'} wasInvalidated=${idle.wasInvalidated}`);
