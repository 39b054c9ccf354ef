#!/usr/bin/env node
// The wasm-session command line:
//   wasm-session gc DATA_DIR       remove idle and old sessions (cron)
//   wasm-session stat DATA_DIR     what is there: counts, bytes, ages, problems
//   wasm-session inspect DATA_DIR ID   one session, read-only
//   wasm-session owners rebuild|list DATA_DIR ...   the owner index
//   wasm-session import --from KIND SOURCE --to TARGET   sessions from another store
//   wasm-session dbm check|dump|stat FILE   one dbm file
// Built on the public APIs. Everything but gc and owners rebuild is
// read-only (shared locks, no access recorded), so safe on a live
// application's files; gc never waits for a lock (a session in use is
// skipped) and never writes into a session file.

import { lstatSync, realpathSync, type Stats } from 'node:fs';
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Dbm } from './dbm/index.js';
import { connectRedisSource, type ImportResult, type ImportSource, importSessions, sessionFileStoreSource } from './ops/import.js';
import type { SessionOptions } from './session/options.js';
import { closeRedisConnections } from './session/stores/redis.js';
import { DbmError, DbmCorruptError } from './errors.js';
import type { SweepResult } from './session/namespace.js';
import { listSessions, parseDuration, sweep } from './session/ops.js';
import { storeFor } from './session/session.js';
import { AGE_BUCKETS, type DataDirStats, inspectSessionFile, type SessionInspection, rebuildOwnerIndex, statDataDir } from './session/stores/dbm-gc.js';

const USAGE = `usage: wasm-session gc DATA_DIR [--idle DURATION] [--max-age DURATION] [--dry-run] [--remove-corrupt] [--json | --quiet]
usage: wasm-session stat DATA_DIR [--json]
usage: wasm-session inspect DATA_DIR ID [--json]
usage: wasm-session owners rebuild DATA_DIR [--dry-run] [--json]
usage: wasm-session owners list DATA_DIR OWNER [--json]
usage: wasm-session import --from session-file-store SRC_DIR --to TARGET [--file-extension .json] [--ttl SECONDS] [--dry-run] [--json]
usage: wasm-session import --from connect-redis URL[,URL...] [--prefix sess:] --to TARGET [--dry-run] [--json]
usage: wasm-session dbm <command> FILE [options]

DATA_DIR is the session store's dataDir: sessions in <DATA_DIR>/<xx>/<yy>/<id>.dbm,
the owner index in <DATA_DIR>/owners. Run these as the application's user.

  gc         remove sessions idle for longer than --idle or created longer ago
             than --max-age (DURATION: 90s, 30m, 12h, 30d, 2w; at least one of
             them), by the times stored in each file; skip files in use; count
             damaged files (remove them only with --remove-corrupt); remove the
             directories and owner index entries this leaves empty or stale.
             A progress line on a terminal; --quiet prints nothing, --json one
             JSON object
  stat       sessions, bytes, owners, age histograms (by last access and by
             creation), oldest and newest, files that fail their checks
  inspect    one session's keys, values and times (no access recorded)
  owners rebuild   make the owner index entries bound sessions lack, remove
             stale ones (gc does this too); no session is removed
  owners list      an owner's live sessions (id prefixes only)
  import     copy an express-session store's sessions (session-file-store's
             directory, or connect-redis's keys: several URLs for the masters
             of a cluster) into the store a WasmSessionStore reads, under the
             same ids, so users stay logged in; sessions the old store would
             treat as expired are skipped. TARGET: a data directory (the dbm
             store), or redis://... (the Redis store; --to-prefix PREFIX, default
             'wasm-session:'). A session already in the target is left alone.
             --dry-run counts the source only. Exit 1 if any failed

dbm commands (one file):
  check FILE     verify every page and invariant; exit 1 if the file is damaged
  stat FILE      page size, pages, keys, depth, free pages, times
  dump FILE      every key and value, one per line (--json for JSON lines,
                 --raw for stored bytes in hex)

options:
  --lock-timeout MS          how long to wait for a lock (dbm, inspect; default 10000)
  --allow-unsafe-data-dir    accept a DATA_DIR other users can write (unsafe)
`;

