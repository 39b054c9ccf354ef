// node:http + this project's 'memory' session on every request (README's handler).

import { Session } from 'wasm-session';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { listen, sessionHandler } from '../node-http.js';

export const meta = { name: "node:http + wasm-session 'memory'", sessions: true, versions: () => ({ 'wasm-session': packageVersion('wasm-session') }) };

export function start({ host, port, secret }) {
  return listen(sessionHandler(Session, { type: 'memory', secret, cookieExpires: MAX_AGE }), { host, port });
}
