// The per-session-file floor (not a session store): what one session file
// per user costs at the least in Node. read = open, flock(sh), one read of
// the whole file, msgpack unpack of the session (one map, the project's
// codec), close (which drops the lock); write = open, flock(ex), one
// in-place write of the session's encoded bytes (nothing encoded per
// request), close. The floor's cycle is one read and one write. No cookie
// work, no id check, no access time, nothing synced.

import fs from 'node:fs';
import path from 'node:path';
import fsExt from 'fs-ext';
import { packr } from '../../lib/codec.js';
import { packageVersion } from '../../lib/harness.js';

export default {
  name: 'floor',
  version: () => ({ 'fs-ext (flock)': packageVersion('fs-ext'), msgpackr: packageVersion('msgpackr') }),
  async setup({ dir, shape, count }) {
    const files = new Array(count);
    const encoded = new Array(count);
    const floorDir = path.join(dir, 'floor');
    fs.mkdirSync(floorDir);
    for (let i = 0; i < count; i++) {
      files[i] = path.join(floorDir, `${i}.msgpack`);
      encoded[i] = packr.pack(shape.make(i));
      fs.writeFileSync(files[i], encoded[i]);
    }
    const buf = Buffer.alloc(65536);
    const { counter } = shape;
    const read = (i) => {
      const fd = fs.openSync(files[i], 'r');
      fsExt.flockSync(fd, 'sh');
      const len = fs.readSync(fd, buf, 0, buf.length, 0);
      fs.closeSync(fd);
      const session = packr.unpack(buf.subarray(0, len));
      if (session[counter] === undefined) throw new Error(`floor: session ${i} did not decode`);
    };
    const write = (i) => {
      const fd = fs.openSync(files[i], 'r+');
      fsExt.flockSync(fd, 'ex');
      fs.writeSync(fd, encoded[i], 0, encoded[i].length, 0);
      fs.closeSync(fd);
    };
    return {
      cases: {
        load: { label: 'floor: read (open, flock sh, 1 read, msgpack unpack, close)', sync: true, fn: read },
        cycle: {
          label: 'floor: read + write (then open, flock ex, 1 in-place write, close)',
          sync: true,
          fn(i) {
            read(i);
            write(i);
          },
        },
      },
      info: [
        `floor: one msgpack map per file (${encoded[0].length} bytes for session 0), the project's codec from dist/codec.js; no cookie work, no access time, nothing synced.`,
      ],
      async teardown() {},
    };
  },
};
