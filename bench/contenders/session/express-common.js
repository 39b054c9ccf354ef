// The request handler of the contenders that run behind express-session
// (its MemoryStore, memorystore, session-file-store, and the SQLite table
// written as an express-session store would be): express-session's cookie
// work (bench/lib/express-cookie.js says what is and is not included), the
// store's own get/set/touch, and the handler reading every key and changing
// the counter of a plain session object.

import { cookieHeader, resetExpiry, sessionIdFrom, setSessionCookie } from '../../lib/express-cookie.js';
import { BenchResponse, benchRequest } from '../../lib/http.js';
import { expressCookie } from '../../lib/shapes.js';
import { prng, randomHex } from '../../lib/random.js';

/** Session i's data as an express-session store holds it: the shape's data, with a `cookie` when the shape has none. */
export function expressSessionData(shape, i) {
  const data = shape.make(i);
  return data.cookie === undefined ? { cookie: expressCookie(i), ...data } : data;
}

/** express-session's ids: 24 random bytes in base64url (uid-safe); seeded here so runs agree. */
export function expressIds(count, seed = 0x1d5) {
  const rand = prng(seed);
  return Array.from({ length: count }, () => Buffer.from(randomHex(rand, 24), 'hex').toString('base64url'));
}

/** A callback store API as promises. */
export function promised(store) {
  return {
    get: (sid) => new Promise((resolve, reject) => store.get(sid, (err, sess) => (err ? reject(err) : resolve(sess)))),
    set: (sid, sess) => new Promise((resolve, reject) => store.set(sid, sess, (err) => (err ? reject(err) : resolve()))),
    touch: (sid, sess) => new Promise((resolve, reject) => store.touch(sid, sess, (err) => (err ? reject(err) : resolve()))),
  };
}

/** Stores `count` sessions of `shape` in a promised store; resolves to { ids, cookies }. */
export async function createExpressSessions(store, shape, count, secret) {
  const ids = expressIds(count);
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const sess = expressSessionData(shape, i);
    resetExpiry(sess, now); // the shapes' fixed dates are in the past: stores drop expired sessions
    await store.set(ids[i], sess);
  }
  return { ids, cookies: ids.map((sid) => cookieHeader(sid, secret)) };
}

/**
 * load (get), load:touch (get, then touch: what express-session does at the
 * end of a request that changed nothing, with a store that has touch),
 * cycle (get, change, set + Set-Cookie).
 */
export function expressCases(store, shape, cookies, secret, { name, get = 'get', slow = false, touch = true }) {
  const { keys, counter } = shape;
  const open = async (i) => {
    const req = benchRequest(cookies[i]);
    const sid = sessionIdFrom(req.headers, secret);
    if (sid === false) throw new Error(`${name}: bad cookie for session ${i}`);
    const sess = await store.get(sid);
    if (!sess) throw new Error(`${name}: session ${i} not found`);
    let missing = 0;
    for (let k = 0; k < keys.length; k++) if (sess[keys[k]] === undefined) missing++;
    if (missing !== 0) throw new Error(`${name}: session ${i} lacks keys`);
    return { sid, sess };
  };
  const cases = {
    load: {
      label: `${name}: load (${get})`,
      slow,
      async fn(i) {
        await open(i);
        const res = new BenchResponse();
        res.end();
        await res.whenEnded();
      },
    },
    cycle: {
      label: `${name}: cycle (${get} + set)`,
      slow,
      async fn(i) {
        const { sid, sess } = await open(i);
        const res = new BenchResponse();
        sess[counter] += 1;
        resetExpiry(sess);
        await store.set(sid, sess);
        setSessionCookie(res, sid, secret, sess);
        res.end();
        await res.whenEnded();
      },
    },
  };
  if (touch) {
    cases['load:touch'] = {
      label: `${name}: load + touch (${get} + touch, as express-session ends an unchanged request)`,
      slow,
      context: true,
      async fn(i) {
        const { sid, sess } = await open(i);
        const res = new BenchResponse();
        resetExpiry(sess);
        await store.touch(sid, sess);
        res.end();
        await res.whenEnded();
      },
    };
  }
  return cases;
}
