// The memory store: sessions in Maps of this process, for tests, development
// and single-process servers. Values stay msgpack-encoded, exactly as in the
// file store, so behaviour (what round-trips, change detection) is the same.
// Nothing survives a restart and nothing is shared between processes.
//
// One space per configuration: applications with different cookie names
// (or paths or domains) in one process never see each other's sessions, and
// one's timeout sweep never removes another's. A space may be bounded
// (`memory: { maxEntries }`): the least recently used session goes first.

import { msgpackCodec } from '../../codec.js';
import { LockTimeoutError } from '../../errors.js';
import type {
  NamespaceManager,
  OwnedSession,
  SessionChanges,
  SessionOwner,
  StoredSession,
  StoreOptions,
  SweepPolicy,
  SweepResult,
  WriteResult,
} from '../namespace.js';
import { checkOwnerId } from '../owner.js';
import { emptySweepResult, sweepAborted } from '../sweep-result.js';

interface Entry {
  /** Replaced, never mutated, on save: load() hands it out without copying. */
  data: Map<string, Uint8Array>;
  /**
   * The same values decoded once, when saved (replaced, never mutated): a
   * load hands this map out and the Session gives the application copies,
   * which costs a fraction of decoding the bytes on every request.
   */
  decoded: Map<string, unknown>;
  /** Keys plus value bytes, as maxSessionBytes counts them (StoredSession.bytes). */
  bytes: number;
  created: number;
  accessed: number;
  /** Which creation of this id this is: an update applies only to the one it read. */
  readonly generation: number;
  /** The owner bound to the session, or null. */
  owner: SessionOwner | null;
}

/** A FIFO mutex per session id; waits give up after a timeout. */
class IdLock {
  holder: MemoryNamespace | null = null;
  readonly waiters: (() => void)[] = [];
}

/** How often (in the session clock's ms) save() sweeps out expired sessions. */
const SWEEP_INTERVAL_MS = 60_000;

/** The sessions of one configuration. Map order is recency order when the space is bounded. */
class Space {
  readonly sessions = new Map<string, Entry>();
  readonly locks = new Map<string, IdLock>();
  /** The owner index: owner id -> ids that may be bound to it (each checked against its entry when read). */
  readonly owners = new Map<string, Set<string>>();
  nextSweep = 0;
  maxEntries = Number.POSITIVE_INFINITY;

  /** Removes a session and its owner index entry. */
  drop(id: string): void {
    const entry = this.sessions.get(id);
    if (entry === undefined) return;
    this.sessions.delete(id);
    if (entry.owner !== null) this.unindex(entry.owner.id, id);
  }

  unindex(owner: string, id: string): void {
    const ids = this.owners.get(owner);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.owners.delete(owner);
  }
}

const spaces = new Map<string, Space>();
/** The space of each options object (a server passes one for every request): no name to build per request. */
const spaceOfOptions = new WeakMap<StoreOptions, Space>();
let generations = 0;

/** What makes two configurations one application: the cookie they keep their id in. */
function spaceFor(options: StoreOptions): Space {
  const known = spaceOfOptions.get(options);
  if (known !== undefined) return known;
  const name = `${options.key}\0${options.cookiePath}\0${options.cookieDomain ?? ''}`;
  let space = spaces.get(name);
  if (space === undefined) {
    space = new Space();
    spaces.set(name, space);
  }
  // The smallest bound any configuration of the space asked for.
  if (options.memory.maxEntries < space.maxEntries) space.maxEntries = options.memory.maxEntries;
  spaceOfOptions.set(options, space);
  return space;
}

export class MemoryNamespace implements NamespaceManager {
  readonly id: string;
  readonly #options: StoreOptions;
  readonly #space: Space;
  #holding = false;
  /** The generation of the entry this instance last read or created; 0: none. */
  #generation = 0;

