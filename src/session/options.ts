// Session options: the public option type, eager validation with errors that
// name the option, defaults, and the Myghty-style snake_case config accepted
// by getSession().

import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import nodePath from 'node:path';
import type { Writable } from 'node:stream';
import type { IdSigner } from '../crypto.js';
import { checkCookieAttributes } from './cookies.js';
import { signerFor } from './ids.js';
import type { NamespaceClass, StoreOptions } from './namespace.js';
import { normalizeRedisOptions, type RedisOptions } from './stores/redis-options.js';
import { resolveDbmModule, type DbmModuleOption } from './dbm-module.js';

export type SessionType = 'dbm' | 'file' | 'memory' | 'redis';
export type SameSite = 'lax' | 'strict' | 'none' | false;

/** Options of Session.open() / new Session(). Every one is optional except `dataDir` for the file store. */
export interface SessionOptions {
  /** Built-in store: 'dbm' (default; alias 'file'), 'memory' or 'redis'. */
  type?: SessionType;
  /** A user store class implementing NamespaceManager (instead of `type`). */
  namespaceClass?: NamespaceClass;
  /** Passed through to the store as `options.namespaceOptions` (for custom stores). */
  namespaceOptions?: Record<string, unknown>;
  /**
   * The dbm store's engine: a module with wasm-session/dbm's open() API (see
   * dbm-module.ts), or its package name; default the built-in one.
   * Myghty's session_dbmmodule.
   */
  dbmModule?: DbmModuleOption;
  /** Directory of the session files (type 'dbm'); created with mode 0700 when missing. */
  dataDir?: string;
  /**
   * UNSAFE. Accept a dataDir that is not owned by this process's user or
   * that other users can write to (a shared or world-writable directory):
   * they could then read and plant session files.
   */
  allowUnsafeDataDir?: boolean;
  /**
   * The dbm store: `openFiles` idle session files kept open across requests
   * (least recently used closed first), so a session used again soon skips
   * open(2) and close(2). Default: 1000, or a quarter of the process's file
   * descriptor limit when that is less; 0 turns it off.
   */
  dbm?: { openFiles?: number };
  /** The memory store (type 'memory'): `maxEntries` bounds the sessions kept (least recently used go first; default unbounded). */
  memory?: { maxEntries?: number };
  /** The Redis store (type 'redis'): `{ url }` or `{ client }`, and `prefix`, `ttl`, `lockLease`, `commandTimeout` (see RedisOptions). */
  redis?: RedisOptions;
  /** Largest session, in bytes of encoded keys and values (default 1 MiB): larger is refused at save() and corrupt at load. */
  maxSessionBytes?: number;
  /** A session id to use instead of the cookie's (e.g. from the URL); signed when `secret` is set. */
  id?: string;
  /** Cookie name (default 'myghty_session_id'). */
  key?: string;
  /** Sign ids with HMAC-MD5; an array signs with the first and accepts all (rotation). */
  secret?: string | readonly string[];
  /** Idle timeout in seconds: a session not loaded for longer is invalidated on load. */
  timeout?: number;
  /** Absolute lifetime in seconds since creation: an older session is invalidated on load. */
  maxLifetime?: number;
  /**
   * The touch interval, in seconds: a request that changes nothing records
   * its access only when the stored access time is at least this old
   * (connect-mongo's touchAfter). Default: 60, or a tenth of `timeout` when
   * that is less; 0 records every access. `timeout` then acts up to this
   * much early.
   */
  touchAfter?: number;
  /** true (default): no Expires; false: far future; seconds from now (refreshed on every save); or a Date. */
  cookieExpires?: boolean | number | Date;
  /** Cookie Path (default '/'). */
  path?: string;
  /** Cookie Domain (default: none, host-only). */
  domain?: string;
  /** Cookie Secure: true, false (default) or 'auto' (true when the request came over TLS). */
  secure?: boolean | 'auto';
  /** Cookie HttpOnly (default true). */
  httpOnly?: boolean;
  /** Cookie SameSite: 'lax' (default), 'strict', 'none' (needs secure) or false (omitted). */
  sameSite?: SameSite;
  /** Read and write the id in cookies (default true); when false the id comes from `id`. */
  useCookies?: boolean;
  /** On a corrupt stored session, start a clean one instead of throwing SessionCorruptError. */
  invalidateCorrupt?: boolean;
  /** Milliseconds to wait for a session's lock before LockTimeoutError (default 10000). */
  lockTimeout?: number;
  /** Durability of the dbm files: 'none' (default; survives a crash of the process) or 'commit' (fdatasync, survives power loss). */
  sync?: 'none' | 'commit';
  /** Debug log: a writable stream, or a path that lines are appended to. */
  logFile?: Pick<Writable, 'write'> | string;
  /** The clock, in ms since the epoch (default Date.now). For tests. */
  now?: () => number;
}

