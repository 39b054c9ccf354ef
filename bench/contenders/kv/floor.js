// The small-file floor: what a one-file-per-session store costs at the
// least in Node. read = open, flock(sh), one read, close (which drops the
// lock), msgpack unpack of the whole map (the project's codec); write =
// open, flock(ex), one in-place write of the encoded session (nothing
// encoded per operation), close.

import fs from 'node:fs';
import path from 'node:path';
import fsExt from 'fs-ext';
import { packr } from '../../lib/codec.js';
import { packageVersion } from '../../lib/harness.js';

export default {
  name: 'floor',
  version: () => ({ 'fs-ext': packageVersion('fs-ext'), msgpackr: packageVersion('msgpackr') }),
  small: {
    async setup({ dir, shape, count }) {
      const files = [];
      const encoded = [];
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        files.push(path.join(dir, `s${i}.msgpack`));
        encoded.push(packr.pack(shape.make(i)));
        fs.writeFileSync(files[i], encoded[i]);
      }
      const built = performance.now() - t0;
      const buf = Buffer.alloc(65536);
      const { counter } = shape;
      return {
        built,
        size: fs.statSync(files[0]).size,
        cases: {
          read: {
            label: 'floor: open, flock sh, 1 read, close + msgpack unpack of the map',
            sync: true,
            fn(i) {
              const fd = fs.openSync(files[i], 'r');
              fsExt.flockSync(fd, 'sh');
              const len = fs.readSync(fd, buf, 0, buf.length, 0);
              fs.closeSync(fd);
              if (packr.unpack(buf.subarray(0, len))[counter] === undefined) throw new Error('floor: bad file');
            },
          },
          write: {
            label: `floor: open, flock ex, 1 in-place write (${encoded[0].length} bytes), close`,
            sync: true,
            fn(i) {
              const fd = fs.openSync(files[i], 'r+');
              fsExt.flockSync(fd, 'ex');
              fs.writeSync(fd, encoded[i], 0, encoded[i].length, 0);
              fs.closeSync(fd);
            },
          },
        },
        async teardown() {},
      };
    },
  },
};
