// The Redis store: each session one hash, `<prefix>{<id>}`, one field per
// session key, so a save sends only what changed and keeps what other
// requests added; its lock a string beside it, `<prefix>{<id>}:lock`. Both
// share the hash tag `{<id>}`, so on a cluster they are on one slot and one
// Lua script can touch both. Every operation is one round trip: a script
// that checks the lock, applies the create/update rule and writes, with the
// key's TTL set in the same step (no sweeper). REDIS.md has the layout byte
// by byte and the failure model.
//
// Connections: one per configured URL (or cluster) for the whole process,
// made on first use and shared by every instance (instances are per
// request); closeRedisConnections() closes them. An idle connection does
// not keep the process alive (its socket is unref'd between operations). A
// client the application passes in (`redis: { client }`) is used as it is
// and never closed here.

import { createHash, randomBytes } from 'node:crypto';
import { LockTimeoutError } from '../../errors.js';
import { SessionCorruptError, SessionError, SessionLockLostError, SessionStoreUnavailableError } from '../errors.js';
import { isValidId } from '../ids.js';
import type { NamespaceManager, SessionChanges, StoredSession, StoreOptions, WriteResult } from '../namespace.js';
import type { RedisClientLike, RedisSettings } from './redis-options.js';

type RedisModule = typeof import('redis');
type Arg = string | Buffer;

let redisModule: Promise<RedisModule> | undefined;
/** node-redis is loaded on first use: applications on the other stores never load it. */
const loadRedis = (): Promise<RedisModule> => {
  redisModule ??= import('redis');
  return redisModule;
};

// ---------------------------------------------------------------------------
// The scripts. KEYS[1] is the session's hash and KEYS[2] its lock; ARGV[1]
// is the lock token this instance holds ('' when it holds none). Replies are
// arrays whose first element is a status.
//
// The lock mark: while a lock is held on a stored session, the hash has the
// field m:l = the holder's token (lock() sets it in the same step as SET NX,
// a create under the lock sets it, unlock() removes it). So a read that
// finds no m:l knows, from that one HGETALL, that nobody held the lock; a
// mark whose lock is gone (its lease ran out) is removed by the next write.

const OK = 0;
const GONE = 1;
const EXISTS = 2;
const LOCKED = 3;
const LOST = 4;
const TOO_LARGE = 5;
const NONE = 6;

/** Someone else's lock: wait (status 3). Ours no longer there: lost (status 4). */
const LOCK_CHECK = `
local held = redis.call('GET', KEYS[2])
if ARGV[1] == '' then
  if held then return {3} end
elseif held ~= ARGV[1] then
  return {4}
end`;

/** The key's TTL in ms: the idle TTL, cut to what is left of maxLifetime (life < 0: none), at least 1 s. */
const TTL = `
local function ttl(created, accessed, idle, life)
  local t = tonumber(idle)
  local l = tonumber(life)
  if l >= 0 and created and accessed then
    local left = created + l - accessed
    if left < t then t = left end
  end
  if t < 1000 then t = 1000 end
  return string.format('%.0f', t)
end`;

/** load(accessed). ARGV: token, accessed, idle ms, life ms. Reply {0, HGETALL} or {6} (nothing stored). read() needs no script. */
const LOAD = `${LOCK_CHECK}${TTL}
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return {6} end
redis.call('HSET', KEYS[1], 'm:a', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl(tonumber(redis.call('HGET', KEYS[1], 'm:c')), tonumber(ARGV[2]), ARGV[3], ARGV[4]))
return {0, all}`;

/**
 * ARGV: token, mode ('c' create | 'u' update), generation (create: the new
 * one; update: the one read), created, accessed, idle ms, life ms, max bytes,
 * n, then n field/value pairs to set, then the fields to delete.
 * Create: only where nothing is stored ({2}). Update: only the creation that
 * was read ({1}). Over max bytes: {5, bytes}, nothing written. m:s keeps the
 * session's size (key bytes + value bytes of every k: field), updated from
 * the sizes of the fields this save replaces or deletes (a value is never
 * empty: HSTRLEN 0 means no such field); a hash without it is counted whole.
 * One HSET writes the times, the size and the fields (in slices of at most
 * 7000 arguments: Lua's unpack has a stack limit).
 */
