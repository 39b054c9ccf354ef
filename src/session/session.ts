// The Session: Myghty's session for Node servers. It is opened from the
// request (id from the cookie, or the `id` option), read fully at load and
// then unlocked, used like a Map, and written back by save(), which sends
// only what changed. Storage goes through a NamespaceManager (namespace.ts).

import type { IncomingMessage } from 'node:http';
import {
  appendSetCookie,
  isTlsRequest,
  readCookieValues,
  serializeCookie,
  serializeExpiredCookie,
  type CookieAttributes,
  type CookieResponse,
} from './cookies.js';
import { SessionCorruptError, SessionError } from './errors.js';
import { decodeClientId, encodeClientId, generateId, isValidId } from './ids.js';
import type { NamespaceClass, NamespaceManager, SessionChanges, SessionOwner, StoredSession, StoreOptions, WriteResult } from './namespace.js';
import { normalizeOptions, optionsFromConfig, storeOptionsFrom, type BuiltInType, type NormalizedSessionOptions, type SessionOptions } from './options.js';
import { type PendingChanges, SessionValues } from './values.js';
import { makeOwner, type OwnerInfo } from './owner.js';
import { DbmNamespace } from './stores/dbm.js';
import { MemoryNamespace } from './stores/memory.js';
import { RedisNamespace } from './stores/redis.js';

const BUILT_IN_STORES: Record<BuiltInType, NamespaceClass> = { dbm: DbmNamespace, memory: MemoryNamespace, redis: RedisNamespace };

/** What a Session needs of a request: its headers (and socket, for secure: 'auto'). */
export type SessionRequest = Pick<IncomingMessage, 'headers'> & { socket?: IncomingMessage['socket'] };
/** What a Session needs of a response: header access (and `once`, to release a lock when it ends). */
export type SessionResponse = CookieResponse & { once?: (event: 'close', listener: () => void) => unknown };

/**
 * The typed shape of session data, empty by default: extend it by
 * declaration merging, and get()/set() of those keys are typed, while any
 * other key stays `unknown`:
 *
 *     declare module 'wasm-session' { interface SessionData { user: User } }
 *     session.get('user'); // User | undefined
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface SessionData {}

/** The type of get(key): SessionData[key] | undefined for a declared key, unknown for any other. */
export type SessionValue<K extends string> = K extends keyof SessionData ? SessionData[K] | undefined : unknown;
/** What set(key, value) accepts: SessionData[key] for a declared key, anything for any other. */
export type SessionInput<K extends string> = K extends keyof SessionData ? SessionData[K] : unknown;

/** Longest key in UTF-8 bytes: the dbm's limit (P/4 - 24) with the 2048-byte pages of session files. */
export const MAX_KEY_BYTES = 488;
/** `cookieExpires: false`: a cookie that does not expire (browsers cap it, e.g. Chrome at 400 days). */
const FAR_FUTURE = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

/** Bytes of a stored session as maxSessionBytes counts them: keys (UTF-16 units, ≈ bytes) and encoded values. */
function dataBytes(data: ReadonlyMap<string, Uint8Array>): number {
  let bytes = 0;
  for (const [key, value] of data) bytes += key.length + value.byteLength;
  return bytes;
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ERR_DBM_CORRUPT' || code === 'ERR_SESSION_CORRUPT';
}

/** What #read found: the stored session (its values adopted), null (nothing stored) or undefined (corrupt, replaced). */
type ReadResult = StoredSession | null | undefined;

export class Session implements Iterable<[string, unknown]> {
  /** The cookie name. */
  readonly key: string;
  /** The signing secret(s), as given. */
  readonly secret: string | readonly string[] | undefined;
  /** Idle timeout in seconds, or null. */
  readonly timeout: number | null;