class UsageError extends Error {}

interface Parsed {
  group: 'dbm' | 'gc' | 'stat' | 'inspect' | 'owners' | 'import';
  command: string;
  args: string[];
  flags: Set<string>;
  idle?: string;
  maxAge?: string;
  /** The import command's options with a value (--from, --to, --prefix, ...). */
  values: Map<string, string>;
  lockTimeout: number;
}

/** The flags each command takes (besides --lock-timeout and --allow-unsafe-data-dir). */
const FLAGS: Record<string, readonly string[]> = {
  'dbm check': [],
  'dbm stat': [],
  'dbm dump': ['--json', '--raw'],
  gc: ['--dry-run', '--remove-corrupt', '--json', '--quiet'],
  stat: ['--json'],
  inspect: ['--json'],
  'owners rebuild': ['--dry-run', '--json'],
  'owners list': ['--json'],
  import: ['--dry-run', '--json'],
};
/** Options with a value, per command (besides --lock-timeout, and --idle/--max-age of gc). */
const VALUE_OPTIONS: Record<string, readonly string[]> = {
  import: ['--from', '--to', '--to-prefix', '--prefix', '--file-extension', '--ttl'],
};
const IMPORT_SOURCES = ['session-file-store', 'connect-redis'];
/** Positional arguments after the command. */
const ARGS: Record<string, readonly string[]> = {
  'dbm check': ['FILE'],
  'dbm stat': ['FILE'],
  'dbm dump': ['FILE'],
  gc: ['DATA_DIR'],
  stat: ['DATA_DIR'],
  inspect: ['DATA_DIR', 'ID'],
  'owners rebuild': ['DATA_DIR'],
  'owners list': ['DATA_DIR', 'OWNER'],
  import: ['SOURCE'],
};

function parse(argv: string[]): Parsed {
  const [group, ...rest] = argv;
  if (group === undefined) throw new UsageError('missing command');
  if (!['dbm', 'gc', 'stat', 'inspect', 'owners', 'import'].includes(group)) throw new UsageError(`unknown command '${group}'`);
  const flags = new Set<string>();
  const positional: string[] = [];
  let lockTimeout = 10_000;
  let idle: string | undefined;
  let maxAge: string | undefined;
  const values = new Map<string, string>();
  const valueOptions = VALUE_OPTIONS[group] ?? [];
  // One iterator: an option's argument is taken from it by next().
  const it = rest[Symbol.iterator]();
  const value = (name: string): string => {
    const v = it.next().value;
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (const a of it) {
    if (a === '--lock-timeout') {
      lockTimeout = Number(value(a));
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0) throw new UsageError('--lock-timeout takes milliseconds');
    } else if (a === '--idle') idle = value(a);
    else if (a === '--max-age') maxAge = value(a);
    else if (valueOptions.includes(a)) {
      if (values.has(a)) throw new UsageError(`${a} given twice`);
      values.set(a, value(a));
    } else if (a.startsWith('--')) flags.add(a);
    else positional.push(a);
  }
  const sub = group === 'dbm' || group === 'owners';
  const command = sub ? positional.shift() : '';
  if (sub && (command === undefined || ARGS[`${group} ${command}`] === undefined)) {
    throw new UsageError(command === undefined ? `missing ${group} command` : `unknown command '${command}'`);
  }
  const key = sub ? `${group} ${command}` : group;
  const allowed = new Set([...FLAGS[key]!, '--allow-unsafe-data-dir']);
  for (const f of flags) if (!allowed.has(f)) throw new UsageError(`unknown option ${f} for ${key}`);
  if ((idle !== undefined || maxAge !== undefined) && key !== 'gc') throw new UsageError(`--idle and --max-age are options of gc, not ${key}`);
  const names = ARGS[key]!;
  if (positional.length < names.length) throw new UsageError(`missing ${names[positional.length]}`);
  if (positional.length > names.length) throw new UsageError(`unexpected argument '${positional[names.length]}'`);
  if (key === 'gc') {
    if (idle === undefined && maxAge === undefined) throw new UsageError('gc needs --idle or --max-age (or both)');
    if (flags.has('--json') && flags.has('--quiet')) throw new UsageError('--json and --quiet do not go together');
    try {
      if (idle !== undefined) parseDuration(idle, '--idle');
      if (maxAge !== undefined) parseDuration(maxAge, '--max-age');
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^wasm-session: /, ''));
    }
  }
  if (key === 'import') checkImportOptions(values);
  return { group: group as Parsed['group'], command: command ?? '', args: positional, flags, idle, maxAge, values, lockTimeout };
}

