// Fastify 5 + wasm-session/fastify on the dbm store; /lock holds lock() for the request.

import { fastifySession } from 'wasm-session/fastify';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE, fastifyPkg, fastifyRoutes, listenFastify, wasmRoutes } from '../frameworks.js';

export const meta = {
  name: "fastify + wasm-session/fastify 'dbm'",
  sessions: true,
  versions: () => ({ fastify: packageVersion('fastify'), 'wasm-session': packageVersion('wasm-session') }),
};

export async function start({ host, port, dataDir, secret }) {
  const app = fastifyPkg()();
  await app.register(fastifySession, { dataDir, secret, cookieExpires: MAX_AGE, lock: (request) => request.url === '/lock' });
  fastifyRoutes(app, wasmRoutes());
  return listenFastify(app, { host, port });
}
