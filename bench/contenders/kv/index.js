// The dbm suite's contenders, in table order (a new one: a module here and a line in this list).

import betterSqlite3 from './better-sqlite3.js';
import dbm from './dbm.js';
import floor from './floor.js';
import json from './json.js';
import lmdb from './lmdb.js';

export const KV_CONTENDERS = [floor, dbm, lmdb, betterSqlite3, json];

export { betterSqlite3, dbm, floor, json, lmdb };
