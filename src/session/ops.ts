// Operations on many sessions at once, for any store that implements the
// optional statics of the contract (namespace.ts): removing what is over
// (sweep(), startSweeper()), and a user's sessions (listSessions(),
// revokeSessions(): "log out my other devices"). Each takes the session
// options the application gives Session.open(), so it works on exactly the
// sessions the application's requests see.

import { SessionError } from './errors.js';
import { isValidId } from './ids.js';
import type { NamespaceClass, StoreOptions, SweepPolicy, SweepResult } from './namespace.js';
import type { SessionOptions } from './options.js';
import { checkOwnerId, type OwnerInfo } from './owner.js';
import { storeFor } from './session.js';

/** A duration: a number of seconds, or a string with a unit: '500ms', '90s', '30m', '12h', '30d', '2w' (no unit: seconds). */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration in ms; throws a TypeError or RangeError naming `what` for anything else than a positive duration. */
export function parseDuration(value: unknown, what = 'duration'): number {
  let ms: number;
  if (typeof value === 'number') ms = value * 1000;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
    if (m === null) throw new TypeError(`wasm-session: ${what} must be a duration such as '90s', '30m', '12h' or '30d', got ${JSON.stringify(value)}`);
    ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  } else {
    throw new TypeError(`wasm-session: ${what} must be a number of seconds or a duration string such as '30m', got ${value === null ? 'null' : typeof value}`);
  }
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`wasm-session: ${what} must be a positive, finite duration`);
  return ms;
}

/** sweep()'s options: the session options of the application, and what to remove. */
export interface SweepOptions extends SessionOptions {
  /** Remove sessions not accessed for longer than this (default: the session option `timeout`). */
  idle?: Duration;
  /** Remove sessions created longer ago than this (default: the session option `maxLifetime`). */
  maxAge?: Duration;
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Also remove stored sessions that cannot be read (default: only counted). */
  removeCorrupt?: boolean;
  /** Abort a long sweep: it rejects with the signal's reason, whose `result` holds the counts so far. */
  signal?: AbortSignal;
  /** Called now and then (every ~200 ms) during a long sweep with the counts so far. */
  onProgress?: (counts: Readonly<SweepResult>) => void;
}

const SWEEP_KEYS = ['idle', 'maxAge', 'dryRun', 'removeCorrupt', 'signal', 'onProgress'] as const;

function optionalBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`wasm-session: option ${name} must be true or false`);
  return value;
}

/** The store and the policy of sweep options, checked. */
function sweepSetup(options: SweepOptions, extra: readonly string[] = []): { store: NamespaceClass; storeOptions: StoreOptions; policy: SweepPolicy } {
  if (options === null || typeof options !== 'object') throw new TypeError('wasm-session: sweep() takes an options object ({ dataDir, idle, maxAge, ... })');
  const session: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (!(SWEEP_KEYS as readonly string[]).includes(name) && !extra.includes(name)) session[name] = value;
  }
  const { namespaceClass, options: storeOptions } = storeFor(session as SessionOptions);
  if (typeof namespaceClass.sweep !== 'function') {
    throw new SessionError(`wasm-session: the session store ${namespaceClass.name || '(anonymous)'} has no static sweep()`, 'ERR_SESSION_SWEEP_UNSUPPORTED');
  }
  const idle = options.idle !== undefined ? parseDuration(options.idle, 'option idle') : storeOptions.timeout !== null ? storeOptions.timeout * 1000 : null;
  const maxAge =
    options.maxAge !== undefined ? parseDuration(options.maxAge, 'option maxAge') : storeOptions.maxLifetime !== null ? storeOptions.maxLifetime * 1000 : null;
  if (idle === null && maxAge === null) {
    throw new TypeError('wasm-session: sweep() needs idle or maxAge (or the session options timeout or maxLifetime), else nothing is ever over');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('wasm-session: option signal must be an AbortSignal');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('wasm-session: option onProgress must be a function');
  const policy: SweepPolicy = {
    idle,
    maxAge,
    dryRun: optionalBoolean(options.dryRun, 'dryRun'),
    removeCorrupt: optionalBoolean(options.removeCorrupt, 'removeCorrupt'),
    signal: options.signal,
    onProgress: options.onProgress,
  };
  return { store: namespaceClass, storeOptions, policy };
}

/**
 * Removes the stored sessions that are over: not accessed for longer than
 * `idle`, or created longer ago than `maxAge` (by default the session
 * options' `timeout` and `maxLifetime`, so `sweep(sessionOptions)` removes
 * exactly what the application's requests would throw away), never one in
 * use. The dbm store also removes the owner index entries and shard
 * directories it leaves stale or empty. Resolves to the counts
 * (SweepResult). For cron: `npx wasm-session gc DATA_DIR --idle 30m`.
 */
export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const { store, storeOptions, policy } = sweepSetup(options);
  return store.sweep!(storeOptions, policy);
}

/** startSweeper()'s options: sweep()'s, and how often. */
export interface SweeperOptions extends SweepOptions {
  /** How long from the end of one sweep to the start of the next (default '10m'); the first starts after one interval. */
  every?: Duration;
  /** Called with each sweep's counts. */
  onSweep?: (result: SweepResult) => void;
  /** Called when a sweep fails (default: a process warning); the sweeper goes on. */
  onError?: (err: Error) => void;
}