  constructor(id: string, options: StoreOptions) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('wasm-session: MemoryNamespace needs a session id');
    this.id = id;
    this.#options = options;
    this.#space = spaceFor(options);
  }

  /** Number of sessions stored in this process (all configurations). */
  static get size(): number {
    let size = 0;
    for (const space of spaces.values()) size += space.sessions.size;
    return size;
  }

  /** A copy of what is stored for `id` in any configuration (for inspection and tests; no access is recorded), or null. */
  static snapshot(id: string): StoredSession | null {
    for (const space of spaces.values()) {
      const entry = space.sessions.get(id);
      if (entry !== undefined) return { data: new Map(entry.data), created: entry.created, accessed: entry.accessed };
    }
    return null;
  }

  /** Every stored id of the configuration (a snapshot: the Map may change while the caller iterates). */
  static async *ids(options: StoreOptions): AsyncIterable<string> {
    yield* [...spaceFor(options).sessions.keys()];
  }

  /** Drops every stored session of the configuration, or of every configuration of this process (for tests). Locks are kept. */
  static async clear(options?: StoreOptions): Promise<void> {
    for (const space of options !== undefined ? [spaceFor(options)] : spaces.values()) {
      space.sessions.clear();
      space.owners.clear();
    }
  }

  /** The sessions of the configuration bound to `owner` (see NamespaceClass.ownedSessions). */
  static async *ownedSessions(owner: string, options: StoreOptions): AsyncIterable<OwnedSession> {
    checkOwnerId(owner);
    const space = spaceFor(options);
    const ids = space.owners.get(owner);
    if (ids === undefined) return;
    for (const id of [...ids]) {
      const entry = space.sessions.get(id);
      if (entry?.owner?.id !== owner) {
        ids.delete(id); // stale: removed, evicted or rebound
        continue;
      }
      yield { id, created: entry.created, accessed: entry.accessed, owner: entry.owner };
    }
    if (ids.size === 0 && space.owners.get(owner) === ids) space.owners.delete(owner);
  }

  /**
   * Removes the sessions of the configuration bound to `owner`, except
   * those in `except`, at once (a request holding one's lock finds it gone
   * when it saves: see NamespaceClass.revokeOwned).
   */
  static async revokeOwned(owner: string, options: StoreOptions, except: ReadonlySet<string>): Promise<number> {
    checkOwnerId(owner);
    const space = spaceFor(options);
    const ids = space.owners.get(owner);
    if (ids === undefined) return 0;
    let removed = 0;
    for (const id of [...ids]) {
      if (except.has(id)) continue;
      ids.delete(id);
      const entry = space.sessions.get(id);
      if (entry?.owner?.id !== owner) continue;
      space.sessions.delete(id);
      removed++;
    }
    if (ids.size === 0) space.owners.delete(owner);
    return removed;
  }

  /** Drops the configuration's sessions that `policy` says are over (never a locked one), and stale owner index entries. */
  static async sweep(options: StoreOptions, policy: SweepPolicy): Promise<SweepResult> {
    const started = Date.now();
    const space = spaceFor(options);
    const now = options.now();
    const result = emptySweepResult();
    for (const [id, entry] of [...space.sessions]) {
      if (policy.signal?.aborted) throw sweepAborted(policy.signal, result);
      result.scanned++;
      const over = (policy.idle !== null && now - entry.accessed > policy.idle) || (policy.maxAge !== null && now - entry.created > policy.maxAge);
      if (!over) {
        result.kept++;
      } else if (space.locks.has(id)) {
        result.skipped++;
      } else {
        result.removed++;
        for (const bytes of entry.data.values()) result.bytesFreed += bytes.byteLength;
        if (!policy.dryRun) space.drop(id);
      }
    }
    for (const [owner, ids] of space.owners) {
      for (const id of ids) {
        if (space.sessions.get(id)?.owner?.id === owner) continue;
        result.ownerEntriesRemoved++;
        if (!policy.dryRun) ids.delete(id);
      }
      if (ids.size === 0 && !policy.dryRun) space.owners.delete(owner);
    }
    result.ms = Date.now() - started;
    return result;
  }

  get locked(): boolean {
    return this.#holding;
  }

  /** Waits while another instance holds this id's lock (not ours: no deadlock). */
  async #waitForOthers(): Promise<void> {
    const lock = this.#space.locks.get(this.id);
    if (lock === undefined || lock.holder === null || lock.holder === this) return;
    await this.lock(this.#options.lockTimeout);
    await this.unlock();
  }

  /** The entry, marked most recently used when the space is bounded. */
  #entry(): Entry | undefined {
    const { sessions, maxEntries } = this.#space;
    const entry = sessions.get(this.id);
    if (entry !== undefined && maxEntries !== Number.POSITIVE_INFINITY) {
      sessions.delete(this.id);
      sessions.set(this.id, entry);
    }
    return entry;
  }

  /** The entry this instance read or created, if it is still the one stored. */
  #ownEntry(): Entry | undefined {
    const entry = this.#entry();
    return entry !== undefined && entry.generation === this.#generation ? entry : undefined;
  }

  async load(accessed: number): Promise<StoredSession | null> {
    const stored = await this.read();
    if (stored !== null) this.#space.sessions.get(this.id)!.accessed = accessed;
    return stored;
  }

  async read(): Promise<StoredSession | null> {
    await this.#waitForOthers();
    const entry = this.#entry();
    this.#generation = entry?.generation ?? 0;
    if (entry === undefined) return null;
    return {
      data: entry.data,
      decoded: entry.decoded,
      bytes: entry.bytes,
      created: entry.created,
      accessed: entry.accessed,
      generation: entry.generation,
      owner: entry.owner,
    };
  }

  async save(changes: SessionChanges): Promise<WriteResult> {
    await this.#waitForOthers();
    const { sessions } = this.#space;
    if (changes.mode === 'create') {
      if (sessions.has(this.id)) return 'exists';
      const generation = ++generations;
      const decoded = new Map<string, unknown>();
      let total = 0;
      for (const [key, bytes] of changes.set) {
        decodeInto(decoded, key, bytes);
        total += key.length + bytes.byteLength;
      }
      const owner = changes.owner ?? null;
      this.#index(owner);
      sessions.set(this.id, { data: new Map(changes.set), decoded, bytes: total, created: changes.created, accessed: changes.accessed, generation, owner });
      this.#generation = generation;
      this.#evict();
    } else {
      const entry = this.#ownEntry();
      if (entry === undefined) return 'gone';
      const data = new Map(entry.data);
      const decoded = new Map(entry.decoded);
      let total = entry.bytes;
      for (const key of changes.delete) {
        const before = data.get(key);
        if (before === undefined) continue;
        total -= key.length + before.byteLength;
        data.delete(key);
        decoded.delete(key);
      }
      for (const [key, bytes] of changes.set) {
        const before = data.get(key);
        total += bytes.byteLength - (before === undefined ? -key.length : before.byteLength);
        data.set(key, bytes);
        decodeInto(decoded, key, bytes);
      }
      const owner = changes.owner === undefined ? entry.owner : changes.owner;
      if (entry.owner !== null && entry.owner.id !== owner?.id) this.#space.unindex(entry.owner.id, this.id);
      this.#index(owner);
      sessions.set(this.id, { data, decoded, bytes: total, created: changes.created, accessed: changes.accessed, generation: entry.generation, owner });
    }
    this.#sweep(changes.accessed);
    return 'ok';
  }

  /** Adds this id to `owner`'s index (an entry left under a previous owner is stale, dropped when read). */
  #index(owner: SessionOwner | null): void {
    if (owner === null) return;
    checkOwnerId(owner.id);
    const { owners } = this.#space;
    let ids = owners.get(owner.id);
    if (ids === undefined) {
      ids = new Set();
      owners.set(owner.id, ids);
    }
    ids.add(this.id);
  }

  async touch(accessed: number): Promise<WriteResult> {
    await this.#waitForOthers();
    const entry = this.#ownEntry();
    if (entry === undefined) return 'gone';
    entry.accessed = accessed;
    return 'ok';
  }

  async remove(): Promise<void> {
    await this.#waitForOthers();
    this.#space.drop(this.id);
    this.#generation = 0;
  }

  async lock(timeoutMs: number): Promise<void> {
    if (this.#holding) return;
    const { locks } = this.#space;
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
          reject(new LockTimeoutError(`memory session ${this.id.slice(0, 8)}…`, 'exclusive', timeoutMs));
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
    const { locks } = this.#space;
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

  /** Over the bound: the least recently used sessions go (never a locked one). */
  #evict(): void {
    const { sessions, locks, maxEntries } = this.#space;
    if (sessions.size <= maxEntries) return;
    for (const id of sessions.keys()) {
      if (sessions.size <= maxEntries) break;
      if (!locks.has(id) && id !== this.id) this.#space.drop(id);
    }
  }

  /** Drops this space's sessions past the idle timeout or absolute lifetime, at most once a minute. */
  #sweep(now: number): void {
    const { timeout, maxLifetime } = this.#options;
    const space = this.#space;
    // (A clock that jumped back, e.g. a test's, restarts the schedule.)
    if ((timeout === null && maxLifetime === null) || (now < space.nextSweep && now >= space.nextSweep - SWEEP_INTERVAL_MS)) return;
    space.nextSweep = now + SWEEP_INTERVAL_MS;
    for (const [id, entry] of space.sessions) {
      const idle = timeout !== null && now - entry.accessed > timeout * 1000;
      const old = maxLifetime !== null && now - entry.created > maxLifetime * 1000;
      if ((idle || old) && !space.locks.has(id)) space.drop(id);
    }
  }
}

/** Decodes one stored value into `decoded`; bytes that do not decode stay bytes only (the Session reports them at load). */
function decodeInto(decoded: Map<string, unknown>, key: string, bytes: Uint8Array): void {
  try {
    decoded.set(key, msgpackCodec.decode(bytes));
  } catch {
    decoded.delete(key);
  }
}

/** Placeholder holder between a hand-over and the waiter taking it. */
const PENDING = Object.create(MemoryNamespace.prototype) as MemoryNamespace;
