// The app a migration test moves between stores: Express on express-session
// (resave and saveUninitialized off, a one-hour cookie, one secret kept
// across the switch) over any express-session store. /login?user= logs a
// user in, /me counts a visit and shows the session. The import tests log
// users in on the old store, copy its sessions, and check that the same
// cookies are the same users on the new one.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import express from 'express';

const require = createRequire(import.meta.url);
const session = require('express-session');
const SECRET = 'the app secret, unchanged by the migration';

/** The app on `store`, listening on loopback; resolves to { url, close }. */
export async function legacyApp(store) {
  const a = express();
  a.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3600_000 } }));
  a.get('/login', (req, res) => {
    req.session.user = { name: req.query.user, roles: ['member'] };
    req.session.visits = 1;
    res.end('ok');
  });
  a.get('/me', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ user: req.session.user ?? null, visits: req.session.visits });
  });
  const server = a.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Logs each of `users` in on an app over `store`; resolves to { user: 'connect.sid=...' }, the cookies their browsers keep. */
export async function logIn(store, users) {
  const app = await legacyApp(store);
  const cookies = {};
  try {
    for (const user of users) {
      const res = await fetch(`${app.url}/login?user=${user}`);
      await res.text();
      cookies[user] = res.headers.getSetCookie()[0].split(';')[0];
    }
  } finally {
    await app.close();
  }
  return cookies;
}

/** Each cookie of `cookies` is still its user on an app over `store`: the visit made at login, and this one. */
export async function assertLoggedIn(store, cookies) {
  const app = await legacyApp(store);
  try {
    for (const [user, cookie] of Object.entries(cookies)) {
      const me = await (await fetch(`${app.url}/me`, { headers: { cookie } })).json();
      assert.deepEqual(me, { user: { name: user, roles: ['member'] }, visits: 2 }, `${user} is still logged in`);
    }
  } finally {
    await app.close();
  }
}
