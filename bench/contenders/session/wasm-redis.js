// This project, type 'redis', on the run's redis-server (the same one as
// connect-redis: bench/lib/redis-server.js): Session.open from the Cookie
// header with one options object for the whole server (signed ids, a
// rolling cookie expiry). A session is one hash, one field per key; a load
// is one script (HGETALL) and the access time is stored at the end of the
// response by another; a cycle's save sends only the changed field, with
// the access time and TTL, in one script. One shared connection, made by the
// store from the URL.

import { Session, closeRedisConnections } from 'wasm-session';
import { packageVersion } from '../../lib/harness.js';
import { BenchResponse, benchRequest } from '../../lib/http.js';
import { acquireRedis, redisAvailable, releaseRedis } from '../../lib/redis-server.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { createSessions, sessionCases } from './wasm-common.js';

export default {
  name: "wasm-session type 'redis'",
  version: () => ({ 'wasm-session': packageVersion('wasm-session') }),
  available: redisAvailable,
  async setup({ shape, count, secret }) {
    const server = await acquireRedis();
    const options = { type: 'redis', redis: { url: server.url, prefix: 'bench-ws:' }, secret, cookieExpires: MAX_AGE };
    const cookies = await createSessions(Session, options, shape, count);
    return {
      cases: sessionCases(Session, options, shape, cookies, { name: "wasm-session 'redis'" }),
      peek: async (i) => (await Session.open(benchRequest(cookies[i]), new BenchResponse(), options)).get(shape.counter),
      info: [
        `wasm-session 'redis': options { type: 'redis', redis: { url, prefix }, secret, cookieExpires: ${MAX_AGE} } on the same redis-server (one object for every request; the store's own connection).`,
      ],
      async teardown() {
        await closeRedisConnections();
        await releaseRedis();
      },
    };
  },
};
