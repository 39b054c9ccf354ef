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
  | 'ERR_SESSION_STORE';

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