const SAVE = `${LOCK_CHECK}${TTL}
local h = KEYS[1]
local first = 10
local dels = first + 2 * tonumber(ARGV[9])
local size = 0
local args = {'m:c', ARGV[4], 'm:a', ARGV[5], 'm:s', 0}
if ARGV[2] == 'c' then
  if redis.call('EXISTS', h) == 1 then return {2} end
  args[7] = 'm:g'
  args[8] = ARGV[3]
  if ARGV[1] ~= '' then
    args[9] = 'm:l'
    args[10] = ARGV[1]
  end
else
  local meta = redis.call('HMGET', h, 'm:g', 'm:s', 'm:l')
  if meta[1] ~= ARGV[3] then return {1} end
  if meta[3] and ARGV[1] == '' then redis.call('HDEL', h, 'm:l') end
  size = tonumber(meta[2])
  if not size then
    size = 0
    for _, f in ipairs(redis.call('HKEYS', h)) do
      if string.sub(f, 1, 2) == 'k:' then size = size + #f - 2 + redis.call('HSTRLEN', h, f) end
    end
  end
  for i = dels, #ARGV do
    local n = redis.call('HSTRLEN', h, ARGV[i])
    if n > 0 then size = size - (#ARGV[i] - 2 + n) end
  end
  for i = first, dels - 1, 2 do
    local n = redis.call('HSTRLEN', h, ARGV[i])
    if n > 0 then size = size - (#ARGV[i] - 2 + n) end
  end
end
for i = first, dels - 1, 2 do size = size + #ARGV[i] - 2 + #ARGV[i + 1] end
if size > tonumber(ARGV[8]) then return {5, size} end
local i = dels
while i <= #ARGV do
  local last = math.min(i + 6999, #ARGV)
  redis.call('HDEL', h, unpack(ARGV, i, last))
  i = last + 1
end
args[6] = size
i = first
while true do
  while i < dels and #args < 7000 do
    args[#args + 1] = ARGV[i]
    args[#args + 1] = ARGV[i + 1]
    i = i + 2
  end
  redis.call('HSET', h, unpack(args))
  if i >= dels then break end
  args = {}
end
redis.call('PEXPIRE', h, ttl(tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]))
return {0}`;

/** ARGV: token, generation read, accessed, idle ms, life ms. {0} or {1} (gone). */
const TOUCH = `${LOCK_CHECK}${TTL}
local v = redis.call('HMGET', KEYS[1], 'm:g', 'm:c', 'm:l')
if v[1] ~= ARGV[2] then return {1} end
if v[3] and ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'm:l') end
redis.call('HSET', KEYS[1], 'm:a', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl(tonumber(v[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]))
return {0}`;

/** ARGV: token. */
const REMOVE = `${LOCK_CHECK}
redis.call('DEL', KEYS[1])
return {0}`;

/** ARGV: token, lease ms. SET NX PX, and the lock mark on a stored session. 1: taken, 0: someone else holds it. */
const LOCK = `
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('TYPE', KEYS[1])['ok'] == 'hash' then redis.call('HSET', KEYS[1], 'm:l', ARGV[1]) end
return 1`;

