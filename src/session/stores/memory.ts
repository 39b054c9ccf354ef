// The memory store: sessions in a process-wide Map, for tests, development
// and single-process servers. Values stay msgpack-encoded, exactly as in the
// file store, so behaviour (what round-trips, change detection) is the same.
// Nothing survives a restart and nothing is shared between processes.

import { LockTimeoutError } from '../../errors.js';
import type { NamespaceManager, SessionChanges, StoreOptions, StoredSession, WriteResult } from '../namespace.js';

interface Entry {
  /** Replaced, never mutated, on save: load() hands it out without copying. */
  data: Map<string, Uint8Array>;
  created: number;
  accessed: number;
}

/** A FIFO mutex per session id; waits give up after a timeout. */
class IdLock {
  holder: MemoryNamespace | null = null;
  readonly waiters: (() => void)[] = [];
}

const sessions = new Map<string, Entry>();
const locks = new Map<string, IdLock>();

/** How often (in the session clock's ms) save() sweeps out expired sessions. */
const SWEEP_INTERVAL_MS = 60_000;
let nextSweep = 0;

export class MemoryNamespace implements NamespaceManager {
  readonly id: string;
  readonly #options: StoreOptions;
  #holding = false;

  constructor(id: string, options: StoreOptions) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('wasm-session: MemoryNamespace needs a session id');
    this.id = id;
    this.#options = options;
  }

  /** Number of sessions stored in this process. */
  static get size(): number {
    return sessions.size;
  }

  /** A copy of what is stored for `id` (for inspection and tests; no access is recorded), or null. */
  static snapshot(id: string): StoredSession | null {
    const entry = sessions.get(id);
    return entry === undefined ? null : { data: new Map(entry.data), created: entry.created, accessed: entry.accessed };
  }

  /** Drops every stored session of this process (for tests). Locks are kept. */
  static clear(): void {
    sessions.clear();
  }

  get locked(): boolean {
    return this.#holding;
  }

  /** Waits while another instance holds this id's lock (not ours: no deadlock). */
  async #waitForOthers(): Promise<void> {
    const lock = locks.get(this.id);
    if (lock === undefined || lock.holder === null || lock.holder === this) return;
    await this.lock(this.#options.lockTimeout);
    await this.unlock();
  }

  async load(accessed: number): Promise<StoredSession | null> {
    const stored = await this.read();
    if (stored !== null) sessions.get(this.id)!.accessed = accessed;
    return stored;
  }

  async read(): Promise<StoredSession | null> {
    await this.#waitForOthers();
    const entry = sessions.get(this.id);
    if (entry === undefined) return null;
    return { data: entry.data, created: entry.created, accessed: entry.accessed };
  }

  async save(changes: SessionChanges): Promise<WriteResult> {
    await this.#waitForOthers();
    const entry = sessions.get(this.id);
    const data = new Map(entry?.data);
    for (const key of changes.delete) data.delete(key);
    for (const [key, bytes] of changes.set) data.set(key, bytes);
    sessions.set(this.id, { data, created: changes.created, accessed: changes.accessed });
    this.#sweep(changes.accessed);
    return 'ok';
  }

  async touch(accessed: number): Promise<WriteResult> {
    await this.#waitForOthers();
    const entry = sessions.get(this.id);
    if (entry === undefined) return 'gone';
    entry.accessed = accessed;
    return 'ok';
  }

  async remove(): Promise<void> {
    await this.#waitForOthers();
    sessions.delete(this.id);
  }

  async lock(timeoutMs: number): Promise<void> {
    if (this.#holding) return;
    let lock = locks.get(this.id);
    if (lock === undefined) {
      lock = new IdLock();
      locks.set(this.id, lock);
    }
    if (lock.holder !== null) {
      const queue = lock.waiters;
      await new Promise<void>((resolve, reject) => {
        const grant = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const at = queue.indexOf(grant);
          if (at !== -1) queue.splice(at, 1);
          reject(new LockTimeoutError(`memory session ${this.id}`, 'exclusive', timeoutMs));
        }, timeoutMs);
        queue.push(grant);
      });
    }
    lock.holder = this;
    this.#holding = true;
  }

  async unlock(): Promise<void> {
    if (!this.#holding) return;
    this.#holding = false;
    const lock = locks.get(this.id)!;
    lock.holder = null;
    const next = lock.waiters.shift();
    if (next !== undefined) {
      // Hand over directly, so a newcomer cannot take it between release and wake-up.
      lock.holder = PENDING;
      next();
    } else {
      locks.delete(this.id);
    }
  }

  async close(): Promise<void> {
    await this.unlock();
  }

  /** Drops sessions past the idle timeout or absolute lifetime, at most once a minute. */
  #sweep(now: number): void {
    const { timeout, maxLifetime } = this.#options;
    // (A clock that jumped back, e.g. a test's, restarts the schedule.)
    if ((timeout === null && maxLifetime === null) || (now < nextSweep && now >= nextSweep - SWEEP_INTERVAL_MS)) return;
    nextSweep = now + SWEEP_INTERVAL_MS;
    for (const [id, entry] of sessions) {
      const idle = timeout !== null && now - entry.accessed > timeout * 1000;
      const old = maxLifetime !== null && now - entry.created > maxLifetime * 1000;
      if ((idle || old) && !locks.has(id)) sessions.delete(id);
    }
  }
}

/** Placeholder holder between a hand-over and the waiter taking it. */
const PENDING = Object.create(MemoryNamespace.prototype) as MemoryNamespace;
