// getSession(req, res, config): Myghty's documented session_* names, e.g.
// from an existing config file. A general data_dir alone puts sessions
// under <data_dir>/sessions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getSession } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-getsession-'));
const config = {
  data_dir: dataDir,
  session_key: 'app_sid',
  session_cookie_expires: 3600, // seconds from now (refreshed on every save)
  session_timeout: 1800,
  session_secret: 'config secret',
  app_title: 'not a session option: ignored',
};
const headers = {};
const res = {
  headersSent: false,
  getHeader: (n) => headers[n],
  setHeader: (n, v) => {
    headers[n] = v;
  },
};
const session = await getSession({ headers: {} }, res, config);
session.set('hello', 'world');
await session.save();
console.log(`Set-Cookie: ${headers['set-cookie'][0].replace(/=[0-9a-f]{64}/, '=<signed id>').replace(/Expires=[^;]+/, 'Expires=<in an hour>')}`);
console.log(`file under: ${path.relative(dataDir, path.dirname(path.dirname(path.dirname(session.namespace.file.path))))}`);
console.log(`timeout: ${session.timeout} s`);
fs.rmSync(dataDir, { recursive: true, force: true });