/** Validated options with defaults applied; what stores are constructed with. */
export interface NormalizedSessionOptions {
  readonly type: 'dbm' | 'memory' | 'redis' | 'custom';
  readonly namespaceClass: NamespaceClass;
  readonly namespaceOptions: Readonly<Record<string, unknown>>;
  /** Absolute, or '' for stores that keep no files. */
  readonly dataDir: string;
  readonly allowUnsafeDataDir: boolean;
  readonly maxSessionBytes: number;
  readonly id: string | undefined;
  readonly key: string;
  readonly secret: string | readonly string[] | undefined;
  readonly signer: IdSigner | null;
  readonly timeout: number | null;
  readonly maxLifetime: number | null;
  readonly touchAfter: number;
  readonly cookieExpires: boolean | number | Date;
  readonly path: string;
  readonly domain: string | undefined;
  readonly secure: boolean | 'auto';
  readonly httpOnly: boolean;
  readonly sameSite: SameSite;
  readonly useCookies: boolean;
  readonly invalidateCorrupt: boolean;
  readonly lockTimeout: number;
  readonly sync: 'none' | 'commit';
  readonly log: ((line: string) => void) | null;
  readonly now: () => number;
  /** What the store is constructed with: the store's share of these options, without secrets. */
  readonly store: StoreOptions;
}

/** The built-in stores, by type. */
export type BuiltInType = 'dbm' | 'memory' | 'redis';

export const DEFAULT_KEY = 'myghty_session_id';
export const DEFAULT_LOCK_TIMEOUT = 10_000;
/**
 * The default touch interval, in seconds (capped at a tenth of `timeout`):
 * an active user's session is written at most once a minute by requests
 * that only read it, instead of on every request, and an idle timeout of
 * 30 minutes still holds to within 3 minutes.
 */
export const DEFAULT_TOUCH_AFTER = 60;
/** 1 MiB: far above any ordinary session (a cookie-based one is limited to 4 KiB), far below what stalls the event loop. */
export const DEFAULT_MAX_SESSION_BYTES = 1024 * 1024;

const KNOWN = new Set<string>([
  'type',
  'namespaceClass',
  'namespaceOptions',
  'dataDir',
  'allowUnsafeDataDir',
  'maxSessionBytes',
  'memory',
  'redis',
  'dbm',
  'id',
  'key',
  'secret',
  'timeout',
  'maxLifetime',
  'touchAfter',
  'dbmModule',
  'cookieExpires',
  'path',
  'domain',
  'secure',
  'httpOnly',
  'sameSite',
  'useCookies',
  'invalidateCorrupt',
  'lockTimeout',
  'sync',
  'logFile',
  'now',
]);

/** RFC 6265 cookie-name: an RFC 7230 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Attribute values must not break the Set-Cookie line. */
const ATTRIBUTE_VALUE = /^[\u0021-\u003a\u003c-\u007e]+$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}

function fail(option: string, expected: string, got: unknown, Kind: typeof TypeError | typeof RangeError = TypeError): never {
  throw new Kind(`wasm-session: option ${option} must be ${expected}, got ${describe(got)}`);
}

function optionalBoolean(o: SessionOptions, name: keyof SessionOptions, fallback: boolean): boolean {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') fail(name, 'true or false', v);
  return v;
}

