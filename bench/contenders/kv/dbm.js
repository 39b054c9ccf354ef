// This project's dbm (wasm-session/dbm) used directly: small files are one
// session each (open, read or change, close: what the session store does
// per request), the large file is 100,000 keys in one file.

import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';
import { packageVersion } from '../../lib/harness.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

export default {
  name: 'this dbm',
  version: () => ({ 'wasm-session dbm': packageVersion('wasm-session') }),
  small: {
    async setup({ dir, shape, count }) {
      const files = Array.from({ length: count }, (_, i) => path.join(dir, `s${i}.db`));
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        // 2 KiB pages, as the session store creates its files: one 4 KiB block.
        const db = await Dbm.open(files[i], { flag: 'n', codec: 'msgpack', pageSize: 2048 });
        await db.transaction((tx) => {
          for (const [k, v] of Object.entries(shape.make(i))) tx.set(k, v);
        });
        await db.close();
      }
      const built = performance.now() - t0;
      const { counter } = shape;
      let stamp = 1_767_225_600_000;
      const first = await Dbm.open(files[0], { flag: 'r' });
      const size = (await first.stat()).fileBytes;
      await first.close();
      return {
        built,
        size,
        cases: {
          read: {
            label: 'this dbm: open r, for await entries(), close',
            async fn(i) {
              const db = await Dbm.open(files[i], { flag: 'r', noAtime: true });
              const session = {};
              for await (const [k, v] of db.entries()) session[k] = v;
              await db.close();
              if (session[counter] === undefined) throw new Error('dbm: bad file');
            },
          },
          'read:getAll': {
            label: 'this dbm: open r, getAll(), close',
            async fn(i) {
              const db = await Dbm.open(files[i], { flag: 'r', noAtime: true });
              const all = await db.getAll();
              await db.close();
              if (all.get(counter) === undefined) throw new Error('dbm: bad file');
            },
          },
          write: {
            label: "this dbm: open w, set(one key), close (sync 'none')",
            async fn(i) {
              const db = await Dbm.open(files[i], { flag: 'w', sync: 'none', noAtime: true });
              await db.set('lastSeen', ++stamp);
              await db.close();
            },
          },
        },
        async teardown() {},
      };
    },
  },
  large: {
    async setup({ dir, keys, values, chunk, nextValue }) {
      const file = path.join(dir, 'large.db');
      let t0 = performance.now();
      let db = await Dbm.open(file, { flag: 'n', codec: 'raw', sync: 'none' });
      for (let from = 0; from < keys.length; from += chunk) {
        await db.transaction((tx) => {
          for (let i = from; i < Math.min(keys.length, from + chunk); i++) tx.set(keys[i], values[i]);
        });
      }
      const built = performance.now() - t0;
      // For context: the same keys written in ONE transaction, which leaves
      // (almost) no free pages behind; commit costs that grow with the free
      // list show up as the difference between the two files.
      t0 = performance.now();
      const compact = await Dbm.open(path.join(dir, 'large-one-txn.db'), { flag: 'n', codec: 'raw', sync: 'none' });
      await compact.transaction((tx) => {
        for (let i = 0; i < keys.length; i++) tx.set(keys[i], values[i]);
      });
      const builtCompact = performance.now() - t0;
      const stat = await db.stat();
      const compactStat = await compact.stat();
      const free = (n) => `${n} free page${n === 1 ? '' : 's'}`;
      let compactOpen = true;
      return {
        built,
        stat,
        info: `dbm ${(stat.fileBytes / 2 ** 20).toFixed(1)} MiB (${stat.pageCount} pages of ${stat.pageSize}, ${stat.freePages} of them free, directory depth ${stat.depth}; built in one transaction, ${builtCompact.toFixed(0)} ms: ${(compactStat.fileBytes / 2 ** 20).toFixed(1)} MiB, ${compactStat.freePages} free)`,
        cases: {
          get: {
            label: 'this dbm: await db.get(k), bursts of 1000 in one turn',
            async fn(i) {
              if ((await db.get(keys[i])).length !== values[i].length) throw new Error('dbm: bad value');
            },
          },
          'get:turn': {
            label: 'this dbm: await db.get(k), one per event-loop turn (lock + meta read each)',
            batch: 100,
            async fn(i) {
              await db.get(keys[i]);
              await turn();
            },
          },
          commit: {
            label: "this dbm: await db.set(k, v), each its own commit, bursts of 100 in one turn (sync 'none')",
            fn: (i) => db.set(keys[i], nextValue()),
          },
          'commit:turn': {
            label: "this dbm: await db.set(k, v), one per event-loop turn (lock + meta read each, sync 'none')",
            async fn(i) {
              await db.set(keys[i], nextValue());
              await turn();
            },
          },
          'commit:compact': {
            label: `this dbm, context: the burst row on the same keys built in ONE transaction (${free(compactStat.freePages)} instead of ${stat.freePages})`,
            fn: (i) => compact.set(keys[i], nextValue()),
          },
        },
        async closeContext() {
          if (compactOpen) await compact.close();
          compactOpen = false;
        },
        async durable() {
          await db.close();
          db = await Dbm.open(file, { flag: 'w', codec: 'raw', sync: 'commit' });
          return { label: "this dbm: await db.set(k, v) (sync 'commit')", fn: (i) => db.set(keys[i], nextValue()) };
        },
        async teardown() {
          await this.closeContext();
          await db.close();
        },
      };
    },
  },
};
