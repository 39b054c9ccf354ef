// This project, type 'dbm': one dbm file per session under dataDir, opened
// from the Cookie header with one options object for the whole server
// (signed ids, rolling cookie expiry, sync 'none': survives a crash of the
// process, not a power loss). A sync: 'commit' variant (fdatasync on every
// write) runs in the cycle table for context.

import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'wasm-session';
import { findFile } from '../../lib/files.js';
import { packageVersion } from '../../lib/harness.js';
import { BenchResponse, benchRequest } from '../../lib/http.js';
import { MAX_AGE } from '../../lib/shapes.js';
import { createSessions, sessionCases } from './wasm-common.js';

export default {
  name: "wasm-session type 'dbm'",
  version: () => ({ 'wasm-session': packageVersion('wasm-session') }),
  async setup({ dir, shape, count, secret, progress }) {
    const dataDir = path.join(dir, 'sessions');
    const options = { dataDir, secret, cookieExpires: MAX_AGE };
    const commit = { ...options, sync: 'commit' };
    const cookies = await createSessions(Session, options, shape, count, progress);
    const sample = findFile(dataDir, '.dbm');
    return {
      dataDir,
      cases: sessionCases(Session, options, shape, cookies, {
        name: "wasm-session 'dbm'",
        extraCycles: { commit: { label: "wasm-session 'dbm': cycle, sync: 'commit' (fdatasync)", options: commit, slow: true } },
      }),
      peek: async (i) => (await Session.open(benchRequest(cookies[i]), new BenchResponse(), options)).get(shape.counter),
      info: [
        `wasm-session 'dbm': options { dataDir, secret, cookieExpires: ${MAX_AGE} } (sync 'none'; one object for every request); a session's file is ${sample ? fs.statSync(sample).size : '?'} bytes.`,
      ],
      async teardown() {},
    };
  },
};
