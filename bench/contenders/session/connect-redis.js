// connect-redis 9 (RedisStore) on the run's redis-server (bench/lib/
// redis-server.js: loopback, in memory), through express-session's store
// API (get/set/touch with callbacks) with express-session's cookie work, like
// the other express peers. The client is node-redis (the `redis` package,
// createClient, its defaults). RedisStore keeps a session as one JSON
// string under `sess:<sid>` with an EX of the cookie's maxAge: get = GET +
// JSON.parse, set = JSON.stringify + SET EX, touch = EXPIRE.

import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { versions as cookieVersions } from '../../lib/express-cookie.js';
import { packageVersion } from '../../lib/harness.js';
import { acquireRedis, redisAvailable, redisServerVersion, releaseRedis } from '../../lib/redis-server.js';
import { createExpressSessions, expressCases, promised } from './express-common.js';

const name = `connect-redis ${packageVersion('connect-redis')} RedisStore`;

export default {
  name,
  version: () => ({
    'connect-redis': packageVersion('connect-redis'),
    'redis (node-redis)': packageVersion('redis'),
    'redis-server': redisServerVersion(),
    ...cookieVersions(),
  }),
  available: redisAvailable,
  async setup({ shape, count, secret }) {
    const server = await acquireRedis();
    const client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    const store = promised(new RedisStore({ client, prefix: 'bench-cr:' }));
    const { ids, cookies } = await createExpressSessions(store, shape, count, secret);
    return {
      cases: expressCases(store, shape, cookies, secret, { name: 'connect-redis' }),
      peek: async (i) => (await store.get(ids[i]))[shape.counter],
      info: [
        `connect-redis: RedisStore({ client, prefix }) on a node-redis client (createClient defaults: RESP3), the run's redis-server ${server.url} (in memory, no persistence): a session is one JSON string (GET + JSON.parse / JSON.stringify + SET EX / EXPIRE).`,
      ],
      async teardown() {
        await client.close();
        await releaseRedis();
      },
    };
  },
};