/** ARGV: token. Compare-and-delete of the lock, and of its mark. */
const UNLOCK = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('TYPE', KEYS[1])['ok'] == 'hash' and redis.call('HGET', KEYS[1], 'm:l') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'm:l')
end
return 0`;

/** KEYS[1]: the lock. ARGV: token, lease ms. Renews only a lock still ours. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

interface Script {
  readonly text: string;
  readonly sha: string;
  readonly keys: string;
}

const script = (text: string, keys: number): Script => ({ text, sha: createHash('sha1').update(text).digest('hex'), keys: String(keys) });
const SCRIPTS = {
  load: script(LOAD, 2),
  save: script(SAVE, 2),
  touch: script(TOUCH, 2),
  remove: script(REMOVE, 2),
  lock: script(LOCK, 2),
  unlock: script(UNLOCK, 2),
  renew: script(RENEW, 1),
};

// ---------------------------------------------------------------------------
// Connections.

/** What is used of a node-redis client (and of each node client of a cluster). */
interface NodeClient extends RedisClientLike {
  sendCommand(args: readonly Arg[], options?: object): Promise<unknown>;
  ref?(): void;
  unref?(): void;
  connect?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): void;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** What is used of a node-redis cluster client. */
interface ClusterClient extends RedisClientLike {
  sendCommand(firstKey: Arg | undefined, isReadonly: boolean | undefined, args: readonly Arg[], options?: object): Promise<unknown>;
  readonly masters: readonly { client?: NodeClient }[];
  readonly replicas?: readonly { client?: NodeClient }[];
  nodeClient(node: object): Promise<NodeClient>;
  connect?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): void;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface Connection {
  client: NodeClient | ClusterClient;
  readonly cluster: boolean;
  /** Made by this module from a URL (ours to ref/unref and close), or the application's. */
  readonly owned: boolean;
  /** For messages: the URL without credentials, or 'the application's client'. */
  readonly label: string;
  readonly mod: RedisModule;
  /** Per-command options: replies binary-safe (Buffers, maps as flat arrays); node-redis's own timeout only for an application's client. */
  readonly commandOptions: { typeMapping: Record<number, unknown>; timeout: number | undefined };
  /** Owned: settles with the first connection attempt (ready, or its first error); operations wait for it, bounded. */
  firstAttempt: Promise<void> | null;
  /** Connected at least once: from then on, while disconnected, operations fail at once (no offline queue). */
  everReady: boolean;
  /** Why the last connection attempt failed, while not connected. */
  lastError: unknown;
  /** When an operation last used it (Date.now()). */
  lastUse: number;
  inflight: number;
  /** Closed (closeRedisConnections(), or it gave up reconnecting): the next operation makes a new connection. */
  closed: boolean;
}

/**
 * An owned connection (one server) that cannot reconnect and has not been
 * used for this long stops trying: its retry timers would otherwise keep a
 * process that is done alive while Redis is down. The next operation then
 * makes a new connection.
 */
const GIVE_UP_IDLE_MS = 10_000;

const owned = new Map<string, Promise<Connection>>();
const borrowed = new WeakMap<object, Promise<Connection>>();
const resolved = new WeakMap<RedisSettings, Connection>();

function isCluster(client: RedisClientLike): client is ClusterClient {
  const c = client as Partial<ClusterClient>;
  return typeof c.nodeClient === 'function' && 'masters' in c;
}

function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/** Reconnect after a lost connection: 50 ms doubling to 1 s, with jitter, forever (operations meanwhile fail fast). */
function reconnectDelay(retries: number): number {
  return Math.round(Math.min(50 * 2 ** retries, 1000) * (0.75 + Math.random() / 2));
}

async function makeConnection(settings: RedisSettings): Promise<Connection> {
  const mod = await loadRedis();
  const typeMapping = { [mod.RESP_TYPES.BLOB_STRING]: Buffer, [mod.RESP_TYPES.MAP]: Array };
  if (settings.client !== null) {
    return {
      client: settings.client as NodeClient | ClusterClient,
      cluster: isCluster(settings.client),
      owned: false,
      label: "the application's Redis client",
      mod,
      // Its offline queue (if enabled) drops what it could not send in time; what was sent is bounded by send().
      commandOptions: { typeMapping, timeout: settings.commandTimeout },
      firstAttempt: null,
      everReady: true,
      lastError: null,
      lastUse: Date.now(),
      inflight: 0,
      closed: false,
    };
  }
  const url = settings.url!;
  const cluster = typeof url !== 'string';
  const conn: Connection = {
    client: undefined as unknown as NodeClient,
    cluster,
    owned: true,
    label: cluster ? url.map(withoutCredentials).join(',') : withoutCredentials(url),
    mod,
    // No offline queue: nothing waits to be written, and send() bounds the rest (node-redis's timeout would add an AbortSignal per command).
    commandOptions: { typeMapping, timeout: undefined },
    firstAttempt: null,
    everReady: false,
    lastError: null,
    lastUse: Date.now(),
    inflight: 0,
    closed: false,
  };
  // Reconnect while in use; one server's connection gives up once idle (a cluster's node clients keep trying: see REDIS.md).
  const reconnectStrategy = (retries: number): number | false => {
    if (conn.closed || (!cluster && conn.inflight === 0 && Date.now() - conn.lastUse > GIVE_UP_IDLE_MS)) return false;
    return reconnectDelay(retries);
  };
  // Fail fast while disconnected (no offline queue: a request gets an error, not a wait).
  const nodeOptions = { disableOfflineQueue: true, socket: { connectTimeout: settings.commandTimeout, reconnectStrategy } };
  const client = (cluster
    ? mod.createCluster({ rootNodes: url.map((u) => ({ url: u })), defaults: nodeOptions })
    : mod.createClient({ url, ...nodeOptions })) as unknown as NodeClient | ClusterClient;
  conn.client = client;
  // Errors reach the operations that fail; the client reconnects by itself. Without a listener, an 'error' event would throw.
  client.on?.('error', (err: unknown) => {
    conn.lastError = err;
  });
  client.on?.('ready', () => {
    conn.everReady = true;
    conn.lastError = null;
  });
  // It gave up reconnecting (idle while Redis is unreachable): the next operation makes a new one (connectionFor()).
  client.on?.('terminated', () => {
    conn.closed = true;
  });
  setRef(conn, false);
  startConnecting(conn);
  return conn;
}

/** Starts connecting; firstAttempt settles when it is connected or the first attempt failed. */
function startConnecting(conn: Connection): void {
  const client = conn.client;
  conn.firstAttempt = new Promise<void>((resolve) => {
    const settle = (): void => {
      client.off?.('error', settle);
      resolve();
    };
    // One server: its first failed attempt settles it (connection refused fails at once). A cluster: its connect().
    if (!conn.cluster) client.on?.('error', settle);
    Promise.resolve(client.connect?.()).then(
      () => {
        conn.everReady = true;
        if (conn.inflight === 0) setRef(conn, false);
        settle();
      },
      (err: unknown) => {
        // A cluster whose nodes could not be reached gives up: the next operation tries again.
        conn.lastError ??= err;
        conn.firstAttempt = null;
        settle();
      },
    );
  });
}

/** Owned connections keep the process alive only while an operation is in flight. */
function setRef(conn: Connection, ref: boolean): void {
  if (!conn.owned) return;
  const clients = conn.cluster
    ? [...(conn.client as ClusterClient).masters, ...((conn.client as ClusterClient).replicas ?? [])].map((n) => n.client)
    : [conn.client as NodeClient];
  for (const c of clients) (ref ? c?.ref : c?.unref)?.call(c);
}

function connectionKey(settings: RedisSettings): string {
  return typeof settings.url === 'string' ? settings.url : JSON.stringify(settings.url);
}

function connectionFor(settings: RedisSettings): Connection | Promise<Connection> {
  const known = resolved.get(settings);
  if (known !== undefined && !known.closed) return known;
  let pending: Promise<Connection> | undefined;
  if (settings.client !== null) {
    pending = borrowed.get(settings.client);
    if (pending === undefined) {
      pending = makeConnection(settings);
      borrowed.set(settings.client, pending);
    }
  } else {
    const key = connectionKey(settings);
    pending = owned.get(key);
    if (pending === undefined) {
      pending = makeConnection(settings);
      owned.set(key, pending);
      pending.catch(() => owned.delete(key));
    }
  }
  const key = settings.client === null ? connectionKey(settings) : '';
  return pending.then((conn) => {
    if (conn.closed && conn.owned) {
      // Closed meanwhile (it gave up reconnecting, or closeRedisConnections()): make a new one.
      if (owned.get(key) === pending) owned.delete(key);
      return connectionFor(settings);
    }
    resolved.set(settings, conn);
    return conn;
  });
}

/**
 * Closes every connection this module made (from `redis: { url }`),
 * waiting for the commands in flight; the next operation opens a new one.
 * For tests and shutdown. Clients the application passed in are not
 * touched: the application closes those.
 */
export async function closeRedisConnections(): Promise<void> {
  const all = [...owned.values()];
  owned.clear();
  await Promise.all(
    all.map(async (pending) => {
      const conn = await pending.catch(() => null);
      if (conn === null || conn.closed) return;
      conn.closed = true;
      try {
        if (conn.client.isReady) await conn.client.close?.();
        else conn.client.destroy?.();
      } catch {
        conn.client.destroy?.();
      }
    }),
  );
}

class CommandTimeout extends Error {
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
    this.name = 'CommandTimeout';
  }
}

/** node-redis's own timeout covers only the wait to be written; this bounds the whole command. */
function bounded<T>(reply: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CommandTimeout(ms)), ms);
    reply.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Replies Redis gives while it cannot serve (loading the AOF, a cluster without quorum, a replica after failover, disk errors). */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MISCONF|UNBLOCKED)\b/;

/** A reply error of node-redis (ErrorReply and its subclasses), also from another copy of the package than ours (an application's client). */
function isReplyError(err: unknown, mod: RedisModule): err is Error {
  if (err instanceof mod.ErrorReply) return true;
  for (let proto = err === null || typeof err !== 'object' ? null : Object.getPrototypeOf(err); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'ErrorReply') return true;
  }
  return false;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** Sends one command: bounded, with the connection referenced while it is in flight. */
async function send(conn: Connection, routingKey: string | undefined, args: Arg[], timeout: number, via?: NodeClient): Promise<unknown> {
  if (conn.closed) throw new Error('the connection was closed (closeRedisConnections(), or it stopped reconnecting)');
  conn.lastUse = Date.now();
  if (conn.inflight++ === 0) setRef(conn, true);
  try {
    if (!conn.everReady) {
      if (conn.firstAttempt === null) startConnecting(conn);
      await bounded(conn.firstAttempt!, timeout);
      if (!conn.everReady) throw conn.lastError ?? new Error('not connected yet');
    }
    if (!conn.client.isOpen) throw new Error('the client is not connected (call client.connect() first)');
    const options = conn.commandOptions;
    const reply =
      via !== undefined
        ? via.sendCommand(args, options)
        : conn.cluster
          ? (conn.client as ClusterClient).sendCommand(routingKey, false, args, options)
          : (conn.client as NodeClient).sendCommand(args, options);
    return await bounded(reply, timeout);
  } finally {
    if (--conn.inflight === 0) setRef(conn, false);
  }
}

// ---------------------------------------------------------------------------
// The store.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Lock waits poll: 1 ms doubling to 20 ms, with jitter, so waiters do not move in step. */
const pollDelay = (attempt: number): number => Math.min(20, 2 ** attempt) * (0.5 + Math.random() / 2);
const short = (id: string): string => `${id.slice(0, 8)}…`;
/** What an attempt returns while someone else holds the lock. */
const WAIT: unique symbol = Symbol('wait');
/** Whether HGETALL's fields include m:l, the lock mark. */
function hasLockMark(fields: Buffer[]): boolean {
  for (let i = 0; i < fields.length; i += 2) {
    const f = fields[i]!;
    if (f.length === 3 && f[0] === 0x6d && f[1] === 0x3a && f[2] === 0x6c) return true;
  }
  return false;
}
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** The settings a store instance needs, worked out once per StoreOptions object (a server passes the same one to every request). */
interface Derived {
  readonly settings: RedisSettings;
  /** Idle TTL and time left to maxLifetime, in ms, as script arguments ('-1': no maxLifetime). */
  readonly idle: string;
  readonly life: string;
  readonly maxBytes: string;
}

const derivedCache = new WeakMap<StoreOptions, Derived>();

function derive(options: StoreOptions): Derived {
  let derived = derivedCache.get(options);
  if (derived === undefined) {
    const settings = options?.redis;
    if (settings === undefined || settings === null) {
      throw new TypeError("wasm-session: RedisNamespace needs options.redis (session options type: 'redis' with redis: { url } or { client })");
    }
    derived = {
      settings,
      idle: String(Math.ceil((options.timeout ?? settings.ttl) * 1000)),
      life: options.maxLifetime === null ? '-1' : String(Math.ceil(options.maxLifetime * 1000)),
      maxBytes: String(options.maxSessionBytes),
    };
    derivedCache.set(options, derived);
  }
  return derived;
}

export class RedisNamespace implements NamespaceManager {
  readonly id: string;
  /** The session's hash: `<prefix>{<id>}`. */
  readonly key: string;
  /** Its lock: `<prefix>{<id>}:lock`. */
  readonly lockKey: string;
  readonly #options: StoreOptions;
  readonly #derived: Derived;
  /** The generation (m:g) of what this instance last read or created; '': none. */
  #generation = '';
  /** The token of the lock this instance holds, or null. */
  #token: string | null = null;
  #renewal: NodeJS.Timeout | null = null;
  #renewing = false;
  /** The connection the lock was taken on: renewing stops when it is closed (closeRedisConnections()). */
  #lockConnection: Connection | null = null;

  constructor(id: string, options: StoreOptions) {
    if (!isValidId(id)) throw new TypeError('wasm-session: RedisNamespace needs a 32-hex-character session id');
    this.#derived = derive(options);
    this.id = id;
    this.#options = options;
    this.key = `${this.#derived.settings.prefix}{${id}}`;
    this.lockKey = `${this.key}:lock`;
  }

  /** True between lock() and unlock(). */
  get locked(): boolean {
    return this.#token !== null;
  }

  get #what(): string {
    return `RedisNamespace session ${short(this.id)}`;
  }

  // ---- plumbing ----

  #connection(): Connection | Promise<Connection> {
    return connectionFor(this.#derived.settings);
  }

  /** One command, with errors made typed: unavailability, corruption (a key of another type). */
  async #send(routingKey: string, args: Arg[], via?: NodeClient): Promise<unknown> {
    const conn = await this.#connection();
    try {
      return await send(conn, routingKey, args, this.#derived.settings.commandTimeout, via);
    } catch (err) {
      throw this.#typed(err, conn);
    }
  }

  #typed(err: unknown, conn: Connection): unknown {
    if (isReplyError(err, conn.mod)) {
      if (isNoScript(err)) return err;
      if (err.message.includes('WRONGTYPE')) {
        return new SessionCorruptError(this.#what, this.id, new Error(`${this.key} is not a hash of this store: ${err.message}`));
      }
      if (!UNAVAILABLE_REPLY.test(err.message)) return err;
    } else if (err instanceof TypeError || err instanceof RangeError) {
      return err;
    }
    const why = (err as Error)?.message ?? String(err);
    return new SessionStoreUnavailableError('redis', `wasm-session: the Redis session store (${conn.label}) is unavailable for ${this.#what}: ${why}`, {
      cause: err,
    });
  }

  /** Runs a script (EVALSHA; EVAL once when Redis does not know it yet, e.g. after a restart). */
  async #eval(s: Script, args: Arg[]): Promise<unknown> {
    const keys = s.keys === '2' ? [this.key, this.lockKey] : [this.lockKey];
    try {
      return await this.#send(this.key, ['EVALSHA', s.sha, s.keys, ...keys, ...args]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return this.#send(this.key, ['EVAL', s.text, s.keys, ...keys, ...args]);
    }
  }

  /**
   * Runs `attempt` again while another instance holds the lock (it returns
   * WAIT), polling until it is released, at most lockTimeout, then
   * LockTimeoutError.
   */
  async #whileLocked<T>(attempt: () => Promise<T | typeof WAIT>): Promise<T> {
    let deadline = 0;
    for (let n = 0; ; n++) {
      const result = await attempt();
      if (result !== WAIT) return result;
      const timeout = this.#options.lockTimeout;
      if (n === 0) deadline = Date.now() + timeout;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(this.#what, 'exclusive', timeout);
      await sleep(Math.min(left, pollDelay(n)));
    }
  }

  /** Runs a session script (lock check first, in the script): waits out others' locks; our own lock gone is SessionLockLostError. */
  #run(s: Script, args: () => Arg[]): Promise<unknown[]> {
    return this.#whileLocked(async () => {
      const reply = (await this.#eval(s, [this.#token ?? '', ...args()])) as unknown[];
      if (reply[0] === LOST) throw this.#lost();
      return reply[0] === LOCKED ? WAIT : reply;
    });
  }

  #lost(): SessionLockLostError {
    return new SessionLockLostError(
      short(this.id),
      `wasm-session: the lock of ${this.#what} was lost (its ${this.#derived.settings.lockLease} ms lease ran out, or Redis lost it): nothing was written; unlock() and start over`,
    );
  }

  // ---- NamespaceManager ----

  async load(accessed: number): Promise<StoredSession | null> {
    const { idle, life } = this.#derived;
    const reply = await this.#run(SCRIPTS.load, () => [String(accessed), idle, life]);
    return this.#found(reply[0] === NONE ? null : (reply[1] as Buffer[]));
  }

  /**
   * load() without recording the access, and without a script: one HGETALL.
   * Without a lock mark (m:l) in it, nobody held the lock at that moment.
   * With one (or while this instance holds the lock, to check it is still
   * ours), GET of the lock and HGETALL are sent together, again while
   * another instance holds it. Those two are not one atomic step, and need
   * not be: nothing is written, and a holder changes the session only in
   * later round trips of its own, after its lock was granted.
   */
  async read(): Promise<StoredSession | null> {
    if (this.#token === null) {
      const all = (await this.#send(this.key, ['HGETALL', this.key])) as Buffer[];
      if (!hasLockMark(all)) return this.#found(all.length === 0 ? null : all);
    }
    const fields = await this.#whileLocked(async () => {
      const [lock, all] = await Promise.all([this.#send(this.key, ['GET', this.lockKey]), this.#send(this.key, ['HGETALL', this.key])]);
      const token = this.#token;
      if (token === null) return lock === null ? (all as Buffer[]) : WAIT;
      if (lock === null || (lock as Buffer).toString('latin1') !== token) throw this.#lost();
      return all as Buffer[];
    });
    return this.#found(fields.length === 0 ? null : fields);
  }

  #found(fields: Buffer[] | null): StoredSession | null {
    if (fields === null) {
      this.#generation = '';
      return null;
    }
    const stored = this.#parse(fields);
    this.#generation = stored.generation;
    return stored;
  }

  #parse(fields: Buffer[]): StoredSession & { generation: string } {
    const data = new Map<string, Uint8Array>();
    let created: number | undefined;
    let accessed: number | undefined;
    let generation: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const value = fields[i + 1]!;
      // 'k:' user key, 'm:' metadata.
      if (field[0] === 0x6b && field[1] === 0x3a) data.set(field.toString('utf8', 2), value);
      else if (field[0] === 0x6d && field[1] === 0x3a && field.length === 3) {
        if (field[2] === 0x63) created = Number(value.toString('latin1'));
        else if (field[2] === 0x61) accessed = Number(value.toString('latin1'));
        else if (field[2] === 0x67) generation = value.toString('latin1');
        // m:s (the size, for the save script), m:l (the lock mark) and unknown m: fields are not the Session's business.
      } else if (!(field[0] === 0x6d && field[1] === 0x3a)) {
        throw this.#corrupt(`a field that is neither a session key (k:) nor metadata (m:): ${JSON.stringify(field.toString('latin1').slice(0, 40))}`);
      }
    }
    if (created === undefined || accessed === undefined || generation === undefined || Number.isNaN(created) || Number.isNaN(accessed)) {
      throw this.#corrupt('the created (m:c), accessed (m:a) or generation (m:g) field is missing or not a number');
    }
    return { data, created, accessed, generation };
  }

  #corrupt(why: string): SessionCorruptError {
    return new SessionCorruptError(this.#what, this.id, new Error(`${this.key}: ${why}`));
  }

  async save(changes: SessionChanges): Promise<WriteResult> {
    const create = changes.mode === 'create';
    const generation = create ? randomBytes(12).toString('base64url') : this.#generation;
    const { idle, life, maxBytes } = this.#derived;
    const reply = await this.#run(SCRIPTS.save, () => {
      const args: Arg[] = [create ? 'c' : 'u', generation, String(changes.created), String(changes.accessed), idle, life, maxBytes, String(changes.set.size)];
      for (const [key, bytes] of changes.set) args.push(`k:${key}`, asBuffer(bytes));
      for (const key of changes.delete) args.push(`k:${key}`);
      return args;
    });
    switch (reply[0]) {
      case OK:
        if (create) this.#generation = generation;
        return 'ok';
      case GONE:
        return 'gone';
      case EXISTS:
        return 'exists';
      case TOO_LARGE:
        throw new SessionError(
          `wasm-session: the session would hold ${reply[1]} bytes with the keys other requests stored, more than maxSessionBytes (${this.#options.maxSessionBytes}); nothing was written`,
          'ERR_SESSION_TOO_LARGE',
        );
      default:
        throw new SessionError(`wasm-session: unexpected reply from the Redis save script: ${String(reply[0])}`, 'ERR_SESSION_STORE');
    }
  }

  async touch(accessed: number): Promise<WriteResult> {
    const { idle, life } = this.#derived;
    const reply = await this.#run(SCRIPTS.touch, () => [this.#generation, String(accessed), idle, life]);
    return reply[0] === OK ? 'ok' : 'gone';
  }

  async remove(): Promise<void> {
    await this.#run(SCRIPTS.remove, () => []);
    this.#generation = '';
  }

  /**
   * SET NX PX with a random token (and the lock mark, in one script); polls (1 ms doubling to 20 ms, with
   * jitter) until `timeoutMs`, then LockTimeoutError. Renewed every third of
   * the lease while held (an unref'd timer).
   */
  async lock(timeoutMs: number): Promise<void> {
    if (this.#token !== null) return;
    const token = randomBytes(15).toString('base64url');
    const lease = String(this.#derived.settings.lockLease);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if ((await this.#eval(SCRIPTS.lock, [token, lease])) === 1) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(this.#what, 'exclusive', timeoutMs);
      await sleep(Math.min(left, pollDelay(attempt)));
    }
    this.#token = token;
    this.#lockConnection = await this.#connection();
    const every = Math.max(10, Math.floor(this.#derived.settings.lockLease / 3));
    this.#renewal = setInterval(() => void this.#renew(token), every);
    this.#renewal.unref();
  }

  async #renew(token: string): Promise<void> {
    if (this.#renewing || this.#token !== token) return;
    if (this.#lockConnection?.closed) {
      // closeRedisConnections(): no new connection just to renew; the lease ends the lock.
      this.#stopRenewal();
      return;
    }
    this.#renewing = true;
    try {
      const still = await this.#eval(SCRIPTS.renew, [token, String(this.#derived.settings.lockLease)]);
      // Lost: stop renewing; the next operation of this instance says so (the scripts check the token).
      if (still === 0) this.#stopRenewal();
    } catch {
      // Unreachable for now: the next tick tries again; if the lease runs out meanwhile, the token check tells.
    } finally {
      this.#renewing = false;
    }
  }

  #stopRenewal(): void {
    if (this.#renewal !== null) clearInterval(this.#renewal);
    this.#renewal = null;
  }

  /** Compare-and-delete: releases the lock only if it is still ours. Never fails for unavailability: the lease then ends it. */
  async unlock(): Promise<void> {
    const token = this.#token;
    if (token === null) return;
    this.#token = null;
    this.#stopRenewal();
    try {
      await this.#eval(SCRIPTS.unlock, [token]);
    } catch (err) {
      if (!(err instanceof SessionStoreUnavailableError)) throw err;
    }
  }

  async close(): Promise<void> {
    await this.unlock();
  }

  // ---- over every session of a configuration ----

  /** Every stored session id of the configuration: SCAN of `<prefix>{*}` on the server, or on every master of a cluster. */
  static async *ids(options: StoreOptions): AsyncIterable<string> {
    const { settings } = derive(options);
    const conn = await connectionFor(settings);
    const prefix = settings.prefix;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}`;
    const probe = new RedisNamespace('0'.repeat(32), options);
    const nodes: (NodeClient | undefined)[] = [undefined];
    if (conn.cluster) {
      // Connect first (an owned cluster), so its masters are known.
      await probe.#send(probe.key, ['PING']);
      const cluster = conn.client as ClusterClient;
      nodes.length = 0;
      for (const master of cluster.masters) nodes.push(await cluster.nodeClient(master));
    }
    const seen = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = (await probe.#send(probe.key, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'], node)) as [Buffer, Buffer[]];
        cursor = next.toString();
        for (const k of keys) {
          const key = k.toString();
          const id = key.slice(prefix.length + 1, -1);
          if (isValidId(id) && !seen.has(id)) {
            seen.add(id);
            yield id;
          }
        }
      } while (cursor !== '0');
    }
  }

  /** Removes every stored session of the configuration (locks held stay, and expire by their lease). */
  static async clear(options: StoreOptions): Promise<void> {
    let batch: Promise<unknown>[] = [];
    for await (const id of RedisNamespace.ids(options)) {
      const ns = new RedisNamespace(id, options);
      batch.push(ns.#send(ns.key, ['DEL', ns.key]));
      if (batch.length === 100) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
  }
}
