// Fastify 5 + @fastify/session (with @fastify/cookie) on its memory store
// (saveUninitialized off). No lock: /lock is /.

import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, fastifyPkg, fastifyRoutes, listenFastify, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: 'fastify + @fastify/session memory store',
  sessions: true,
  lock: false,
  versions: () => ({ '@fastify/session': packageVersion('@fastify/session'), '@fastify/cookie': packageVersion('@fastify/cookie') }),
};

export async function start({ host, port, secret }) {
  const app = fastifyPkg()();
  await app.register(require('@fastify/cookie'));
  await app.register(require('@fastify/session'), { secret, saveUninitialized: false, cookie: { secure: false, maxAge: COOKIE_MAX_AGE_MS } });
  fastifyRoutes(app, plainRoutes());
  return listenFastify(app, { host, port });
}
