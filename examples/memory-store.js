// type: 'memory': the same Session on an in-process store (tests,
// development, single-process servers). Nothing survives a restart.
import http from 'node:http';
import { Session } from 'wasm-session';

const options = { type: 'memory', timeout: 30 * 60 };
const server = http.createServer(async (req, res) => {
  const session = await Session.open(req, res, options);
  const cart = session.get('cart') ?? [];
  if (req.url.startsWith('/add/')) cart.push(decodeURIComponent(req.url.slice(5)));
  session.set('cart', cart);
  await session.save();
  res.end(`cart: ${cart.join(', ') || '(empty)'}\n`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

let cookie = '';
for (const p of ['/', '/add/apple', '/add/pear', '/']) {
  const res = await fetch(base + p, { headers: { cookie } });
  cookie = res.headers.getSetCookie()[0]?.split(';')[0] ?? cookie;
  process.stdout.write(`${p} -> ${await res.text()}`);
}
server.close();
