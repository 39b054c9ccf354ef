// Login with regenerateId() (the defence against session fixation) and
// logout with invalidate().
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-login-'));
const server = http.createServer(async (req, res) => {
  const session = await Session.open(req, res, { dataDir });
  if (req.url === '/login') {
    session.set('user', 'ann');
    await session.regenerateId(); // same data, new id, old file removed, new cookie sent
  } else if (req.url === '/logout') {
    await session.invalidate(); // old file removed, new empty session, cookie expired
  } else {
    session.set('seen', true);
    await session.save();
  }
  res.end(`${req.url}: user=${session.get('user') ?? '-'} id=${session.id.slice(0, 8)}\n`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

let cookie = '';
const ids = [];
for (const p of ['/', '/login', '/', '/logout', '/']) {
  const res = await fetch(base + p, { headers: { cookie } });
  for (const line of res.headers.getSetCookie()) {
    cookie = /Max-Age=0/.test(line) ? '' : line.split(';')[0];
  }
  const text = await res.text();
  ids.push(text.match(/id=(\w+)/)[1]);
  process.stdout.write(text);
}
console.log(`login changed the id: ${ids[0] !== ids[1]}; logout changed it again: ${ids[2] !== ids[3]}`);
server.close();
fs.rmSync(dataDir, { recursive: true, force: true });
