#!/usr/bin/env node
// The wasm-session command line: `wasm-session dbm check|dump|stat FILE`.
// Built on the public dbm API; opens files read-only, so it is safe to run
// against a live application's files.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Dbm } from './dbm/index.js';
import { DbmError, DbmCorruptError } from './errors.js';

const USAGE = `usage: wasm-session dbm <command> FILE [options]

commands:
  check FILE     verify every page and invariant; exit 1 if the file is damaged
  stat FILE      page size, pages, keys, depth, free pages, times
  dump FILE      every key and value, one per line (--json for JSON lines,
                 --raw for stored bytes in hex)

options:
  --lock-timeout MS   how long to wait for the file lock (default 10000)
`;

interface Parsed {
  command: string;
  file: string;
  json: boolean;
  raw: boolean;
  lockTimeout: number;
}

class UsageError extends Error {}

function parse(argv: string[]): Parsed {
  const args = [...argv];
  if (args[0] !== 'dbm') throw new UsageError(args.length ? `unknown group '${args[0]}'` : 'missing command');
  args.shift();
  const flags = new Set<string>();
  let lockTimeout = 10_000;
  const positional: string[] = [];
  // One iterator: an option's argument is taken from it by next().
  const it = args[Symbol.iterator]();
  for (const a of it) {
    if (a === '--lock-timeout') {
      lockTimeout = Number(it.next().value);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0) throw new UsageError('--lock-timeout takes milliseconds');
    } else if (a.startsWith('--')) {
      if (a !== '--json' && a !== '--raw') throw new UsageError(`unknown option ${a}`);
      flags.add(a);
    } else {
      positional.push(a);
    }
  }
  const [command, file, ...rest] = positional;
  if (!command || !['check', 'stat', 'dump'].includes(command)) throw new UsageError(command ? `unknown command '${command}'` : 'missing command');
  if (!file) throw new UsageError('missing FILE');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  return { command, file, json: flags.has('--json'), raw: flags.has('--raw'), lockTimeout };
}

function show(value: unknown, json: boolean): string {
  if (json) {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v));
  }
  return inspect(value, { depth: 6, breakLength: Infinity, maxArrayLength: 50, maxStringLength: 200 });
}

async function run(p: Parsed, out: (line: string) => void): Promise<number> {
  const db = await Dbm.open(p.file, { flag: 'r', lockTimeout: p.lockTimeout, keyEncoding: 'buffer' });
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
    for await (const [keyBytes, value] of db.entries()) {
      const key = keyBytes as unknown as Buffer;
      const keyText = key.toString('utf8');
      const shownKey = Buffer.from(keyText, 'utf8').equals(key) ? keyText : `0x${key.toString('hex')}`;
      if (p.raw) {
        const bytes = await db.getRaw(key);
        out(`${p.json ? JSON.stringify(shownKey) : shownKey}\t${bytes ? bytes.toString('hex') : ''}`);
      } else if (p.json) {
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

export async function main(
  argv: string[],
  out = (l: string) => process.stdout.write(`${l}\n`),
  err = (l: string) => process.stderr.write(`${l}\n`),
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
  try {
    return await run(parsed, out);
  } catch (e) {
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
      err(`wasm-session: ${(e as Error).message}`);
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
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
