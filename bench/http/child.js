// A benchmark server in a process of its own: node bench/http/child.js
// <server file> with HOST, PORT, DATA_DIR and SECRET in the environment
// (and REDIS_URL for the servers on Redis).
// Stops on SIGTERM (closing the server first).

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/http/child.js <server file>');
  process.exit(2);
}
const server = await import(pathToFileURL(path.resolve(import.meta.dirname, file)).href);
const handle = await server.start({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT),
  dataDir: process.env.DATA_DIR,
  secret: process.env.SECRET,
  redisUrl: process.env.REDIS_URL,
});
process.once('SIGTERM', () => {
  handle.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
