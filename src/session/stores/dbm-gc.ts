// The dbm store's maintenance: the collector behind sweep() and
// `wasm-session gc`, the statistics of `wasm-session stat`, and the
// read-only look at one session of `wasm-session inspect`.
//
// The collector walks the data directory once (streamed, dbm-files.ts: a
// few directory handles and entries in memory whatever the number of
// files), then the owner index once:
//
//  1. Each session file is opened as the store opens it (no link followed,
//     never blocking, one fstat of checks) with its exclusive lock, tried
//     once, never waited for: a file in use is skipped, and looked at next
//     time. Under that lock the meta page's times decide (accessed older
//     than `idle`, created older than `maxAge`), and an expired file is
//     unlinked before the lock is let go, so a request waiting for it
//     finds it gone (and, by the create/update rule, cannot bring it back).
//     Nothing is ever written into a session file. A kept file bound to an
//     owner gets its index entry back if the index lacks it.
//  2. Each owner index entry is checked against the session it names and
//     removed when stale (dbm-owners.ts: the cleaner's side).
//  3. Directories of the store it empties (shards, owner directories) are
//     removed; rmdir(2) removes only an empty one, and a save that finds
//     its shard gone makes it again (DbmNamespace#create retries), so a
//     concurrent first save into a shard being removed is never lost.
//
// A collector killed at any point leaves a consistent directory: every
// removal is one unlink(2) or rmdir(2), a session file is never half
// removed, and an index entry left behind is stale and harmless. Running it
// again finishes the job.

import type fs from 'node:fs';
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import nodePath from 'node:path';
import type { SessionOwner, StoreOptions, SweepPolicy, SweepResult } from '../namespace.js';
import { ownerHash } from '../owner.js';
import { emptySweepResult, sweepAborted } from '../sweep-result.js';
import { isValidId } from '../ids.js';
import { DEFAULT_MAX_SESSION_BYTES } from '../options.js';
import { msgpackCodec } from '../../codec.js';
import { walkOwnerEntries, walkSessionFiles } from './dbm-files.js';
import { dropEntry, entryPath, restoreEntry } from './dbm-owners.js';
import { forgetShard, maxSessionFileBytes, openDbm, type SessionDbm, takeOwner, verifyDataDir, verifyShard } from './dbm.js';

/** The process user, whose files are the only session files (-1: a platform without uids). */
const UID = typeof process.geteuid === 'function' ? process.geteuid() : -1;

/**
 * An empty session file is a create that has not written its first page:
 * in progress (for microseconds, under the creator's lock) or cut short by
 * a crash. One older than this is a leftover, and the collector removes it.
 */
export const EMPTY_FILE_GRACE_MS = 60_000;

/** How often a long sweep reports progress (ms). */
const PROGRESS_MS = 200;

/** A session file that fails the store's checks, and why (the checks of dbm.ts's #inspect). */
class Unusable extends Error {
  constructor(
    readonly why: 'empty' | 'corrupt',
    reason: string,
    readonly stats: fs.Stats,
  ) {
    super(reason);
  }
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: string })?.code;
  // A missing file is a DbmError with the ENOENT as its cause.
  return code === 'ERR_DBM' ? (err as { cause?: { code?: string } }).cause?.code : code;
}

/** open(2) errors that mean something other than a session file of ours is at the path. */
const NOT_A_FILE = new Set(['ELOOP', 'EMLINK', 'EFTYPE', 'EISDIR', 'ENXIO', 'EACCES', 'EPERM']);

/** The store's open-time checks (without fixing anything): throws Unusable. */
function checkFile(st: fs.Stats, maxBytes: number): void {
  if (!st.isFile()) throw new Unusable('corrupt', 'not a regular file', st);
  if (st.nlink > 1) throw new Unusable('corrupt', `${st.nlink} hard links (a session file has exactly one)`, st);
  if (UID >= 0 && st.uid !== UID) throw new Unusable('corrupt', `owned by uid ${st.uid}, not by this process's user (uid ${UID})`, st);
  if (st.size === 0) throw new Unusable('empty', 'an empty file (nothing stored)', st);
  if (st.size > maxBytes) throw new Unusable('corrupt', `${st.size} bytes, more than a session within maxSessionBytes can take`, st);
}

