// File I/O for the dbm: positioned reads and writes on a file descriptor.
//
// The calls are synchronous on purpose: a positioned read or write of a few
// pages on a local file costs microseconds, far less than a round trip
// through libuv's thread pool, and they never wait on another process (lock
// waits are asynchronous, in lock.ts). Everything goes through the FileIO
// interface so tests can inject faults (a write that fails or stops short).

import fs from 'node:fs';

export interface FileIO {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): void;
  /** Reads up to `length` bytes at `position`; returns the count (short at end of file). */
  pread(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes `buffers` one after another starting at `position`; returns bytes written. */
  pwritev(fd: number, buffers: readonly Uint8Array[], position: number): number;
  fdatasync(fd: number): void;
  ftruncate(fd: number, length: number): void;
  size(fd: number): number;
  /** fstat of the descriptor; optional (fs.fstatSync when absent). */
  stat?(fd: number): fs.Stats;
}

export const nodeFileIO: FileIO = {
  open: (path, flags, mode) => fs.openSync(path, flags, mode),
  close: (fd) => fs.closeSync(fd),
  pread: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  pwritev: (fd, buffers, position) => {
    const only = buffers.length === 1 ? buffers[0] : undefined;
    return only ? fs.writeSync(fd, only, 0, only.byteLength, position) : fs.writevSync(fd, buffers as Uint8Array[], position);
  },
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
  size: (fd) => fs.fstatSync(fd).size,
  stat: (fd) => fs.fstatSync(fd),
};

/** Reads exactly `length` bytes unless the file ends first; returns the count. */
export function readFully(io: FileIO, fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = io.pread(fd, buffer, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Writes all of `buffers` at `position`, continuing after short writes. A
 * write that makes no progress is reported as ENOSPC, as the kernel does
 * when a disk fills part-way.
 */
export function writeFully(io: FileIO, fd: number, buffers: Uint8Array[], position: number): void {
  let pending = buffers;
  let pos = position;
  while (pending.length > 0) {
    const total = pending.reduce((n, b) => n + b.byteLength, 0);
    const n = io.pwritev(fd, pending, pos);
    if (n === total) return;
    if (n <= 0) {
      const err = new Error(`ENOSPC: no space left on device, write`) as NodeJS.ErrnoException;
      err.code = 'ENOSPC';
      err.errno = -28;
      throw err;
    }
    pos += n;
    let skip = n;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}
