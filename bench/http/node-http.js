// Helpers for the node:http servers: listen, close, and the session routes
// (see README.md) written once for this project's Session.

import http from 'node:http';
import { express } from '../lib/shapes.js';

/** Listens on host:port; resolves to { close } once listening. */
export function listen(handler, { host, port }) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** The routes of README.md on wasm-session's Session with one options object for the whole server. */
export function sessionHandler(Session, options) {
  const counter = express.counter;
  let initialized = 0;
  return async (req, res) => {
    try {
      const url = req.url;
      const session = await Session.open(req, res, options);
      if (url === '/init') {
        for (const [k, v] of Object.entries(express.make(initialized++))) session.set(k, v);
        session.set(counter, 0);
        await session.save();
        res.end('ok');
        return;
      }
      if (url === '/peek') {
        res.end(String(session.get(counter)));
        return;
      }
      const lock = url === '/lock';
      if (lock) await session.lock();
      session.set(counter, (session.get(counter) ?? 0) + 1);
      await session.save();
      if (lock) await session.unlock();
      res.end(`visits: ${session.get(counter)}`);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err?.message ?? err));
    }
  };
}
