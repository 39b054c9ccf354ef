// wasm-session/express-session: a Store for apps that keep express-session
// (and for @fastify/session, whose store API is the same get/set/destroy),
// on any wasm-session store: the dbm files, the memory store, your own
// NamespaceManager, and any built-in type added later (the options go to
// the session layer as they are).
//
// A session is stored as express-session serializes it (JSON: the cookie
// in its toJSON form, Dates as strings), one top-level key per store key,
// each msgpack-encoded, plus one reserved key with the original sid and the
// expiry. The storage id is MD5 of the sid (32 hex), so any sid is safe,
// whatever express-session's genid made it: '/foo', '%', '../x', a long one.
//
// What it does better than the stores it replaces: it remembers what each
// request loaded (express-session calls createSession() on every load), so
// a set() from that request writes only the keys it changed (two requests
// changing different keys both keep their change) and is an update of the
// session it loaded: a session destroyed meanwhile (a logout) stays
// destroyed. touch() writes only the cookie and the expiry.

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { msgpackCodec, packr, SliceDecoder } from '../codec.js';
import { md5 } from '../crypto.js';
import type { NamespaceClass, NamespaceManager, StoredSession, StoreOptions } from '../session/namespace.js';
import type { SessionOptions } from '../session/options.js';
import { storeFor } from '../session/session.js';

const require = createRequire(import.meta.url);

/**
 * A session as express-session (or @fastify/session) hands it to a store:
 * an object of its data and usually a `cookie` (whose `expires`, an ISO
 * string, a Date or ms, is the session's expiry). Typed `object` so that
 * express-session's SessionData and Session fit.
 */
export type StoredExpressSession = object;

/**
 * A session as get() and all() give it back: typed `any`, as express-session's
 * own Store does, so that the store fits its type (SessionData) where
 * @types/express-session is installed.
 */
// biome-ignore lint/suspicious/noExplicitAny: express-session's SessionData, whose types are optional
export type LoadedExpressSession = any;

/** The options: where and how to store, as for a Session (type, dataDir, namespaceClass, namespaceOptions, memory, sync, lockTimeout, ...). */
export type WasmSessionStoreOptions = SessionOptions;

type Callback<T> = (err: unknown, value?: T) => void;

/** What express-session's Store gives its subclasses (typed loosely: @types/express-session is optional). */
interface StoreBase extends EventEmitter {
  regenerate(req: unknown, callback: (err?: unknown) => unknown): void;
  // biome-ignore lint/suspicious/noExplicitAny: what express-session's createSession() returns
  load(sid: string, callback: (err: unknown, session?: any) => unknown): void;
  // biome-ignore lint/suspicious/noExplicitAny: express-session's Session & SessionData, whose types are optional
  createSession(req: any, sess: any): any;
}
type StoreBaseClass = new () => StoreBase;

/** express-session's Store, loaded the way the application would load it; a stand-in that says what is missing when it is not installed. */
function loadStoreBase(): StoreBaseClass {
  try {
    return (require('express-session') as { Store: StoreBaseClass }).Store;
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code !== 'MODULE_NOT_FOUND') throw err;
    return class MissingExpressSession extends EventEmitter {
      constructor() {
        super();
        throw new Error('wasm-session: WasmSessionStore needs the express-session package (npm install express-session)');
      }
      regenerate(): void {}
      load(): void {}
      createSession(): undefined {
        return undefined;
      }
    };
  }
}

const Base = loadStoreBase();

/** The reserved store key: [version, JSON of the sid, expiry in ms or null]. Session keys never look like it (see storedKey). */
const META = '\0s';
const RECORD_VERSION = 1;
/** What the storage id is MD5 of: this prefix, then the sid as JSON (lossless, lone surrogates too). */
const ID_PREFIX = 'wasm-session express-session\n';

/** A session key as stored: as it is, unless it is '' or starts with NUL (then one more NUL in front). */
function storedKey(key: string): string {
  return key === '' || key.charCodeAt(0) === 0 ? `\0${key}` : key;
}

