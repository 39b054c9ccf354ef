// Plain JSON files, one per session, no lock: readFileSync + JSON.parse;
// writes read, parse, modify, stringify and write the file in place, or
// (atomic) to a temp file renamed over it, as session-file-store does
// through write-file-atomic (without its fsync, to stay comparable).

import fs from 'node:fs';
import path from 'node:path';

export default {
  name: 'JSON file',
  version: () => ({}),
  small: {
    async setup({ dir, shape, count }) {
      const files = Array.from({ length: count }, (_, i) => path.join(dir, `s${i}.json`));
      const atomic = Array.from({ length: count }, (_, i) => path.join(dir, `a${i}.json`));
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const text = JSON.stringify(shape.make(i));
        fs.writeFileSync(files[i], text);
        fs.writeFileSync(atomic[i], text);
      }
      const built = performance.now() - t0;
      const { counter } = shape;
      let stamp = 1_767_225_600_000;
      return {
        built,
        size: fs.statSync(files[0]).size,
        cases: {
          read: {
            label: 'JSON file: readFileSync + JSON.parse (no lock)',
            sync: true,
            fn(i) {
              if (JSON.parse(fs.readFileSync(files[i], 'utf8'))[counter] === undefined) throw new Error('json: bad file');
            },
          },
          write: {
            label: 'JSON file: read + parse + modify + stringify + writeFileSync in place (no lock)',
            sync: true,
            fn(i) {
              const session = JSON.parse(fs.readFileSync(files[i], 'utf8'));
              session.lastSeen = ++stamp;
              fs.writeFileSync(files[i], JSON.stringify(session));
            },
          },
          'write:atomic': {
            label: 'JSON file, atomic: read + parse + modify + stringify + write tmp + rename (session-file-store style, without its fsync)',
            sync: true,
            fn(i) {
              const p = atomic[i];
              const session = JSON.parse(fs.readFileSync(p, 'utf8'));
              session.lastSeen = ++stamp;
              fs.writeFileSync(`${p}.tmp`, JSON.stringify(session));
              fs.renameSync(`${p}.tmp`, p);
            },
          },
        },
        async teardown() {},
      };
    },
  },
};
