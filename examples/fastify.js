// Fastify 5 with wasm-session/fastify: request.session on every request,
// saved in onSend, its cookie sent through the reply's own headers next to
// the cookies of @fastify/cookie's reply.setCookie.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import Fastify from 'fastify';
import { fastifySession } from 'wasm-session/fastify';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-fastify-'));
const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, { dataDir, secret: 'a long server-side secret', cookieExpires: 3600 });
app.get('/', async (request, reply) => {
  const visits = (request.session.get('visits') ?? 0) + 1;
  request.session.set('visits', visits);
  reply.setCookie('theme', 'dark', { path: '/' });
  return `visits: ${visits}`;
});
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${app.server.address().port}/`;

let cookie = '';
for (let i = 0; i < 2; i++) {
  const res = await fetch(url, { headers: { cookie } });
  const names = res.headers.getSetCookie().map((line) => line.split('=')[0]);
  cookie = res.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  console.log(`${await res.text()}; Set-Cookie: ${names.join(', ')}`);
}
await app.close();
fs.rmSync(dataDir, { recursive: true, force: true });
