// The Redis store: each session one hash, `<prefix>{<id>}`, one field per
// session key, so a save sends only what changed and keeps what other
// requests added; its lock a string beside it, `<prefix>{<id>}:lock`. Both
// share the hash tag `{<id>}`, so on a cluster they are on one slot and one
// Lua script can touch both. Every operation is one round trip: a script
// that checks the lock, applies the create/update rule and writes, with the
// key's TTL set in the same step (no sweeper needed). A session bound to an
// owner (Session.setOwner()) also has an entry in its owner's index, a
// sorted set on another slot, made by one more round trip before the save
// (see "The owner index" below); sweep() enforces limits shorter than the
// TTLs and keeps that index clean. REDIS.md has the layout byte by byte and
// the failure model.
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
import type {
  NamespaceManager,
  OwnedSession,
  SessionChanges,
  SessionOwner,
  StoredSession,
  StoreOptions,
  SweepPolicy,
  SweepResult,
  WriteResult,
} from '../namespace.js';
import { checkOwnerId, makeOwner, ownerHash } from '../owner.js';
import { emptySweepResult, sweepAborted } from '../sweep-result.js';
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
 * n, the owner op ('' unchanged | '+' bind | '-' unbind), the owner id and
 * its m:i JSON (both '' unless '+'), then n field/value pairs to set, then
 * the fields to delete.
 * Create: only where nothing is stored ({2}). Update: only the creation that
 * was read ({1}). Over max bytes: {5, bytes}, nothing written. The owner
 * (m:o, m:i) is written by the same HSET as the data, an unbind's HDEL with
 * the deleted keys: one atomic step, after the index entry was made. m:s keeps the
 * session's size (key bytes + value bytes of every k: field), updated from
 * the sizes of the fields this save replaces or deletes (a value is never
 * empty: HSTRLEN 0 means no such field); a hash without it is counted whole.
 * One HSET writes the times, the size and the fields (in slices of at most
 * 7000 arguments: Lua's unpack has a stack limit).
 */
const SAVE = `${LOCK_CHECK}${TTL}
local h = KEYS[1]
local first = 13
local dels = first + 2 * tonumber(ARGV[9])
local size = 0
local args = {'m:c', ARGV[4], 'm:a', ARGV[5], 'm:s', 0}
local unbind = false
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
  unbind = ARGV[10] == '-'
end
if ARGV[10] == '+' then
  args[#args + 1] = 'm:o'
  args[#args + 1] = ARGV[11]
  args[#args + 1] = 'm:i'
  args[#args + 1] = ARGV[12]
end
for i = first, dels - 1, 2 do size = size + #ARGV[i] - 2 + #ARGV[i + 1] end
if size > tonumber(ARGV[8]) then return {5, size} end
if unbind then redis.call('HDEL', h, 'm:o', 'm:i') end
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

// The owner index: a sorted set per owner, `<prefix>{<h>}:owner` (h: 32 hex
// of SHA-256 of the owner id, owner.ts's ownerHash()), member = session id,
// score = when the entry was made, in microseconds of the index node's own
// clock (TIME), so that the grace period below is measured by one clock
// whatever the application servers' clocks say. It is on its own slot: on
// a cluster, never in a script with the session. A binder makes the entry
// (INDEX) before the save script stores m:o; a reader checks each entry
// against the session's m:o; a cleaner removes an entry (UNINDEX) only if
// it is still the one it judged and older than the grace period, so a bind
// in flight (entry made, save not yet applied) is never undone.

/** Microseconds of the node's clock, as an exact integer string (Lua's own number format would round it). */
const NOW_US = `
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end`;

/**
 * KEYS[1]: the owner's index. ARGV: session id, the index's TTL in ms
 * ('-1': none, for sessions without maxLifetime, which may live on for as
 * long as they are used). ZADD with the time now; the TTL only grows: a new
 * key gets it, an existing one is extended (GT) or, for '-1', made
 * persistent; a persistent one stays so. Reply: the score.
 */
const INDEX = `${NOW_US}
local k = KEYS[1]
local fresh = redis.call('EXISTS', k) == 0
local score = string.format('%.0f', now_us())
redis.call('ZADD', k, score, ARGV[1])
if ARGV[2] == '-1' then
  if not fresh then redis.call('PERSIST', k) end
elseif fresh then
  redis.call('PEXPIRE', k, ARGV[2])
else
  redis.call('PEXPIRE', k, ARGV[2], 'GT')
end
return score`;

/**
 * KEYS[1]: an owner's index. ARGV: session id, the score the caller judged
 * ('': whatever it is now), grace in µs, dry ('1': decide, remove nothing).
 * Removes the entry only if it still has that score (a binder since made
 * it again) and is at least the grace old. 1: removed (or would be), 0: not.
 */
const UNINDEX = `${NOW_US}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return 0 end
if ARGV[2] ~= '' and tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
if now_us() - tonumber(s) < tonumber(ARGV[3]) then return 0 end
if ARGV[4] ~= '1' then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1`;

/**
 * revokeOwned(), one session. ARGV: token (''), owner id. Waits out a lock
 * like every operation; removes the hash only if m:o is still the owner.
 * {0}: removed; {1, m:o or nil}: not the owner's (nothing done).
 */
const REVOKE = `${LOCK_CHECK}
local o = redis.call('HGET', KEYS[1], 'm:o')
if o ~= ARGV[2] then return {1, o} end
redis.call('DEL', KEYS[1])
return {0}`;

/**
 * sweep(), one session. ARGV: now (session clock, ms), idle ms, max age ms
 * ('-1': no limit), dry ('1'), remove corrupt ('1'). Never waits: a lock
 * held (the lock key, not the mark) is {3} (skipped). {6}: gone. Corrupt
 * (not a hash, or no valid m:c / m:a / m:g): {7, removed 0/1, bytes}.
 * Kept: {0, m:o or nil}. Over: {1, bytes, m:o or nil}, removed unless dry.
 * The times are decided here, under Redis's own atomicity, not by a read
 * before: a request that wrote since is seen.
 */
const SWEEP = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {3} end
local h = KEYS[1]
local kind = redis.call('TYPE', h)['ok']
if kind == 'none' then return {6} end
local function corrupt()
  local bytes = 0
  if kind == 'hash' then
    for _, x in ipairs(redis.call('HGETALL', h)) do bytes = bytes + #x end
  end
  if ARGV[5] ~= '1' then return {7, 0, bytes} end
  if ARGV[4] ~= '1' then redis.call('DEL', h) end
  return {7, 1, bytes}
end
if kind ~= 'hash' then return corrupt() end
local v = redis.call('HMGET', h, 'm:c', 'm:a', 'm:g', 'm:o')
local created = tonumber(v[1])
local accessed = tonumber(v[2])
if not created or not accessed or not v[3] then return corrupt() end
local now = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
local age = tonumber(ARGV[3])
if not ((idle >= 0 and now - accessed > idle) or (age >= 0 and now - created > age)) then return {0, v[4]} end
local bytes = 0
for _, x in ipairs(redis.call('HGETALL', h)) do bytes = bytes + #x end
if ARGV[4] ~= '1' then redis.call('DEL', h) end
return {1, bytes, v[4]}`;

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
  index: script(INDEX, 1),
  unindex: script(UNINDEX, 1),
  revoke: script(REVOKE, 2),
  sweep: script(SWEEP, 2),
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
/** m:i: what a binding holds besides its id, as JSON: {"since":<ms>,"info":{...}}. */
function encodeBinding(owner: SessionOwner): string {
  return JSON.stringify({ since: owner.since, info: owner.info });
}

/** The binding of m:o (the owner id, UTF-8) and m:i; throws an Error saying what is wrong. `id`: the id to give it (default: m:o's). */
function decodeBinding(ownerId: Buffer | null | undefined, ownerInfo: Buffer | null | undefined, id?: string): SessionOwner {
  if (!ownerId || !ownerInfo) throw new Error('the owner fields m:o and m:i are not both there');
  let parsed: unknown;
  try {
    parsed = JSON.parse(ownerInfo.toString('utf8'));
  } catch (err) {
    throw new Error(`the owner field m:i is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const { since, info } = (parsed ?? {}) as { since?: unknown; info?: unknown };
  if (typeof since !== 'number' || !Number.isFinite(since)) throw new Error('the owner field m:i has no valid binding time');
  try {
    return makeOwner(id ?? ownerId.toString('utf8'), info, since);
  } catch (err) {
    throw new Error(`the owner fields are not a valid binding: ${(err as Error).message}`, { cause: err });
  }
}

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** The settings a store instance needs, worked out once per StoreOptions object (a server passes the same one to every request). */
interface Derived {
  readonly settings: RedisSettings;
  /** Idle TTL and time left to maxLifetime, in ms, as script arguments ('-1': no maxLifetime). */
  readonly idle: string;
  readonly life: string;
  readonly maxBytes: string;
  /** The owner index's TTL in ms ('-1': none; see ownerIndexTtl()). */
  readonly ownerTtl: string;
  /** The grace period of owner index entries, in µs (see ownerGrace()). */
  readonly graceUs: string;
}

/**
 * An owner index entry younger than this may belong to a bind in flight
 * (its entry made, its save not yet applied: the save may wait for a lock,
 * and each command may take up to commandTimeout), so no cleaner removes
 * it, whatever the session says: at least a minute.
 */
function ownerGrace(lockTimeout: number, commandTimeout: number): number {
  return Math.max(60_000, 2 * (lockTimeout + commandTimeout));
}

/**
 * How long an owner's index outlives its last bind: a session cannot live
 * longer than maxLifetime after its creation (its TTL is cut to it), so with
 * maxLifetime, that plus a day (for clocks that drift or stand still). Without
 * maxLifetime a session lives on as long as it is used, and its TTL is renewed
 * by requests that never touch the index: the index gets no TTL then (null),
 * and its stale entries go by the cleaners (listing, revoking, remove() of a
 * bound session, sweep()); Redis drops a sorted set whose last entry goes.
 */
function ownerIndexTtl(maxLifetime: number | null): number | null {
  return maxLifetime === null ? null : Math.ceil(maxLifetime * 1000) + 86_400_000;
}

/** A store error for a Redis error: unavailability, a key of another type (`wrongType`), or as it is. */
function typedError(err: unknown, conn: Connection, what: string, wrongType: (err: Error) => Error): unknown {
  if (isReplyError(err, conn.mod)) {
    if (isNoScript(err)) return err;
    if (err.message.includes('WRONGTYPE')) return wrongType(err);
    if (!UNAVAILABLE_REPLY.test(err.message)) return err;
  } else if (err instanceof TypeError || err instanceof RangeError) {
    return err;
  }
  const why = (err as Error)?.message ?? String(err);
  return new SessionStoreUnavailableError('redis', `wasm-session: the Redis session store (${conn.label}) is unavailable for ${what}: ${why}`, {
    cause: err,
  });
}

/** One command of the store on any key of its configuration (routed by `routingKey` on a cluster, or sent `via` one node), errors typed. */
async function command(
  settings: RedisSettings,
  routingKey: string,
  args: Arg[],
  what: string,
  wrongType: (err: Error) => Error,
  via?: NodeClient,
): Promise<unknown> {
  const conn = await connectionFor(settings);
  try {
    return await send(conn, routingKey, args, settings.commandTimeout, via);
  } catch (err) {
    throw typedError(err, conn, what, wrongType);
  }
}

/** A script (EVALSHA; EVAL once when Redis does not know it yet, e.g. after a restart) on `keys`, all of one slot, routed by the first. */
async function evalScript(
  settings: RedisSettings,
  s: Script,
  keys: readonly string[],
  args: Arg[],
  what: string,
  wrongType: (err: Error) => Error,
): Promise<unknown> {
  try {
    return await command(settings, keys[0]!, ['EVALSHA', s.sha, s.keys, ...keys, ...args], what, wrongType);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return command(settings, keys[0]!, ['EVAL', s.text, s.keys, ...keys, ...args], what, wrongType);
  }
}

/** Runs `fn` on each item, at most `limit` at a time; every call settles before it resolves, or rejects with the first error. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
}

/** The index key of owners whose hash is `hash`: `<prefix>{<hash>}:owner`. */
const ownerKey = (prefix: string, hash: string): string => `${prefix}{${hash}}:owner`;

/** One owner index (one owner hash) of a configuration: entries made, listed and removed as the rules at the scripts say. */
class OwnerIndex {
  readonly key: string;
  readonly #derived: Derived;

  constructor(
    derived: Derived,
    readonly hash: string,
  ) {
    this.#derived = derived;
    this.key = ownerKey(derived.settings.prefix, hash);
  }

  get #what(): string {
    return `the owner index ${this.key}`;
  }

  readonly #wrongType = (err: Error): Error =>
    new SessionError(`wasm-session: ${this.key} is not an owner index of this store (a sorted set): ${err.message}; remove it`, 'ERR_SESSION_STORE');

  #eval(s: Script, args: Arg[]): Promise<unknown> {
    return evalScript(this.#derived.settings, s, [this.key], args, this.#what, this.#wrongType);
  }

  /** Makes (or renews) the entry of session `id`: before the save that binds it, never after. */
  async add(id: string): Promise<void> {
    await this.#eval(SCRIPTS.index, [id, this.#derived.ownerTtl]);
  }

  /** Whether there is an entry for `id`. */
  async has(id: string): Promise<boolean> {
    return (await command(this.#derived.settings, this.key, ['ZSCORE', this.key, id], this.#what, this.#wrongType)) !== null;
  }

  /**
   * Removes the entry of `id` if it is stale: the caller found, after the
   * entry was read with `score` ('': any), that the session is not the
   * owner's. Kept while younger than the grace period (a bind in flight),
   * or when made again since (its score changed). Whether it was removed
   * (with `dry`: would be).
   */
  async dropStale(id: string, score: string, dry = false): Promise<boolean> {
    return (await this.#eval(SCRIPTS.unindex, [id, score, this.#derived.graceUs, dry ? '1' : '0'])) === 1;
  }

  /**
   * Removes the entry of `id`, read with `score`, whose session the caller
   * itself just removed: stale for sure unless made again since (a new
   * bind changes its score), so without a grace period.
   */
  async dropRemoved(id: string, score: string): Promise<boolean> {
    return (await this.#eval(SCRIPTS.unindex, [id, score, '0', '0'])) === 1;
  }

  /** The entries, [id, score], a page at a time (ZSCAN: every entry present throughout is seen; an id may come twice). */
  async *pages(): AsyncIterable<[string, string][]> {
    let cursor = '0';
    do {
      const [next, flat] = (await command(this.#derived.settings, this.key, ['ZSCAN', this.key, cursor, 'COUNT', '500'], this.#what, this.#wrongType)) as [
        Buffer,
        Buffer[],
      ];
      cursor = next.toString();
      const page: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) page.push([flat[i]!.toString('latin1'), flat[i + 1]!.toString('latin1')]);
      yield page;
    } while (cursor !== '0');
  }
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
      ownerTtl: String(ownerIndexTtl(options.maxLifetime) ?? -1),
      graceUs: String(Math.ceil(ownerGrace(options.lockTimeout, settings.commandTimeout) * 1000)),
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
  /** The owner stored in what this instance last read or wrote, whose index entry goes stale when it unbinds or removes the session. */
  #knownOwner: SessionOwner | null = null;
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
  #send(routingKey: string, args: Arg[], via?: NodeClient): Promise<unknown> {
    return command(this.#derived.settings, routingKey, args, this.#what, this.#wrongType, via);
  }

  readonly #wrongType = (err: Error): Error =>
    new SessionCorruptError(this.#what, this.id, new Error(`${this.key} is not a hash of this store: ${err.message}`));

  /** Runs a script (EVALSHA; EVAL once when Redis does not know it yet, e.g. after a restart). */
  #eval(s: Script, args: Arg[]): Promise<unknown> {
    return evalScript(this.#derived.settings, s, s.keys === '2' ? [this.key, this.lockKey] : [this.lockKey], args, this.#what, this.#wrongType);
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
      this.#knownOwner = null;
      return null;
    }
    const stored = this.#parse(fields);
    this.#generation = stored.generation;
    this.#knownOwner = stored.owner;
    return stored;
  }

  #parse(fields: Buffer[]): StoredSession & { generation: string; owner: SessionOwner | null } {
    const data = new Map<string, Uint8Array>();
    let created: number | undefined;
    let accessed: number | undefined;
    let generation: string | undefined;
    let ownerId: Buffer | undefined;
    let ownerInfo: Buffer | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const value = fields[i + 1]!;
      // 'k:' user key, 'm:' metadata.
      if (field[0] === 0x6b && field[1] === 0x3a) data.set(field.toString('utf8', 2), value);
      else if (field[0] === 0x6d && field[1] === 0x3a && field.length === 3) {
        if (field[2] === 0x63) created = Number(value.toString('latin1'));
        else if (field[2] === 0x61) accessed = Number(value.toString('latin1'));
        else if (field[2] === 0x67) generation = value.toString('latin1');
        else if (field[2] === 0x6f) ownerId = value;
        else if (field[2] === 0x69) ownerInfo = value;
        // m:s (the size, for the save script), m:l (the lock mark) and unknown m: fields are not the Session's business.
      } else if (!(field[0] === 0x6d && field[1] === 0x3a)) {
        throw this.#corrupt(`a field that is neither a session key (k:) nor metadata (m:): ${JSON.stringify(field.toString('latin1').slice(0, 40))}`);
      }
    }
    if (created === undefined || accessed === undefined || generation === undefined || Number.isNaN(created) || Number.isNaN(accessed)) {
      throw this.#corrupt('the created (m:c), accessed (m:a) or generation (m:g) field is missing or not a number');
    }
    let owner: SessionOwner | null = null;
    if (ownerId !== undefined || ownerInfo !== undefined) {
      try {
        owner = decodeBinding(ownerId, ownerInfo);
      } catch (err) {
        throw this.#corrupt((err as Error).message);
      }
    }
    return { data, created, accessed, generation, owner };
  }

  #corrupt(why: string): SessionCorruptError {
    return new SessionCorruptError(this.#what, this.id, new Error(`${this.key}: ${why}`));
  }

  /**
   * A bind (`changes.owner` an owner) makes the owner's index entry first,
   * then stores m:o and m:i in the save script with the data; an unbind
   * (null) deletes them there. After a rebind or unbind that was applied,
   * the old owner's entry is stale, and removed if past the grace period.
   */
  async save(changes: SessionChanges): Promise<WriteResult> {
    const create = changes.mode === 'create';
    const generation = create ? randomBytes(12).toString('base64url') : this.#generation;
    const { idle, life, maxBytes } = this.#derived;
    const owner = changes.owner;
    let binding: Arg[] = ['', '', ''];
    if (owner === null) binding = ['-', '', ''];
    else if (owner !== undefined) {
      checkOwnerId(owner.id);
      binding = ['+', owner.id, encodeBinding(owner)];
      // The entry before the session names its owner, never after (namespace.ts): a failure here writes nothing.
      await this.#index(owner.id).add(this.id);
    }
    const previous = create ? null : this.#knownOwner;
    const reply = await this.#run(SCRIPTS.save, () => {
      const args: Arg[] = [
        create ? 'c' : 'u',
        generation,
        String(changes.created),
        String(changes.accessed),
        idle,
        life,
        maxBytes,
        String(changes.set.size),
        ...binding,
      ];
      for (const [key, bytes] of changes.set) args.push(`k:${key}`, asBuffer(bytes));
      for (const key of changes.delete) args.push(`k:${key}`);
      return args;
    });
    switch (reply[0]) {
      case OK:
        if (create) this.#generation = generation;
        if (owner !== undefined) {
          this.#knownOwner = owner;
          if (previous !== null && ownerHash(previous.id) !== (owner === null ? '' : ownerHash(owner.id))) await this.#dropEntry(previous.id);
        } else if (create) {
          this.#knownOwner = null;
        }
        return 'ok';
      case GONE:
        this.#knownOwner = null;
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

  /** Deletes the hash; the index entry of the owner it was read with is stale then, and removed if past the grace period. */
  async remove(): Promise<void> {
    await this.#run(SCRIPTS.remove, () => []);
    this.#generation = '';
    const owner = this.#knownOwner;
    this.#knownOwner = null;
    if (owner !== null) await this.#dropEntry(owner.id);
  }

  #index(owner: string): OwnerIndex {
    return new OwnerIndex(this.#derived, ownerHash(owner));
  }

  /**
   * Removes this session's entry from `owner`'s index after this instance
   * unbound or removed the session (so, unless a binder made it again, the
   * entry is stale): only past the grace period. Best effort: the session
   * is already as it should be, and a stale entry is harmless (cleaned by
   * listing, revoking or sweep()).
   */
  async #dropEntry(owner: string): Promise<void> {
    try {
      await this.#index(owner).dropStale(this.id, '');
    } catch (err) {
      if (!(err instanceof SessionStoreUnavailableError || err instanceof SessionError)) throw err;
    }
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
    const prefix = derive(options).settings.prefix;
    for await (const keys of RedisNamespace.#scan(options, '')) {
      for (const key of keys) {
        const id = key.slice(prefix.length + 1, -1);
        if (isValidId(id)) yield id;
      }
    }
  }

  /**
   * The keys `<prefix>{*}<suffix>` (the prefix's glob characters escaped):
   * SCAN on the server, or on every master of a cluster, one SCAN reply at
   * a time, each key once (SCAN may return one twice).
   */
  static async *#scan(options: StoreOptions, suffix: string): AsyncIterable<string[]> {
    const { settings } = derive(options);
    const conn = await connectionFor(settings);
    const pattern = `${settings.prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}${suffix}`;
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
        const batch: string[] = [];
        for (const k of keys) {
          const key = k.toString();
          if (!seen.has(key)) {
            seen.add(key);
            batch.push(key);
          }
        }
        if (batch.length > 0) yield batch;
      } while (cursor !== '0');
    }
  }

  /** Removes every stored session of the configuration (locks held stay, and expire by their lease), then the owner index entries left stale. */
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
    await RedisNamespace.#cleanIndexes(options, emptySweepResult(), false, () => {});
  }

  /**
   * The sessions bound to `owner` (see NamespaceClass.ownedSessions): the
   * entries of the owner's index, each checked against the session's m:o
   * (one HMGET per session, a few at a time, no lock waited for: a read
   * records nothing) and yielded only if it is exactly `owner`. Expired
   * sessions are gone by their TTL, or left to the caller's times check.
   * Damaged sessions are left out; stale entries are removed (past the
   * grace period).
   */
  static async *ownedSessions(owner: string, options: StoreOptions): AsyncIterable<OwnedSession> {
    checkOwnerId(owner);
    const index = new OwnerIndex(derive(options), ownerHash(owner));
    const want = Buffer.from(owner, 'utf8');
    const seen = new Set<string>();
    for await (const page of index.pages()) {
      const found: OwnedSession[] = [];
      await eachLimited(page, SESSIONS_AT_ONCE, async ([id, score]) => {
        if (seen.has(id)) return;
        seen.add(id);
        if (!isValidId(id)) {
          await index.dropStale(id, score);
          return;
        }
        const ns = new RedisNamespace(id, options);
        let fields: (Buffer | null)[];
        try {
          fields = (await ns.#send(ns.key, ['HMGET', ns.key, 'm:o', 'm:i', 'm:c', 'm:a'])) as (Buffer | null)[];
        } catch (err) {
          if (err instanceof SessionCorruptError) return;
          throw err;
        }
        const [o, i, c, a] = fields;
        if (!o || ownerHash(o.toString('utf8')) !== index.hash) {
          await index.dropStale(id, score);
          return;
        }
        // Another owner whose id has the same hash: its entry, not stale, not ours.
        if (!o.equals(want)) return;
        const created = Number(c?.toString('latin1') ?? Number.NaN);
        const accessed = Number(a?.toString('latin1') ?? Number.NaN);
        if (Number.isNaN(created) || Number.isNaN(accessed)) return;
        let binding: SessionOwner;
        try {
          binding = decodeBinding(o, i, owner);
        } catch {
          return;
        }
        found.push({ id, created, accessed, owner: binding });
      });
      yield* found;
    }
  }

  /**
   * Removes the sessions bound to `owner` except those in `except` (see
   * NamespaceClass.revokeOwned): each by a script that waits out another's
   * lock (at most options.lockTimeout, as every operation does) and deletes
   * the hash only if m:o is still `owner`; its entry goes with it. A
   * session that stays locked longer is not removed: the others are, then
   * the LockTimeoutError is thrown (with `removed`). A request in flight on
   * a removed session cannot bring it back (its save finds the generation
   * gone).
   */
  static async revokeOwned(owner: string, options: StoreOptions, except: ReadonlySet<string>): Promise<number> {
    checkOwnerId(owner);
    const index = new OwnerIndex(derive(options), ownerHash(owner));
    let removed = 0;
    let timedOut: Error | null = null;
    const seen = new Set<string>();
    for await (const page of index.pages()) {
      await eachLimited(page, SESSIONS_AT_ONCE, async ([id, score]) => {
        if (except.has(id) || seen.has(id)) return;
        seen.add(id);
        if (!isValidId(id)) {
          await index.dropStale(id, score);
          return;
        }
        const ns = new RedisNamespace(id, options);
        let reply: unknown[];
        try {
          reply = await ns.#run(SCRIPTS.revoke, () => [owner]);
        } catch (err) {
          if (err instanceof LockTimeoutError) timedOut ??= err;
          else if (!(err instanceof SessionCorruptError)) throw err;
          return;
        }
        if (reply[0] === OK) {
          removed++;
          await index.dropRemoved(id, score);
          return;
        }
        const o = reply[1] as Buffer | null | undefined;
        if (!o || ownerHash(o.toString('utf8')) !== index.hash) await index.dropStale(id, score);
      });
    }
    if (timedOut !== null) throw Object.assign(timedOut, { removed });
    return removed;
  }

  /**
   * Removes the sessions `policy` says are over (see NamespaceClass.sweep):
   * SCAN of the session hashes (every master of a cluster), and for each a
   * script that decides by the stored times, in Redis, and never waits: a
   * locked session is skipped. The TTLs already drop idle sessions; this
   * enforces an idle or maxAge shorter than them, and keeps the owner index
   * right: an entry made for a kept bound session the index lacks, stale
   * entries removed (past the grace period). dryRun: counts only.
   */
  static async sweep(options: StoreOptions, policy: SweepPolicy): Promise<SweepResult> {
    const started = Date.now();
    const derived = derive(options);
    const prefix = derived.settings.prefix;
    const result = emptySweepResult();
    const { dryRun, signal, onProgress } = policy;
    const args = [
      String(options.now()),
      policy.idle === null ? '-1' : String(policy.idle),
      policy.maxAge === null ? '-1' : String(policy.maxAge),
      dryRun ? '1' : '0',
      policy.removeCorrupt ? '1' : '0',
    ];
    let lastProgress = Number.NEGATIVE_INFINITY;
    const progress = (): void => {
      const t = Date.now();
      if (onProgress === undefined || t - lastProgress < PROGRESS_MS) return;
      lastProgress = t;
      result.ms = t - started;
      onProgress({ ...result });
    };
    const check = (): void => {
      if (signal?.aborted) throw sweepAborted(signal, result);
    };

    // 1. The sessions.
    for await (const keys of RedisNamespace.#scan(options, '')) {
      for (let at = 0; at < keys.length; at += SWEEP_CHUNK) {
        check();
        await eachLimited(keys.slice(at, at + SWEEP_CHUNK), SESSIONS_AT_ONCE, async (key) => {
          const id = key.slice(prefix.length + 1, -1);
          if (!isValidId(id)) {
            result.foreign++;
            return;
          }
          result.scanned++;
          const ns = new RedisNamespace(id, options);
          const reply = (await ns.#eval(SCRIPTS.sweep, args)) as unknown[];
          switch (reply[0]) {
            case OK: {
              result.kept++;
              const o = reply[1] as Buffer | null | undefined;
              if (!o) return;
              // A bound session the index lacks (lost, or never made by an older writer): made again, as a binder would.
              const index = new OwnerIndex(derived, ownerHash(o.toString('utf8')));
              if (await index.has(id)) return;
              if (!dryRun) await index.add(id);
              result.ownerEntriesRestored++;
              return;
            }
            case 1: {
              result.removed++;
              result.bytesFreed += Number(reply[1]);
              const o = reply[2] as Buffer | null | undefined;
              if (o && (await new OwnerIndex(derived, ownerHash(o.toString('utf8'))).dropStale(id, '', dryRun))) result.ownerEntriesRemoved++;
              return;
            }
            case LOCKED:
              result.skipped++;
              return;
            case 7:
              result.corrupt++;
              if (reply[1] === 1) {
                result.removedCorrupt++;
                result.bytesFreed += Number(reply[2]);
              }
              return;
            default:
              return; // gone meanwhile
          }
        });
        progress();
      }
    }
    // 2. The owner index.
    await RedisNamespace.#cleanIndexes(options, result, dryRun, () => {
      check();
      progress();
    });
    result.ms = Date.now() - started;
    return result;
  }

  /**
   * Removes the stale entries of every owner index of the configuration
   * (SCAN of `<prefix>{*}:owner`): each checked against its session,
   * removed past the grace period; counted in `result`. `step` is called
   * before each index and page (abort, progress).
   */
  static async #cleanIndexes(options: StoreOptions, result: SweepResult, dryRun: boolean, step: () => void): Promise<void> {
    const derived = derive(options);
    const prefix = derived.settings.prefix;
    for await (const keys of RedisNamespace.#scan(options, ':owner')) {
      for (const key of keys) {
        step();
        const hash = key.slice(prefix.length + 1, -'}:owner'.length);
        if (!/^[0-9a-f]{32}$/.test(hash)) {
          result.foreign++;
          continue;
        }
        const index = new OwnerIndex(derived, hash);
        for await (const page of index.pages()) {
          step();
          await eachLimited(page, SESSIONS_AT_ONCE, async ([id, score]) => {
            if ((await RedisNamespace.#isStale(options, hash, id)) && (await index.dropStale(id, score, dryRun))) result.ownerEntriesRemoved++;
          });
        }
      }
    }
  }

  /** Whether an entry under owner hash `hash` for `id` is stale: the session is missing, unbound, or bound to an owner of another hash (a damaged one is not). */
  static async #isStale(options: StoreOptions, hash: string, id: string): Promise<boolean> {
    if (!isValidId(id)) return true;
    const ns = new RedisNamespace(id, options);
    let o: Buffer | null;
    try {
      o = (await ns.#send(ns.key, ['HGET', ns.key, 'm:o'])) as Buffer | null;
    } catch (err) {
      if (err instanceof SessionCorruptError) return false;
      throw err;
    }
    return o === null || ownerHash(o.toString('utf8')) !== hash;
  }
}

/** How many sessions the statics work on at once (commands in flight; node-redis pipelines them). */
const SESSIONS_AT_ONCE = 32;
/** Sessions per step of a sweep: between two steps it checks its signal and may report progress. */
const SWEEP_CHUNK = 256;
/** How often a long sweep reports progress (ms). */
const PROGRESS_MS = 200;
