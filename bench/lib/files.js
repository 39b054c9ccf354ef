// Temp directories (removed at the end, also on Ctrl-C or a failed case),
// disk usage, the file system's type, and which build is under test.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const roots = new Set();

function removeAll() {
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
  roots.clear();
}

let hooked = false;
function hook() {
  if (hooked) return;
  hooked = true;
  process.once('exit', removeAll);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      removeAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A fresh directory under os.tmpdir(); removed by removeTempDir() or when the process ends. */
export function tempDir(prefix) {
  hook();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wasm-session-bench-${prefix}-`));
  roots.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  roots.delete(dir);
}

/** Bytes `du` counts for a directory (allocated blocks, directories included). */
export function duBytes(dir) {
  try {
    return Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split(/\s/)[0]);
  } catch {
    return Number.NaN;
  }
}

/** Walks `dir`: number of files and the sums of their sizes and of st_blocks * 512. */
export function fileStats(dir, keep = () => true) {
  let files = 0;
  let size = 0;
  let allocated = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (keep(p)) {
        const st = fs.statSync(p);
        files++;
        size += st.size;
        allocated += st.blocks * 512;
      }
    }
  };
  walk(dir);
  return { files, size, allocated };
}

/** The first file under `dir` whose name ends with `suffix`, or null. */
export function findFile(dir, suffix) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = findFile(p, suffix);
      if (found) return found;
    } else if (e.name.endsWith(suffix)) return p;
  }
  return null;
}

export function describeFs(dir) {
  try {
    const st = fs.statfsSync(dir);
    const types = { 61267: 'ext2/3/4', 16914836: 'tmpfs', 1481003842: 'xfs', 2435016766: 'btrfs', 2035054128: 'overlayfs', 26985: 'nfs' };
    return `file system ${types[st.type] ?? `type 0x${st.type.toString(16)}`}`;
  } catch {
    return 'file system unknown';
  }
}

/** Which build of the project is measured, and whether dist/ looks older than its sources. */
export function codeUnderTest() {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  let git = 'not a git checkout';
  try {
    const run = (args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = run(['status', '--porcelain', '--', 'src', 'assembly']) !== '';
    git = `HEAD ${run(['rev-parse', '--short', 'HEAD'])}${dirty ? ' + uncommitted changes in src/ or assembly/' : ''}`;
  } catch {
    // not fatal
  }
  let built = 'dist/ missing';
  let stale = false;
  try {
    const newest = (dir, keep = () => true) => {
      let t = 0;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        t = Math.max(t, e.isDirectory() ? newest(p, keep) : keep(p) ? fs.statSync(p).mtimeMs : 0);
      }
      return t;
    };
    const wasmTime = fs.statSync(path.join(repo, 'dist/core.wasm')).mtimeMs;
    const jsTime = newest(path.join(repo, 'dist'), (p) => p.endsWith('.js'));
    built = `dist/ built ${new Date(Math.max(wasmTime, jsTime)).toISOString()}`;
    stale = newest(path.join(repo, 'assembly')) > wasmTime || newest(path.join(repo, 'src')) > jsTime;
  } catch {
    // reported as is
  }
  return `Code under test: ${git}; ${built}${stale ? ' - WARNING: src/ or assembly/ is newer than dist/, run `npm run build`' : ''}.`;
}

export const fmtBytes = (n) =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(2)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : n >= 10_240
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${Math.round(n)} B`;