function checkImportOptions(values: Map<string, string>): void {
  const from = values.get('--from');
  if (from === undefined) throw new UsageError(`import needs --from (${IMPORT_SOURCES.join(' or ')})`);
  if (!IMPORT_SOURCES.includes(from)) throw new UsageError(`unknown --from '${from}' (${IMPORT_SOURCES.join(' or ')})`);
  if (!values.has('--to')) throw new UsageError('import needs --to (a data directory, or a redis:// URL)');
  const only: Record<string, string> = { '--prefix': 'connect-redis', '--file-extension': 'session-file-store', '--ttl': 'session-file-store' };
  for (const [option, source] of Object.entries(only)) {
    if (values.has(option) && from !== source) throw new UsageError(`${option} is an option of --from ${source}`);
  }
  if (values.has('--to-prefix') && !isRedisUrl(values.get('--to')!)) throw new UsageError('--to-prefix is for a redis:// target');
  const ttl = values.get('--ttl');
  if (ttl !== undefined && !(Number(ttl) > 0)) throw new UsageError("--ttl takes seconds (session-file-store's ttl option)");
}

function show(value: unknown, json: boolean): string {
  if (json) {
    return JSON.stringify(value, (_k, v) =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Map
          ? Object.fromEntries(v)
          : v instanceof Set
            ? [...v]
            : v instanceof Error
              ? `${v.name}: ${v.message}`
              : v,
    );
  }
  return inspect(value, { depth: 6, breakLength: Infinity, maxArrayLength: 50, maxStringLength: 200 });
}

type Out = (line: string) => void;

interface Io {
  out: Out;
  err: Out;
  /** Progress lines go here when it is a terminal. */
  progress: { isTTY?: boolean; write(text: string): unknown };
  signal?: AbortSignal;
}

async function runDbm(p: Parsed, out: Out): Promise<number> {
  const db = await Dbm.open(p.args[0]!, { flag: 'r', lockTimeout: p.lockTimeout, keyEncoding: 'buffer' });
  try {
    if (p.command === 'stat') {
      const s = await db.stat();
      out(`path        ${s.path}`);
      out(`page size   ${s.pageSize}`);
      out(`pages       ${s.pageCount} (${s.fileBytes} bytes on disk)`);
      out(`keys        ${s.keyCount}`);
      out(`mode        ${s.mode}${s.mode === 'hashed' ? `, directory depth ${s.depth}, ${s.dirLevels} DIR level(s)` : ''}`);
      out(`free pages  ${s.freePages}`);
      out(`txid        ${s.txid}`);
      out(`codec       ${s.codec}`);
      out(`created     ${new Date(s.times.created).toISOString()}`);
      out(`accessed    ${new Date(s.times.accessed).toISOString()}`);
      return 0;
    }
    if (p.command === 'check') {
      const r = await db.check();
      out(
        `ok: ${r.keys} keys, ${r.pageCount} pages (dir ${r.pages.dir}, bucket ${r.pages.bucket}, overflow ${r.pages.overflow}, free-list ${r.pages.freelist}, free ${r.pages.free}), txid ${r.txid}, meta slots ${r.metaSlots.join('/')}`,
      );
      return 0;
    }
    const json = p.flags.has('--json');
    for await (const [keyBytes, value] of db.entries()) {
      const key = keyBytes as unknown as Buffer;
      const keyText = key.toString('utf8');
      const shownKey = Buffer.from(keyText, 'utf8').equals(key) ? keyText : `0x${key.toString('hex')}`;
      if (p.flags.has('--raw')) {
        const bytes = await db.getRaw(key);
        out(`${json ? JSON.stringify(shownKey) : shownKey}\t${bytes ? bytes.toString('hex') : ''}`);
      } else if (json) {
        out(JSON.stringify({ key: shownKey, value: JSON.parse(show(value, true) ?? 'null') }));
      } else {
        out(`${shownKey}\t${show(value, false)}`);
      }
    }
    return 0;
  } finally {
    await db.close();
  }
}

