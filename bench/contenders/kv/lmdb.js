// lmdb-js. Small files: an environment per session file (mmap, lock file,
// reader table: the cost of its design when each session is its own file),
// plus, for context only, ONE long-lived environment holding every session
// under a key prefix (no per-file open or lock, so not comparable with the
// floor). Large file: one environment, encoding 'binary', noSync.

import path from 'node:path';
import fs from 'node:fs';
import { open as lmdbOpen } from 'lmdb';
import { packageVersion } from '../../lib/harness.js';

const prefixOf = (i) => `s${String(i).padStart(6, '0')}/`;

export default {
  name: 'lmdb',
  version: () => ({ 'lmdb (lmdb-js)': packageVersion('lmdb') }),
  small: {
    async setup({ dir, shape, count }) {
      const files = Array.from({ length: count }, (_, i) => path.join(dir, `s${i}.mdb`));
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const env = lmdbOpen({ path: files[i], noSync: true, compression: false });
        env.transactionSync(() => {
          for (const [k, v] of Object.entries(shape.make(i))) env.putSync(k, v);
        });
        await env.close();
      }
      const built = performance.now() - t0;
      const t1 = performance.now();
      const shared = lmdbOpen({ path: path.join(dir, 'lmdb-shared.mdb'), noSync: true, compression: false });
      shared.transactionSync(() => {
        for (let i = 0; i < count; i++) for (const [k, v] of Object.entries(shape.make(i))) shared.putSync(`${prefixOf(i)}${k}`, v);
      });
      const builtShared = performance.now() - t1;
      const { counter } = shape;
      let stamp = 1_767_225_600_000;
      let sharedOpen = true;
      return {
        built,
        builtNote: `+ shared env ${builtShared.toFixed(0)} ms`,
        size: fs.statSync(files[0]).size,
        sizeNote: '(+ lock file)',
        cases: {
          read: {
            label: 'lmdb: open env, getRange(), close (env per file)',
            async fn(i) {
              const env = lmdbOpen({ path: files[i], noSync: true, compression: false });
              const session = {};
              for (const { key, value } of env.getRange()) session[key] = value;
              await env.close();
              if (session[counter] === undefined) throw new Error('lmdb: bad file');
            },
          },
          'read:shared': {
            label: 'lmdb, context only: ONE long-lived env, session = key prefix, getRange()',
            sync: true,
            fn(i) {
              const prefix = prefixOf(i);
              const session = {};
              for (const { key, value } of shared.getRange({ start: prefix, end: `${prefix}\xff` })) session[key.slice(prefix.length)] = value;
              if (session[counter] === undefined) throw new Error('lmdb: bad entry');
            },
          },
          write: {
            label: 'lmdb: open env, putSync(one key), close (env per file, noSync)',
            async fn(i) {
              const env = lmdbOpen({ path: files[i], noSync: true, compression: false });
              env.putSync('lastSeen', ++stamp);
              await env.close();
            },
          },
          'write:shared': {
            label: 'lmdb, context only: ONE long-lived env, putSync(prefix + key) (noSync)',
            sync: true,
            fn(i) {
              shared.putSync(`${prefixOf(i)}lastSeen`, ++stamp);
            },
          },
        },
        async teardown() {
          if (sharedOpen) await shared.close();
          sharedOpen = false;
        },
      };
    },
  },
  large: {
    async setup({ dir, keys, values, chunk, nextValue }) {
      const file = path.join(dir, 'large.mdb');
      const t0 = performance.now();
      const env = lmdbOpen({ path: file, noSync: true, compression: false, encoding: 'binary' });
      for (let from = 0; from < keys.length; from += chunk) {
        env.transactionSync(() => {
          for (let i = from; i < Math.min(keys.length, from + chunk); i++) env.putSync(keys[i], values[i]);
        });
      }
      const built = performance.now() - t0;
      let open = true;
      return {
        built,
        info: `lmdb ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB`,
        cases: {
          get: {
            label: 'lmdb: db.get(k)',
            sync: true,
            fn(i) {
              if (env.get(keys[i]).length !== values[i].length) throw new Error('lmdb: bad value');
            },
          },
          commit: { label: 'lmdb: await db.put(k, v), one at a time (noSync)', fn: (i) => env.put(keys[i], nextValue()) },
          'commit:putSync': {
            label: 'lmdb: db.putSync(k, v), a write txn each (noSync)',
            sync: true,
            fn(i) {
              env.putSync(keys[i], nextValue());
            },
          },
        },
        async teardown() {
          if (open) await env.close();
          open = false;
        },
      };
    },
  },
};
