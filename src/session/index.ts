// wasm-session/session: the Session class, its stores and their contract.
export { Session, getSession, storeOptions, storeFor, MAX_KEY_BYTES } from './session.js';
export type { SessionRequest, SessionResponse, SessionData, SessionValue, SessionInput } from './session.js';
export type { SessionOptions, NormalizedSessionOptions, SessionType, SameSite } from './options.js';
export { DEFAULT_KEY, DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_SESSION_BYTES } from './options.js';
export type {
  NamespaceManager,
  NamespaceClass,
  StoredSession,
  SessionChanges,
  StoreOptions,
  WriteResult,
  SessionOwner,
  OwnedSession,
  SweepPolicy,
  SweepResult,
} from './namespace.js';
export { sweep, startSweeper, listSessions, revokeSessions, parseDuration } from './ops.js';
export type { Duration, SweepOptions, SweeperOptions, OwnerSession } from './ops.js';
export type { OwnerInfo } from './owner.js';
export { DbmNamespace, maxSessionFileBytes } from './stores/dbm.js';
export type { SessionFile } from './stores/dbm.js';
export { MemoryNamespace } from './stores/memory.js';
export { RedisNamespace, closeRedisConnections } from './stores/redis.js';
export type { RedisOptions, RedisSettings, RedisClientLike } from './stores/redis-options.js';
export { SessionError, SessionCorruptError, UnsafeDataDirError, SessionStoreUnavailableError, SessionLockLostError, LockTimeoutError } from './errors.js';
export type { SessionErrorCode } from './errors.js';
export { generateId, isValidId } from './ids.js';