  readonly #opts: NormalizedSessionOptions;
  readonly #req: SessionRequest | undefined;
  readonly #res: SessionResponse | undefined;
  #id: string;
  #ns: NamespaceManager;
  /** Whether storage may hold #id: ask the store on load(). */
  #mayBeStored: boolean;
  /** Storage holds #id (we loaded or saved it). */
  #stored = false;
  #loaded = false;
  #locked = false;
  /** The id the client holds as far as we know; the cookie goes out whenever it differs from #id. */
  #clientId: string | null = null;
  /** The client has our cookie (the request sent one, or we set one): expiring it means something. */
  #clientHasCookie: boolean;
  #isNew: boolean;
  #wasInvalidated = false;
  #created: number;
  #accessed: number;
  /** The data: values as the application sees them, the stored bytes, what changed. */
  readonly #data = new SessionValues((key, cause) =>
    this.#corrupt(new Error(`the value of key ${JSON.stringify(key)} does not decode: ${(cause as Error).message}`, { cause })),
  );
  /** The store's generation of what we read (see StoredSession.generation). */
  #generation: string | number | undefined = undefined;
  #endHooked = false;
  /**
   * The access recorded by load() is not stored yet: the next save() stores
   * it, or the response's end does (see #deferAccess).
   */
  #accessPending = false;
  #accessAt = 0;
  /** The access time as storage holds it now (what the touch interval is measured from). */
  #storedAccess = 0;
  #endWrapped = false;
  /** The owner binding (stores with owners): as stored, or as setOwner() left it for the next save(). */
  #owner: SessionOwner | null = null;
  /** setOwner() was called since the last save: the next save() stores the binding. */
  #ownerChanged = false;
  /** externalId for #externalFor: signing costs an HMAC, and a rolling cookie needs it on every save. */
  #external = '';
  #externalFor = '';

  /**
   * Reads the id from the request (or the `id` option) and validates the
   * options; call load() next (Session.open does both). `res` may be
   * omitted when `useCookies` is false.
   */
  constructor(req: SessionRequest | undefined, res: SessionResponse | undefined, options?: SessionOptions) {
    const opts = normalizeOptions(options, BUILT_IN_STORES);
    if (opts.useCookies) {
      if (req === null || typeof req !== 'object' || typeof req.headers !== 'object' || req.headers === null) {
        throw new TypeError('wasm-session: Session needs the request (an object with headers) when useCookies is true');
      }
      if (res === null || typeof res !== 'object' || typeof res.setHeader !== 'function' || typeof res.getHeader !== 'function') {
        throw new TypeError('wasm-session: Session needs the response (with setHeader/getHeader) when useCookies is true');
      }
    }
    this.#opts = opts;
    this.#req = req ?? undefined;
    this.#res = res ?? undefined;
    this.key = opts.key;
    this.secret = opts.secret;
    this.timeout = opts.timeout;

    // The first value that is exactly a (signed) id wins; anything else means "no session".
    let candidate: string | null = null;
    let fromCookie = false;
    const cookies = opts.useCookies ? readCookieValues(req!.headers.cookie, opts.key) : [];
    if (opts.id !== undefined) {
      // URL-based apps may carry `id` or `externalId` (the signed form): both are accepted.
      candidate = decodeClientId(opts.id, opts.signer) ?? (isValidId(opts.id) ? opts.id : null);
    } else {
      for (const value of cookies) {
        candidate = decodeClientId(value, opts.signer);
        if (candidate !== null) {
          fromCookie = true;
          // With one secret, the value that verified is exactly what signing this id gives (with several,
          // it may carry an older secret's signature, which a re-sent cookie must not keep).
          if (typeof opts.secret === 'string' || opts.secret === undefined || opts.secret.length === 1) {
            this.#external = value;
            this.#externalFor = candidate;
          }
          break;
        }
      }
    }
    this.#clientHasCookie = cookies.length > 0;
    this.#id = candidate ?? generateId();
    this.#clientId = fromCookie ? candidate : null;
    this.#mayBeStored = candidate !== null;
    this.#isNew = candidate === null;
    this.#ns = new opts.namespaceClass(this.#id, opts.store);
    const now = opts.now();
    this.#created = now;
    this.#accessed = now;
  }

  /** new Session(req, res, options) and await load(). */
  static async open(req: SessionRequest | undefined, res: SessionResponse | undefined, options?: SessionOptions): Promise<Session> {
    const session = new Session(req, res, options);
    await session.load();
    return session;
  }

  // ---- members ----

  /** The session id: 32 lowercase hex characters. */
  get id(): string {
    return this.#id;
  }

  /** The id as the client carries it (cookie value, URL parameter): signed when `secret` is set. */
  get externalId(): string {
    if (this.#externalFor !== this.#id) {
      this.#external = encodeClientId(this.#id, this.#opts.signer);
      this.#externalFor = this.#id;
    }
    return this.#external;
  }

  /** When the session was created. */
  get created(): Date {
    return new Date(this.#created);
  }

  /** When the session was last accessed before this request (now, for a new session). */
  get accessed(): Date {
    return new Date(this.#accessed);
  }

  /** True when this request started the session: no valid stored session was found, or it was invalidated. */
  get isNew(): boolean {
    return this.#isNew;
  }

  /** True when a stored session was thrown away: timed out, too old, corrupt, or invalidate() was called. */
  get wasInvalidated(): boolean {
    return this.#wasInvalidated;
  }

  /** The store instance (for the dbm store: `namespace.file.path`, `namespace.file.getFilenames()`). */
  get namespace(): NamespaceManager {
    return this.#ns;
  }

  /** True between lock() and unlock(). */
  get locked(): boolean {
    return this.#locked;
  }

  /** The owner this session is bound to (setOwner()), or null. */
  get owner(): string | null {
    return this.#owner?.id ?? null;
  }

  /** What setOwner() recorded with the owner (e.g. `{ userAgent }`), or null when the session has no owner. */
  get ownerInfo(): OwnerInfo | null {
    return this.#owner?.info ?? null;
  }

  /**
   * Binds the session to `owner`, the logged-in user's id (call it at
   * login, with regenerateId()), recording `info` (a small plain object of
   * strings, numbers, booleans: what listSessions() shows, e.g. the user
   * agent); `null` unbinds. Stored with the next save(); regenerateId()
   * keeps it, invalidate() and delete() clear it. listSessions() and
   * revokeSessions() find the session by its owner. Needs a store with
   * owners (the dbm, memory and Redis stores): else a SessionError
   * (ERR_SESSION_OWNERS_UNSUPPORTED).
   */
  setOwner(owner: string | null, info?: Record<string, string | number | boolean | null>): this {
    this.#checkLoaded();
    if (typeof this.#opts.namespaceClass.ownedSessions !== 'function') {
      throw new SessionError(
        `wasm-session: the session store ${this.#opts.namespaceClass.name || '(anonymous)'} does not keep owners (no static ownedSessions())`,
        'ERR_SESSION_OWNERS_UNSUPPORTED',
      );
    }
    if (owner === null && this.#owner === null) return this;
    this.#owner = owner === null ? null : makeOwner(owner, info, this.#opts.now());
    this.#ownerChanged = true;
    return this;
  }

  /** The owner as save() gives it to the store: on a create, any binding; on an update, only a changed one. */
  #withOwner(changes: SessionChanges): SessionChanges {
    if (changes.mode === 'create' ? this.#owner !== null : this.#ownerChanged) changes.owner = this.#owner;
    return changes;
  }

  // ---- data ----

  /** The value under `key`, or undefined. */
  get<K extends string>(key: K): SessionValue<K> {
    this.#checkKey(key);
    return this.#data.get(key) as SessionValue<K>;
  }

  /** Stores `value` under `key` (written by the next save()). */
  set<K extends string>(key: K, value: SessionInput<K>): this {
    this.#checkKey(key);
    if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new RangeError(`wasm-session: session key is longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
    }
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new TypeError(`wasm-session: the value for session key ${JSON.stringify(key)} is a ${typeof value}, which cannot be stored`);
    }
    this.#data.set(key, value);
    return this;
  }

  has(key: string): boolean {
    this.#checkKey(key);
    return this.#data.has(key);
  }

  /** Removes `key`; resolves to whether it was there. The next save() deletes it from storage. */
  remove(key: string): boolean {
    this.#checkKey(key);
    return this.#data.remove(key);
  }

  keys(): string[] {
    this.#checkLoaded();
    return this.#data.keys();
  }

  /** Removes every key (the next save() deletes them from storage). */
  clear(): void {
    this.#checkLoaded();
    this.#data.clear();
  }

  get size(): number {
    this.#checkLoaded();
    return this.#data.size;
  }

  *entries(): IterableIterator<[string, unknown]> {
    this.#checkLoaded();
    yield* this.#data.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, unknown]> {
    return this.entries();
  }

  #checkLoaded(): void {
    if (!this.#loaded) {
      throw new SessionError('wasm-session: the session is not loaded yet: await session.load() first (Session.open() does it)', 'ERR_SESSION_NOT_LOADED');
    }
  }

  #checkKey(key: unknown): asserts key is string {
    this.#checkLoaded();
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(`wasm-session: session keys are non-empty strings, got ${key === '' ? 'an empty string' : typeof key}`);
    }
  }

  // ---- storage ----

  /**
   * Reads the stored session fully and records the access. A session idle
   * longer than `timeout`, older than `maxLifetime`, larger than
   * `maxSessionBytes`, or (with invalidateCorrupt) unreadable is removed and
   * replaced by a new one (`isNew` and `wasInvalidated` become true). An id
   * with nothing stored is not adopted: the session gets a fresh id.
   */
  async load(): Promise<void> {
    // Usable only once a load succeeded: a failed one leaves nothing half-read to save.
    this.#loaded = false;
    this.#releaseAtResponseEnd();
    await this.#load();
    this.#loaded = true;
  }

  async #load(): Promise<void> {
    const now = this.#opts.now();
    this.#data.reset();
    this.#stored = false;
    this.#accessPending = false;
    this.#owner = null;
    this.#ownerChanged = false;
    if (!this.#mayBeStored) {
      this.#log('new session');
      return;
    }
    const stored = await this.#read(now);
    if (stored === undefined) return; // corrupt, replaced by a fresh session
    if (stored === null) {
      await this.#startFresh(now, 'no stored session for the id from the client');
      return;
    }
    const reason = this.#expiry(stored, now);
    if (reason !== null) {
      await this.#ns.remove();
      await this.#startFresh(now, reason, true);
      return;
    }
    this.#adopted(stored);
    this.#created = stored.created;
    this.#accessed = stored.accessed;
    // A store without read() recorded the access in load() already.
    const recorded = typeof this.#ns.read !== 'function';
    this.#storedAccess = recorded ? now : stored.accessed;
    // The touch interval: a request records its access only when the stored one is old enough.
    if (!recorded && now - stored.accessed >= this.#opts.touchAfter * 1000) {
      this.#accessPending = true;
      this.#accessAt = now;
      // With a response, the access goes out with its save() or at its end; without one, now.
      if (!this.#deferAccess()) await this.#storeAccess();
    }
    this.#log(`loaded ${stored.data.size} key(s)`);
  }

  /**
   * The store's read() (or load(), which records the access at once) with
   * its values adopted; null when nothing is stored. Corruption (including
   * a value that does not decode, or a session over maxSessionBytes)
   * becomes a SessionCorruptError, or with invalidateCorrupt a fresh
   * session (undefined).
   */
  async #read(now: number, take: (stored: StoredSession, bytes: number) => void = (stored, bytes) => this.#data.adopt(stored, bytes)): Promise<ReadResult> {
    try {
      const stored = typeof this.#ns.read === 'function' ? await this.#ns.read() : await this.#ns.load(now);
      if (stored === null) return null;
      take(stored, this.#checkStoredSize(stored));
      return stored;
    } catch (err) {
      if (!isCorruption(err)) throw err;
      const file = this.#describeStorage();
      if (!this.#opts.invalidateCorrupt) throw err instanceof SessionCorruptError ? err : new SessionCorruptError(file, this.#id, err);
      await this.#ns.remove();
      await this.#startFresh(now, `corrupt storage ${file}: ${(err as Error).message}`, true);
      return undefined;
    }
  }

  #corrupt(cause: Error): SessionCorruptError {
    return new SessionCorruptError(this.#describeStorage(), this.#id, cause);
  }

  #checkStoredSize(stored: StoredSession): number {
    const bytes = stored.bytes ?? dataBytes(stored.data);
    if (bytes > this.#opts.maxSessionBytes) {
      throw this.#corrupt(new Error(`the stored session holds ${bytes} bytes, more than maxSessionBytes (${this.#opts.maxSessionBytes})`));
    }
    return bytes;
  }

  /** The stored session was read and its values adopted: from now on saves are updates of it. */
  #adopted(stored: StoredSession): void {
    if (!this.#ownerChanged) this.#owner = stored.owner ?? null;
    this.#generation = stored.generation;
    this.#stored = true;
    this.#mayBeStored = true;
  }

  /** Nothing is stored for this id any more (or never was): no pending access, the next save creates. */
  #forgetStorage(): void {
    this.#generation = undefined;
    this.#stored = false;
    this.#accessPending = false;
    this.#mayBeStored = false;
  }

  #expiry(stored: StoredSession, now: number): string | null {
    const { timeout, maxLifetime } = this.#opts;
    if (timeout !== null && now - stored.accessed > timeout * 1000) {
      return `timed out: idle ${Math.round((now - stored.accessed) / 1000)} s, timeout ${timeout} s`;
    }
    if (maxLifetime !== null && now - stored.created > maxLifetime * 1000) {
      return `too old: created ${Math.round((now - stored.created) / 1000)} s ago, maxLifetime ${maxLifetime} s`;
    }
    return null;
  }

  /** Moves this Session to `newId` (a new store instance), carrying the lock over; the data stays as it is. */
  async #moveTo(newId: string): Promise<void> {
    const old = this.#ns;
    const next = new this.#opts.namespaceClass(newId, this.#opts.store);
    if (this.#locked) {
      await next.lock!(this.#opts.lockTimeout);
      await old.unlock!();
    }
    this.#id = newId;
    this.#ns = next;
    await old.close?.();
  }

  /** Switches to a fresh id with no data; the old storage is the caller's business. */
  async #startFresh(now: number, reason: string, invalidated = false): Promise<void> {
    const oldId = this.#id;
    await this.#moveTo(generateId());
    this.#data.reset();
    this.#forgetStorage();
    this.#owner = null;
    this.#ownerChanged = false;
    this.#isNew = true;
    if (invalidated) this.#wasInvalidated = true;
    this.#created = now;
    this.#accessed = now;
    this.#log(`${invalidated ? 'invalidated' : 'not adopted'} ${short(oldId)} (${reason}); new session`);
  }

  /**
   * The stored session this Session read was removed by someone else (a
   * logout or login in another request, a cleanup job): nothing of ours was
   * written, and this Session becomes a fresh, empty one (`wasInvalidated`).
   * No cookie goes out for it until it is saved with data.
   */
  async #storageGone(now: number, during: string): Promise<void> {
    await this.#startFresh(now, `${during}: the stored session was removed meanwhile, nothing was written`, true);
  }

  /**
   * Writes what changed since load: keys set or whose stored object was
   * changed in place, and keys removed. Keys other requests added meanwhile
   * are kept. An unchanged session only gets its access time updated. A new
   * session without data stores nothing (bots and cookie-less clients make
   * no files). Sends the cookie when the client does not have this id yet
   * (first save, new id) or when `cookieExpires` is a number (rolling).
   *
   * Resolves to false when the stored session had been removed meanwhile by
   * another request (logout, login): then nothing was written, and this
   * Session is now a fresh, empty one (`wasInvalidated` is true, new `id`).
   * Otherwise true.
   */
  async save(): Promise<boolean> {
    this.#checkLoaded();
    const now = this.#opts.now();
    if (!this.#stored && this.#data.size === 0 && this.#owner === null) {
      this.#log('nothing to save (no data, nothing stored)');
      return true;
    }
    // Everything that can fail before writing, fails before writing.
    const changes = this.#data.changes(!this.#stored);
    this.#checkSize(changes, !this.#stored);
    const sendCookie = this.#cookieDue();
    if (sendCookie) this.#assertHeadersOpen();

    if (this.#stored && changes.set.size === 0 && changes.deleted.length === 0 && !this.#ownerChanged) {
      // Unchanged: the access time, if the touch interval says it is due (else nothing is written).
      if (this.#accessPending || (now > this.#storedAccess && now - this.#storedAccess >= this.#opts.touchAfter * 1000)) {
        if ((await this.#touchStored(now)) === 'gone') {
          await this.#storageGone(now, 'save()');
          return false;
        }
        this.#log('saved: unchanged, access time updated');
      } else {
        this.#log('saved: unchanged, access recorded less than touchAfter ago');
      }
    } else {
      const mode = this.#stored ? 'update' : 'create';
      const result = (await this.#ns.save(this.#withOwner({ mode, set: changes.set, delete: changes.deleted, created: this.#created, accessed: now }))) ?? 'ok';
      if (result === 'gone') {
        await this.#storageGone(now, 'save()');
        return false;
      }
      if (result === 'exists') return this.#saveUnderFreshId(now);
      this.#log(`saved ${changes.set.size} changed and ${changes.deleted.length} deleted key(s)${mode === 'create' ? ' (created)' : ''}`);
      this.#data.committed(changes, mode === 'create');
      this.#ownerChanged = false;
    }
    this.#stored = true;
    this.#mayBeStored = true;
    this.#accessPending = false; // the save carried the access time
    this.#storedAccess = now;
    if (sendCookie) this.#sendCookie(now);
    return true;
  }

  /**
   * A create found something stored under our id already: another request
   * of this client deleted and recreated it meanwhile. Our data goes under
   * a fresh id instead (the cookie follows), never merged into theirs.
   */
  async #saveUnderFreshId(now: number): Promise<boolean> {
    const oldId = this.#id;
    await this.#moveTo(generateId());
    this.#data.forgetStored();
    const changes = this.#data.changes(true);
    const result = (await this.#ns.save(this.#withOwner({ mode: 'create', set: changes.set, delete: [], created: this.#created, accessed: now }))) ?? 'ok';
    if (result !== 'ok') {
      throw new SessionError(`wasm-session: the store reported '${result}' when creating a fresh session id; nothing was written`, 'ERR_SESSION_STORE');
    }
    this.#log(`id ${short(oldId)} was taken meanwhile: created the session under a new id`);
    this.#data.committed(changes, true);
    this.#ownerChanged = false;
    this.#generation = undefined;
    this.#stored = true;
    this.#mayBeStored = true;
    this.#accessPending = false;
    if (this.#opts.useCookies) this.#sendCookie(now);
    return true;
  }

  /** Records an access of the stored session, with touch() or an empty update. */
  async #touchStored(accessed: number): Promise<WriteResult> {
    const result = this.#ns.touch
      ? await this.#ns.touch(accessed)
      : await this.#ns.save({ mode: 'update', set: new Map(), delete: [], created: this.#created, accessed });
    return result ?? 'ok';
  }

  /** maxSessionBytes: the session as it will be stored (our keys; keys others added are not known here). */
  #checkSize(changes: PendingChanges, created: boolean): void {
    const bytes = this.#data.bytesAfter(changes, created);
    if (bytes > this.#opts.maxSessionBytes) {
      throw new SessionError(
        `wasm-session: the session would hold ${bytes} bytes, more than maxSessionBytes (${this.#opts.maxSessionBytes}); nothing was written`,
        'ERR_SESSION_TOO_LARGE',
      );
    }
  }

  /**
   * Deletes the stored session. The session stays usable, empty, under the
   * same id: a later save() creates its storage again (only this Session
   * may: a request that loaded it before cannot) and sends the cookie again.
   * The client's cookie is expired.
   */
  async delete(): Promise<void> {
    const expire = this.#cookieExpiryDue();
    if (expire) this.#assertHeadersOpen();
    await this.#ns.remove();
    this.#data.reset();
    this.#forgetStorage();
    this.#owner = null;
    this.#ownerChanged = false;
    if (expire) this.#expireCookie();
    this.#log('deleted');
  }

  /**
   * Removes the stored session and starts a new one under a new id, empty
   * (`isNew` and `wasInvalidated` become true). The client's cookie is
   * expired; the next save() sends the new one.
   */
  async invalidate(): Promise<void> {
    const expire = this.#cookieExpiryDue();
    if (expire) this.#assertHeadersOpen();
    await this.#ns.remove();
    this.#loaded = true;
    await this.#startFresh(this.#opts.now(), 'invalidate() called', true);
    if (expire) this.#expireCookie();
  }

  /**
   * Moves the session to a new id (the defence against session fixation:
   * call it at login). The data, including unsaved changes, is written
   * under the new id, the old storage is removed first (a crash in between
   * leaves no session, never both ids), and the new cookie is sent. A
   * session that was never stored just changes its id. If the stored
   * session was removed meanwhile by another request (a logout), nothing is
   * moved: the Session becomes a fresh, empty one (`wasInvalidated`).
   */
  async regenerateId(): Promise<void> {
    this.#checkLoaded();
    const now = this.#opts.now();
    const oldId = this.#id;
    if (!this.#stored) {
      await this.#moveTo(generateId());
      this.#log(`new id (was ${short(oldId)}), nothing stored yet`);
      return;
    }
    if (this.#opts.useCookies) this.#assertHeadersOpen();
    // Only a session that is still stored moves (a logout that won stays won), with what other
    // requests saved since this one loaded it, under this request's own changes.
    const generation = this.#generation;
    let gone = false;
    const current = await this.#read(now, (read, bytes) => {
      if (generation !== undefined && read.generation !== generation) gone = true;
      else {
        this.#data.refresh(read, bytes);
        if (!this.#ownerChanged) this.#owner = read.owner ?? null;
      }
    });
    if (current === undefined) return; // corrupt: already a fresh session
    if (current === null || gone) {
      await this.#storageGone(now, 'regenerateId()');
      return;
    }
    const changes = this.#data.changes(true);
    this.#checkSize(changes, true);
    await this.#ns.remove();
    this.#forgetStorage();
    await this.#moveTo(generateId());
    const result = (await this.#ns.save(this.#withOwner({ mode: 'create', set: changes.set, delete: [], created: this.#created, accessed: now }))) ?? 'ok';
    if (result !== 'ok') {
      throw new SessionError(`wasm-session: the store reported '${result}' when creating a fresh session id; nothing was written`, 'ERR_SESSION_STORE');
    }
    this.#data.committed(changes, true);
    this.#ownerChanged = false;
    this.#stored = true;
    this.#mayBeStored = true;
    this.#log(`new id (was ${short(oldId)}), ${changes.set.size} key(s) moved`);
    if (this.#opts.useCookies) this.#sendCookie(now);
  }

  /**
   * Takes the session's exclusive lock (across requests and processes,
   * waiting at most `lockTimeout` ms without blocking the event loop) and
   * re-reads the stored data under it, so a read-modify-write is exact.
   * Unsaved local changes are kept on top; keys another request changed
   * meanwhile are taken from the re-read (get() them again), all others
   * keep the objects already handed out.
   * If the stored session was removed while we waited (a logout), the
   * Session becomes a fresh, empty one (`wasInvalidated`), still locked.
   * The lock is released by unlock(), or when the response ends.
   */
  async lock(): Promise<void> {
    if (this.#locked) return;
    if (typeof this.#ns.lock !== 'function') {
      throw new SessionError(
        `wasm-session: the session store ${this.#opts.namespaceClass.name || '(anonymous)'} does not implement lock()`,
        'ERR_SESSION_LOCK_UNSUPPORTED',
      );
    }
    await this.#ns.lock(this.#opts.lockTimeout);
    this.#locked = true;
    this.#releaseAtResponseEnd();
    this.#log('locked');
    if (!this.#loaded || !this.#stored) return;
    const now = this.#opts.now();
    const generation = this.#generation;
    let stored: ReadResult;
    try {
      stored = await this.#read(now, (read, bytes) => this.#takeReread(read, bytes, generation));
    } catch (err) {
      await this.unlock();
      throw err;
    }
    if (stored === undefined) return; // corrupt: now a fresh (locked) session
    if (stored === null) {
      await this.#storageGone(now, 'lock()');
      return;
    }
    this.#adopted(stored);
    this.#log(`re-read ${stored.data.size} key(s) under lock`);
  }

  /**
   * A re-read of the session this request loaded: merged under the local
   * changes (SessionValues.refresh); or, when its owner deleted and created
   * it again meanwhile (another generation), taken as it is, since the local
   * changes were made to the old one.
   */
  #takeReread(stored: StoredSession, bytes: number, generation: string | number | undefined): void {
    if (generation !== undefined && stored.generation !== generation) {
      this.#data.adopt(stored, bytes);
      this.#ownerChanged = false;
      this.#log('the session was deleted and created again meanwhile: local changes dropped');
    } else {
      this.#data.refresh(stored, bytes);
    }
  }

  /** Releases the lock taken by lock(). Save first: unlock() does not save. */
  async unlock(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await this.#ns.unlock!();
    this.#log('unlocked');
  }

  /**
   * Whether load() may read without recording the access (the store has
   * read()) because the access can be stored later: with this request's
   * save(), or just before the response ends. The response's end() is
   * wrapped once for that, as express-session does, so the access is on
   * disk before the client gets the response.
   */
  #deferAccess(): boolean {
    const res = this.#res as { end?: (...args: unknown[]) => unknown } | undefined;
    if (typeof this.#ns.read !== 'function' || typeof res?.end !== 'function') return false;
    if (!this.#endWrapped) {
      this.#endWrapped = true;
      const end = res.end;
      const session = this;
      res.end = function (this: unknown, ...args: unknown[]) {
        res.end = end;
        if (!session.#accessPending) return end.apply(this, args);
        session.#storeAccess().finally(() => end.apply(res, args));
        return res;
      };
    }
    return true;
  }

  /** Stores the access time load() noted (at load without a response, else at its end); errors are logged, never thrown. */
  async #storeAccess(): Promise<void> {
    if (!this.#accessPending) return;
    this.#accessPending = false;
    try {
      if ((await this.#touchStored(this.#accessAt)) === 'gone') {
        await this.#storageGone(this.#accessAt, 'recording the access');
        return;
      }
      this.#storedAccess = this.#accessAt;
      this.#log('access time stored');
    } catch (err) {
      this.#log(`storing the access time failed: ${(err as Error).message}`);
    }
  }
  /**
   * When the response is done (its 'close' event), a lock still held is
   * released and the store instance is closed (it may hold an open file).
   */
  #releaseAtResponseEnd(): void {
    if (this.#endHooked || typeof this.#res?.once !== 'function') return;
    this.#endHooked = true;
    this.#res.once('close', () => {
      const wasLocked = this.#locked;
      const ns = this.#ns;
      this.unlock()
        .then(() => ns.close?.())
        .then(
          () => {
            if (wasLocked) this.#log('unlocked at the end of the response');
          },
          (err: Error) => this.#log(`releasing the session at the end of the response failed: ${err.message}`),
        );
    });
  }

  // ---- cookies ----

  #cookieDue(): boolean {
    return this.#opts.useCookies && (this.#clientId !== this.#id || typeof this.#opts.cookieExpires === 'number');
  }

  #cookieExpiryDue(): boolean {
    return this.#opts.useCookies && this.#clientHasCookie;
  }

  #assertHeadersOpen(): void {
    if (this.#res?.headersSent) {
      throw new SessionError(
        `wasm-session: cannot send the session cookie '${this.key}': the response headers were already sent (save(), regenerateId(), invalidate() and delete() must run before the response is written); nothing was changed`,
        'ERR_SESSION_HEADERS_SENT',
      );
    }
  }

  #cookieAttributes(now: number): CookieAttributes {
    const o = this.#opts;
    let expires: Date | undefined;
    let maxAge: number | undefined;
    if (o.cookieExpires === false) expires = FAR_FUTURE;
    else if (o.cookieExpires instanceof Date) expires = o.cookieExpires;
    else if (typeof o.cookieExpires === 'number') {
      maxAge = Math.floor(o.cookieExpires);
      expires = new Date(now + maxAge * 1000);
    }
    return {
      path: o.path,
      domain: o.domain,
      secure: o.secure === 'auto' ? isTlsRequest(this.#req as IncomingMessage | undefined) : o.secure,
      httpOnly: o.httpOnly,
      sameSite: o.sameSite,
      expires,
      maxAge,
    };
  }

  #sendCookie(now: number): void {
    appendSetCookie(this.#res!, this.key, serializeCookie(this.key, this.externalId, this.#cookieAttributes(now)));
    this.#clientId = this.#id;
    this.#clientHasCookie = true;
    this.#log('cookie sent');
  }

  #expireCookie(): void {
    appendSetCookie(this.#res!, this.key, serializeExpiredCookie(this.key, this.#cookieAttributes(this.#opts.now())));
    this.#clientId = null;
    this.#clientHasCookie = false;
    this.#log('cookie expired');
  }

  // ---- logging ----

  #describeStorage(): string {
    const file = (this.#ns as { file?: { path?: unknown } }).file?.path;
    return typeof file === 'string' ? file : `${this.#opts.namespaceClass.name || 'store'} session ${short(this.#id)}`;
  }

  #log(message: string): void {
    const log = this.#opts.log;
    if (log === null) return;
    log(`${new Date(this.#opts.now()).toISOString()} wasm-session ${short(this.#id)}: ${message}`);
  }
}

