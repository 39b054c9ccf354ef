// The NamespaceManager contract: what a session store implements. The
// Session encodes values (msgpack) and computes what changed; a store only
// moves bytes and times, atomically, for one session id.
//
// A store class is constructed once per session and request as
// `new NamespaceClass(id, options)`: `id` is always a validated 32-hex id,
// `options` the store's share of the session options (StoreOptions: no
// secrets). An instance serves one Session for one request; it may keep
// state between calls (what it read, a lock, an open file) and is told when
// it is no longer needed (close()).
//
// The create/update rule. Creating a session's storage and updating it are
// different operations, and a store must never turn one into the other:
//  - save() with mode 'create' happens only for an id this Session made
//    itself (a fresh id, or its own remove() before): create the storage
//    exclusively, failing (result 'exists', nothing written) if anything is
//    stored under the id already;
//  - save() with mode 'update', and touch(), change only the stored session
//    this instance last read (by load() or read(), also after lock()) or
//    created: if it was removed since - even if it was then created again -
//    they change nothing and report 'gone'.
// That is what makes a logout stick: a request that loaded the session
// before another request removed it cannot bring it back by saving.
//
// Owners (OPTIONAL, for "log out my other devices"). A store that keeps an
// index of sessions by owner implements the statics ownedSessions() and
// revokeOwned(), stores `SessionChanges.owner` with the session and gives it
// back as `StoredSession.owner`. The rules, for any store:
//  - the owner is stored with the session, in the same atomic step as its
//    data, so the session itself always says whose it is;
//  - the index entry (owner -> id) is made before that step, never after:
//    a crash in between leaves an entry naming a session that is not the
//    owner's (harmless: every reader checks each entry against the session
//    it names), never an owned session the index lacks (which a revoke
//    would miss);
//  - stale entries (the session is gone, unbound, or bound to someone else)
//    are skipped by readers and may be cleaned by anyone who checks, under
//    the store's own exclusion, that the session still is not the owner's;
//  - the index can be rebuilt from the sessions, since each names its owner.
// The Redis store does it with a sorted set per owner hash: ZADD before the
// session's write (on a cluster another slot, so another command), the
// owner as fields of the session's hash, ZSCAN plus a check of that field
// to list, and a conditional ZREM of stale members that leaves young ones
// (a bind in flight) alone: REDIS.md, "Owners".

import type { DbmModule } from './dbm-module.js';
import type { RedisSettings } from './stores/redis-options.js';

/**
 * OPTIONAL (owners). Whom a session belongs to: bound by
 * Session.setOwner() at login, stored with the session, kept by
 * regenerateId(), cleared by invalidate() and delete().
 */
export interface SessionOwner {
  /** The owner's id (the application's user id): a non-empty string of at most 1000 UTF-8 bytes. */
  readonly id: string;
  /** What the application recorded at binding (e.g. `{ userAgent }`): strings, finite numbers, booleans, null. */
  readonly info: Readonly<Record<string, string | number | boolean | null>>;
  /** When the owner was bound, ms since the epoch. */
  readonly since: number;
}

/** One session of an owner, as NamespaceClass.ownedSessions() yields it. */
export interface OwnedSession {
  /** The full session id (a credential: the public listSessions() shows only a prefix). */
  readonly id: string;
  readonly created: number;
  readonly accessed: number;
  /** The binding as stored in the session; `owner.id` is exactly the owner asked for. */
  readonly owner: SessionOwner;
}

/** A stored session as read by load(). */
export interface StoredSession {
  /** Every key with its msgpack-encoded value. The Session never mutates this map or its bytes. */
  data: Map<string, Uint8Array>;
  /** Creation time, ms since the epoch. */
  created: number;
  /** The previous access time (before this load), ms since the epoch. */
  accessed: number;
  /**
   * OPTIONAL. Which creation of this id was read: any value that differs
   * between two creations of the same id (a removal and a new create) and
   * stays the same across updates. After lock() the Session keeps its
   * unsaved changes only if the session it re-reads is the same creation.
   */
  generation?: string | number;
  /**
   * OPTIONAL. The values already decoded, for stores that keep them so (the
   * memory store), for some or all keys of `data`. The Session never
   * mutates them or hands them out: the application gets copies, so a store
   * may share one map between requests. Keys missing here are decoded from
   * `data`.
   */
  decoded?: ReadonlyMap<string, unknown>;
  /**
   * OPTIONAL (owners). The owner bound to the session, or null/absent when
   * none is (or the store keeps no owners). Not part of `data`.
   */
  owner?: SessionOwner | null;
  /**
   * OPTIONAL. The session's size as maxSessionBytes counts it: the sum of
   * each key's length plus its value's byteLength. A store that tracks it
   * saves the Session a walk over every key per request.
   */
  bytes?: number;
}

