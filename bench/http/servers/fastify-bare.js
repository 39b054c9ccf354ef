// Fastify 5 answering 'ok' to every request, no session: the Fastify baseline.

import { packageVersion } from '../../lib/harness.js';
import { fastifyPkg, listenFastify } from '../frameworks.js';

export const meta = { name: 'fastify, no session (bare)', sessions: false, versions: () => ({ fastify: packageVersion('fastify') }) };

export function start({ host, port }) {
  const app = fastifyPkg()();
  app.get('/', async () => 'ok');
  return listenFastify(app, { host, port });
}
