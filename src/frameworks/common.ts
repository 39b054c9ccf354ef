// What the Express middleware and the Fastify plugin share: their options
// (every Session option, plus lock, autoSave and proxy, in camelCase or as
// Myghty's session_-prefixed config), the cookie-path check, and the view of
// the request that tells the Session whether it came over TLS.

import type { IncomingMessage } from 'node:http';
import { optionsFromConfig, type SessionOptions } from '../session/options.js';
import { storeFor, type SessionRequest } from '../session/session.js';

/** What the middleware and the plugin add to the Session options. */
export interface FrameworkOptions<Req = IncomingMessage> extends SessionOptions {
  /**
   * Hold the session's lock() for the whole request (exact read-modify-write
   * across requests and processes), released once its save is done, or when
   * the request fails or the client goes away. `true`, or a function of the
   * request that says whether to lock this one. Default false.
   */
  lock?: boolean | ((req: Req) => boolean);
  /**
   * Save the session before the response headers go out (default true): what
   * changed is written, an unchanged session only gets its access time, a
   * new one without data nothing. With false, call `await session.save()`
   * yourself before writing the response.
   */
  autoSave?: boolean;
  /**
   * For `secure: 'auto'`: whether to trust the X-Forwarded-Proto header of a
   * TLS-terminating proxy. `true`: trust it; `false`: only a TLS socket
   * counts; unset (default): the framework's own verdict where it has one
   * (Express's `req.secure` and Fastify's `request.protocol`, which follow
   * their 'trust proxy' settings), else the socket.
   */
  proxy?: boolean;
}

/**
 * Myghty's configuration as getSession() takes it: `session_`-prefixed
 * snake_case names (session_data_dir, session_secret, ..., and
 * session_lock, session_auto_save, session_proxy), a general `data_dir`,
 * `use_session` (which must be true: it is what the middleware does).
 */
export interface MyghtyConfig {
  [name: `session_${string}`]: unknown;
  data_dir?: string;
  use_session?: true;
}

/** The framework options, validated and split. */
export interface ResolvedFrameworkOptions<Req> {
  /** One frozen object for every request (the Session reuses its validated form). */
  readonly session: SessionOptions;
  readonly lock: (req: Req) => boolean;
  readonly autoSave: boolean;
  readonly proxy: boolean | undefined;
  /** The cookie path: requests outside it get no session. */
  readonly path: string;
  /** secure: 'auto' is asked for (then the TLS view of the request matters). */
  readonly secureAuto: boolean;
}

/** express-session's option names, and what to use instead. */
const EXPRESS_SESSION_NAMES: Record<string, string> = {
  name: 'use key (the cookie name)',
  cookie:
    'use the cookie options at the top level: path, domain, secure, httpOnly, sameSite, and cookieExpires (seconds; cookie.maxAge was milliseconds) instead of cookie.maxAge/expires',
  genid: 'ids are always 128 random bits as 32 hex characters (they name the storage); there is no genid',
  resave: 'not needed: a save writes only the keys that changed, an unchanged session only its access time',
  saveUninitialized: 'not needed: a session without data is never stored and gets no cookie (as saveUninitialized: false)',
  rolling: 'use a number of seconds as cookieExpires: the cookie is then re-sent with a fresh Max-Age on every save',
  store: "use type ('dbm', 'memory') or namespaceClass; to keep express-session with its store API, see wasm-session/express-session",
  unset: 'not needed: end a session with await session.invalidate() (or delete())',
};

/** Myghty-style keys of the framework options (session_ prefix, snake_case). */
const CONFIG_KEYS: Record<string, 'lock' | 'autoSave' | 'proxy'> = { session_lock: 'lock', session_auto_save: 'autoSave', session_proxy: 'proxy' };

function isConfig(options: Record<string, unknown>): boolean {
  for (const name of Object.keys(options)) if (name.startsWith('session_') || name === 'data_dir' || name === 'use_session') return true;
  return false;
}

/**
 * Validates the options once (a bad one throws here, not at the first
 * request) and splits them into the Session's and the framework's.
 * `who` names the caller in error messages.
 */
