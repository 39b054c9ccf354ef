// The helpers every test and fixture shares: paths, seeded randomness,
// waiting (sleep, event-loop turns, bounded polling), temporary
// directories, and child processes driven over their stdout lines. What is
// specific to the dbm tests (fault-injecting FileIO, reading a whole
// database) is in ./dbm.js, and the HTTP side of the session tests (servers,
// a cookie jar) in ./http.js; both build on this module.
//
// Everything created here is also cleaned up when the process exits, so a
// test that fails half-way leaves no directory or process behind.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, test/ and test/fixtures/. */
export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const TEST_DIR = path.join(ROOT, 'test');
export const FIXTURES = path.join(TEST_DIR, 'fixtures');

// ---------------------------------------------------------------------------
// Seeded randomness: the seed is printed in describe titles, and
// TEST_SEED=<seed> replays a failing run. LONG selects the long runs.

/** The run's seed: TEST_SEED replays a failure. */
export const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1e9);

/** WASM_SESSION_LONG=1: the long torture, fuzz and scale runs. */
export const LONG = process.env.WASM_SESSION_LONG === '1';

/** xorshift32: small, fast, and replayable from the printed seed. Returns floats in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** An integer in [lo, hi]. */
export const randInt = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

/** `n` random bytes from `rand`. */
export function randomBytes(rand, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

// ---------------------------------------------------------------------------
// Waiting.

/** Milliseconds to wait, as a promise. Only where nothing can be polled for. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One turn of the event loop (after I/O callbacks: setImmediate). */
export const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Polls `predicate` (may be async) every `interval` ms until it returns a
 * truthy value, and returns that value. Throws after `timeout` ms: the
 * bound is there so that a broken condition fails the test with `message`
 * instead of hanging it, and is generous because a loaded machine is slow.
 */
export async function waitFor(predicate, { timeout = 20_000, interval = 5, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${typeof message === 'function' ? message() : message} not reached within ${timeout} ms`);
    await sleep(interval);
  }
}

/**
 * Counts the ticks of a `period` ms interval while `fn` runs; returns
 * [result or error, ticks]. A wait that blocked the event loop would let
 * next to no tick through.
 */
export async function countingTicks(fn, period = 10) {
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
  }, period);
  try {
    const result = await fn().then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    return [result, ticks];
  } finally {
    clearInterval(timer);
  }
}

/**
 * How many event-loop turns pass before `promise` settles: 0 when it
 * settles within the current turn (through microtasks only), so a wake-up
 * by an event can be told from one by a timer.
 */
export async function turnsUntil(promise) {
  let settled = false;
  const done = () => {
    settled = true;
  };
  promise.then(done, done);
  for (let turns = 0; ; turns++) {
    await nextTurn();
    if (settled) return turns;
  }
}

/** A timer of `ms` whose `fired` says whether it has run: for "not before" assertions as an order of events. */
export function marker(ms) {
  const m = { fired: false };
  m.timer = setTimeout(() => {
    m.fired = true;
  }, ms);
  m.cancel = () => clearTimeout(m.timer);
  return m;
}

// ---------------------------------------------------------------------------
// Temporary directories.

const liveDirs = new Set();
const liveChildren = new Set();

process.once('exit', () => {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh directory under the OS temp dir, named wasm-session-<name>-XXXXXX:
 * { dir, file(name) (a path inside it), cleanup() }. Left-overs are removed
 * when the process exits.
 */
export function tempDir(name = 'test') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wasm-session-${name}-`));
  liveDirs.add(dir);
  return {
    dir,
    file: (child) => path.join(dir, child),
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
}

// ---------------------------------------------------------------------------
// Child processes.

/**
 * Runs `script` (a path, relative to test/fixtures/ unless absolute) with
 * this `node`. Its stdout lines are queued for nextLine() and kept in
 * `lines`. End it with stop() (SIGKILL by PID, then wait for the exit) or
 * terminate() (SIGTERM, SIGKILL after a grace period); a child still
 * running when the test process exits is killed.
 */
export function startChild(script, args = [], { stdin = 'ignore', env, cwd } = {}) {
  const file = path.isAbsolute(script) ? script : path.join(FIXTURES, script);
  const child = spawn(process.execPath, [file, ...args.map(String)], {
    stdio: [stdin, 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
    cwd,
  });
  liveChildren.add(child);
  const lines = [];
  const waiters = [];
  let buffered = '';
  let stderr = '';
  let done = false;
  // 'close' comes after the exit and after stdout is drained: every line is in.
  const exited = new Promise((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      liveChildren.delete(child);
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  child.once('error', () => {
    // A failed spawn also ends in 'close'; nothing to add.
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 20000) stderr += chunk;
  });

  const handle = {
    child,
    pid: child.pid,
    /** Resolves with { code, signal } once the child has exited and its output is read. */
    exited,
    /** Every line seen so far. */
    lines,
    /** How many of `lines` nextLine() has returned. */
    read: 0,
    get stderr() {
      return stderr;
    },
    get running() {
      return !done;
    },
    /** The next unread line, or null when the child exits first or `timeout` ms pass. */
    async nextLine(timeout = 20_000) {
      const deadline = Date.now() + timeout;
      while (handle.read >= lines.length) {
        if (done) return null;
        const left = deadline - Date.now();
        if (left <= 0) return null;
        await new Promise((resolve) => {
          const t = setTimeout(wake, left);
          function wake() {
            clearTimeout(t);
            resolve();
          }
          waiters.push(wake);
        });
      }
      return lines[handle.read++];
    },
    /**
     * Reads lines until one starts with `match` (a string) or matches it (a
     * RegExp); returns that line, or null on exit or after `timeout` ms.
     */
    async waitFor(match, timeout = 20_000) {
      const test = typeof match === 'string' ? (line) => line.startsWith(match) : (line) => match.test(line);
      const deadline = Date.now() + timeout;
      for (;;) {
        const line = await handle.nextLine(Math.max(1, deadline - Date.now()));
        if (line === null || test(line)) return line;
      }
    },
    send(text) {
      child.stdin.write(text);
    },
    /** SIGKILL by PID; resolves once it has exited. */
    stop() {
      return handle.kill('SIGKILL');
    },
    /** Sends `signal` by PID (unless it has exited); resolves once it has exited. */
    kill(signal) {
      if (!done) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
      }
      return exited;
    },
    /** SIGTERM, then SIGKILL if it is still running after `grace` ms; resolves once it has exited. */
    async terminate(grace = 3000) {
      const force = setTimeout(() => handle.kill('SIGKILL'), grace);
      try {
        return await handle.kill('SIGTERM');
      } finally {
        clearTimeout(force);
      }
    },
  };
  return handle;
}

/**
 * The children of a test file: spawn() or start() them, and stopAll() in an
 * afterEach/after hook.
 */
export class Children {
  constructor() {
    this.handles = new Set();
  }

  /** startChild(), remembered for stopAll(). */
  spawn(script, args, options) {
    const handle = startChild(script, args, options);
    this.handles.add(handle);
    handle.exited.then(() => this.handles.delete(handle));
    return handle;
  }

  /**
   * A server child that prints `listening <port>` (or `... listening on
   * http://127.0.0.1:<port>/`) once ready: resolves with its handle, plus
   * `port` and `url`, once it is; rejects if it exits first or `timeoutMs` pass.
   */
  async start(script, { env = {}, args = [], timeoutMs = 20_000 } = {}) {
    const handle = this.spawn(script, args, { env });
    const re = /listening (?:on )?(?:http:\/\/127\.0\.0\.1:)?(\d+)/;
    const line = await handle.waitFor(re, timeoutMs);
    if (line === null) {
      await handle.stop();
      throw new Error(`${script} did not print 'listening <port>' within ${timeoutMs} ms (or exited): ${handle.stderr}`);
    }
    handle.port = Number(re.exec(line)[1]);
    handle.url = `http://127.0.0.1:${handle.port}`;
    return handle;
  }

  /**
   * Ends every child still running, by PID: SIGTERM, then SIGKILL for any
   * still running after a grace period (servers close cleanly on SIGTERM;
   * the other fixtures just die). stopAll('SIGKILL') kills at once.
   */
  async stopAll(signal = 'SIGTERM') {
    const handles = [...this.handles];
    this.handles.clear();
    await Promise.all(handles.map((h) => (signal === 'SIGKILL' ? h.stop() : h.terminate())));
  }
}

/**
 * Writes a line to stdout at once, for fixtures whose lines the parent
 * counts. process.stdout on a pipe is asynchronous on POSIX: once one write
 * has had to wait, the rest queue in memory until the event loop turns, and
 * a child committing in a tight loop never lets it turn. fd 1 itself stays
 * blocking as long as process.stdout is never touched.
 */
export function emit(line) {
  fs.writeSync(1, `${line}\n`);
}