function optionalSeconds(o: SessionOptions, name: 'timeout' | 'maxLifetime'): number | null {
  const v = o[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') fail(name, 'a number of seconds', v);
  if (!(v > 0) || !Number.isFinite(v)) fail(name, 'a finite number of seconds > 0', v, RangeError);
  return v;
}

/**
 * Validates `options` and applies the defaults. Throws TypeError or
 * RangeError naming the first bad option; unknown names are rejected too, so
 * a typo does not silently fall back to a default.
 */
export function normalizeOptions(options: SessionOptions | undefined, stores: Record<BuiltInType, NamespaceClass>): NormalizedSessionOptions {
  if (options === undefined || options === null || typeof options !== 'object') return validate(options, stores);
  // Servers pass the same options object on every request: reuse its
  // normalized form while every property still holds the same value.
  // The snapshot holds copies of arrays, Dates and plain objects, so a
  // change made inside one (a secret array rotated in place) is seen too.
  const cached = normalizedCache.get(options);
  if (cached !== undefined && cached.stores === stores && sameProperties(options, cached.snapshot)) return cached.normalized;
  const normalized = validate(options, stores);
  normalizedCache.set(options, { snapshot: snapshotOf(options), stores, normalized });
  return normalized;
}

/** A property's value as validated: the value, plus a copy of what is inside it when it is mutable. */
interface PropertySnapshot {
  readonly key: string;
  readonly value: unknown;
  readonly inside: readonly unknown[] | null;
}

const normalizedCache = new WeakMap<object, { snapshot: PropertySnapshot[]; stores: object; normalized: NormalizedSessionOptions }>();

/** What is inside a mutable option value (array items, a Date's time, a plain object's entries), or null. */
function insideOf(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return [...value];
  if (value instanceof Date) return [value.getTime()];
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.entries(value).flat();
  return null;
}

function snapshotOf(options: object): PropertySnapshot[] {
  return Object.entries(options).map(([key, value]) => ({ key, value, inside: insideOf(value) }));
}

function sameProperties(options: object, snapshot: readonly PropertySnapshot[]): boolean {
  const keys = Object.keys(options);
  if (keys.length !== snapshot.length) return false;
  for (let i = 0; i < snapshot.length; i++) {
    const { key, value, inside } = snapshot[i]!;
    const current = (options as Record<string, unknown>)[key];
    if (keys[i] !== key || current !== value) return false;
    if (inside !== null) {
      const now = insideOf(current)!;
      if (now.length !== inside.length) return false;
      for (let j = 0; j < now.length; j++) if (now[j] !== inside[j]) return false;
    }
  }
  return true;
}

function validate(options: SessionOptions | undefined, stores: Record<BuiltInType, NamespaceClass>): NormalizedSessionOptions {
  const o: SessionOptions = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('options', 'an object', o);
  for (const name of Object.keys(o)) {
    if (!KNOWN.has(name)) {
      const hint = name.includes('_') ? ' (snake_case names like session_data_dir are accepted by getSession(), not Session.open())' : '';
      throw new TypeError(`wasm-session: unknown option ${JSON.stringify(name)}${hint}; known options: ${[...KNOWN].join(', ')}`);
    }
  }

  let type: NormalizedSessionOptions['type'];
  let namespaceClass: NamespaceClass;
  if (o.namespaceClass !== undefined) {
    if (o.type !== undefined) throw new TypeError('wasm-session: give either option type or option namespaceClass, not both');
    checkNamespaceClass(o.namespaceClass);
    type = 'custom';
    namespaceClass = o.namespaceClass;
  } else {
    const t = o.type ?? 'dbm';
    if (t !== 'dbm' && t !== 'file' && t !== 'memory' && t !== 'redis') fail('type', "'dbm', 'file', 'memory' or 'redis'", t);
    type = t === 'memory' || t === 'redis' ? t : 'dbm';
    namespaceClass = stores[type];
  }
  const givenNamespaceOptions = o.namespaceOptions ?? {};
  if (typeof givenNamespaceOptions !== 'object' || givenNamespaceOptions === null) fail('namespaceOptions', 'an object', givenNamespaceOptions);
  const namespaceOptions = Object.freeze({ ...givenNamespaceOptions });

  let dataDir = '';
  if (o.dataDir !== undefined) {
    if (typeof o.dataDir !== 'string' || o.dataDir.length === 0 || o.dataDir.includes('\0')) fail('dataDir', 'a non-empty path without NUL', o.dataDir);
    dataDir = nodePath.resolve(o.dataDir);
  } else if (type === 'dbm') {
    throw new TypeError("wasm-session: option dataDir is required for type 'dbm' (the directory where session files go)");
  }

  if (o.id !== undefined && typeof o.id !== 'string') fail('id', 'a string', o.id);
  const key = o.key ?? DEFAULT_KEY;
  if (typeof key !== 'string' || !TOKEN.test(key)) fail('key', "a cookie name (letters, digits and !#$%&'*+-.^_`|~)", key);

  let signer: IdSigner | null = null;
  if (o.secret !== undefined) {
    const list = typeof o.secret === 'string' ? [o.secret] : o.secret;
    if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
      fail('secret', 'a non-empty string or a non-empty array of non-empty strings', o.secret);
    }
    signer = signerFor(list);
  }

  const timeout = optionalSeconds(o, 'timeout');
  const maxLifetime = optionalSeconds(o, 'maxLifetime');
  const touchAfter = o.touchAfter ?? Math.min(DEFAULT_TOUCH_AFTER, timeout === null ? DEFAULT_TOUCH_AFTER : timeout / 10);
  if (typeof touchAfter !== 'number') fail('touchAfter', 'a number of seconds', touchAfter);
  if (!(touchAfter >= 0) || !Number.isFinite(touchAfter)) fail('touchAfter', 'a finite number of seconds >= 0', touchAfter, RangeError);
  if (timeout !== null && touchAfter > timeout) {
    throw new RangeError(`wasm-session: option touchAfter (${touchAfter} s) must not exceed timeout (${timeout} s): sessions would time out while in use`);
  }

  const cookieExpires = o.cookieExpires instanceof Date ? new Date(o.cookieExpires.getTime()) : (o.cookieExpires ?? true);
  if (typeof cookieExpires === 'number') {
    if (!(cookieExpires >= 0) || !Number.isFinite(cookieExpires)) fail('cookieExpires', 'a finite number of seconds >= 0', cookieExpires, RangeError);
  } else if (cookieExpires instanceof Date) {
    if (Number.isNaN(cookieExpires.getTime())) fail('cookieExpires', 'a valid Date', 'Invalid Date', RangeError);
  } else if (typeof cookieExpires !== 'boolean') {
    fail('cookieExpires', 'true, false, a number of seconds or a Date', cookieExpires);
  }

  const path = o.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/') || !ATTRIBUTE_VALUE.test(path))
    fail('path', "a cookie path starting with '/' (no ';', spaces or control characters)", path);
  const domain = o.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !ATTRIBUTE_VALUE.test(domain)))
    fail('domain', "a domain name (no ';', spaces or control characters)", domain);
  const secure = o.secure ?? false;
  if (secure !== true && secure !== false && secure !== 'auto') fail('secure', "true, false or 'auto'", secure);
  const httpOnly = optionalBoolean(o, 'httpOnly', true);
  const sameSite = o.sameSite ?? 'lax';
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none' && sameSite !== false) fail('sameSite', "'lax', 'strict', 'none' or false", sameSite);
  if (sameSite === 'none' && secure === false) {
    throw new TypeError("wasm-session: option sameSite 'none' needs secure: true or 'auto' (browsers drop SameSite=None cookies that are not Secure)");
  }

  const useCookies = optionalBoolean(o, 'useCookies', true);
  const invalidateCorrupt = optionalBoolean(o, 'invalidateCorrupt', false);
  const lockTimeout = o.lockTimeout ?? DEFAULT_LOCK_TIMEOUT;
  if (typeof lockTimeout !== 'number') fail('lockTimeout', 'a number of milliseconds', lockTimeout);
  if (!(lockTimeout >= 0) || !Number.isFinite(lockTimeout)) fail('lockTimeout', 'a finite number of milliseconds >= 0', lockTimeout, RangeError);
  const sync = o.sync ?? 'none';
  if (sync !== 'none' && sync !== 'commit') fail('sync', "'none' or 'commit'", sync);
  const now = o.now ?? Date.now;
  if (typeof now !== 'function') fail('now', 'a function returning milliseconds since the epoch', now);
  const allowUnsafeDataDir = optionalBoolean(o, 'allowUnsafeDataDir', false);
  const maxSessionBytes = o.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES;
  if (typeof maxSessionBytes !== 'number') fail('maxSessionBytes', 'a number of bytes', maxSessionBytes);
  if (!Number.isSafeInteger(maxSessionBytes) || maxSessionBytes < 1) fail('maxSessionBytes', 'a whole number of bytes >= 1', maxSessionBytes, RangeError);
  const dbm = o.dbm ?? {};
  if (typeof dbm !== 'object' || dbm === null || Array.isArray(dbm)) fail('dbm', 'an object ({ openFiles })', dbm);
  for (const name of Object.keys(dbm)) if (name !== 'openFiles') throw new TypeError(`wasm-session: unknown option dbm.${name}; known: openFiles`);
  const openFiles = dbm.openFiles ?? defaultOpenFiles();
  if (typeof openFiles !== 'number' || !Number.isSafeInteger(openFiles) || openFiles < 0) {
    fail('dbm.openFiles', 'a whole number >= 0', openFiles, typeof openFiles === 'number' ? RangeError : TypeError);
  }
  const memory = o.memory ?? {};
  if (typeof memory !== 'object' || memory === null || Array.isArray(memory)) fail('memory', 'an object ({ maxEntries })', memory);
  for (const name of Object.keys(memory)) if (name !== 'maxEntries') throw new TypeError(`wasm-session: unknown option memory.${name}; known: maxEntries`);
  const maxEntries = memory.maxEntries ?? Number.POSITIVE_INFINITY;
  if (typeof maxEntries !== 'number' || !(maxEntries >= 1) || (maxEntries !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(maxEntries))) {
    fail('memory.maxEntries', 'a whole number >= 1 (or Infinity)', maxEntries, typeof maxEntries === 'number' ? RangeError : TypeError);
  }

  const redis = normalizeRedisOptions(o.redis);
  if (type === 'redis' && redis === null) {
    throw new TypeError("wasm-session: option redis is required for type 'redis': { url: 'redis://host:6379' } or { client } (a connected node-redis client)");
  }

  try {
    checkCookieAttributes(key, {
      path,
      domain,
      secure: secure !== false,
      httpOnly,
      sameSite,
      expires: cookieExpires instanceof Date ? cookieExpires : undefined,
      maxAge: undefined,
    });
  } catch (err) {
    throw new TypeError(`wasm-session: the cookie options do not make a valid Set-Cookie header: ${(err as Error).message}`, { cause: err });
  }

  return {
    type,
    namespaceClass,
    namespaceOptions,
    dataDir,
    id: o.id,
    key,
    // Copies of what was validated: a later change to the caller's array is a new configuration, not a silent one.
    secret: typeof o.secret === 'string' || o.secret === undefined ? o.secret : Object.freeze([...o.secret]),
    signer,
    timeout,
    maxLifetime,
    touchAfter,
    cookieExpires,
    path,
    domain,
    secure,
    httpOnly,
    sameSite,
    useCookies,
    invalidateCorrupt,
    lockTimeout,
    sync,
    log: logWriter(o.logFile),
    now,
    allowUnsafeDataDir,
    maxSessionBytes,
    store: Object.freeze({
      dataDir,
      allowUnsafeDataDir,
      key,
      cookiePath: path,
      cookieDomain: domain,
      timeout,
      maxLifetime,
      maxSessionBytes,
      lockTimeout,
      sync,
      now,
      memory: Object.freeze({ maxEntries }),
      redis,
      dbm: Object.freeze({ openFiles }),
      namespaceOptions,
      dbmModule: o.dbmModule === undefined ? null : resolveDbmModule(o.dbmModule),
    }),
  };
}

