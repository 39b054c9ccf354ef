// The request handler of this project's contenders (types 'memory' and
// 'dbm'), as a server runs it: Session.open(req, res, options) with the
// server's one options object, read every key with get(), and for a cycle
// change the counter and save() before res.end().

import { BenchResponse, benchRequest, cookieFrom } from '../../lib/http.js';

/** Stores `count` sessions of `shape` through the Session API; resolves to each one's Cookie header. */
export async function createSessions(Session, options, shape, count, progress) {
  const cookies = new Array(count);
  for (let i = 0; i < count; i++) {
    const res = new BenchResponse();
    const s = await Session.open(benchRequest(), res, options);
    for (const [k, v] of Object.entries(shape.make(i))) s.set(k, v);
    await s.save();
    res.end();
    await res.whenEnded();
    cookies[i] = `theme=dark; ${cookieFrom(res)}`;
    if (progress && i % 10_000 === 9_999) progress(i + 1);
  }
  return cookies;
}

function readAll(session, keys) {
  let missing = 0;
  for (let k = 0; k < keys.length; k++) if (session.get(keys[k]) === undefined) missing++;
  return missing;
}

/** load, cycle and cycle:lock cases over the sessions whose Cookie headers are `cookies`. */
export function sessionCases(Session, options, shape, cookies, { name, extraCycles = {} }) {
  const { keys, counter } = shape;
  const check = (session, i) => {
    if (session.isNew) throw new Error(`${name}: session ${i} was not found`);
    if (readAll(session, keys) !== 0) throw new Error(`${name}: session ${i} lacks keys`);
  };
  const load = async (i) => {
    const res = new BenchResponse();
    const session = await Session.open(benchRequest(cookies[i]), res, options);
    check(session, i);
    res.end();
    await res.whenEnded();
  };
  const cycleWith =
    (opts, lock = false) =>
    async (i) => {
      const res = new BenchResponse();
      const session = await Session.open(benchRequest(cookies[i]), res, opts);
      if (lock) await session.lock();
      check(session, i);
      session.set(counter, session.get(counter) + 1);
      await session.save();
      if (lock) await session.unlock();
      res.end();
      await res.whenEnded();
    };
  const cases = {
    load: { label: `${name}: load (open, get() every key, end)`, fn: load },
    cycle: { label: `${name}: cycle (open, get() every key, set counter, save, end)`, fn: cycleWith(options) },
    'cycle:lock': { label: `${name}: cycle with lock() ... unlock()`, fn: cycleWith(options, true), lockGroup: true },
  };
  for (const [key, { label, options: opts, slow }] of Object.entries(extraCycles)) cases[`cycle:${key}`] = { label, fn: cycleWith(opts), slow };
  return cases;
}
