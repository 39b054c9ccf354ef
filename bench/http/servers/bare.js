// The baseline: node:http answering 'ok' to every request, no session.

import { listen } from '../node-http.js';

export const meta = { name: 'node:http, no session (bare)', sessions: false, versions: () => ({ node: process.version }) };

export function start({ host, port }) {
  return listen((_req, res) => res.end('ok'), { host, port });
}
