// connect-redis 9 against a real redis-server: a STUB. The Redis store and
// the redis-server start-up are added later; until then this contender is
// skipped and says so. When it lands, setup() starts (or connects to) the
// server, builds express-session's RedisStore with a redis client, and
// returns expressCases(...) from ./express-common.js, like the other peers.

import { packageVersion } from '../../lib/harness.js';

export default {
  name: 'connect-redis 9 (RedisStore)',
  version: () => ({ 'connect-redis': packageVersion('connect-redis') === '?' ? 'not installed' : packageVersion('connect-redis') }),
  available() {
    return 'skipped: no Redis contender yet (connect-redis 9, a redis client and a redis-server are not set up; see bench/contenders/session/connect-redis.js)';
  },
  async setup() {
    throw new Error('connect-redis contender is a stub');
  },
};
