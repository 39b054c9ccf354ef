// Express 5 + express-session with its MemoryStore (resave and
// saveUninitialized off, as its README recommends). No lock: /lock is /.

import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, expressPkg, expressRoutes, listenApp, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: 'express + express-session MemoryStore',
  sessions: true,
  lock: false,
  versions: () => ({ express: packageVersion('express'), 'express-session': packageVersion('express-session') }),
};

export function start({ host, port, secret }) {
  const session = require('express-session');
  const app = expressPkg()();
  app.use(session({ store: new session.MemoryStore(), secret, resave: false, saveUninitialized: false, cookie: { maxAge: COOKIE_MAX_AGE_MS } }));
  expressRoutes(app, plainRoutes());
  return listenApp(app, { host, port });
}
