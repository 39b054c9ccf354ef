// Advisory file locks (flock via fs-ext) that never block the event loop.
//
// A blocking flock() would freeze the whole process while another process
// holds the lock, and would deadlock outright when the holder is another
// handle in this same process (flock locks belong to open file descriptions,
// so two handles on one file exclude each other even within a process).
// So every attempt is non-blocking (LOCK_NB); while the lock is busy we wait
// asynchronously, woken either by a release from this process or by a
// backoff timer for releases in other processes, until `timeout` ms pass.
//
// flock cannot upgrade shared -> exclusive atomically (a failed upgrade drops
// the shared lock, as tested on Linux), so callers release first and then
// re-validate what they read.

import nodePath from 'node:path';
import fsExt from 'fs-ext';
import { DbmClosedError, LockTimeoutError } from '../errors.js';

export type LockMode = 'shared' | 'exclusive';

const FLAG_TRY: Record<LockMode, 'shnb' | 'exnb'> = { shared: 'shnb', exclusive: 'exnb' };

/** Wake-up callbacks of handles in this process waiting on a file, by file identity. */
const waitersByFile = new Map<string, Set<() => void>>();

function wakeWaiters(fileKey: string): void {
  const waiters = waitersByFile.get(fileKey);
  if (!waiters) return;
  for (const wake of [...waiters]) wake();
}

function isBusy(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/**
 * Waiters poll at least this often (plus jitter), so that a gap of
 * FAIR_GAP_MS left by a busy holder is always seen by some attempt.
 */
const MAX_BACKOFF_MS = 4;
/**
 * Fairness. A process that commits in a loop without letting its event loop
 * turn would keep an operation-scoped lock forever, and one that re-takes
 * it right after each turn leaves gaps of microseconds, which pollers in
 * other processes almost never hit. flock says nothing about who waits, so
 * time decides: a holder whose lock has been held, or re-taken with gaps
 * shorter than FAIR_GAP_MS, for BURST_MS releases it and stays away for
 * FAIR_GAP_MS. Explicit holds (transaction(), lock()) are never cut.
 */
export const BURST_MS = 100;
export const FAIR_GAP_MS = 6;

export class FileLock {
  /** What this descriptor holds now. */
  held: LockMode | null = null;
  /**
   * The descriptor was closed: no more flock calls on it. Its number may
   * already belong to another file, or to another handle on this one.
   */
  #closed = false;

  #fileKey: string | undefined;
  /** When this handle's current burst of holding began, and when it last released. */
  #burstStart = 0;
  #releasedAt = -Infinity;

  readonly #fd: number;
  readonly #path: string;
  readonly #now: () => number;

  /** `now`: milliseconds, for the fairness accounting (a parameter for tests). */
  constructor(fd: number, path: string, now: () => number = () => performance.now()) {
    this.#fd = fd;
    this.#path = path;
    this.#now = now;
  }

  /**
   * Identity of the file for waking waiters in this process: its absolute
   * path, computed only when someone waits (handles reaching one file
   * through different paths still exclude each other via flock, and then
   * notice releases by their backoff timer).
   */
  get #key(): string {
    this.#fileKey ??= nodePath.resolve(this.#path);
    return this.#fileKey;
  }

  /** One non-blocking attempt; true when the lock is now held. */
  tryAcquire(mode: LockMode): boolean {
    if (this.#closed) throw new DbmClosedError(this.#path);
    try {
      fsExt.flockSync(this.#fd, FLAG_TRY[mode]);
    } catch (err) {
      if (isBusy(err)) return false;
      throw err;
    }
    this.held = mode;
    const now = this.#now();
    if (now - this.#releasedAt >= FAIR_GAP_MS) this.#burstStart = now;
    return true;
  }

  /**
   * This handle has dominated the lock for a burst (see BURST_MS): it holds
   * the lock, or released it less than FAIR_GAP_MS ago, and its burst began
   * more than BURST_MS ago. It should leave a gap before taking it again.
   */
  get overdue(): boolean {
    const now = this.#now();
    return now - this.#burstStart > BURST_MS && (this.held !== null || now - this.#releasedAt < FAIR_GAP_MS);
  }

  /** Releases the lock (if held) and waits until a gap of FAIR_GAP_MS has passed. */
  async yieldToOthers(): Promise<void> {
    this.release();
    const wait = FAIR_GAP_MS - (this.#now() - this.#releasedAt);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // The gap is served: the next acquisition starts a new burst. (Judging
    // that by the clock again would fail when the timer fires a little
    // early by this clock, and every later operation would pay a gap.)
    this.#releasedAt = -Infinity;
  }

  /**
   * Takes the lock, waiting without blocking the event loop. Rejects with a
   * LockTimeoutError after `timeout` ms. Must not be called while holding a
   * lock in the other mode (release first: see the note above).
   */
  async acquire(mode: LockMode, timeout: number): Promise<void> {
    if (this.held === mode) return;
    if (this.held !== null) throw new Error(`internal: acquire(${mode}) while holding ${this.held}`);
    if (this.tryAcquire(mode)) return;
    const deadline = Date.now() + timeout;
    let backoff = 1;
    let waiters = waitersByFile.get(this.#key);
    if (!waiters) {
      waiters = new Set();
      waitersByFile.set(this.#key, waiters);
    }
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new LockTimeoutError(this.#path, mode, timeout);
        // Jitter keeps several waiting processes from retrying in lockstep.
        const delay = Math.min(remaining, backoff * (0.75 + Math.random() * 0.5));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay);
          function done(): void {
            clearTimeout(timer);
            waiters!.delete(done);
            resolve();
          }
          waiters!.add(done);
        });
        if (this.tryAcquire(mode)) return;
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    } finally {
      if (waiters.size === 0 && waitersByFile.get(this.#key) === waiters) waitersByFile.delete(this.#key);
    }
  }

  release(): void {
    if (this.held === null) return;
    this.held = null;
    this.#releasedAt = this.#now();
    fsExt.flockSync(this.#fd, 'un');
    if (waitersByFile.size > 0) wakeWaiters(this.#key);
  }

  /** The descriptor is being closed, which drops the lock; tell waiters. */
  releasedByClose(): void {
    // A wait of this handle's in acquire() ends with DbmClosedError.
    this.#closed = true;
    this.held = null;
    if (waitersByFile.size === 0 || !waitersByFile.has(this.#key)) return;
    // The close itself happens after this call, so wake on the next tick.
    const key = this.#key;
    queueMicrotask(() => wakeWaiters(key));
  }
}
