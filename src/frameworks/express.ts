// wasm-session/express: the session middleware for Express 4, Express 5 and
// Connect (any framework with (req, res, next) middleware over node:http).
//
// Each request gets `req.session`, the opened Session. Its save completes
// before the response headers leave: the first writeHead(), write(), end()
// or flushHeaders() of the response is held (with every call after it, in
// order) until the save settles, so a redirect followed at once by another
// request always sees what the first one stored, and the cookie a save
// sends is in the headers. A failed save goes to next(err) (Express and
// Connect then answer 500), never a hung response.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from '../session/session.js';
import {
  pathMatches,
  pathOf,
  resolveFrameworkOptions,
  sessionRequest,
  type FrameworkOptions,
  type MyghtyConfig,
  type ResolvedFrameworkOptions,
} from './common.js';

export type { FrameworkOptions, MyghtyConfig } from './common.js';

declare global {
  namespace Express {
    interface Request {
      /** The request's session, opened by wasm-session/express. */
      session: Session;
    }
  }
}

/** Options of sessionMiddleware(): every Session option, plus lock, autoSave and proxy. */
export type SessionMiddlewareOptions = FrameworkOptions<IncomingMessage>;

/** A (req, res, next) middleware, as Express and Connect take it. */
export type SessionMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

type Held = [fn: (...args: unknown[]) => unknown, self: unknown, args: unknown[]];
type Writer = 'writeHead' | 'write' | 'end' | 'flushHeaders';
const WRITERS: readonly Writer[] = ['writeHead', 'write', 'end', 'flushHeaders'];

/** Session methods whose promise may send a cookie: a response waits for those still running. */
const COOKIE_METHODS = ['save', 'regenerateId', 'invalidate', 'delete'] as const;

/**
 * The session middleware: `app.use(sessionMiddleware({ dataDir: './sessions', secret }))`.
 * Options are validated now. Myghty's config (`session_data_dir`, ...,
 * `session_lock`, `session_auto_save`, `session_proxy`, `use_session`) is
 * accepted as by getSession().
 */
export function sessionMiddleware(options?: SessionMiddlewareOptions): SessionMiddleware;
export function sessionMiddleware(config: MyghtyConfig): SessionMiddleware;
export function sessionMiddleware(options?: SessionMiddlewareOptions | MyghtyConfig): SessionMiddleware {
  const resolved = resolveFrameworkOptions<IncomingMessage>(options, 'sessionMiddleware');
  return function wasmSession(req, res, next) {
    const request = req as IncomingMessage & { session?: unknown; originalUrl?: string; secure?: unknown };
    // Opened by an earlier middleware (this one mounted twice, another session library): left alone.
    if (request.session != null || !pathMatches(pathOf(request.originalUrl ?? req.url), resolved.path)) {
      next?.();
      return;
    }
    open(request, res, resolved, next).catch((err: unknown) => fail(res, next, err));
  };
}

export default sessionMiddleware;

async function open(
  req: IncomingMessage & { session?: unknown; secure?: unknown },
  res: ServerResponse,
  options: ResolvedFrameworkOptions<IncomingMessage>,
  next: ((err?: unknown) => void) | undefined,
): Promise<void> {
  const lock = options.lock(req);
  const session = await Session.open(sessionRequest(req, options, typeof req.secure === 'boolean' ? req.secure : undefined), res, options.session);
  const pending = trackCookieWork(session);
  if (lock) await session.lock();
  req.session = session;
  holdHeaders(
    res,
    async () => {
      try {
        // The application's own cookie-sending calls that are still running, then ours.
        while (pending.size > 0) await Promise.allSettled([...pending]);
        if (options.autoSave) await session.save();
      } finally {
        if (lock) await session.unlock();
      }
    },
    (err) => fail(res, next, err),
  );
  next?.();
}

/** A failed open or save: to the framework's error handling, or a plain 500 without one. */
function fail(res: ServerResponse, next: ((err?: unknown) => void) | undefined, err: unknown): void {
  if (next !== undefined) {
    next(err);
    return;
  }
  if (!res.headersSent) res.statusCode = 500;
  res.end();
}

/** Remembers the promises of the session's cookie-sending methods while they run. */
function trackCookieWork(session: Session): Set<Promise<unknown>> {
  const pending = new Set<Promise<unknown>>();
  for (const name of COOKIE_METHODS) {
    const method = session[name] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(session, name, {
      configurable: true,
      writable: true,
      value(this: Session, ...args: unknown[]) {
        const promise = method.apply(this, args);
        pending.add(promise);
        const settle = () => pending.delete(promise);
        promise.then(settle, settle);
        return promise;
      },
    });
  }
  return pending;
}

/**
 * Holds the response's first header-writing call, and every call after it,
 * until `before()` settles; then replays them in order (or, when it failed,
 * drops them and reports the error, so the error handler can answer with
 * the headers still unsent). The wrappers pass straight through after that,
 * and stay (replacing them back would undo wrappers installed after ours).
 * The Session's own wrapper of res.end (storing the access time) is inside
 * ours: after a save it has nothing left to store.
 */
function holdHeaders(res: ServerResponse, before: () => Promise<void>, failed: (err: unknown) => void): void {
  const target = res as unknown as Record<Writer, (...args: unknown[]) => unknown>;
  let state: 'open' | 'holding' | 'through' = 'open';
  const held: Held[] = [];
  const release = () => {
    state = 'through';
    for (const [fn, self, args] of held.splice(0)) fn.apply(self, args);
  };
  const drop = (err: unknown) => {
    state = 'through';
    held.length = 0;
    failed(err);
  };
  for (const name of WRITERS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (state === 'through') return original.apply(this, args);
      held.push([original, this, args]);
      if (state === 'open') {
        state = 'holding';
        before().then(release, drop);
      }
      // What node returns: write() true (the chunk is taken), the others the response.
      return name === 'write' ? true : name === 'flushHeaders' ? undefined : this;
    };
  }
}