/**
 * Sweeps in this process every `every` (for applications without cron): a
 * timer that does not keep the process alive (unref), and never two sweeps
 * at once (the next is scheduled when one ends). Returns `stop()`, which
 * cancels the timer, aborts a sweep in progress and resolves once it has
 * ended. The options are checked now.
 */
export function startSweeper(options: SweeperOptions): () => Promise<void> {
  const { store, storeOptions, policy } = sweepSetup(options, ['every', 'onSweep', 'onError']);
  const every = parseDuration(options.every ?? '10m', 'option every');
  const { onSweep, onError } = options;
  if (onSweep !== undefined && typeof onSweep !== 'function') throw new TypeError('wasm-session: option onSweep must be a function');
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('wasm-session: option onError must be a function');
  const controller = new AbortController();
  const signal = policy.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, policy.signal]);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const schedule = (): void => {
    if (stopped || signal.aborted) return;
    timer = setTimeout(run, every);
    timer.unref();
  };
  const run = (): void => {
    timer = null;
    running = store.sweep!(storeOptions, { ...policy, signal }).then(
      (result) => onSweep?.(result),
      (err: Error) => {
        if (stopped) return;
        if (onError !== undefined) onError(err);
        else process.emitWarning(`wasm-session: a session sweep failed: ${err.message}`, { code: 'WASM_SESSION_SWEEP_FAILED' });
      },
    );
    running.finally(() => {
      running = null;
      schedule();
    });
  };
  schedule();
  return async () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    controller.abort();
    await running;
  };
}

/** One of an owner's sessions, as listSessions() shows it: never the full id (it is a credential). */
export interface OwnerSession {
  /** The first 8 hex characters of the session id: enough to tell sessions apart, useless as a credential. */
  idPrefix: string;
  /** This is the session the caller named as `current`. */
  current: boolean;
  created: Date;
  /** Last access as stored (with the touch interval, up to `touchAfter` early). */
  accessed: Date;
  /** When the owner was bound (the login). */
  since: Date;
  /** What setOwner() recorded (e.g. `{ userAgent }`). */
  info: OwnerInfo;
}

/** The store of `options`, which must keep owners. */
function ownerStore(options: SessionOptions): { store: NamespaceClass; storeOptions: StoreOptions } {
  const { namespaceClass, options: storeOptions } = storeFor(options);
  if (typeof namespaceClass.ownedSessions !== 'function' || typeof namespaceClass.revokeOwned !== 'function') {
    throw new SessionError(
      `wasm-session: the session store ${namespaceClass.name || '(anonymous)'} does not keep owners (no static ownedSessions() and revokeOwned())`,
      'ERR_SESSION_OWNERS_UNSUPPORTED',
    );
  }
  return { store: namespaceClass, storeOptions };
}

/**
 * The live sessions bound to `owner` (Session.setOwner()), in the store
 * the session `options` name: most recently used first, expired ones left
 * out, each with an id prefix (never the full id), times and what was
 * recorded at binding. `current`: the id of the caller's session, marked
 * `current: true`. Read-only: no access is recorded.
 */
export async function listSessions(owner: string, options: SessionOptions, { current }: { current?: string } = {}): Promise<OwnerSession[]> {
  checkOwnerId(owner);
  const { store, storeOptions } = ownerStore(options);
  const now = storeOptions.now();
  const { timeout, maxLifetime } = storeOptions;
  const out: (OwnerSession & { at: number })[] = [];
  for await (const s of store.ownedSessions!(owner, storeOptions)) {
    if (timeout !== null && now - s.accessed > timeout * 1000) continue;
    if (maxLifetime !== null && now - s.created > maxLifetime * 1000) continue;
    out.push({
      idPrefix: s.id.slice(0, 8),
      current: s.id === current,
      created: new Date(s.created),
      accessed: new Date(s.accessed),
      since: new Date(s.owner.since),
      info: s.owner.info,
      at: s.accessed,
    });
  }
  out.sort((a, b) => Number(b.current) - Number(a.current) || b.at - a.at);
  return out.map(({ at: _, ...session }) => session);
}

/**
 * Ends every session bound to `owner` ("log out everywhere"), except the
 * ids in `except` (typically `{ except: session.id }`: "everywhere else"),
 * at once: each is removed from the store, and a request in flight on one
 * cannot bring it back (its save() resolves false). Resolves to how many
 * were ended.
 */
export async function revokeSessions(owner: string, options: SessionOptions, { except }: { except?: string | readonly string[] } = {}): Promise<number> {
  checkOwnerId(owner);
  const keep = new Set<string>();
  for (const id of except === undefined ? [] : typeof except === 'string' ? [except] : except) {
    if (typeof id !== 'string') throw new TypeError('wasm-session: revokeSessions() option except takes session ids (strings)');
    if (isValidId(id)) keep.add(id);
  }
  const { store, storeOptions } = ownerStore(options);
  return store.revokeOwned!(owner, storeOptions, keep);
}
