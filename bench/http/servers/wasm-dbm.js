// node:http + this project's dbm session on every request (README's
// handler): one dbm file per session under DATA_DIR, signed ids, sync 'none'.

import { Session } from 'wasm-session';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { listen, sessionHandler } from '../node-http.js';

export const meta = { name: "node:http + wasm-session 'dbm'", sessions: true, versions: () => ({ 'wasm-session': packageVersion('wasm-session') }) };

export function start({ host, port, dataDir, secret }) {
  return listen(sessionHandler(Session, { dataDir, secret, cookieExpires: MAX_AGE }), { host, port });
}