/** The session key of a stored key, or null for the reserved ones. */
function sessionKey(stored: string): string | null {
  if (stored.charCodeAt(0) !== 0) return stored;
  const rest = stored.slice(1);
  return rest === '' || rest.charCodeAt(0) === 0 ? rest : null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** The expiry in ms of a stored cookie (an ISO string, ms, or a Date), or null when it has none. */
function expiryOf(cookie: unknown): number | null {
  if (cookie === null || typeof cookie !== 'object') return null;
  const expires = (cookie as { expires?: unknown }).expires;
  if (expires === null || expires === undefined || expires === false) return null;
  const ms = typeof expires === 'number' ? expires : expires instanceof Date ? expires.getTime() : Date.parse(String(expires));
  return Number.isFinite(ms) ? ms : null;
}

interface Meta {
  readonly sidJson: string;
  readonly expires: number | null;
}

function decodeMeta(bytes: Uint8Array | undefined): Meta | null {
  if (bytes === undefined) return null;
  try {
    const value = msgpackCodec.decode(bytes);
    if (!Array.isArray(value) || value[0] !== RECORD_VERSION || typeof value[1] !== 'string') return null;
    return { sidJson: value[1], expires: typeof value[2] === 'number' ? value[2] : null };
  } catch {
    return null;
  }
}

function encodeMeta(sidJson: string, expires: number | null): Uint8Array {
  return msgpackCodec.encode([RECORD_VERSION, sidJson, expires]);
}

/** What one request loaded: the store instance that read it (its update rule applies), and the bytes as stored. */
interface Baseline {
  readonly sidJson: string;
  readonly ns: NamespaceManager;
  /** The store's map (never mutated: replaced on every write). */
  data: ReadonlyMap<string, Uint8Array>;
  readonly created: number;
}

let instances = 0;

/** Calls back outside the promise chain (a throwing callback is the caller's, as with callback stores), and resolves in any case. */
function finish<T>(work: Promise<T>, callback: Callback<T> | undefined, hasValue: boolean): Promise<T> | Promise<T | undefined> {
  if (typeof callback !== 'function') return work;
  return work.then(
    (value) => {
      if (hasValue) process.nextTick(callback, null, value);
      else process.nextTick(callback as () => void);
      return value;
    },
    (err: unknown) => {
      process.nextTick(callback, err);
      return undefined;
    },
  );
}

/**
 * express-session's Store on a wasm-session store:
 * `session({ store: new WasmSessionStore({ dataDir: './sessions' }), secret, ... })`.
 * Every method takes an optional callback and returns a Promise (which,
 * with a callback, always fulfils: errors go to the callback).
 */
export class WasmSessionStore extends Base {
  readonly #namespaceClass: NamespaceClass;
  readonly #options: StoreOptions;
  /** Objects get() returned, until express-session hands them to createSession(). */
  readonly #loaded = new WeakMap<object, Baseline>();
  /** The sessions express-session made from them (req.session), and what their request loaded. */
  readonly #baselines = new WeakMap<object, Baseline>();

  constructor(options: WasmSessionStoreOptions = {}) {
    super();
    const given = { ...(options as Record<string, unknown>) };
    // One memory space per store instance (two stores never share sessions), unless a key names one.
    if (given.type === 'memory' && given.key === undefined) given.key = `wasm-session-store-${++instances}`;
    const { namespaceClass, options: storeOptions } = storeFor(given as SessionOptions);
    this.#namespaceClass = namespaceClass;
    this.#options = storeOptions;
  }

  /** The store class the sessions are kept in (DbmNamespace, MemoryNamespace, yours). */
  get namespaceClass(): NamespaceClass {
    return this.#namespaceClass;
  }

  /** The storage id of a sid: 32 hex characters. */
  static storageId(sid: string): string {
    return md5(ID_PREFIX + JSON.stringify(sid));
  }

  #instance(sid: string): { ns: NamespaceManager; sidJson: string } {
    if (typeof sid !== 'string') throw new TypeError(`wasm-session: a session id must be a string, got ${sid === null ? 'null' : typeof sid}`);
    const sidJson = JSON.stringify(sid);
    return { ns: new this.#namespaceClass(md5(ID_PREFIX + sidJson), this.#options), sidJson };
  }

  async #read(ns: NamespaceManager): Promise<StoredSession | null> {
    return typeof ns.read === 'function' ? ns.read() : ns.load(this.#options.now());
  }

  // ---- the express-session Store API ----

  /** The session stored under `sid`, or null (nothing stored, or expired: then it is removed). */
  get(sid: string, callback?: Callback<LoadedExpressSession | null>): Promise<LoadedExpressSession | null | undefined> {
    return finish(this.#get(sid), callback, true);
  }

  async #get(sid: string): Promise<Record<string, unknown> | null> {
    const { ns, sidJson } = this.#instance(sid);
    try {
      const stored = await this.#read(ns);
      if (stored === null) return null;
      const meta = decodeMeta(stored.data.get(META));
      if (meta === null || meta.sidJson !== sidJson) return null;
      if (meta.expires !== null && meta.expires <= this.#options.now()) {
        await ns.remove();
        return null;
      }
      const session = decodeSession(stored.data);
      this.#loaded.set(session, { sidJson, ns, data: stored.data, created: stored.created });
      return session;
    } finally {
      await ns.close?.();
    }
  }

  /**
   * Stores the session. Loaded by this request (express-session's
   * createSession): an update of what it loaded, writing only the keys that
   * changed, and nothing if it was destroyed meanwhile. Otherwise (a new
   * session, a set() outside a request): creates the record, or replaces
   * what is stored. A session that has expired is removed, not stored.
   */
  set(sid: string, session: StoredExpressSession, callback?: Callback<void>): Promise<void> {
    return finish(this.#set(sid, session), callback, false);
  }

  async #set(sid: string, session: StoredExpressSession): Promise<void> {
    if (session === null || typeof session !== 'object') throw new TypeError('wasm-session: WasmSessionStore.set() needs a session object');
    const plain = JSON.parse(JSON.stringify(session)) as Record<string, unknown>;
    const now = this.#options.now();
    const expires = expiryOf(plain.cookie);
    let baseline = this.#baselines.get(session);
    const target = this.#instance(sid);
    if (baseline !== undefined && baseline.sidJson !== target.sidJson) baseline = undefined;
    if (expires !== null && expires <= now) {
      await (baseline?.ns ?? target.ns).remove();
      return;
    }
    const record = new Map<string, Uint8Array>();
    record.set(META, encodeMeta(target.sidJson, expires));
    let bytes = 0;
    for (const key of Object.keys(plain)) {
      // JSON data holds no Map: msgpackr's own packing, without the Map tagging pass.
      const encoded: Uint8Array = packr.pack(plain[key]);
      bytes += key.length + encoded.byteLength;
      record.set(storedKey(key), encoded);
    }
    if (bytes > this.#options.maxSessionBytes) {
      throw new RangeError(`wasm-session: the session holds ${bytes} bytes, more than maxSessionBytes (${this.#options.maxSessionBytes}); nothing was written`);
    }
    if (baseline !== undefined) {
      await this.#update(baseline, record, now, true);
      return;
    }
    await this.#replace(target.ns, target.sidJson, record, now);
  }

  /** Writes what differs from the baseline into the session it read; false when it was gone (destroyed meanwhile): nothing written. */
  async #update(baseline: Baseline, record: ReadonlyMap<string, Uint8Array>, now: number, whole: boolean): Promise<boolean> {
    const set = new Map<string, Uint8Array>();
    for (const [key, value] of record) {
      const before = baseline.data.get(key);
      if (before === undefined || !sameBytes(before, value)) set.set(key, value);
    }
    const deleted: string[] = [];
    if (whole) for (const key of baseline.data.keys()) if (!record.has(key)) deleted.push(key);
    const { ns } = baseline;
    const result =
      set.size === 0 && deleted.length === 0 && typeof ns.touch === 'function'
        ? await ns.touch(now)
        : await ns.save({ mode: 'update', set, delete: deleted, created: baseline.created, accessed: now });
    if (result === 'gone') return false;
    const next = new Map(baseline.data);
    for (const key of deleted) next.delete(key);
    for (const [key, value] of set) next.set(key, value);
    baseline.data = next;
    return true;
  }

  /**
   * Create the record, or make what is stored equal to it: read, then an
   * exclusive create when nothing is stored, else an update of what was
   * read that also deletes the keys the record lacks; again when another
   * request got in between.
   */
  async #replace(ns: NamespaceManager, sidJson: string, record: Map<string, Uint8Array>, now: number): Promise<void> {
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        const stored = await this.#read(ns);
        if (stored === null) {
          if ((await ns.save({ mode: 'create', set: record, delete: [], created: now, accessed: now })) !== 'exists') return;
          continue;
        }
        const same = decodeMeta(stored.data.get(META))?.sidJson === sidJson;
        const baseline: Baseline = { sidJson, ns, data: stored.data, created: same ? stored.created : now };
        if (await this.#update(baseline, record, now, true)) return;
      }
      throw new Error('wasm-session: WasmSessionStore.set(): the session kept changing under the replace; nothing was written');
    } finally {
      await ns.close?.();
    }
  }

  /** Removes the session stored under `sid` (no error when there is none). */
  destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return finish(this.#destroy(sid), callback, false);
  }

  async #destroy(sid: string): Promise<void> {
    const { ns } = this.#instance(sid);
    await ns.remove();
    await ns.close?.();
  }

  /**
   * Stores the session's new expiry (its cookie) and access time, without
   * rewriting its data; nothing when it is no longer stored.
   */
  touch(sid: string, session: StoredExpressSession, callback?: Callback<void>): Promise<void> {
    return finish(this.#touch(sid, session), callback, false);
  }

  async #touch(sid: string, session: StoredExpressSession): Promise<void> {
    const target = this.#instance(sid);
    const given = session !== null && typeof session === 'object' ? (session as { cookie?: unknown }).cookie : undefined;
    const cookie = given !== undefined ? JSON.parse(JSON.stringify(given)) : undefined;
    const now = this.#options.now();
    let baseline = this.#baselines.get(session);
    if (baseline !== undefined && baseline.sidJson !== target.sidJson) baseline = undefined;
    if (baseline === undefined) {
      const stored = await this.#read(target.ns);
      if (stored === null || decodeMeta(stored.data.get(META))?.sidJson !== target.sidJson) return;
      baseline = { sidJson: target.sidJson, ns: target.ns, data: stored.data, created: stored.created };
    }
    const expires = cookie === undefined ? (decodeMeta(baseline.data.get(META))?.expires ?? null) : expiryOf(cookie);
    if (expires !== null && expires <= now) {
      await baseline.ns.remove();
      return;
    }
    const record = new Map<string, Uint8Array>([[META, encodeMeta(target.sidJson, expires)]]);
    if (cookie !== undefined) record.set(storedKey('cookie'), packr.pack(cookie));
    await this.#update(baseline, record, now, false);
  }

  /** Every live session, as an object keyed by sid (express-session's MemoryStore's form). */
  all(callback?: Callback<Record<string, LoadedExpressSession>>): Promise<Record<string, LoadedExpressSession> | undefined> {
    return finish(this.#all(), callback, true);
  }

  async #all(): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    await this.#each((sid, stored) => {
      Object.defineProperty(out, sid, { value: decodeSession(stored.data), enumerable: true, writable: true, configurable: true });
    });
    return out;
  }

  /** The sids of every live session. */
  ids(callback?: Callback<string[]>): Promise<string[] | undefined> {
    return finish(this.#ids(), callback, true);
  }

  async #ids(): Promise<string[]> {
    const out: string[] = [];
    await this.#each((sid) => {
      out.push(sid);
    });
    return out;
  }

  /** How many live sessions there are. */
  length(callback?: Callback<number>): Promise<number | undefined> {
    return finish(this.#length(), callback, true);
  }

  async #length(): Promise<number> {
    let count = 0;
    await this.#each(() => {
      count++;
    });
    return count;
  }

  /** Removes every session of the store (everything stored in its configuration: give it a dataDir of its own). */
  clear(callback?: Callback<void>): Promise<void> {
    return finish(this.#clear(), callback, false);
  }

  async #clear(): Promise<void> {
    const cls = this.#namespaceClass;
    if (typeof cls.clear === 'function') {
      await cls.clear(this.#options);
      return;
    }
    for (const id of await this.#storageIds()) {
      const ns = new cls(id, this.#options);
      await ns.remove();
      await ns.close?.();
    }
  }

  async #storageIds(): Promise<string[]> {
    const cls = this.#namespaceClass;
    if (typeof cls.ids !== 'function') {
      throw new Error(
        `wasm-session: the store ${cls.name || '(anonymous)'} cannot list its sessions (it has no static ids()), so all(), ids(), length() and clear() are not available`,
      );
    }
    const ids: string[] = [];
    for await (const id of cls.ids(this.#options)) ids.push(id);
    return ids;
  }

  /** Every live session of ours (expired ones are removed on the way, as get() does), with its sid. */
  async #each(fn: (sid: string, stored: StoredSession) => void): Promise<void> {
    const now = this.#options.now();
    for (const id of await this.#storageIds()) {
      const ns = new this.#namespaceClass(id, this.#options);
      try {
        const stored = await this.#read(ns);
        if (stored === null) continue;
        const meta = decodeMeta(stored.data.get(META));
        if (meta === null || md5(ID_PREFIX + meta.sidJson) !== id) continue; // not one of ours
        if (meta.expires !== null && meta.expires <= now) {
          await ns.remove();
          continue;
        }
        fn(JSON.parse(meta.sidJson) as string, stored);
      } finally {
        await ns.close?.();
      }
    }
  }

  /**
   * express-session calls this on every load of a session (and on
   * reload()): the session object it makes is remembered with what was
   * loaded, so its set() and touch() are updates of exactly that.
   */
  // biome-ignore lint/suspicious/noExplicitAny: express-session's Session & SessionData, whose types are optional
  override createSession(req: any, sess: any): any {
    const baseline = sess !== null && typeof sess === 'object' ? this.#loaded.get(sess) : undefined;
    const session = super.createSession(req, sess);
    if (baseline !== undefined && session !== null && typeof session === 'object') this.#baselines.set(session, baseline);
    return session;
  }
}

/** The session object of a stored record: every session key, decoded. */
function decodeSession(data: ReadonlyMap<string, Uint8Array>): Record<string, unknown> {
  const session: Record<string, unknown> = {};
  const decoder = new SliceDecoder(msgpackCodec);
  for (const [stored, bytes] of data) {
    const key = sessionKey(stored);
    if (key === null) continue;
    const value = decoder.decode(bytes);
    if (key === '__proto__') Object.defineProperty(session, key, { value, enumerable: true, writable: true, configurable: true });
    else session[key] = value;
  }
  return session;
}

export default WasmSessionStore;
