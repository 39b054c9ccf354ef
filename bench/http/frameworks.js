// Helpers for the framework servers (Express, Fastify): the routes of
// README.md written once per way of holding a session, so every server
// does the same work per request. A server file picks one.

import http from 'node:http';
import { createRequire } from 'node:module';
import { express as shape } from '../lib/shapes.js';
import { MAX_AGE } from '../lib/shapes.js';

const require = createRequire(import.meta.url);
export const expressPkg = () => require('express');
export const fastifyPkg = () => require('fastify');

/** Listens an Express (or any (req, res)) app on host:port; resolves to { close }. */
export function listenApp(app, { host, port }) {
  const server = http.createServer(app);
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

/** Listens a Fastify app; resolves to { close }. */
export async function listenFastify(app, { host, port }) {
  await app.listen({ host, port });
  return { close: () => app.close() };
}

/** The routes on wasm-session's Session (req.session from the middleware or the plugin). */
export function wasmRoutes() {
  let initialized = 0;
  const counter = shape.counter;
  return {
    init(session) {
      for (const [k, v] of Object.entries(shape.make(initialized++))) session.set(k, v);
      session.set(counter, 0);
      return 'ok';
    },
    visit(session) {
      const visits = (session.get(counter) ?? 0) + 1;
      session.set(counter, visits);
      return `visits: ${visits}`;
    },
    peek: (session) => String(session.get(counter)),
  };
}

/** The same routes on an express-session (or @fastify/session) session object: its data as properties. */
export function plainRoutes() {
  let initialized = 0;
  const counter = shape.counter;
  return {
    init(session) {
      // The shape's own `cookie` is express-session's: the session object already has one.
      const { cookie: _cookie, ...data } = shape.make(initialized++);
      Object.assign(session, data);
      session[counter] = 0;
      return 'ok';
    },
    visit(session) {
      session[counter] = (session[counter] ?? 0) + 1;
      return `visits: ${session[counter]}`;
    },
    peek: (session) => String(session[counter]),
  };
}

/**
 * The Express routes over `routes`. /lock is / (a server whose session
 * library can lock does it for /lock through its own option).
 */
export function expressRoutes(app, routes) {
  app.get('/init', (req, res) => res.send(routes.init(req.session)));
  app.get('/peek', (req, res) => res.send(routes.peek(req.session)));
  app.get('/', (req, res) => res.send(routes.visit(req.session)));
  app.get('/lock', (req, res) => res.send(routes.visit(req.session)));
}

export function fastifyRoutes(app, routes) {
  app.get('/init', async (request) => routes.init(request.session));
  app.get('/peek', async (request) => routes.peek(request.session));
  app.get('/', async (request) => routes.visit(request.session));
  app.get('/lock', async (request) => routes.visit(request.session));
}

export const COOKIE_MAX_AGE_MS = MAX_AGE * 1000;
export { MAX_AGE };
