// Express 5 answering 'ok' to every request, no session: the Express baseline.

import { packageVersion } from '../../lib/harness.js';
import { expressPkg, listenApp } from '../frameworks.js';

export const meta = { name: 'express, no session (bare)', sessions: false, versions: () => ({ express: packageVersion('express') }) };

export function start({ host, port }) {
  const app = expressPkg()();
  app.use((_req, res) => res.send('ok'));
  return listenApp(app, { host, port });
}
