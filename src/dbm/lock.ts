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

import fsExt from 'fs-ext';
import { LockTimeoutError } from '../errors.js';

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

const MAX_BACKOFF_MS = 50;

export class FileLock {
  /** What this descriptor holds now. */
  held: LockMode | null = null;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    /** Identity of the file (device:inode), shared by all handles on it. */
    private readonly fileKey: string,
  ) {}

  /** One non-blocking attempt; true when the lock is now held. */
  tryAcquire(mode: LockMode): boolean {
    try {
      fsExt.flockSync(this.fd, FLAG_TRY[mode]);
    } catch (err) {
      if (isBusy(err)) return false;
      throw err;
    }
    this.held = mode;
    return true;
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
    let waiters = waitersByFile.get(this.fileKey);
    if (!waiters) waitersByFile.set(this.fileKey, (waiters = new Set()));
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new LockTimeoutError(this.path, mode, timeout);
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
      if (waiters.size === 0 && waitersByFile.get(this.fileKey) === waiters) waitersByFile.delete(this.fileKey);
    }
  }

  release(): void {
    if (this.held === null) return;
    this.held = null;
    fsExt.flockSync(this.fd, 'un');
    wakeWaiters(this.fileKey);
  }

  /** The descriptor is being closed, which drops the lock; tell waiters. */
  releasedByClose(): void {
    if (this.held === null) return;
    this.held = null;
    // The close itself happens after this call, so wake on the next tick.
    const key = this.fileKey;
    queueMicrotask(() => wakeWaiters(key));
  }
}
