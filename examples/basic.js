// The basics: open the session from the request, use it like a Map, save it.
// A node:http server on 127.0.0.1 with sessions in dbm files; this script
// also plays the browser (it keeps the cookie) and exits when done.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-basic-'));

const server = http.createServer(async (req, res) => {
  const session = await Session.open(req, res, { dataDir });
  const visits = (session.get('visits') ?? 0) + 1;
  session.set('visits', visits);
  await session.save(); // before writing the body: the first save sends the cookie
  res.end(`visits: ${visits}, new session: ${session.isNew}, file: ${path.relative(dataDir, session.namespace.file.path)}\n`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

let cookie = '';
for (let i = 0; i < 3; i++) {
  const res = await fetch(url, { headers: { cookie } });
  const setCookie = res.headers.getSetCookie();
  if (setCookie.length) {
    console.log(`Set-Cookie: ${setCookie[0]}`);
    cookie = setCookie[0].split(';')[0];
  }
  process.stdout.write(await res.text());
}
server.close();
fs.rmSync(dataDir, { recursive: true, force: true });