/** What save() must apply, in one atomic step. */
export interface SessionChanges {
  /**
   * 'create': nothing may be stored under the id: create the storage
   * exclusively (O_EXCL-like, decided by the store's own atomic step, not by
   * a read before the write). 'update': merge into the stored session this
   * instance last read or created, and only that one.
   */
  mode: 'create' | 'update';
  /** Keys to write, with their encoded values (for 'create': every key). */
  set: Map<string, Uint8Array>;
  /** Keys to delete (empty for 'create'). */
  delete: readonly string[];
  /** Times to store, ms since the epoch. */
  created: number;
  accessed: number;
  /**
   * OPTIONAL (owners; only given to stores with ownedSessions()). undefined:
   * the binding is unchanged (for 'create': none); an owner: bind the
   * session to it, in the same atomic step as the data, after making the
   * index entry; null: unbind (the old entry may stay: it is stale).
   */
  owner?: SessionOwner | null;
}

/**
 * What save() and touch() report: 'ok' (written), 'gone' (mode 'update' or
 * touch(): the session this instance read is no longer stored; nothing was
 * written), 'exists' (mode 'create': something is stored under the id
 * already; nothing was written).
 */
export type WriteResult = 'ok' | 'gone' | 'exists';

/**
 * The session options a store is given: where and how to store, never the
 * signing secrets (a store has no business with them).
 */
export interface StoreOptions {
  /** Absolute directory of the session files ('' when the session has none configured). */
  readonly dataDir: string;
  /** Accept a dataDir that other users could write to (documented as unsafe). */
  readonly allowUnsafeDataDir: boolean;
  /** The cookie (name, path, domain): stores that keep one space per application partition by it. */
  readonly key: string;
  readonly cookiePath: string;
  readonly cookieDomain: string | undefined;
  /** Idle timeout in seconds, or null: a store may use it as a time-to-live. */
  readonly timeout: number | null;
  /** Absolute lifetime in seconds, or null. */
  readonly maxLifetime: number | null;
  /** Largest stored session, in bytes of encoded keys and values. */
  readonly maxSessionBytes: number;
  /** Milliseconds to wait for a lock before LockTimeoutError. */
  readonly lockTimeout: number;
  /** File durability: 'none' or 'commit' (fdatasync). */
  readonly sync: 'none' | 'commit';
  /** The session clock, ms since the epoch (for session ages, not for lock waits). */
  readonly now: () => number;
  /** The dbm store's settings: at most `openFiles` idle session files kept open for reuse (0: none). */
  readonly dbm: { readonly openFiles: number };
  /** The memory store's settings: at most `maxEntries` sessions (least recently used evicted; Infinity: unbounded). */
  readonly memory: { readonly maxEntries: number };
  /** The Redis store's settings (the validated `redis` option), or null/absent when none was given. */
  readonly redis?: RedisSettings | null;
  /** The `namespaceOptions` the application gave, for the store's own settings. */
  readonly namespaceOptions: Readonly<Record<string, unknown>>;
  /** The dbm store's engine (option dbmModule), or null for the built-in one (wasm-session/dbm). */
  readonly dbmModule: DbmModule | null;
}

export interface NamespaceManager {
  /**
   * REQUIRED. Reads the whole stored session and records `accessed` as its
   * new access time in the same step; resolves to the data and times as
   * they were before (null when nothing is stored: create nothing then).
   * Throw an error whose `code` is 'ERR_DBM_CORRUPT' (or a
   * SessionCorruptError) for unreadable storage.
   */
  load(accessed: number): Promise<StoredSession | null>;
  /**
   * OPTIONAL. Like load(), but records nothing: a read under a shared lock,
   * so concurrent requests of one session do not wait for each other. With
   * it, the Session records the access with the request's save(), or with
   * touch() (else an empty save()) just before the response ends; without
   * it, load() records the access at once.
   */
  read?(): Promise<StoredSession | null>;
  /**
   * REQUIRED. Applies `changes` in one atomic step, under the create/update
   * rule above: mode 'create' creates the storage exclusively; mode
   * 'update' writes the listed keys, deletes the listed keys, keeps every
   * other stored key (another request may have added it) and stores both
   * times, in the session this instance read, or reports 'gone'. (A store
   * written before the rule resolves to undefined, taken as 'ok'.)
   */
  save(changes: SessionChanges): Promise<WriteResult | undefined>;
  /** REQUIRED. Deletes whatever is stored under the id; no error when there is none. */
  remove(): Promise<void>;
  /**
   * RECOMMENDED. Stores `accessed` as the access time of the session this
   * instance read, without rewriting data; 'gone' (and nothing written)
   * when it is no longer stored. Without it, the Session records an access
   * with an empty save().
   */
  touch?(accessed: number): Promise<WriteResult | undefined>;
  /**
   * RECOMMENDED (with unlock). Takes the session's exclusive lock, across
   * requests and processes, waiting at most `timeoutMs` without blocking
   * the event loop, else rejects with a LockTimeoutError. While it is held,
   * this instance's load/read/save/touch/remove use the held lock (no
   * deadlock) and everyone else's wait. The Session re-reads (read() or
   * load()) after taking it; a session removed while this instance waited
   * must then read as null. Without lock(), Session.lock() throws.
   */
  lock?(timeoutMs: number): Promise<void>;
  /** RECOMMENDED (with lock). Releases the lock; no error when not held. */
  unlock?(): Promise<void>;
  /**
   * OPTIONAL. Releases what the instance holds (a lock, an open file). The
   * Session calls it when it is done with the instance: when it switches
   * to another id, and when the response ends.
   */
  close?(): Promise<void>;
}

