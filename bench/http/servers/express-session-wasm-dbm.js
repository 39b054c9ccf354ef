// Express 5 + express-session with wasm-session/express-session's
// WasmSessionStore on the dbm store (per-key merge saves, touch without the
// data). express-session has no lock: /lock is /.

import { createRequire } from 'node:module';
import { WasmSessionStore } from 'wasm-session/express-session';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, expressPkg, expressRoutes, listenApp, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: "express + express-session WasmSessionStore 'dbm'",
  sessions: true,
  lock: false,
  versions: () => ({ 'express-session': packageVersion('express-session'), 'wasm-session': packageVersion('wasm-session') }),
};

export function start({ host, port, dataDir, secret }) {
  const session = require('express-session');
  const app = expressPkg()();
  app.use(session({ store: new WasmSessionStore({ dataDir }), secret, resave: false, saveUninitialized: false, cookie: { maxAge: COOKIE_MAX_AGE_MS } }));
  expressRoutes(app, plainRoutes());
  return listenApp(app, { host, port });
}