export function resolveFrameworkOptions<Req>(options: unknown, who: string): ResolvedFrameworkOptions<Req> {
  const given = (options ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new TypeError(`wasm-session: ${who} options must be an object`);
  let session: Record<string, unknown>;
  let own: { lock?: unknown; autoSave?: unknown; proxy?: unknown };
  if (isConfig(given)) {
    // Myghty's config: session_* keys (the rest of the application's config is ignored, as by getSession()).
    const config: Record<string, unknown> = {};
    own = {};
    for (const [name, value] of Object.entries(given)) {
      if (name in CONFIG_KEYS) own[CONFIG_KEYS[name]!] = value;
      else if (name === 'use_session') {
        if (value !== undefined && value !== true)
          throw new TypeError(
            `wasm-session: ${who}: use_session must be true (every request gets its session, which is what ${who} does); to open sessions only where needed, call getSession() there instead`,
          );
      } else config[name] = value;
    }
    session = { ...optionsFromConfig(config) };
  } else {
    const { lock, autoSave, proxy, ...rest } = given;
    own = { lock, autoSave, proxy };
    for (const name of Object.keys(rest)) {
      const hint = EXPRESS_SESSION_NAMES[name];
      if (hint !== undefined) throw new TypeError(`wasm-session: ${who}: ${JSON.stringify(name)} is an express-session option; ${hint}`);
    }
    session = rest;
  }
  // Every Session option is checked now: a typo fails at startup.
  storeFor(session as SessionOptions);

  const lock = own.lock ?? false;
  if (typeof lock !== 'boolean' && typeof lock !== 'function')
    throw new TypeError(`wasm-session: ${who} option lock must be true, false or a function of the request`);
  const autoSave = own.autoSave ?? true;
  if (typeof autoSave !== 'boolean') throw new TypeError(`wasm-session: ${who} option autoSave must be true or false`);
  const proxy = own.proxy;
  if (proxy !== undefined && typeof proxy !== 'boolean') throw new TypeError(`wasm-session: ${who} option proxy must be true or false`);
  const decide =
    typeof lock === 'function'
      ? (req: Req) => {
          const verdict = (lock as (req: Req) => unknown)(req);
          if (typeof verdict !== 'boolean') throw new TypeError(`wasm-session: ${who} option lock: the function must return true or false`);
          return verdict;
        }
      : () => lock;
  return {
    session: Object.freeze(session) as SessionOptions,
    lock: decide,
    autoSave,
    proxy,
    path: typeof session.path === 'string' ? session.path : '/',
    secureAuto: session.secure === 'auto',
  };
}

/** The path of a request URL (no query), as the cookie Path is matched against. */
export function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** RFC 6265 5.1.4 path-match: would the browser send a cookie of `cookiePath` with a request for `requestPath`? */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (cookiePath === '/' || requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charCodeAt(cookiePath.length) === 0x2f;
}

/** The first X-Forwarded-Proto value says https. */
function forwardedHttps(req: IncomingMessage): boolean {
  const header = req.headers['x-forwarded-proto'];
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return false;
  const comma = value.indexOf(',');
  return (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase() === 'https';
}

const ENCRYPTED = Object.freeze({ encrypted: true });

/**
 * The request as the Session sees it: itself, or (for secure: 'auto' when
 * the request came over TLS before a proxy) its headers with a socket that
 * says so. `frameworkSecure` is the framework's verdict (req.secure,
 * request.protocol === 'https'), or undefined.
 */
export function sessionRequest(
  req: IncomingMessage,
  options: Pick<ResolvedFrameworkOptions<unknown>, 'secureAuto' | 'proxy'>,
  frameworkSecure: boolean | undefined,
): SessionRequest {
  if (!options.secureAuto || (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true) return req;
  const tls = options.proxy === true ? forwardedHttps(req) : options.proxy === false ? false : frameworkSecure === true;
  return tls ? ({ headers: req.headers, socket: ENCRYPTED } as unknown as SessionRequest) : req;
}