/**
 * A store class: `new (id, options)`, optionally with static methods over
 * every session of one configuration (the express-session Store's `all`,
 * `ids`, `length` and `clear` use them).
 */
export interface NamespaceClass {
  new (id: string, options: StoreOptions): NamespaceManager;
  /**
   * OPTIONAL. Every id with a stored session in this configuration, in any
   * order, without loading the sessions; ids added or removed while it runs
   * may or may not appear. Expired sessions may appear (their load says so).
   */
  ids?(options: StoreOptions): AsyncIterable<string>;
  /** OPTIONAL. Removes every stored session of this configuration. */
  clear?(options: StoreOptions): Promise<void>;
  /**
   * OPTIONAL (owners, with revokeOwned). Every stored session bound to
   * `owner`, in any order, each checked against the session it names: only
   * sessions whose stored owner id is exactly `owner` are yielded (stale
   * index entries are skipped), without recording an access. Expired
   * sessions may appear (the caller filters by their times). A session
   * another request holds locked for longer than a short wait may be
   * left out. With it, Session.setOwner() is available.
   */
  ownedSessions?(owner: string, options: StoreOptions): AsyncIterable<OwnedSession>;
  /**
   * OPTIONAL (owners, with ownedSessions). Removes every stored session bound
   * to `owner` except the ids in `except`, each only if it is still bound
   * to `owner` when removed (it may wait for a session's lock, at most
   * options.lockTimeout); requests in flight on them cannot bring them back
   * (the create/update rule). Resolves to the number removed.
   */
  revokeOwned?(owner: string, options: StoreOptions, except: ReadonlySet<string>): Promise<number>;
  /**
   * OPTIONAL. Removes the stored sessions that `policy` says are over
   * (idle for longer than `policy.idle` ms since their stored access time,
   * or created more than `policy.maxAge` ms ago), never one that is in use
   * (locked), and cleans the store's own leftovers (stale owner index
   * entries, empty directories). What sweep() and startSweeper() call.
   */
  sweep?(options: StoreOptions, policy: SweepPolicy): Promise<SweepResult>;
}

/** What NamespaceClass.sweep() removes: times in ms (null: no limit), measured against options.now(). */
export interface SweepPolicy {
  readonly idle: number | null;
  readonly maxAge: number | null;
  /** Report what would be removed, remove nothing. */
  readonly dryRun: boolean;
  /** Also remove stored sessions that cannot be read (they are only counted otherwise). */
  readonly removeCorrupt: boolean;
  /** Stop early: the sweep rejects with the signal's reason (an AbortError carrying `result`, the counts so far). */
  readonly signal?: AbortSignal | undefined;
  /** Called now and then during a long sweep with the counts so far. */
  readonly onProgress?: ((counts: Readonly<SweepResult>) => void) | undefined;
}

/** What a sweep did. Counts of stored sessions, except where said. */
export interface SweepResult {
  /** Sessions looked at. */
  scanned: number;
  /** Removed (with dryRun: would be). */
  removed: number;
  /** Still live. */
  kept: number;
  /** In use (locked by a request or another process) or being created: left alone, looked at next time. */
  skipped: number;
  /** Cannot be read (damaged, or not a session file); removed only with removeCorrupt. */
  corrupt: number;
  /** Of `corrupt`, removed (removeCorrupt). */
  removedCorrupt: number;
  /** Entries where the store keeps its data that are not its own (links, FIFOs, misnamed files): never touched. */
  foreign: number;
  /** Bytes of storage freed (with dryRun: would be), where the store can tell. */
  bytesFreed: number;
  /** Owner index entries removed as stale, and entries made for bound sessions the index lacked. */
  ownerEntriesRemoved: number;
  ownerEntriesRestored: number;
  /** Empty directories removed (file stores). */
  dirsRemoved: number;
  /** Wall time of the sweep, ms. */
  ms: number;
}
