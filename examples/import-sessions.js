// Switching stores without logging anyone out: the sessions an
// express-session app kept with session-file-store are copied into a
// WasmSessionStore's data directory under the same ids, so the cookies the
// browsers hold go on working. `npx wasm-session import --from
// session-file-store SRC --to DATA_DIR` runs the same code; --from
// connect-redis URL reads connect-redis's keys instead.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { WasmSessionStore } from 'wasm-session/express-session';
import { importSessions, sessionFileStoreSource } from 'wasm-session/import';

const require = createRequire(import.meta.url);
const session = require('express-session');
const FileStore = require('session-file-store')(session);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'example-import-'));
const oldDir = path.join(tmp, 'sessions'); // session-file-store's `path`
const dataDir = path.join(tmp, 'data'); // the new store's

// What the old store holds: two users logged in, one of them long gone.
const old = new FileStore({ path: oldDir, ttl: 3600, logFn: () => {} });
const set = (sid, data) => new Promise((resolve, reject) => old.set(sid, data, (err) => (err ? reject(err) : resolve())));
const cookie = (ms) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });
await set('ann-sid', { cookie: cookie(3_600_000), user: 'ann' });
await set('bob-sid', { cookie: cookie(-60_000), user: 'bob' }); // its cookie expired a minute ago

const source = sessionFileStoreSource(oldDir, { ttl: 3600 });
const dry = await importSessions(source, { dataDir }, { dryRun: true });
console.log(`dry run: ${dry.imported} to import, ${dry.expired} expired`);
const result = await importSessions(source, { dataDir });
console.log(`imported ${result.imported}, skipped ${result.expired} expired, ${result.failed} failed`);

// The app now runs express-session with `store: new WasmSessionStore({ dataDir })`: ann's cookie still works.
const store = new WasmSessionStore({ dataDir });
const ann = await store.get('ann-sid');
console.log(`ann-sid: user ${ann.user}; bob-sid: ${await store.get('bob-sid')}`);
fs.rmSync(tmp, { recursive: true, force: true });