/** The session file of `id` under `dataDir`. */
export function sessionPath(dataDir: string, id: string): string {
  return nodePath.join(dataDir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);
}

function lstatOrNull(path: string): fs.Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** Unlinks `path` if it is still the file `st` describes (not replaced meanwhile); whether it did. */
function unlinkIfSame(path: string, st: fs.Stats): boolean {
  const there = lstatOrNull(path);
  if (there === null || there.ino !== st.ino || there.dev !== st.dev) return false;
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** One turn of the event loop. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the collector does: sweep (remove what is over, then clean the index) or rebuild (only the index). */
interface Mode {
  readonly removeSessions: boolean;
}

/** The collector (see the top of this file): NamespaceClass.sweep() for the dbm store. */
export async function sweepDataDir(options: StoreOptions, policy: SweepPolicy, mode: Mode = { removeSessions: true }): Promise<SweepResult> {
  const started = Date.now();
  const result = emptySweepResult();
  const { dataDir } = options;
  if (lstatOrNull(dataDir) === null) return result; // nothing was ever stored
  verifyDataDir(dataDir, options.allowUnsafeDataDir === true);
  const { dryRun, signal, onProgress } = policy;
  // Let the turn end first: this process's own last operations keep their file locks until then.
  await turn();
  const now = options.now();
  const maxBytes = maxSessionFileBytes(options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES);
  let lastProgress = Number.NEGATIVE_INFINITY;
  // The first report after 256 files (something shows at once), then at most every PROGRESS_MS.
  const progress = (): void => {
    if (onProgress === undefined || (result.scanned & 255) !== 0) return;
    const t = Date.now();
    if (t - lastProgress < PROGRESS_MS) return;
    lastProgress = t;
    result.ms = t - started;
    onProgress({ ...result });
  };
  const rmdir = dirRemover(result, dryRun);

  // 1. The session files.
  for await (const { id, path } of walkSessionFiles(dataDir, { onOther: () => rmdir.foreign(), onDirDone: rmdir.done })) {
    if (signal?.aborted) throw sweepAborted(signal, result);
    result.scanned++;
    const outcome = await collectFile(options, id, path, now, maxBytes, policy, mode, result);
    if (outcome !== 'removed') rmdir.keep();
    progress();
  }
  // 2. The owner index.
  for await (const entry of walkOwnerEntries(dataDir, { onOther: () => rmdir.foreign(), onDirDone: rmdir.done })) {
    if (signal?.aborted) throw sweepAborted(signal, result);
    const stale = () => isStale(options, entry.hash, entry.id, maxBytes);
    if (await dropEntry(entry.path, stale, dryRun)) result.ownerEntriesRemoved++;
    else rmdir.keep();
  }
  result.ms = Date.now() - started;
  return result;
}

/**
 * Removes the store's directories that are empty once the walk is done with
 * them: only those in which nothing was kept (else rmdir(2) would fail
 * anyway), and never in a dry run. The walk counts foreign entries here
 * too: they keep their directory.
 */
function dirRemover(result: SweepResult, dryRun: boolean) {
  // Whether something stays in the current directory of each level.
  const busy = [false, false, false];
  return {
    keep(): void {
      busy[2] = true;
    },
    foreign(): void {
      result.foreign++;
      busy[2] = true;
    },
    done: (dir: string, level: 1 | 2): void => {
      let removed = false;
      if (!busy[level] && !dryRun) {
        try {
          rmdirSync(dir);
          removed = true;
          forgetShard(dir);
          result.dirsRemoved++;
        } catch {
          // Not empty (a file arrived), or gone already: it stays, or is someone else's business.
        }
      }
      if (!removed && level === 2) busy[1] = true;
      busy[level] = false;
    },
  };
}

/** One session file: removed, kept, skipped (in use, or a create in progress), corrupt, or gone meanwhile. */
async function collectFile(
  options: StoreOptions,
  id: string,
  path: string,
  now: number,
  maxBytes: number,
  policy: SweepPolicy,
  mode: Mode,
  result: SweepResult,
): Promise<'removed' | 'kept' | 'skipped' | 'corrupt' | 'gone'> {
  const { idle, maxAge, dryRun } = policy;
  let db: SessionDbm;
  try {
    db = await openDbm(options, path, { flag: 'w', noFollow: true, lockTimeout: 0, sync: options.sync, inspect: (st) => checkFile(st, maxBytes) });
  } catch (err) {
    if (err instanceof Unusable && err.why === 'empty') {
      // A leftover of a create cut short, once it is old enough not to be one in progress.
      if (!mode.removeSessions || Date.now() - err.stats.mtimeMs < EMPTY_FILE_GRACE_MS) {
        result.skipped++;
        return 'skipped';
      }
      if (dryRun || unlinkIfSame(path, err.stats)) result.removed++;
      return 'removed';
    }
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'gone';
    if (code === 'ERR_LOCK_TIMEOUT') {
      result.skipped++;
      return 'skipped';
    }
    if (err instanceof Unusable || code === 'ERR_DBM_CORRUPT' || (code !== undefined && NOT_A_FILE.has(code))) return corrupt(path, err, policy, mode, result);
    throw err;
  }
  try {
    // Held explicitly from here to the unlink, across the reads below.
    await db.lock();
    const st = db.fstat();
    if (st.nlink === 0) return 'gone';
    const { created, accessed } = db.times;
    let owner: SessionOwner | null;
    try {
      owner = takeOwner(await db.getAllRaw(), path);
    } catch (err) {
      if (errCode(err) !== 'ERR_DBM_CORRUPT') throw err;
      await db.unlock();
      return corrupt(path, err, policy, mode, result);
    }
    const expired = (idle !== null && now - accessed > idle) || (maxAge !== null && now - created > maxAge);
    if (!expired || !mode.removeSessions) {
      result.kept++;
      if (owner !== null && restoreEntry(options.dataDir, ownerHash(owner.id), id, verifyShard, forgetShard, dryRun)) result.ownerEntriesRestored++;
      return 'kept';
    }
    if (!dryRun && !unlinkIfSame(path, st)) return 'gone';
    result.removed++;
    result.bytesFreed += st.size;
    if (owner !== null) {
      const entry = entryPath(options.dataDir, ownerHash(owner.id), id);
      const dropped = dryRun ? lstatOrNull(entry) !== null : await dropEntry(entry, () => lstatOrNull(path) === null);
      if (dropped) result.ownerEntriesRemoved++;
    }
    return 'removed';
  } finally {
    await db.unlock();
    await db.close();
  }
}

/** A file that cannot be a readable session: counted, and removed with removeCorrupt (a regular file only). */
function corrupt(path: string, _err: unknown, policy: SweepPolicy, mode: Mode, result: SweepResult): 'corrupt' {
  result.corrupt++;
  if (!policy.removeCorrupt || !mode.removeSessions) return 'corrupt';
  const st = lstatOrNull(path);
  if (st === null || !st.isFile()) return 'corrupt';
  if (policy.dryRun || unlinkIfSame(path, st)) {
    result.removedCorrupt++;
    result.bytesFreed += st.size;
  }
  return 'corrupt';
}

/**
 * The cleaner's staleness check of an index entry (called holding the
 * entry's flock): the session is missing, unbound, or bound to an owner
 * of another hash. A session that cannot be read at once (locked, being
 * created, damaged) is not stale.
 */
async function isStale(options: StoreOptions, hash: string, id: string, maxBytes: number): Promise<boolean> {
  if (!isValidId(id)) return false;
  const path = sessionPath(options.dataDir, id);
  let db: SessionDbm;
  try {
    db = await openDbm(options, path, { flag: 'r', noFollow: true, lockTimeout: 0, sync: options.sync, inspect: (st) => checkFile(st, maxBytes) });
  } catch (err) {
    const code = errCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
  try {
    const owner = takeOwner(await db.getAllRaw(), path);
    return owner === null || ownerHash(owner.id) !== hash;
  } catch {
    return false;
  } finally {
    await db.close();
  }
}

/**
 * `wasm-session owners rebuild`: makes the index entry of every session
 * file bound to an owner that lacks one, and removes stale entries; no
 * session is removed. The same walk as the collector's.
 */
export function rebuildOwnerIndex(options: StoreOptions, policy: Pick<SweepPolicy, 'dryRun' | 'signal' | 'onProgress'>): Promise<SweepResult> {
  return sweepDataDir(options, { idle: null, maxAge: null, removeCorrupt: false, ...policy }, { removeSessions: false });
}

// ---------------------------------------------------------------------------
// Statistics.

/** Age buckets of the histograms: upper bounds in ms, and labels. */
export const AGE_BUCKETS: readonly (readonly [number, string])[] = [
  [60_000, '< 1 min'],
  [5 * 60_000, '1-5 min'],
  [15 * 60_000, '5-15 min'],
  [3_600_000, '15-60 min'],
  [6 * 3_600_000, '1-6 h'],
  [24 * 3_600_000, '6-24 h'],
  [7 * 86_400_000, '1-7 d'],
  [30 * 86_400_000, '7-30 d'],
  [Number.POSITIVE_INFINITY, '>= 30 d'],
];

function bucketOf(age: number): number {
  for (let i = 0; i < AGE_BUCKETS.length; i++) if (age < AGE_BUCKETS[i]![0]) return i;
  return AGE_BUCKETS.length - 1;
}

/** A session at an extreme of the statistics: when, and which (an 8-character id prefix). */
export interface Extreme {
  time: number;
  idPrefix: string;
}

/** What `wasm-session stat` reports of a data directory. */
export interface DataDirStats {
  dataDir: string;
  /** When the statistics were taken (ms). */
  at: number;
  /** Readable session files. */
  sessions: number;
  /** Their bytes (file sizes), and the blocks they take on disk. */
  bytes: number;
  diskBytes: number;
  /** Keys in all, and sessions bound to an owner. */
  keys: number;
  owned: number;
  /** Owner index: owners (directories) and entries. */
  owners: number;
  ownerEntries: number;
  /** Files that were locked, or empty (a create in progress or cut short). */
  busy: number;
  empty: number;
  /** Histograms of the sessions' age, by last access and by creation (counts per AGE_BUCKETS). */
  byAccessed: number[];
  byCreated: number[];
  oldestCreated: Extreme | null;
  newestCreated: Extreme | null;
  oldestAccessed: Extreme | null;
  newestAccessed: Extreme | null;
  /** Files that fail their checks (damaged, not a session file), and entries that are not the store's (links, FIFOs, misnamed files). */
  problems: number;
  /** The first few problems, with why. */
  problemList: { path: string; reason: string }[];
}

/** How many problems statDataDir() lists (it counts them all). */
const MAX_PROBLEMS_LISTED = 20;

/**
 * The statistics of a data directory (read-only: shared locks, waiting at
 * most `lockTimeout` ms each, nothing written, no access recorded), in one
 * streamed walk. `now`: the clock the ages are measured against.
 */
export async function statDataDir(options: StoreOptions, { lockTimeout = 100 }: { lockTimeout?: number } = {}): Promise<DataDirStats> {
  const { dataDir } = options;
  verifyDataDir(dataDir, options.allowUnsafeDataDir === true);
  await turn();
  const now = options.now();
  const maxBytes = maxSessionFileBytes(options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES);
  const stats: DataDirStats = {
    dataDir,
    at: now,
    sessions: 0,
    bytes: 0,
    diskBytes: 0,
    keys: 0,
    owned: 0,
    owners: 0,
    ownerEntries: 0,
    busy: 0,
    empty: 0,
    byAccessed: AGE_BUCKETS.map(() => 0),
    byCreated: AGE_BUCKETS.map(() => 0),
    oldestCreated: null,
    newestCreated: null,
    oldestAccessed: null,
    newestAccessed: null,
    problems: 0,
    problemList: [],
  };
  const problem = (path: string, reason: string): void => {
    stats.problems++;
    if (stats.problemList.length < MAX_PROBLEMS_LISTED) stats.problemList.push({ path, reason });
  };
  const extreme = (current: Extreme | null, time: number, id: string, older: boolean): Extreme | null =>
    current === null || (older ? time < current.time : time > current.time) ? { time, idPrefix: id.slice(0, 8) } : current;

  for await (const { id, path } of walkSessionFiles(dataDir, { onOther: problem })) {
    let db: SessionDbm;
    try {
      db = await openDbm(options, path, { flag: 'r', noFollow: true, lockTimeout, sync: options.sync, inspect: (st) => checkFile(st, maxBytes) });
    } catch (err) {
      if (err instanceof Unusable && err.why === 'empty') stats.empty++;
      else if (errCode(err) === 'ERR_LOCK_TIMEOUT') stats.busy++;
      else if (errCode(err) !== 'ENOENT') problem(path, err instanceof Unusable ? err.message : (err as Error).message);
      continue;
    }
    try {
      const data = await db.getAllRaw();
      const owner = takeOwner(data, path);
      const st = db.fstat();
      const { created, accessed } = db.times;
      stats.sessions++;
      stats.bytes += st.size;
      stats.diskBytes += st.blocks * 512;
      stats.keys += data.size;
      if (owner !== null) stats.owned++;
      stats.byAccessed[bucketOf(now - accessed)]!++;
      stats.byCreated[bucketOf(now - created)]!++;
      stats.oldestCreated = extreme(stats.oldestCreated, created, id, true);
      stats.newestCreated = extreme(stats.newestCreated, created, id, false);
      stats.oldestAccessed = extreme(stats.oldestAccessed, accessed, id, true);
      stats.newestAccessed = extreme(stats.newestAccessed, accessed, id, false);
    } catch (err) {
      problem(path, (err as Error).message);
    } finally {
      await db.close();
    }
  }
  let lastOwner = '';
  for await (const entry of walkOwnerEntries(dataDir, { onOther: problem })) {
    stats.ownerEntries++;
    if (entry.hash !== lastOwner) {
      // The walk yields one owner's entries together.
      stats.owners++;
      lastOwner = entry.hash;
    }
  }
  return stats;
}

// ---------------------------------------------------------------------------
// One session, read-only.

/** What `wasm-session inspect` shows of one session. */
export interface SessionInspection {
  id: string;
  path: string;
  bytes: number;
  created: number;
  accessed: number;
  owner: SessionOwner | null;
  /** Every key with its decoded value (or, for a value that does not decode, the error). */
  entries: [string, unknown][];
  undecodable: string[];
}

/**
 * Reads one session file as the store would (checks, no link followed)
 * under a shared lock, recording no access and writing nothing; null when
 * there is no session `id`. Throws for an invalid id, an unsafe data
 * directory, a damaged file.
 */
export async function inspectSessionFile(options: StoreOptions, id: string): Promise<SessionInspection | null> {
  if (!isValidId(id)) throw new TypeError('wasm-session: a session id is 32 lowercase hex characters');
  verifyDataDir(options.dataDir, options.allowUnsafeDataDir === true);
  const path = sessionPath(options.dataDir, id);
  const maxBytes = maxSessionFileBytes(options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES);
  let db: SessionDbm;
  try {
    db = await openDbm(options, path, {
      flag: 'r',
      noFollow: true,
      lockTimeout: options.lockTimeout,
      sync: options.sync,
      inspect: (st) => checkFile(st, maxBytes),
    });
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR' || (err instanceof Unusable && err.why === 'empty')) return null;
    if (err instanceof Unusable) throw new Error(`${path}: ${err.message}`);
    throw err;
  }
  try {
    const data = await db.getAllRaw();
    const owner = takeOwner(data, path);
    const entries: [string, unknown][] = [];
    const undecodable: string[] = [];
    for (const [key, bytes] of data) {
      try {
        entries.push([key, msgpackCodec.decode(bytes)]);
      } catch (err) {
        undecodable.push(key);
        entries.push([key, err]);
      }
    }
    return { id, path, bytes: db.fstat().size, ...db.times, owner, entries, undecodable };
  } finally {
    await db.close();
  }
}
