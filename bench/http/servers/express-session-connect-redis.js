// Express 5 + express-session with connect-redis 9's RedisStore on the run's
// redis-server (REDIS_URL: loopback, in memory), through a node-redis client
// with its defaults: what an app on several hosts runs today. A session is
// one JSON string (GET / SET EX / EXPIRE). express-session has no lock: /lock is /.

import { createRequire } from 'node:module';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { packageVersion } from '../../lib/harness.js';
import { COOKIE_MAX_AGE_MS, expressPkg, expressRoutes, listenApp, plainRoutes } from '../frameworks.js';

const require = createRequire(import.meta.url);

export const meta = {
  name: 'express + express-session connect-redis',
  sessions: true,
  lock: false,
  redis: true,
  versions: () => ({ 'express-session': packageVersion('express-session'), 'connect-redis': packageVersion('connect-redis'), redis: packageVersion('redis') }),
};

export async function start({ host, port, secret, redisUrl }) {
  const session = require('express-session');
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  await client.connect();
  const app = expressPkg()();
  app.use(
    session({
      store: new RedisStore({ client, prefix: 'http-cr:' }),
      secret,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: COOKIE_MAX_AGE_MS },
    }),
  );
  expressRoutes(app, plainRoutes());
  const server = await listenApp(app, { host, port });
  return {
    async close() {
      await server.close();
      await client.close();
    },
  };
}
