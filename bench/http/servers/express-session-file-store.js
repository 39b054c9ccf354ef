// Express 5 + express-session with session-file-store (a JSON file per
// session, written with write-file-atomic, which fsyncs). No lock: /lock is /.

import path from 'node:path';
import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, MAX_AGE, expressPkg, expressRoutes, listenApp, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: 'express + express-session session-file-store',
  sessions: true,
  lock: false,
  versions: () => ({ 'session-file-store': packageVersion('session-file-store') }),
};

export function start({ host, port, dataDir, secret }) {
  const session = require('express-session');
  const FileStore = require('session-file-store')(session);
  const store = new FileStore({ path: path.join(dataDir, 'sessions'), ttl: MAX_AGE, retries: 0, reapInterval: -1, logFn: () => {} });
  const app = expressPkg()();
  app.use(session({ store, secret, resave: false, saveUninitialized: false, cookie: { maxAge: COOKIE_MAX_AGE_MS } }));
  expressRoutes(app, plainRoutes());
  return listenApp(app, { host, port });
}
