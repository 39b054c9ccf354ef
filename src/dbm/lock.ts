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

  /** The descriptor was closed (releasedByClose). */
  get closed(): boolean {
    return this.#closed;
  }

  get path(): string {
    return this.#path;
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

/**
 * Handles whose operation-scoped lock is released when the event loop turns.
 * One setImmediate serves them all, and a handle closed within the turn
 * simply leaves the set (a pending immediate per handle would keep every
 * closed handle alive until the loop turns).
 */
const releaseAtTurnEnd = new Set<HandleLock>();
let turnEndScheduled = false;

function releaseTurnLocks(): void {
  turnEndScheduled = false;
  const handles = [...releaseAtTurnEnd];
  releaseAtTurnEnd.clear();
  for (const h of handles) h.endTurn();
}

/** What a dbm handle holds: see HandleLock. */
export type HandleLockState = 'unlocked' | 'shared' | 'exclusive' | 'held' | 'closed';

/**
 * The lock state of one dbm handle, one small state machine over its
 * FileLock:
 *
 *   unlocked ──take()──▶ shared | exclusive ──hold()──▶ held ──last unhold()──▶ exclusive
 *       ▲                    │ the event loop turns        (transaction(), lock(),
 *       └────────────────────┘ (endTurn)                    a running write)
 *   any state ──close()──▶ closed
 *
 * shared and exclusive are operation-scoped: a lock an operation took is
 * kept until the event loop turns, so one request's burst pays for one lock
 * and one meta read. held means explicit holders (running write
 * transactions, lock()) keep the exclusive lock whatever the turn. Beside
 * the state, `stale` says the snapshot read under the lock no longer
 * matches the file (a commit failed part-way): the next operation re-reads
 * it although the lock is held.
 */
export class HandleLock {
  readonly file: FileLock;
  /** Explicit holders: running write transactions, and lock(). */
  #holds = 0;
  #user = false;
  #stale = false;

  constructor(fd: number, path: string) {
    this.file = new FileLock(fd, path);
  }

  get state(): HandleLockState {
    if (this.file.closed) return 'closed';
    if (this.#holds > 0) return 'held';
    return this.file.held ?? 'unlocked';
  }

  get closed(): boolean {
    return this.file.closed;
  }

  /** A lock is held and the snapshot read under it is current: reads can run now. */
  get readable(): boolean {
    return this.file.held !== null && !this.#stale && !this.file.closed;
  }

  /** The exclusive lock is held on a current snapshot and no gap is owed: a write can run now. */
  get writable(): boolean {
    return this.file.held === 'exclusive' && !this.#stale && !this.file.closed && !this.owesGap;
  }

  /**
   * This handle should leave other processes a gap before going on (see
   * the fairness note above): only for an operation-scoped lock, never
   * while held.
   */
  get owesGap(): boolean {
    return this.#holds === 0 && this.file.overdue;
  }

  get stale(): boolean {
    return this.#stale;
  }

  /** The snapshot no longer matches the file (a failed commit): re-read it before the next operation. */
  markStale(): void {
    this.#stale = true;
  }

  /** The snapshot was just re-read under the lock. */
  markFresh(): void {
    this.#stale = false;
  }

  /** Whether lock() holds the lock. */
  get userLocked(): boolean {
    return this.#user;
  }

  /**
   * Makes sure a lock of at least `mode` is held (an overdue burst first
   * leaves its gap: for writes always, for reads only when `mayCut`, between
   * iterator steps). True when the lock was taken now, so the snapshot must
   * be re-read; false when a suitable lock was already held. Synchronous
   * unless it has to wait (then a promise of the same).
   */
  take(mode: LockMode, timeout: number, mayCut = false): boolean | Promise<boolean> {
    this.#checkOpen();
    const file = this.file;
    const enough = mode === 'shared' ? file.held !== null : file.held === 'exclusive';
    const cut = (mode === 'exclusive' || mayCut) && this.owesGap;
    if (enough && !cut) return false;
    if (!this.owesGap) {
      // flock cannot upgrade atomically: release, then re-read what we read.
      if (mode === 'exclusive' && file.held === 'shared') file.release();
      if (file.tryAcquire(mode)) return true;
    }
    return this.#takeWaiting(mode, timeout);
  }

  async #takeWaiting(mode: LockMode, timeout: number): Promise<boolean> {
    const file = this.file;
    if (this.owesGap) await file.yieldToOthers();
    this.#checkOpen();
    if (mode === 'shared' && file.held !== null) return false;
    if (mode === 'exclusive' && file.held === 'shared') file.release();
    if (file.held === 'exclusive') return false;
    if (!file.tryAcquire(mode)) await file.acquire(mode, timeout);
    return true;
  }

  /** Leaves the gap an overdue burst owes (before a write counts as a hold). */
  async leaveGapIfOwed(): Promise<void> {
    if (this.owesGap) await this.file.yieldToOthers().catch(() => {});
  }

  /** An explicit holder begins (a write transaction). */
  hold(): void {
    this.#holds++;
  }

  /** An explicit holder ends; the lock becomes operation-scoped again (released when the turn ends). */
  unhold(): void {
    this.#holds--;
    if (this.#holds === 0 && !this.file.closed) this.releaseAtTurnEnd();
  }

  /** lock(): hold the exclusive lock until unlockUser(). The caller has taken it. */
  holdForUser(): void {
    this.#user = true;
  }

  /** unlock(): the user's hold ends, and with the last holder the lock itself. */
  unlockUser(): void {
    if (!this.#user) return;
    this.#user = false;
    this.#holds--;
    if (this.#holds === 0 && !this.file.closed) this.file.release();
  }

  /** Releases the lock when the event loop turns, unless a holder keeps it. */
  releaseAtTurnEnd(): void {
    releaseAtTurnEnd.add(this);
    if (turnEndScheduled) return;
    turnEndScheduled = true;
    setImmediate(releaseTurnLocks);
  }

  /** The event loop turned: an operation-scoped lock goes. */
  endTurn(): void {
    if (this.#holds === 0 && !this.file.closed) this.file.release();
  }

  /** Releases the lock now (a failed re-read after taking it). */
  release(): void {
    this.file.release();
  }

  /** The descriptor is about to be closed, which drops the lock. */
  close(): void {
    releaseAtTurnEnd.delete(this);
    this.file.releasedByClose();
  }

  #checkOpen(): void {
    if (this.file.closed) throw new DbmClosedError(this.file.path);
  }
}
