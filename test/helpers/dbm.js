// Helpers of the dbm tests (test/dbm-*.test.js) on top of ./index.js:
// reading a whole database, and a FileIO over the real file system that
// counts its calls and can fail one.

import { nodeFileIO } from 'wasm-session/dbm';

/** Every entry of an open database, by iteration, failing on a key seen twice. */
export async function readAll(db) {
  const out = new Map();
  for await (const [k, v] of db.entries()) {
    const id = typeof k === 'string' ? k : Buffer.from(k).toString('hex');
    if (out.has(id)) throw new Error(`iteration yielded ${JSON.stringify(id)} twice`);
    out.set(id, v);
  }
  return out;
}

/** An errno-style error as the file system raises it. */
export function ioError(code) {
  const errno = { EIO: -5, ENOSPC: -28 }[code];
  const err = new Error(`${code}: injected fault, write`);
  err.code = code;
  err.errno = errno;
  err.injected = true;
  return err;
}

/**
 * A FileIO over the real file system that counts calls (preads, writes
 * (pwritev calls), syncs (fdatasync calls), faults) and can fail one:
 *   failWriteAt: the pwritev call (1-based, counted from creation) that fails
 *   mode: 'EIO' | 'ENOSPC' throw at that call; 'short' writes only half of
 *         its bytes, returns that count, and the next write throws EIO
 *   failSyncAt: the fdatasync call that throws EIO
 *   log: keep every write, fdatasync and ftruncate in `calls`, in order, as
 *        { op: 'write', position, bytes } | { op: 'sync' } | { op: 'truncate', length }
 * Without options it only counts.
 */
export function faultyIO({ failWriteAt = 0, mode = 'EIO', failSyncAt = 0, log = false } = {}) {
  const record = log ? (call) => io.calls.push(call) : () => {};
  const io = {
    writes: 0,
    syncs: 0,
    preads: 0,
    faults: 0,
    calls: [],
    open: (p, flags, m) => nodeFileIO.open(p, flags, m),
    close: (fd) => nodeFileIO.close(fd),
    pread(fd, buffer, offset, length, position) {
      io.preads++;
      return nodeFileIO.pread(fd, buffer, offset, length, position);
    },
    pwritev(fd, buffers, position) {
      const n = ++io.writes;
      record({ op: 'write', position, bytes: buffers.reduce((s, b) => s + b.byteLength, 0) });
      if (n === failWriteAt) {
        io.faults++;
        if (mode !== 'short') throw ioError(mode);
        const total = buffers.reduce((s, b) => s + b.byteLength, 0);
        const half = Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))).subarray(0, Math.floor(total / 2));
        return half.byteLength === 0 ? 0 : nodeFileIO.pwritev(fd, [half], position);
      }
      if (mode === 'short' && n === failWriteAt + 1) {
        io.faults++;
        throw ioError('EIO');
      }
      return nodeFileIO.pwritev(fd, buffers, position);
    },
    fdatasync(fd) {
      record({ op: 'sync' });
      if (++io.syncs === failSyncAt) {
        io.faults++;
        throw ioError('EIO');
      }
      nodeFileIO.fdatasync(fd);
    },
    ftruncate(fd, length) {
      record({ op: 'truncate', length });
      nodeFileIO.ftruncate(fd, length);
    },
    size: (fd) => nodeFileIO.size(fd),
  };
  return io;
}