/**
 * The StoreOptions a Session with these options gives its store: for code
 * that works with a store directly (tests of a store, maintenance tools).
 */
export function storeOptionsFrom(options: SessionOptions, stores: Record<BuiltInType, NamespaceClass>): StoreOptions {
  return normalizeOptions(options, stores).store;
}

const REQUIRED_METHODS = ['load', 'save', 'remove'] as const;

/** A store class must at least load, save and remove; say which methods are missing. */
export function checkNamespaceClass(cls: unknown): asserts cls is NamespaceClass {
  if (typeof cls !== 'function' || typeof (cls as { prototype?: unknown }).prototype !== 'object') {
    fail('namespaceClass', 'a class implementing NamespaceManager', cls);
  }
  const proto = (cls as { prototype: Record<string, unknown> }).prototype;
  const missing = REQUIRED_METHODS.filter((m) => typeof proto[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `wasm-session: option namespaceClass ${(cls as { name?: string }).name || '(anonymous class)'} lacks the required NamespaceManager method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
  for (const m of ['touch', 'lock', 'unlock', 'close']) {
    if (proto[m] !== undefined && typeof proto[m] !== 'function')
      throw new TypeError(`wasm-session: option namespaceClass: ${m} must be a method when present`);
  }
  if ((typeof proto.lock === 'function') !== (typeof proto.unlock === 'function')) {
    throw new TypeError('wasm-session: option namespaceClass must implement both lock() and unlock(), or neither');
  }
}

let openFilesDefault: number | undefined;

/**
 * 1000 idle session files, but never more than a quarter of the descriptors
 * this process may open (read from /proc/self/limits where there is one;
 * 256 where the limit cannot be read), so the cache cannot starve sockets.
 */
export function defaultOpenFiles(): number {
  if (openFilesDefault !== undefined) return openFilesDefault;
  let limit = 1024;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line === undefined ? Number.NaN : Number(line.slice('Max open files'.length).trim().split(/\s+/)[0]);
    if (Number.isFinite(soft) && soft > 0) limit = soft;
  } catch {
    // No /proc: assume the common default of 1024.
  }
  openFilesDefault = Math.max(0, Math.min(1000, Math.floor(limit / 4)));
  return openFilesDefault;
}

/** One append stream per log file for the whole process: lines are written asynchronously, never on the request path. */
const logStreams = new Map<string, WriteStream>();

function logStreamFor(file: string): WriteStream {
  let stream = logStreams.get(file);
  if (stream === undefined) {
    stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => {
      // A debug log must not take the server down: say it once, stop using it.
      logStreams.delete(file);
      process.emitWarning(`wasm-session: cannot write the session log ${file}: ${err.message}`);
    });
    logStreams.set(file, stream);
  }
  return stream;
}

function logWriter(logFile: SessionOptions['logFile']): ((line: string) => void) | null {
  if (logFile === undefined || logFile === null) return null;
  if (typeof logFile === 'string') {
    if (logFile.length === 0 || logFile.includes('\0')) fail('logFile', 'a writable stream or a non-empty path', logFile);
    const stream = logStreamFor(nodePath.resolve(logFile));
    return (line) => void stream.write(`${line}\n`);
  }
  if (typeof logFile === 'object' && typeof (logFile as { write?: unknown }).write === 'function') {
    return (line) => void logFile.write(`${line}\n`);
  }
  return fail('logFile', 'a writable stream or a path', logFile);
}

/** Myghty's names (session_ prefix stripped) that are not just camelCase of ours. */
const SNAKE_ALIASES: Record<string, keyof SessionOptions> = {
  dbmmodule: 'dbmModule',
  cookie_path: 'path',
  cookie_domain: 'domain',
  cookie_secure: 'secure',
  cookie_http_only: 'httpOnly',
  cookie_same_site: 'sameSite',
};

function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Myghty-style config to SessionOptions: `session_`-prefixed snake_case names
 * lose the prefix and become camelCase (session_data_dir -> dataDir); a
 * general `data_dir` alone puts sessions under `<data_dir>/sessions`. Other
 * keys belong to the rest of the application and are ignored; an unknown
 * `session_` name is an error.
 */
export function optionsFromConfig(config: Record<string, unknown> | undefined): SessionOptions {
  if (config === undefined) return {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('config', 'an object', config);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (!name.startsWith('session_')) continue;
    const bare = name.slice('session_'.length);
    const option = SNAKE_ALIASES[bare] ?? camel(bare);
    if (!KNOWN.has(option)) {
      throw new TypeError(
        `wasm-session: unknown session option ${JSON.stringify(name)}; known: ${[...KNOWN].map((k) => `session_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`).join(', ')}`,
      );
    }
    if (option in out) throw new TypeError(`wasm-session: session option ${JSON.stringify(name)} is given twice (under two names)`);
    out[option] = value;
  }
  if (out.dataDir === undefined && config.data_dir !== undefined) {
    if (typeof config.data_dir !== 'string' || config.data_dir.length === 0) fail('data_dir', 'a non-empty path', config.data_dir);
    out.dataDir = nodePath.join(config.data_dir, 'sessions');
  }
  return out as SessionOptions;
}
