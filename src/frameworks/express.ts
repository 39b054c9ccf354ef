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
  const session = new FrameworkSession(sessionRequest(req, options, typeof req.secure === 'boolean' ? req.secure : undefined), res, options.session);
  await session.load();
  if (lock) await session.lock();
  req.session = session;
  hold(res, {
    state: OPEN,
    held: [],
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
    async before() {
      try {
        // The application's own cookie-sending calls that are still running, then ours.
        const { pending } = session;
        while (pending.size > 0) await Promise.allSettled([...pending]);
        if (options.autoSave) await session.save();
      } finally {
        if (lock) await session.unlock();
      }
    },
    failed: (err) => fail(res, next, err),
  });
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

/**
 * The Session the middleware opens: the same, plus the promises of its
 * cookie-sending methods while they run, so that the response waits for
 * one the application started without awaiting it.
 */
class FrameworkSession extends Session {
  readonly pending = new Set<Promise<unknown>>();

  #track<T>(promise: Promise<T>): Promise<T> {
    const { pending } = this;
    pending.add(promise);
    const settle = () => pending.delete(promise);
    promise.then(settle, settle);
    return promise;
  }

  override save(): Promise<boolean> {
    return this.#track(super.save());
  }

  override regenerateId(): Promise<void> {
    return this.#track(super.regenerateId());
  }

  override invalidate(): Promise<void> {
    return this.#track(super.invalidate());
  }

  override delete(): Promise<void> {
    return this.#track(super.delete());
  }
}

/** A held response: its state, the calls held, the methods wrapped, and what to wait for. */
interface Hold {
  state: number;
  readonly held: Held[];
  readonly writeHead: (...args: never[]) => unknown;
  readonly write: (...args: never[]) => unknown;
  readonly end: (...args: never[]) => unknown;
  readonly flushHeaders: (...args: never[]) => unknown;
  before(): Promise<void>;
  failed(err: unknown): void;
}

const OPEN = 0;
const HOLDING = 1;
const THROUGH = 2;
const HOLD = Symbol('wasm-session hold');

type HeldResponse = ServerResponse & { [HOLD]: Hold };

/**
 * Holds the response's first header-writing call, and every call after it,
 * until `before()` settles; then replays them in order (or, when it failed,
 * drops them and reports the error, so the error handler can answer with
 * the headers still unsent). The wrappers pass straight through after that,
 * and stay (replacing them back would undo wrappers installed after ours).
 * The Session's own wrapper of res.end (storing the access time) is inside
 * ours: after a save it has nothing left to store. The wrappers are the
 * same four functions for every response; each response carries its state.
 */
function hold(res: ServerResponse, state: Hold): void {
  const target = res as HeldResponse;
  target[HOLD] = state;
  target.writeHead = heldWriteHead as never;
  target.write = heldWrite as never;
  target.end = heldEnd as never;
  if (typeof state.flushHeaders === 'function') target.flushHeaders = heldFlushHeaders;
}

function release(h: Hold): void {
  h.state = THROUGH;
  for (const [fn, self, args] of h.held.splice(0)) fn.apply(self, args);
}

function take(res: HeldResponse, h: Hold, fn: (...args: never[]) => unknown, args: unknown[]): void {
  h.held.push([fn as (...args: unknown[]) => unknown, res, args]);
  if (h.state !== OPEN) return;
  h.state = HOLDING;
  h.before().then(
    () => release(h),
    (err: unknown) => {
      h.state = THROUGH;
      h.held.length = 0;
      h.failed(err);
    },
  );
}

function heldWriteHead(this: HeldResponse, ...args: unknown[]): unknown {
  const h = this[HOLD];
  if (h.state === THROUGH) return (h.writeHead as (...a: unknown[]) => unknown).apply(this, args);
  take(this, h, h.writeHead, args);
  return this;
}

function heldWrite(this: HeldResponse, ...args: unknown[]): unknown {
  const h = this[HOLD];
  if (h.state === THROUGH) return (h.write as (...a: unknown[]) => unknown).apply(this, args);
  take(this, h, h.write, args);
  return true; // the chunk is taken, as node says while it buffers
}

function heldEnd(this: HeldResponse, ...args: unknown[]): unknown {
  const h = this[HOLD];
  if (h.state === THROUGH) return (h.end as (...a: unknown[]) => unknown).apply(this, args);
  take(this, h, h.end, args);
  return this;
}

function heldFlushHeaders(this: HeldResponse): void {
  const h = this[HOLD];
  if (h.state === THROUGH) {
    (h.flushHeaders as () => void).call(this);
    return;
  }
  take(this, h, h.flushHeaders, []);
}
