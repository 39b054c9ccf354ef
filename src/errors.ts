// Typed errors of wasm-session. Each carries a stable `code` so callers can
// branch without instanceof across package copies.

/** A WebAssembly trap (out-of-bounds access, unreachable) in a named operation. */
export class WasmTrapError extends Error {
  readonly code = 'ERR_WASM_TRAP';
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    super(`wasm-session: WebAssembly trap in ${operation}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'WasmTrapError';
    this.operation = operation;
  }
}

/** Base class of the dbm's errors. */
export class DbmError extends Error {
  readonly code: string = 'ERR_DBM';
  /** The database file concerned. */
  readonly path: string;
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DbmError';
    this.path = path;
  }
}

/**
 * The file is damaged or is not a dbm file: a checksum that does not match,
 * a pointer out of range or in a loop, a page of the wrong kind. Nothing was
 * changed; `page` is the page number concerned (-1 when not one page).
 */
export class DbmCorruptError extends DbmError {
  override readonly code = 'ERR_DBM_CORRUPT';
  readonly page: number;
  readonly reason: string;
  constructor(path: string, page: number, reason: string, options?: ErrorOptions) {
    super(`wasm-session dbm: ${path} is corrupt${page >= 0 ? ` at page ${page}` : ''}: ${reason}`, path, options);
    this.name = 'DbmCorruptError';
    this.page = page;
    this.reason = reason;
  }
}

/** A file lock was not granted within `timeout` ms; nothing was changed. */
export class LockTimeoutError extends DbmError {
  override readonly code = 'ERR_LOCK_TIMEOUT';
  readonly timeout: number;
  readonly mode: 'shared' | 'exclusive';
  constructor(path: string, mode: 'shared' | 'exclusive', timeout: number) {
    super(`wasm-session dbm: could not get ${mode === 'exclusive' ? 'an' : 'a'} ${mode} lock on ${path} within ${timeout} ms`, path);
    this.name = 'LockTimeoutError';
    this.timeout = timeout;
    this.mode = mode;
  }
}

/** The handle was closed. */
export class DbmClosedError extends DbmError {
  override readonly code = 'ERR_DBM_CLOSED';
  constructor(path: string) {
    super(`wasm-session dbm: ${path} is closed`, path);
    this.name = 'DbmClosedError';
  }
}

/** A write through a handle opened with flag 'r'. */
export class DbmReadOnlyError extends DbmError {
  override readonly code = 'ERR_DBM_READONLY';
  constructor(path: string) {
    super(`wasm-session dbm: ${path} is open read-only (flag 'r')`, path);
    this.name = 'DbmReadOnlyError';
  }
}
