// This project, type 'memory': Session.open from the Cookie header, one
// options object for the whole server (signed ids, a rolling cookie expiry,
// so a save sends Set-Cookie as express-session does for a cookie with an
// expiry). Values are msgpack-encoded in a process-wide Map.

import { MemoryNamespace, Session } from 'wasm-session';
import { packageVersion } from '../../lib/harness.js';
import { BenchResponse, benchRequest } from '../../lib/http.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { createSessions, sessionCases } from './wasm-common.js';

export default {
  name: "wasm-session type 'memory'",
  version: () => ({ 'wasm-session': packageVersion('wasm-session') }),
  async setup({ shape, count, secret }) {
    const options = { type: 'memory', secret, cookieExpires: MAX_AGE };
    const cookies = await createSessions(Session, options, shape, count);
    return {
      cases: sessionCases(Session, options, shape, cookies, { name: "wasm-session 'memory'" }),
      peek: async (i) => (await Session.open(benchRequest(cookies[i]), new BenchResponse(), options)).get(shape.counter),
      info: [`wasm-session 'memory': options { type: 'memory', secret, cookieExpires: ${MAX_AGE} } (one object for every request).`],
      async teardown() {
        MemoryNamespace.clear();
      },
    };
  },
};
