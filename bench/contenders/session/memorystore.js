// memorystore 1.6 (an LRU-bounded MemoryStore for express-session) through
// its store API, with express-session's cookie work.

import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { createExpressSessions, expressCases, promised } from './express-common.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const MemoryStoreLru = require('memorystore')(expressSession);

export default {
  name: `memorystore ${packageVersion('memorystore')}`,
  version: () => ({ memorystore: packageVersion('memorystore') }),
  async setup({ shape, count, secret }) {
    const raw = new MemoryStoreLru({ ttl: MAX_AGE * 1000, checkPeriod: 0 });
    const store = promised(raw);
    const { ids, cookies } = await createExpressSessions(store, shape, count, secret);
    return {
      cases: expressCases(store, shape, cookies, secret, { name: 'memorystore', touch: false }),
      peek: async (i) => (await store.get(ids[i]))[shape.counter],
      info: [`memorystore: ttl ${MAX_AGE} s, no prune timer (checkPeriod 0).`],
      async teardown() {
        raw.stopInterval?.();
      },
    };
  },
};
