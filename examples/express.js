// Express with wasm-session/express: every request gets req.session, saved
// before the response headers leave (so the redirect below is followed at
// once by a request that sees the login), and `lock` makes the overlapping
// increments of one session exact. Express 4, Express 5 and Connect alike.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { sessionMiddleware } from 'wasm-session/express';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-express-'));
const app = express();
app.use(sessionMiddleware({ dataDir, secret: 'a long server-side secret', lock: (req) => req.path === '/inc' }));
app.post('/login', (req, res) => {
  req.session.set('user', req.query.user);
  res.redirect('/whoami'); // no save() call: the middleware saves before the 302 goes out
});
app.get('/whoami', (req, res) => res.send(`user: ${req.session.get('user') ?? '-'}`));
app.get('/inc', async (req, res) => {
  const n = req.session.get('n') ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 5)); // a slow handler: requests overlap
  req.session.set('n', n + 1);
  res.send(String(n + 1));
});

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${server.address().port}`;

const login = await fetch(`${url}/login?user=ann`, { method: 'POST', redirect: 'manual' });
const cookie = login.headers.getSetCookie()[0].split(';')[0];
console.log(`POST /login -> ${login.status} ${login.headers.get('location')}, cookie ${cookie.split('=')[0]}`);
console.log(`GET /whoami -> ${await (await fetch(`${url}/whoami`, { headers: { cookie } })).text()}`);
await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/inc`, { headers: { cookie } }).then((r) => r.text())));
console.log(`20 concurrent /inc with lock -> n = ${await (await fetch(`${url}/inc`, { headers: { cookie } })).text()} after one more`);
server.close();
fs.rmSync(dataDir, { recursive: true, force: true });