/** Ids are bearer secrets: logs show only a prefix. */
function short(id: string): string {
  return `${id.slice(0, 8)}…`;
}

/**
 * Myghty's entry point: a session from a config that may use the
 * documented `session_`-prefixed snake_case names (session_data_dir,
 * session_cookie_expires, ...), a general `data_dir` meaning
 * `<data_dir>/sessions`.
 */
export async function getSession(req: SessionRequest | undefined, res: SessionResponse | undefined, config?: Record<string, unknown>): Promise<Session> {
  return Session.open(req, res, optionsFromConfig(config));
}

/**
 * The store class and its options (StoreOptions: no secrets) that a Session
 * with `options` uses, for code that works with the store without a Session
 * (the express-session Store, maintenance tools). A built-in `type` added
 * later resolves here too.
 */
export function storeFor(options: SessionOptions): { namespaceClass: NamespaceClass; options: StoreOptions } {
  const normalized = normalizeOptions(options, BUILT_IN_STORES);
  return { namespaceClass: normalized.namespaceClass, options: normalized.store };
}

/**
 * The options a store is constructed with when a Session uses `options`
 * (StoreOptions: no secrets): for using a store directly, e.g. in its tests.
 */
export function storeOptions(options: SessionOptions): StoreOptions {
  return storeOptionsFrom(options, BUILT_IN_STORES);
}
