// Express 5 + wasm-session/express on the memory store (one process),
// signed ids, saved before the headers leave; /lock holds lock() for the request.

import { sessionMiddleware } from 'wasm-session/express';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE, expressPkg, expressRoutes, listenApp, wasmRoutes } from '../frameworks.js';

export const meta = {
  name: "express + wasm-session/express 'memory'",
  sessions: true,
  versions: () => ({ express: packageVersion('express'), 'wasm-session': packageVersion('wasm-session') }),
};

export function start({ host, port, secret }) {
  const app = expressPkg()();
  app.use(sessionMiddleware({ type: 'memory', secret, cookieExpires: MAX_AGE, lock: (req) => req.url === '/lock' }));
  expressRoutes(app, wasmRoutes());
  return listenApp(app, { host, port });
}
