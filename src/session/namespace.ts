// The NamespaceManager contract: what a session store implements. The
// Session encodes values (msgpack) and computes what changed; a store only
// moves bytes and times, atomically, for one session id.
//
// A store class is constructed once per session and request as
// `new NamespaceClass(id, options)`: `id` is always a validated 32-hex id,
// `options` the session's normalized options (dataDir, lockTimeout, sync,
// now, namespaceOptions for the store's own settings...).

import type { NormalizedSessionOptions } from './options.js';

/** A stored session as read by load(). */
export interface StoredSession {
  /** Every key with its msgpack-encoded value. The Session never mutates this map or its bytes. */
  data: Map<string, Uint8Array>;
  /** Creation time, ms since the epoch. */
  created: number;
  /** The previous access time (before this load), ms since the epoch. */
  accessed: number;
}

/** What save() must apply, in one atomic step. */
export interface SessionChanges {
  /** Keys to write, with their encoded values. */
  set: Map<string, Uint8Array>;
  /** Keys to delete. */
  delete: Set<string> | readonly string[];
  /** Times to store, ms since the epoch. */
  created: number;
  accessed: number;
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
   * REQUIRED. Atomically merges `changes` into the stored session: writes
   * the listed keys, deletes the listed keys, keeps every other stored key
   * (another request may have added it), stores both times; creates the
   * storage when missing.
   */
  save(changes: SessionChanges): Promise<void>;
  /** REQUIRED. Deletes the stored session; no error when there is none. */
  remove(): Promise<void>;
  /**
   * RECOMMENDED. Stores `accessed` as the access time without rewriting
   * data; does nothing when nothing is stored. Without it, save() of an
   * unchanged session writes an empty change set instead.
   */
  touch?(accessed: number): Promise<void>;
  /**
   * RECOMMENDED (with unlock). Takes the session's exclusive lock, across
   * requests and processes, waiting at most `timeoutMs` without blocking
   * the event loop, else rejects with a LockTimeoutError. While it is held,
   * this instance's load/save/touch/remove use the held lock (no deadlock)
   * and everyone else's wait. Without it, Session.lock() throws.
   */
  lock?(timeoutMs: number): Promise<void>;
  /** RECOMMENDED (with lock). Releases the lock; no error when not held. */
  unlock?(): Promise<void>;
  /** OPTIONAL. Releases resources (the Session calls it when done with the instance). */
  close?(): Promise<void>;
}

/** A store class: `new (id, options)`. */
export type NamespaceClass = new (id: string, options: NormalizedSessionOptions) => NamespaceManager;
