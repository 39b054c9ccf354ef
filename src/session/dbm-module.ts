// The `dbmModule` option (Myghty's session_dbmmodule, "a module to use for
// DBM support"): the dbm store opens its session files through it instead
// of the built-in engine (wasm-session/dbm). This is the interface such a
// module implements: the part of wasm-session/dbm's API that the dbm store
// uses, so `import * as dbm from 'wasm-session/dbm'` is one (the default).

import { createRequire } from 'node:module';
import nodePath from 'node:path';

/** The session and access times of a file (ms since the epoch). */
export interface DbmModuleTimes {
  readonly created: number;
  readonly accessed: number;
}

/** What open() is asked for. */
export interface DbmModuleOpenOptions {
  /** 'r': read only, shared locks; 'w': read-write, the file must exist; 'c': read-write, created when missing. */
  readonly flag: 'r' | 'w' | 'c';
  /** With 'c': fail with an EEXIST error when anything is at the path (O_EXCL). */
  readonly exclusive?: boolean;
  /** Fail (ELOOP) rather than open through a symbolic link at the path (O_NOFOLLOW). */
  readonly noFollow?: boolean;
  /** A hint an engine may ignore: do not update the file's access time on reads (O_NOATIME). */
  readonly noAtime?: boolean;
  /** A hint an engine may ignore: the page size of a file it creates. */
  readonly pageSize?: number;
  /** ms to wait for a lock before a LockTimeoutError (code 'ERR_LOCK_TIMEOUT'). */
  readonly lockTimeout: number;
  /** 'commit': every transaction is on disk (fdatasync) before it resolves; 'none': a crash of the process loses nothing committed. */
  readonly sync: 'none' | 'commit';
  /** Called with fstat() of the opened descriptor before anything is read; an error it throws fails the open (the file is closed). */
  readonly inspect?: (stats: import('node:fs').Stats, fd: number) => void;
}

/** One transaction's view of the file: the raw (encoded) values by key, and the times. */
export interface DbmModuleTransaction {
  entriesRaw(): Iterable<[string, Uint8Array]>;
  readonly times: DbmModuleTimes;
  setTimes(times: { created?: number; accessed?: number }): void;
  delete(key: string): unknown;
  setRaw(key: string, bytes: Uint8Array): unknown;
}

/** An open file. */
export interface DbmModuleHandle {
  /** Runs `fn` under the exclusive lock on a current snapshot and commits what it changed, atomically. */
  transaction<R>(fn: (tx: DbmModuleTransaction) => R | Promise<R>): Promise<R>;
  /** Every key with its raw value, read under a shared lock (or the held one); `times` is then what was read. */
  getAllRaw(): Promise<Map<string, Uint8Array>>;
  readonly times: DbmModuleTimes;
  /** Stores `accessed` as the access time, without rewriting any data. */
  touch(accessed: number): Promise<void>;
  /**
   * Holds the exclusive lock (across processes, for a shared file) until
   * unlock(); the handle's own operations use it. A handle that has just
   * committed a transaction keeps its exclusive lock until this lock()
   * takes it over or the event loop turns (as wasm-session/dbm does), so a
   * file created and then locked lets no other handle in between.
   */
  lock(): Promise<void>;
  unlock(): Promise<void>;
  close(): Promise<void>;
  /** fstat() of the open descriptor (dev, ino, nlink, uid, mode and size are used). */
  fstat(): import('node:fs').Stats;
  /** fchmod() of the open descriptor. */
  chmod(mode: number): void;
  /** close() was called. */
  readonly closed: boolean;
  /** Between lock() and unlock(). */
  readonly locked: boolean;
  /** ms its waits for a lock take at most (the store sets it when it reuses an idle handle). */
  lockTimeout: number;
  /** Differs between two creations of a file at one path, the same for the life of one file. */
  readonly seed: string | number;
}

/** A dbm module: `open()` (or the namespace of wasm-session/dbm, whose `Dbm.open` it is). */
export interface DbmModule {
  open(path: string, options: DbmModuleOpenOptions): Promise<DbmModuleHandle>;
}

/** What the option accepts: such a module, one with a `Dbm` class (as wasm-session/dbm), or a package name or path to require. */
export type DbmModuleOption = DbmModule | { Dbm: DbmModule } | string;

/**
 * The option's module, normalized to `{ open }`; throws a TypeError naming
 * the option. A string is loaded with require() from the current
 * directory (an ES module too, on Node 20.19 and later).
 */
export function resolveDbmModule(value: unknown): DbmModule {
  let module = value;
  if (typeof module === 'string') {
    if (module.length === 0) throw new TypeError('wasm-session: option dbmModule must not be an empty string');
    const require = createRequire(nodePath.join(process.cwd(), 'package.json'));
    try {
      module = require(module);
    } catch (err) {
      throw new TypeError(`wasm-session: option dbmModule: cannot load ${JSON.stringify(value)}: ${(err as Error).message}`, { cause: err });
    }
  }
  if ((typeof module === 'object' || typeof module === 'function') && module !== null) {
    const m = module as { open?: unknown; Dbm?: { open?: unknown }; default?: unknown };
    if (typeof m.open === 'function') return { open: (path, options) => (m.open as DbmModule['open'])(path, options) };
    if (typeof m.Dbm?.open === 'function') {
      const Dbm = m.Dbm as DbmModule;
      return { open: (path, options) => Dbm.open(path, options) };
    }
    if (m.default !== undefined && m.default !== module) return resolveDbmModule(m.default);
  }
  throw new TypeError(
    `wasm-session: option dbmModule must be a dbm module (with open(path, options), or a Dbm class with a static open, as wasm-session/dbm), or the name of one`,
  );
}
