// wasm-session/dbm: the embedded, crash-safe dbm file store.
export { Dbm } from './dbm.js';
export type { DbmOptions, DbmFlag, DbmKey, DbmTimes, DbmStat, DbmTransaction } from './dbm.js';
export type { CheckReport } from './check.js';
export type { FileIO } from './io.js';
export { nodeFileIO } from './io.js';
export { DbmError, DbmCorruptError, LockTimeoutError, DbmClosedError, DbmReadOnlyError } from '../errors.js';
