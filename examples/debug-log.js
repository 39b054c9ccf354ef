// logFile: a writable stream or a path; one line per load, save, lock and
// invalidation, with the reason. Ids appear only as an 8-character prefix.
import { Writable } from 'node:stream';
import { Session } from 'wasm-session';

const lines = [];
const logFile = new Writable({
  write(chunk, _enc, done) {
    lines.push(String(chunk).trimEnd());
    done();
  },
});
const headers = {};
const res = {
  headersSent: false,
  getHeader: (n) => headers[n],
  setHeader: (n, v) => {
    headers[n] = v;
  },
};
const options = { type: 'memory', logFile };

const s = await Session.open({ headers: {} }, res, options);
s.set('a', 1);
await s.save();
const t = await Session.open({ headers: { cookie: headers['set-cookie'][0].split(';')[0] } }, res, options);
await t.lock();
await t.unlock();
await t.invalidate();
for (const line of lines) console.log(line.replace(/^\S+ /, '').replace(/[0-9a-f]{8}…/g, '<id>…'));
