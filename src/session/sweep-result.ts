// What every store's sweep() starts from and how it stops early: one
// definition, so the counts and the AbortError look the same whichever
// store swept (sweep(), startSweeper() and `wasm-session gc` report them).

import type { SweepResult } from './namespace.js';

/** Counts of a sweep, all zero. */
export function emptySweepResult(): SweepResult {
  return {
    scanned: 0,
    removed: 0,
    kept: 0,
    skipped: 0,
    corrupt: 0,
    removedCorrupt: 0,
    foreign: 0,
    bytesFreed: 0,
    ownerEntriesRemoved: 0,
    ownerEntriesRestored: 0,
    dirsRemoved: 0,
    ms: 0,
  };
}

/** The error an aborted sweep rejects with: the signal's reason (or an AbortError), carrying a copy of the counts so far as `result`. */
export function sweepAborted(signal: AbortSignal, result: SweepResult): Error {
  const reason = signal.reason instanceof Error ? signal.reason : Object.assign(new Error('the sweep was aborted'), { name: 'AbortError' });
  return Object.assign(reason, { result: { ...result } });
}
