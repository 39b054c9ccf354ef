// express-session 1.19's MemoryStore through its real API (get/set/touch
// with callbacks, each deferred by a setImmediate as the store does), with
// express-session's cookie work (bench/lib/express-cookie.js).

import { createRequire } from 'node:module';
import { versions as cookieVersions } from '../../lib/express-cookie.js';
import { packageVersion } from '../../lib/harness.js';
import { createExpressSessions, expressCases, promised } from './express-common.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const name = `express-session ${packageVersion('express-session')} MemoryStore`;

export default {
  name,
  version: () => ({ 'express-session (MemoryStore)': packageVersion('express-session'), ...cookieVersions() }),
  async setup({ shape, count, secret }) {
    const store = promised(new expressSession.MemoryStore());
    const { ids, cookies } = await createExpressSessions(store, shape, count, secret);
    return {
      cases: expressCases(store, shape, cookies, secret, { name: 'MemoryStore' }),
      peek: async (i) => (await store.get(ids[i]))[shape.counter],
      info: ["MemoryStore: the session's JSON text in an object (JSON.parse on get, JSON.stringify on set and touch)."],
      async teardown() {},
    };
  },
};
