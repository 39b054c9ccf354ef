// The Redis store's option (`redis: { ... }` of the session options): its
// types, defaults and eager validation. Kept apart from the store itself so
// that validating options never loads the Redis client library.

/**
 * What the store needs of a node-redis client (`createClient()`) or cluster
 * client (`createCluster()`): it sends raw commands and scripts through
 * `sendCommand`, and reads `isOpen`/`isReady`. A client the application
 * passes in is its own: the store never connects or closes it.
 */
export interface RedisClientLike {
  // biome-ignore lint/suspicious/noExplicitAny: node-redis's client and cluster client have different sendCommand signatures.
  sendCommand(...args: any[]): Promise<unknown>;
  readonly isOpen: boolean;
  readonly isReady?: boolean;
}

/** The `redis` session option. Give `url` or `client`, not both. */
export interface RedisOptions {
  /**
   * `redis://[[user][:password]@]host[:port][/db]` (or `rediss://` for TLS)
   * of one server, or an array of such URLs of a cluster's nodes (the store
   * then makes a cluster client). One connection per URL (per array) is
   * shared by the whole process, made on first use; closeRedisConnections()
   * closes them.
   */
  url?: string | readonly string[];
  /** A connected node-redis client or cluster client the application already has (and closes itself). */
  client?: RedisClientLike;
  /** Prefix of every key (default 'wasm-session:'): different applications on one Redis use different prefixes. No '{' or '}'. */
  prefix?: string;
  /** Seconds a session without `timeout` lives idle before Redis drops it (default 1209600: 14 days). */
  ttl?: number;
  /** Milliseconds a lock() lives without renewal (default 10000); the holder renews it every third of that. */
  lockLease?: number;
  /** Milliseconds one command may take before the operation fails with SessionStoreUnavailableError (default 2000). */
  commandTimeout?: number;
}

/** The validated `redis` option, as the store gets it in StoreOptions.redis. */
export interface RedisSettings {
  /** One server's URL, the cluster nodes' URLs, or null when `client` is given. */
  readonly url: string | readonly string[] | null;
  readonly client: RedisClientLike | null;
  readonly prefix: string;
  /** Seconds. */
  readonly ttl: number;
  /** Milliseconds. */
  readonly lockLease: number;
  /** Milliseconds. */
  readonly commandTimeout: number;
}

export const DEFAULT_REDIS_PREFIX = 'wasm-session:';
/** 14 days, in seconds: what a session without `timeout` lives idle in Redis. */
export const DEFAULT_REDIS_TTL = 14 * 24 * 3600;
export const DEFAULT_REDIS_LOCK_LEASE = 10_000;
export const DEFAULT_REDIS_COMMAND_TIMEOUT = 2000;

const NAMES = ['url', 'client', 'prefix', 'ttl', 'lockLease', 'commandTimeout'];
const URL_SCHEME = /^rediss?:\/\//;

function bad(name: string, expected: string, got: unknown, Kind: typeof TypeError | typeof RangeError = TypeError): never {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}…` : got) : got === null ? 'null' : typeof got;
  throw new Kind(`wasm-session: option redis${name ? `.${name}` : ''} must be ${expected}, got ${shown}`);
}

function positive(value: unknown, name: string, expected: string, min: number, integer: boolean): number {
  if (typeof value !== 'number') bad(name, expected, value);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) bad(name, expected, String(value), RangeError);
  return value;
}

/** Validates the `redis` option (undefined: not given). Throws TypeError or RangeError naming the field. */
export function normalizeRedisOptions(given: unknown): RedisSettings | null {
  if (given === undefined || given === null) return null;
  if (typeof given !== 'object' || Array.isArray(given)) bad('', 'an object ({ url } or { client })', given);
  const o = given as RedisOptions;
  for (const name of Object.keys(o)) {
    if (!NAMES.includes(name)) throw new TypeError(`wasm-session: unknown option redis.${name}; known: ${NAMES.join(', ')}`);
  }
  if ((o.url === undefined) === (o.client === undefined)) {
    throw new TypeError(
      'wasm-session: option redis needs exactly one of url (a redis:// URL, or an array of cluster node URLs) and client (a node-redis client)',
    );
  }
  let url: string | readonly string[] | null = null;
  if (o.url !== undefined) {
    const urls = typeof o.url === 'string' ? [o.url] : o.url;
    if (!Array.isArray(urls) || urls.length === 0) bad('url', 'a redis:// URL or a non-empty array of them', o.url);
    for (const u of urls) if (typeof u !== 'string' || !URL_SCHEME.test(u)) bad('url', 'a redis:// or rediss:// URL', u);
    url = typeof o.url === 'string' ? o.url : Object.freeze([...urls]);
  }
  const client = o.client ?? null;
  if (client !== null && (typeof client !== 'object' || typeof (client as RedisClientLike).sendCommand !== 'function')) {
    bad('client', 'a node-redis client or cluster client (createClient() / createCluster())', client);
  }
  const prefix = o.prefix ?? DEFAULT_REDIS_PREFIX;
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) bad('prefix', "a string without '{' or '}' (the session id is the key's hash tag)", prefix);
  return Object.freeze({
    url,
    client,
    prefix,
    ttl: o.ttl === undefined ? DEFAULT_REDIS_TTL : positive(o.ttl, 'ttl', 'a number of seconds >= 1', 1, false),
    lockLease: o.lockLease === undefined ? DEFAULT_REDIS_LOCK_LEASE : positive(o.lockLease, 'lockLease', 'a whole number of milliseconds >= 100', 100, true),
    commandTimeout:
      o.commandTimeout === undefined
        ? DEFAULT_REDIS_COMMAND_TIMEOUT
        : positive(o.commandTimeout, 'commandTimeout', 'a whole number of milliseconds >= 1', 1, true),
  });
}
