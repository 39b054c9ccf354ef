// A one-table session store on better-sqlite3 12, written the way an
// express-session SQLite store is: `sessions (id TEXT PRIMARY KEY, data TEXT
// NOT NULL, expires INTEGER NOT NULL)`, journal_mode=WAL and
// synchronous=NORMAL (in WAL mode: survives a crash of the process, not
// always a power loss, like the dbm's sync 'none'), statements prepared once.
// The payload is the session object as JSON text (JSON.stringify/parse).
// load = SELECT + parse; load:touch adds the UPDATE of `expires` a store's
// touch() does; cycle = SELECT + parse + change + UPSERT. Every request does
// express-session's cookie work, as it would behind express-session.

import path from 'node:path';
import { createRequire } from 'node:module';
import { packageVersion } from '../../lib/harness.js';
import { cookieHeader, resetExpiry, sessionIdFrom, setSessionCookie } from '../../lib/express-cookie.js';
import { BenchResponse, benchRequest } from '../../lib/http.js';
import { expressIds, expressSessionData } from './express-common.js';

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
  name: `better-sqlite3 ${packageVersion('better-sqlite3')} table`,
  version: () => ({ 'better-sqlite3': `${packageVersion('better-sqlite3')} (SQLite ${sqliteVersion()})` }),
  async setup({ dir, shape, count, secret }) {
    const file = path.join(dir, 'sessions.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL)');
    const select = db.prepare('SELECT data FROM sessions WHERE id = ? AND expires > ?').pluck();
    const upsert = db.prepare(
      'INSERT INTO sessions (id, data, expires) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires',
    );
    const touch = db.prepare('UPDATE sessions SET expires = ? WHERE id = ?');
    const ids = expressIds(count);
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const sess = expressSessionData(shape, i);
        resetExpiry(sess, now);
        upsert.run(ids[i], JSON.stringify(sess), sess.cookie.expires.getTime());
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const cookies = ids.map((sid) => cookieHeader(sid, secret));
    const { keys, counter } = shape;

    const open = (i) => {
      const req = benchRequest(cookies[i]);
      const sid = sessionIdFrom(req.headers, secret);
      if (sid === false) throw new Error(`sqlite: bad cookie for session ${i}`);
      const text = select.get(sid, Date.now());
      if (text === undefined) throw new Error(`sqlite: session ${i} not found`);
      const sess = JSON.parse(text);
      let missing = 0;
      for (let k = 0; k < keys.length; k++) if (sess[keys[k]] === undefined) missing++;
      if (missing !== 0) throw new Error(`sqlite: session ${i} lacks keys`);
      return { sid, sess };
    };
    const end = (res) => {
      res.end();
      return res.whenEnded();
    };
    return {
      file,
      cases: {
        load: {
          label: 'better-sqlite3 table: load (SELECT + JSON.parse)',
          async fn(i) {
            open(i);
            await end(new BenchResponse());
          },
        },
        'load:touch': {
          label: 'better-sqlite3 table: load + touch (SELECT + parse, UPDATE expires)',
          context: true,
          async fn(i) {
            const { sid, sess } = open(i);
            resetExpiry(sess);
            touch.run(sess.cookie.expires.getTime(), sid);
            await end(new BenchResponse());
          },
        },
        cycle: {
          label: 'better-sqlite3 table: cycle (SELECT + parse, change, UPSERT)',
          async fn(i) {
            const { sid, sess } = open(i);
            const res = new BenchResponse();
            sess[counter] += 1;
            resetExpiry(sess);
            upsert.run(sid, JSON.stringify(sess), sess.cookie.expires.getTime());
            setSessionCookie(res, sid, secret, sess);
            await end(res);
          },
        },
      },
      peek: (i) => JSON.parse(select.get(ids[i], 0))[counter],
      info: [
        'better-sqlite3 table: sessions (id TEXT PRIMARY KEY, data TEXT, expires INTEGER), WAL, synchronous=NORMAL, default cache and wal_autocheckpoint; statements prepared once; JSON text payload.',
      ],
      async teardown() {
        db.close();
      },
    };
  },
};
