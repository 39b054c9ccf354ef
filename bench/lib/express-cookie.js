// express-session's per-request cookie work, for the stores benchmarked
// through their store API (MemoryStore, memorystore, session-file-store, the
// SQLite table): with the very modules express-session 1.19 uses (its own
// cookie 0.7 and cookie-signature 1.0), following what its middleware does:
//
//   included: parse the Cookie header (cookie.parse), take `connect.sid`,
//   check the `s:` prefix and unsign it (cookie-signature: HMAC-SHA256,
//   base64, timing-safe compare); on a change, reset the cookie's expiry
//   (`expires = now + maxAge`, what session.touch() does) and send a
//   Set-Cookie: sign the id, cookie.serialize with the cookie's attributes,
//   append to any Set-Cookie already on the response.
//
//   not included (so these rows are a lower bound of what an express-session
//   app pays): building the Session and Cookie objects, the two hashes of the
//   session it computes to detect a change (JSON.stringify + SHA-1 each), its
//   res.end / writeHead wrapping, and request URL parsing.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// express-session's own copies, not whatever the project has at top level.
const fromExpressSession = createRequire(require.resolve('express-session'));
const cookie = fromExpressSession('cookie');
const signature = fromExpressSession('cookie-signature');

export const COOKIE_NAME = 'connect.sid';

/** What the peers' rows include of express-session's middleware, for the tables' notes. */
export const EXPRESS_WORK_NOTE =
  "Peers (MemoryStore, memorystore, session-file-store, the SQLite table) run behind express-session's cookie work, with its own cookie 0.7 and cookie-signature 1.0: parse the Cookie header, unsign the s: value (HMAC-SHA256), and on a change reset the cookie's expiry, sign the id and serialize + append a Set-Cookie. Not included: express-session's Session and Cookie objects, its two hashes of the session (JSON.stringify + SHA-1) to detect a change, its res.end/writeHead wrapping: the peers' rows are a lower bound of what an express-session app pays.";

export function versions() {
  return {
    'cookie (express-session)': fromExpressSession('cookie/package.json').version,
    'cookie-signature (express-session)': fromExpressSession('cookie-signature/package.json').version,
  };
}

/** The Cookie header a browser sends back for session id `sid` (one other cookie next to it). */
export function cookieHeader(sid, secret) {
  return `theme=dark; ${COOKIE_NAME}=${encodeURIComponent(`s:${signature.sign(sid, secret)}`)}`;
}

/** The session id from a request's Cookie header, or false (no cookie, unsigned, bad signature). */
export function sessionIdFrom(headers, secret) {
  const header = headers.cookie;
  if (!header) return false;
  const raw = cookie.parse(header)[COOKIE_NAME];
  if (raw?.slice(0, 2) !== 's:') return false;
  return signature.unsign(raw.slice(2), secret);
}

/** Session touch before a save: the stored cookie expires maxAge from now. */
export function resetExpiry(sess, now = Date.now()) {
  sess.cookie.expires = new Date(now + sess.cookie.originalMaxAge);
}

/** Sets the session cookie on the response, as express-session's setcookie() does. */
export function setSessionCookie(res, sid, secret, sess) {
  const c = sess.cookie;
  const expires = typeof c.expires === 'string' ? new Date(c.expires) : c.expires;
  const line = cookie.serialize(COOKIE_NAME, `s:${signature.sign(sid, secret)}`, {
    expires,
    httpOnly: c.httpOnly,
    path: c.path,
    secure: c.secure,
    sameSite: c.sameSite,
  });
  const prev = res.getHeader('Set-Cookie') || [];
  res.setHeader('Set-Cookie', Array.isArray(prev) ? prev.concat(line) : [prev, line]);
}
