// Typed errors of the session layer. Each carries a stable `code` so callers
// can branch on it without instanceof across package copies.

export { LockTimeoutError } from '../errors.js';

/** Stable codes of SessionError. */
export type SessionErrorCode =
  | 'ERR_SESSION'
  | 'ERR_SESSION_HEADERS_SENT'
  | 'ERR_SESSION_NOT_LOADED'
  | 'ERR_SESSION_LOCK_UNSUPPORTED'
  | 'ERR_SESSION_VALUE'
  | 'ERR_SESSION_CORRUPT'
  | 'ERR_SESSION_TOO_LARGE'
  | 'ERR_SESSION_STORE'
  | 'ERR_SESSION_OWNERS_UNSUPPORTED'
  | 'ERR_SESSION_SWEEP_UNSUPPORTED'
  | 'ERR_SESSION_UNSAFE_DATA_DIR';

/** A misuse of the session or a value it cannot store; nothing was written. */
export class SessionError extends Error {
  readonly code: SessionErrorCode;
  constructor(message: string, code: SessionErrorCode = 'ERR_SESSION', options?: ErrorOptions) {
    super(message, options);
    this.name = 'SessionError';
    this.code = code;
  }
}

/**
 * The stored session could not be read: a damaged dbm file, or a value that
 * does not decode. `file` names the file (or, for stores without files, the
 * store and id); `cause` is the underlying error (e.g. a DbmCorruptError).
 */
export class SessionCorruptError extends SessionError {
  readonly file: string;
  readonly id: string;
  constructor(file: string, id: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `wasm-session: the stored session ${file} is corrupt: ${why} (pass invalidateCorrupt: true to start a clean session instead)`,
      'ERR_SESSION_CORRUPT',
      { cause },
    );
    this.name = 'SessionCorruptError';
    this.file = file;
    this.id = id;
  }
}

/**
 * The dbm store refuses a directory: `dataDir` is not a directory, not
 * owned by this process's user, or writable by others (allowUnsafeDataDir
 * relaxes the owner and mode checks), or a shard directory in it is not a
 * real directory of this user. Nothing was read or written in it.
 */
export class UnsafeDataDirError extends SessionError {
  /** The directory concerned. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;
  constructor(path: string, reason: string, hint: string) {
    super(`wasm-session: refusing the session directory ${path}: ${reason} (${hint})`, 'ERR_SESSION_UNSAFE_DATA_DIR');
    this.name = 'UnsafeDataDirError';
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The session store could not be reached in time (a network store such as
 * Redis: down, restarting, loading its data, or slower than its command
 * timeout). The operation failed within a bounded time instead of hanging
 * the request. A write that failed this way may or may not have been
 * applied (the reply is what was lost); a read changed nothing. The store
 * reconnects by itself: later operations succeed once it is back.
 */
export class SessionStoreUnavailableError extends Error {
  readonly code = 'ERR_SESSION_STORE_UNAVAILABLE';
  /** Which store: 'redis'. */
  readonly store: string;
  constructor(store: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SessionStoreUnavailableError';
    this.store = store;
  }
}

/**
 * The session's lock (lock()) was lost while this instance held it: its
 * lease ran out (the holder stalled longer than the lease, or the store lost
 * it, e.g. in a failover) and someone else may hold it now. The operation
 * wrote nothing. Release the lock (unlock()) and start over.
 */
export class SessionLockLostError extends Error {
  readonly code = 'ERR_SESSION_LOCK_LOST';
  /** The session concerned (id prefix). */
  readonly session: string;
  constructor(session: string, message: string) {
    super(message);
    this.name = 'SessionLockLostError';
    this.session = session;
  }
}
