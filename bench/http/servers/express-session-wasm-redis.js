// Express 5 + express-session with wasm-session/express-session's
// WasmSessionStore on the Redis store (REDIS_URL: the same redis-server as
// connect-redis's row): one hash per session, per-key merge saves, touch
// without the data. express-session has no lock: /lock is /.

import { createRequire } from 'node:module';
import { closeRedisConnections } from 'wasm-session';
import { WasmSessionStore } from 'wasm-session/express-session';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, expressPkg, expressRoutes, listenApp, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: "express + express-session WasmSessionStore 'redis'",
  sessions: true,
  lock: false,
  redis: true,
  versions: () => ({ 'express-session': packageVersion('express-session'), 'wasm-session': packageVersion('wasm-session'), redis: packageVersion('redis') }),
};

export async function start({ host, port, secret, redisUrl }) {
  const session = require('express-session');
  const store = new WasmSessionStore({ type: 'redis', redis: { url: redisUrl, prefix: 'http-ws:' } });
  const app = expressPkg()();
  app.use(session({ store, secret, resave: false, saveUninitialized: false, cookie: { maxAge: COOKIE_MAX_AGE_MS } }));
  expressRoutes(app, plainRoutes());
  const server = await listenApp(app, { host, port });
  return {
    async close() {
      await server.close();
      await closeRedisConnections();
    },
  };
}
