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

/**
 * A lock was not granted within `timeout` ms; nothing was changed. Thrown by
 * every store, not only the dbm: `resource` names what was locked (a file
 * path for the dbm and its session files, `memory session <id prefix>…` for
 * the memory store); `path` is the same string, kept for the dbm's callers.
 * (It no longer extends DbmError: a lock timeout of a store without files is
 * no dbm error. Branch on `code` or `instanceof LockTimeoutError`.)
 */
export class LockTimeoutError extends Error {
  readonly code = 'ERR_LOCK_TIMEOUT';
  /** What could not be locked: a file path, or a store's name for the session. */
  readonly resource: string;
  /** The same as `resource` (the dbm's file path). */
  readonly path: string;
  readonly timeout: number;
  readonly mode: 'shared' | 'exclusive';
  constructor(resource: string, mode: 'shared' | 'exclusive', timeout: number) {
    super(`wasm-session: could not get ${mode === 'exclusive' ? 'an' : 'a'} ${mode} lock on ${resource} within ${timeout} ms`);
    this.name = 'LockTimeoutError';
    this.resource = resource;
    this.path = resource;
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
