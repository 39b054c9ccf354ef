// session-file-store 1.5 (a JSON file per session, written with
// write-file-atomic, which fsyncs) through its store API, with
// express-session's cookie work. Slow (milliseconds a write): it gets fewer
// warm-up calls and a shorter run.

import path from 'node:path';
import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { createExpressSessions, expressCases, promised } from './express-common.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const FileStore = require('session-file-store')(expressSession);

export default {
  name: `session-file-store ${packageVersion('session-file-store')}`,
  version: () => ({ 'session-file-store': packageVersion('session-file-store') }),
  async setup({ dir, shape, count, secret }) {
    const store = promised(new FileStore({ path: path.join(dir, 'sessions'), ttl: MAX_AGE, retries: 0, reapInterval: -1, logFn: () => {} }));
    const { ids, cookies } = await createExpressSessions(store, shape, count, secret);
    return {
      cases: expressCases(store, shape, cookies, secret, { name: 'session-file-store', slow: true, touch: false }),
      peek: async (i) => (await store.get(ids[i]))[shape.counter],
      info: ['session-file-store: ttl as the cookie, no retries, no reaper; its writes fsync (write-file-atomic), so it survives a power loss.'],
      async teardown() {},
    };
  },
};
