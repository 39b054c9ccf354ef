// wasm-session: server-side sessions for Node.js with a WebAssembly hot path.
export { md5, hmacMd5, createMd5, createIdSigner, MAX_SIGNED_ID_BYTES } from './crypto.js';
export type { HashEncoding, BinaryLike, Md5Hash, IdSigner } from './crypto.js';
export { WasmTrapError } from './errors.js';
export { Dbm, DbmError, DbmCorruptError, LockTimeoutError, DbmClosedError, DbmReadOnlyError } from './dbm/index.js';
export type { DbmOptions, DbmFlag, DbmKey, DbmTimes, DbmStat, DbmTransaction, CheckReport } from './dbm/index.js';
export {
  Session,
  getSession,
  storeOptions,
  storeFor,
  MAX_KEY_BYTES,
  DEFAULT_KEY,
  DEFAULT_LOCK_TIMEOUT,
  DEFAULT_MAX_SESSION_BYTES,
  DbmNamespace,
  MemoryNamespace,
  RedisNamespace,
  closeRedisConnections,
  SessionError,
  SessionCorruptError,
  SessionStoreUnavailableError,
  SessionLockLostError,
  UnsafeDataDirError,
  generateId,
  isValidId,
} from './session/index.js';
export type {
  SessionRequest,
  SessionResponse,
  SessionData,
  SessionValue,
  SessionInput,
  SessionOptions,
  NormalizedSessionOptions,
  SessionType,
  SameSite,
  NamespaceManager,
  NamespaceClass,
  StoredSession,
  SessionChanges,
  StoreOptions,
  WriteResult,
  SessionFile,
  SessionErrorCode,
  RedisOptions,
  RedisSettings,
  RedisClientLike,
} from './session/index.js';