class CliError extends Error {}

/** The data directory argument: it must exist (these commands never create one) and be a directory. */
function dataDirArg(p: Parsed): string {
  const dir = nodePath.resolve(p.args[0]!);
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    throw new CliError(`wasm-session: ${dir} does not exist`);
  }
  if (!st.isDirectory() && !st.isSymbolicLink()) throw new CliError(`wasm-session: ${dir} is not a directory`);
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  if (uid >= 0 && st.uid !== uid && !p.flags.has('--allow-unsafe-data-dir')) {
    throw new CliError(`wasm-session: ${dir} belongs to uid ${st.uid}: run this as the application's user (e.g. sudo -u), whose session files these are`);
  }
  return dir;
}

function storeOptionsFor(p: Parsed, dataDir: string) {
  return storeFor({ dataDir, allowUnsafeDataDir: p.flags.has('--allow-unsafe-data-dir'), lockTimeout: p.lockTimeout }).options;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function summary(r: SweepResult, dryRun: boolean): string {
  const would = dryRun ? 'would remove' : 'removed';
  const parts = [
    `${r.scanned} session file(s): ${r.removed} ${would} (${bytes(r.bytesFreed)}), ${r.kept} kept, ${r.skipped} skipped (in use), ${r.corrupt} corrupt${r.removedCorrupt ? ` (${r.removedCorrupt} ${would})` : ''}`,
  ];
  if (r.ownerEntriesRemoved || r.ownerEntriesRestored)
    parts.push(`owner index: ${r.ownerEntriesRemoved} stale entries ${would}, ${r.ownerEntriesRestored} restored`);
  if (r.dirsRemoved) parts.push(`${r.dirsRemoved} empty directories removed`);
  if (r.foreign) parts.push(`${r.foreign} entries that are not the store's (left alone)`);
  parts.push(`${(r.ms / 1000).toFixed(1)} s`);
  return parts.join('; ');
}

/** A progress line on stderr when it is a terminal: rewritten in place, cleared at the end. */
function progressLine(io: Io, quiet: boolean): { update(r: Readonly<SweepResult>): void; clear(): void } {
  const tty = io.progress.isTTY === true && !quiet;
  let shown = false;
  return {
    update(r) {
      if (!tty) return;
      const rate = r.ms > 0 ? Math.round((r.scanned * 1000) / r.ms) : 0;
      io.progress.write(`\r\x1b[K${r.scanned} scanned, ${r.removed} removed, ${r.kept} kept, ${r.skipped} skipped, ${r.corrupt} corrupt (${rate} files/s)`);
      shown = true;
    },
    clear() {
      if (shown) io.progress.write('\r\x1b[K');
      shown = false;
    },
  };
}

async function runGc(p: Parsed, io: Io): Promise<number> {
  const dataDir = dataDirArg(p);
  const json = p.flags.has('--json');
  const quiet = p.flags.has('--quiet');
  const dryRun = p.flags.has('--dry-run');
  const removeCorrupt = p.flags.has('--remove-corrupt');
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  if (removeCorrupt && uid >= 0 && lstatSync(dataDir).uid !== uid) {
    // Another user's files all fail the owner check: they would all be "corrupt".
    throw new CliError("wasm-session: --remove-corrupt needs DATA_DIR to be this user's");
  }
  const line = progressLine(io, quiet || json);
  let result: SweepResult;
  try {
    result = await sweep({
      dataDir,
      allowUnsafeDataDir: p.flags.has('--allow-unsafe-data-dir'),
      idle: p.idle,
      maxAge: p.maxAge,
      dryRun,
      removeCorrupt,
      signal: io.signal,
      onProgress: (r) => line.update(r),
    });
  } catch (e) {
    line.clear();
    const partial = (e as { result?: SweepResult }).result;
    if (partial !== undefined && io.signal?.aborted) {
      if (json) io.out(JSON.stringify({ dataDir, dryRun, interrupted: true, ...partial }));
      else if (!quiet) io.err(`interrupted: ${summary(partial, dryRun)}`);
      return 130;
    }
    throw e;
  }
  line.clear();
  if (json) io.out(JSON.stringify({ dataDir, dryRun, ...result }));
  else if (!quiet) io.out(`${dryRun ? 'dry run: ' : ''}${summary(result, dryRun)}`);
  return 0;
}

async function runRebuild(p: Parsed, io: Io): Promise<number> {
  const dataDir = dataDirArg(p);
  const dryRun = p.flags.has('--dry-run');
  const line = progressLine(io, p.flags.has('--json'));
  const r = await rebuildOwnerIndex(storeOptionsFor(p, dataDir), { dryRun, signal: io.signal, onProgress: (c) => line.update(c) });
  line.clear();
  if (p.flags.has('--json')) {
    io.out(JSON.stringify({ dataDir, dryRun, sessions: r.scanned, entriesRestored: r.ownerEntriesRestored, entriesRemoved: r.ownerEntriesRemoved, ms: r.ms }));
  } else {
    const would = dryRun ? 'would be ' : '';
    io.out(
      `${r.scanned} session file(s); owner index: ${r.ownerEntriesRestored} missing entries ${would}made, ${r.ownerEntriesRemoved} stale entries ${would}removed`,
    );
  }
  return 0;
}

async function runOwnersList(p: Parsed, io: Io): Promise<number> {
  const dataDir = dataDirArg(p);
  const owner = p.args[1]!;
  const sessions = await listSessions(owner, { dataDir, allowUnsafeDataDir: p.flags.has('--allow-unsafe-data-dir'), lockTimeout: p.lockTimeout });
  if (p.flags.has('--json')) {
    io.out(JSON.stringify({ owner, sessions: sessions.map(({ current: _, ...s }) => s) }));
    return 0;
  }
  io.out(`${sessions.length} session(s) of ${JSON.stringify(owner)}`);
  for (const s of sessions) {
    const info = Object.entries(s.info)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
    io.out(
      `  ${s.idPrefix}…  accessed ${s.accessed.toISOString()}  created ${s.created.toISOString()}  bound ${s.since.toISOString()}${info ? `  ${info}` : ''}`,
    );
  }
  return 0;
}

const isRedisUrl = (s: string): boolean => /^rediss?:\/\//.test(s);

/** Where `import` reads from. */
function importSource(p: Parsed): ImportSource {
  const source = p.args[0]!;
  if (p.values.get('--from') === 'connect-redis') {
    const urls = source.split(',').filter((u) => u !== '');
    for (const u of urls) if (!isRedisUrl(u)) throw new CliError(`wasm-session: ${JSON.stringify(u)} is not a redis:// URL`);
    return connectRedisSource(urls.length === 1 ? urls[0]! : urls, { prefix: p.values.get('--prefix') });
  }
  const dir = nodePath.resolve(source);
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    throw new CliError(`wasm-session: ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new CliError(`wasm-session: ${dir} is not a directory`);
  const ttl = p.values.get('--ttl');
  return sessionFileStoreSource(dir, { fileExtension: p.values.get('--file-extension'), ttl: ttl === undefined ? undefined : Number(ttl) });
}

/** The session options of `import`'s target: the ones a WasmSessionStore of the application would get. */
function importTarget(p: Parsed): SessionOptions {
  const to = p.values.get('--to')!;
  if (isRedisUrl(to)) {
    const prefix = p.values.get('--to-prefix');
    return { type: 'redis', redis: prefix === undefined ? { url: to } : { url: to, prefix } };
  }
  return { dataDir: nodePath.resolve(to), allowUnsafeDataDir: p.flags.has('--allow-unsafe-data-dir'), lockTimeout: p.lockTimeout };
}

async function runImport(p: Parsed, io: Io): Promise<number> {
  const json = p.flags.has('--json');
  const dryRun = p.flags.has('--dry-run');
  const source = importSource(p);
  const target = importTarget(p);
  const to = p.values.get('--to')!;
  const tty = io.progress.isTTY === true && !json;
  let seen = 0;
  let result: ImportResult;
  try {
    result = await importSessions(source, target, {
      dryRun,
      onProgress: (r) => {
        // Every 256 entries: a terminal line per session would cost more than the copy.
        if (tty && ++seen % 256 === 0) io.progress.write(`\r\x1b[K${seen} read: ${r.imported} imported, ${r.expired} expired, ${r.failed} failed`);
      },
    });
  } finally {
    if (tty && seen >= 256) io.progress.write('\r\x1b[K');
    if (target.type === 'redis') await closeRedisConnections();
  }
  if (json) {
    io.out(JSON.stringify({ from: p.values.get('--from'), source: source.description, to, dryRun, ...result }));
  } else {
    const would = dryRun ? 'would be imported' : 'imported';
    io.out(
      `${dryRun ? 'dry run: ' : ''}${source.description}: ${result.imported} session(s) ${would} into ${to}, ${result.expired} expired (skipped), ${dryRun ? '' : `${result.existing} already there (left alone), `}${result.failed} failed`,
    );
    for (const e of result.errors) io.err(`  ${e.sid}: ${e.message}`);
    if (result.failed > result.errors.length) io.err(`  ... and ${result.failed - result.errors.length} more`);
  }
  return result.failed > 0 ? 1 : 0;
}

const BAR_WIDTH = 40;

function histogram(title: string, counts: readonly number[], out: Out): void {
  out(title);
  const max = Math.max(1, ...counts);
  const width = Math.max(...AGE_BUCKETS.map(([, label]) => label.length));
  AGE_BUCKETS.forEach(([, label], i) => {
    const n = counts[i] ?? 0;
    const bar = '█'.repeat(Math.round((n / max) * BAR_WIDTH)) || (n > 0 ? '▏' : '');
    out(`  ${label.padEnd(width)}  ${bar}${bar ? ' ' : ''}${n}`);
  });
}

function when(e: DataDirStats['oldestCreated'], now: number): string {
  if (e === null) return '-';
  const age = now - e.time;
  const ago =
    age < 120_000
      ? `${Math.round(age / 1000)} s`
      : age < 7_200_000
        ? `${Math.round(age / 60_000)} min`
        : age < 172_800_000
          ? `${Math.round(age / 3_600_000)} h`
          : `${Math.round(age / 86_400_000)} d`;
  return `${new Date(e.time).toISOString()} (${ago} ago, ${e.idPrefix}…)`;
}

async function runStat(p: Parsed, io: Io): Promise<number> {
  const dataDir = dataDirArg(p);
  const s = await statDataDir(storeOptionsFor(p, dataDir));
  if (p.flags.has('--json')) {
    io.out(JSON.stringify({ ...s, buckets: AGE_BUCKETS.map(([, label]) => label) }));
    return 0;
  }
  const out = io.out;
  out(`data dir        ${s.dataDir}`);
  out(`sessions        ${s.sessions} (${bytes(s.bytes)}, ${bytes(s.diskBytes)} on disk), ${s.keys} keys`);
  out(`owners          ${s.owned} session(s) bound to an owner; index: ${s.owners} owner(s), ${s.ownerEntries} entries`);
  out(`not readable    ${s.busy} locked, ${s.empty} empty (a create in progress or cut short)`);
  out(`created         oldest ${when(s.oldestCreated, s.at)}`);
  out(`                newest ${when(s.newestCreated, s.at)}`);
  out(`last accessed   oldest ${when(s.oldestAccessed, s.at)}`);
  out(`                newest ${when(s.newestAccessed, s.at)}`);
  histogram('age by last access', s.byAccessed, out);
  histogram('age by creation', s.byCreated, out);
  out(`problems        ${s.problems}${s.problems > 0 ? " (files that fail their checks, entries that are not the store's)" : ''}`);
  for (const { path, reason } of s.problemList) out(`  ${nodePath.relative(s.dataDir, path)}: ${reason}`);
  if (s.problems > s.problemList.length) out(`  ... and ${s.problems - s.problemList.length} more`);
  return 0;
}

async function runInspect(p: Parsed, io: Io): Promise<number> {
  const dataDir = dataDirArg(p);
  const id = p.args[1]!;
  let s: SessionInspection | null;
  try {
    s = await inspectSessionFile(storeOptionsFor(p, dataDir), id);
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(`wasm-session: ${e.message.replace(/^wasm-session: /, '')}`);
    throw e;
  }
  if (s === null) {
    io.err(`wasm-session: no session ${id} in ${dataDir}`);
    return 1;
  }
  const json = p.flags.has('--json');
  if (json) {
    const values: Record<string, unknown> = {};
    for (const [k, v] of s.entries) values[k] = JSON.parse(show(v, true) ?? 'null');
    io.out(
      JSON.stringify({ id: s.id, path: s.path, bytes: s.bytes, created: s.created, accessed: s.accessed, owner: s.owner, values, undecodable: s.undecodable }),
    );
    return 0;
  }
  io.out(`id         ${s.id}`);
  io.out(`file       ${s.path} (${bytes(s.bytes)})`);
  io.out(`created    ${new Date(s.created).toISOString()}`);
  io.out(`accessed   ${new Date(s.accessed).toISOString()}`);
  if (s.owner === null) io.out('owner      -');
  else {
    const info = Object.entries(s.owner.info)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
    io.out(`owner      ${JSON.stringify(s.owner.id)}, bound ${new Date(s.owner.since).toISOString()}${info ? ` (${info})` : ''}`);
  }
  io.out(`keys       ${s.entries.length}`);
  for (const [key, value] of s.entries)
    io.out(`  ${key}\t${s.undecodable.includes(key) ? `(does not decode: ${(value as Error).message})` : show(value, false)}`);
  return 0;
}

/**
 * Runs the command line `argv` (without node and the script); resolves to
 * the exit status. `out`/`err` take lines; `progress` (stderr by default)
 * gets the progress line of long runs when it is a terminal; `signal`
 * interrupts gc.
 */
export async function main(
  argv: string[],
  out: Out = (l: string) => process.stdout.write(`${l}\n`),
  err: Out = (l: string) => process.stderr.write(`${l}\n`),
  { progress = process.stderr, signal }: { progress?: Io['progress']; signal?: AbortSignal } = {},
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`wasm-session: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const io: Io = { out, err, progress, signal };
  try {
    switch (parsed.group) {
      case 'dbm':
        return await runDbm(parsed, out);
      case 'gc':
        return await runGc(parsed, io);
      case 'stat':
        return await runStat(parsed, io);
      case 'inspect':
        return await runInspect(parsed, io);
      case 'import':
        return await runImport(parsed, io);
      default:
        return parsed.command === 'rebuild' ? await runRebuild(parsed, io) : await runOwnersList(parsed, io);
    }
  } catch (e) {
    if (e instanceof CliError) {
      err(e.message);
      return 1;
    }
    if (e instanceof DbmCorruptError) {
      err(`damaged: ${e.message}`);
      for (const p of (e as DbmCorruptError & { problems?: { page: number; reason: string }[] }).problems ?? []) {
        err(`  page ${p.page}: ${p.reason}`);
      }
      return 1;
    }
    if (e instanceof DbmError) {
      err(e.message);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code) {
      err(`wasm-session: ${(e as Error).message.replace(/^wasm-session: /, '')}`);
      return 1;
    }
    throw e;
  }
}

// Run when executed (node dist/cli.js, or npx wasm-session through a bin
// symlink), not when imported.
function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isMain()) {
  // `wasm-session dbm dump FILE | head` closes the pipe early: that is fine.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // Ctrl-C stops a long gc (or owners rebuild) after the file at hand, with the counts so far; anything else at once.
  const argv = process.argv.slice(2);
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    if (argv[0] !== 'gc' && argv[0] !== 'owners') process.exit(130);
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  main(argv, undefined, undefined, { signal: interrupt.signal }).then((code) => {
    process.exitCode = code;
  });
}
