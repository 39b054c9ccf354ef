// better-sqlite3 used as a key-value table `kv (k TEXT PRIMARY KEY, v BLOB)
// WITHOUT ROWID` in WAL mode. Small files: a database per session file
// (each operation opens a connection, prepares its statement and closes,
// which checkpoints the WAL: the cost of one database per session); values
// msgpack-encoded with the project's codec. Large file: one connection,
// prepared statements, synchronous=OFF (FULL for the durable table).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { packr } from '../../lib/codec.js';
import { packageVersion } from '../../lib/harness.js';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

function sqliteVersion() {
  try {
    const mem = new Database(':memory:');
    const v = mem.prepare('SELECT sqlite_version()').pluck().get();
    mem.close();
    return v;
  } catch {
    return '?';
  }
}

export default {
  name: 'better-sqlite3',
  version: () => ({ 'better-sqlite3': `${packageVersion('better-sqlite3')} (SQLite ${sqliteVersion()})` }),
  small: {
    async setup({ dir, shape, count }) {
      const files = Array.from({ length: count }, (_, i) => path.join(dir, `s${i}.sqlite`));
      const t0 = performance.now();
      // Each database is built in memory and written out whole (a WAL
      // database created file by file costs several fsyncs each): the
      // header's read/write format bytes (offsets 18 and 19) set to 2 mark
      // the file as WAL mode, exactly what PRAGMA journal_mode = WAL persists.
      for (let i = 0; i < count; i++) {
        const mem = new Database(':memory:');
        mem.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
        const ins = mem.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
        mem.transaction(() => {
          for (const [k, v] of Object.entries(shape.make(i))) ins.run(k, packr.pack(v));
        })();
        const image = mem.serialize();
        mem.close();
        image[18] = 2;
        image[19] = 2;
        fs.writeFileSync(files[i], image);
      }
      const check = new Database(files[0]);
      const mode = check.pragma('journal_mode', { simple: true });
      check.close();
      if (mode !== 'wal') throw new Error(`sqlite fixture is in journal mode ${mode}, not wal`);
      const built = performance.now() - t0;
      const { counter } = shape;
      let stamp = 1_767_225_600_000;
      return {
        built,
        size: fs.statSync(files[0]).size,
        cases: {
          read: {
            label: 'better-sqlite3: open, SELECT all rows + unpack, close (db per file, WAL)',
            sync: true,
            fn(i) {
              const db = new Database(files[i]);
              const session = {};
              for (const row of db.prepare('SELECT k, v FROM kv').raw().all()) session[row[0]] = packr.unpack(row[1]);
              db.close();
              if (session[counter] === undefined) throw new Error('sqlite: bad file');
            },
          },
          write: {
            label: 'better-sqlite3: open, synchronous=OFF, upsert one row, close (db per file, WAL)',
            sync: true,
            fn(i) {
              const db = new Database(files[i]);
              db.pragma('synchronous = OFF');
              db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run('lastSeen', packr.pack(++stamp));
              db.close();
            },
          },
        },
        async teardown() {},
      };
    },
  },
  large: {
    async setup({ dir, keys, values, chunk, nextValue }) {
      const file = path.join(dir, 'large.sqlite');
      const t0 = performance.now();
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = OFF');
      db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
      const insert = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const insertChunk = db.transaction((from) => {
        for (let i = from; i < Math.min(keys.length, from + chunk); i++) insert.run(keys[i], values[i]);
      });
      for (let from = 0; from < keys.length; from += chunk) insertChunk(from);
      db.pragma('wal_checkpoint(TRUNCATE)'); // start from a checkpointed file with an empty WAL
      const built = performance.now() - t0;
      const selectV = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
      const upsert = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
      const commit = (i) => {
        upsert.run(keys[i], nextValue());
      };
      return {
        built,
        info: `sqlite ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB (checkpointed; WITHOUT ROWID table)`,
        cases: {
          get: {
            label: 'better-sqlite3: prepared SELECT v WHERE k = ?',
            sync: true,
            fn(i) {
              if (selectV.get(keys[i]).length !== values[i].length) throw new Error('sqlite: bad value');
            },
          },
          commit: { label: 'better-sqlite3: prepared upsert, autocommit (WAL, synchronous=OFF)', sync: true, fn: commit },
        },
        async durable() {
          db.pragma('synchronous = FULL');
          return { label: 'better-sqlite3: prepared upsert, autocommit (WAL, synchronous=FULL)', sync: true, fn: commit };
        },
        async teardown() {
          if (db.open) db.close();
        },
      };
    },
  },
};
