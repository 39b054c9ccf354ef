// Keeping express-session, with WasmSessionStore as its store (dbm files):
// two requests that change different keys of one session at the same time
// both keep their change, where express-session's MemoryStore keeps only
// the last one written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import { WasmSessionStore } from 'wasm-session/express-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-es-store-'));

async function run(name, store) {
  const app = express();
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false }));
  app.get('/login', (req, res) => {
    req.session.user = 'ann';
    res.end('ok');
  });
  app.get('/set', async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, Number(req.query.wait))); // a slow request
    req.session[req.query.key] = req.query.value;
    res.end('ok');
  });
  app.get('/show', (req, res) => res.end(JSON.stringify({ user: req.session.user, theme: req.session.theme, cart: req.session.cart })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const login = await fetch(`${url}/login`);
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  await login.text();
  const get = (p) => fetch(url + p, { headers: { cookie } }).then((r) => r.text());
  await Promise.all([get('/set?key=theme&value=dark&wait=60'), get('/set?key=cart&value=3&wait=0')]);
  console.log(`${name}: ${await get('/show')}`);
  if (store.ids) console.log(`${name}: ids ${JSON.stringify((await store.ids()).map((id) => `${id.slice(0, 4)}…`))}, length ${await store.length()}`);
  server.close();
}

await run('WasmSessionStore', new WasmSessionStore({ dataDir }));
await run('MemoryStore', new session.MemoryStore());
fs.rmSync(dataDir, { recursive: true, force: true });
