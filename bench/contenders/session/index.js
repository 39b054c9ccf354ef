// The session-store contenders, in table order. A new store: a module in
// this folder (see README.md) and a line here.

import betterSqlite3 from './better-sqlite3.js';
import connectRedis from './connect-redis.js';
import expressMemoryStore from './express-memorystore.js';
import fileFloor from './file-floor.js';
import memorystore from './memorystore.js';
import sessionFileStore from './session-file-store.js';
import wasmDbm from './wasm-dbm.js';
import wasmMemory from './wasm-memory.js';
import wasmRedis from './wasm-redis.js';

export const SESSION_CONTENDERS = [expressMemoryStore, memorystore, sessionFileStore, betterSqlite3, connectRedis, wasmMemory, wasmDbm, wasmRedis, fileFloor];

export { betterSqlite3, connectRedis, expressMemoryStore, fileFloor, memorystore, sessionFileStore, wasmDbm, wasmMemory, wasmRedis };
