// Every example in examples/ (each one is in the README) runs as a child
// process, exits 0 by itself, and prints what the README says it prints.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers/index.js';

const EXAMPLES = path.join(ROOT, 'examples');

function runExample(name) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(EXAMPLES, name)], { cwd: ROOT, timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${name} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

const expectations = {
  'basic.js': (out) => {
    assert.match(out, /^Set-Cookie: myghty_session_id=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/m);
    assert.match(out, /visits: 1, new session: true, file: ([0-9a-f]{2})\/([0-9a-f]{2})\/\1\2[0-9a-f]{28}\.dbm/);
    assert.match(out, /visits: 3, new session: false/);
    assert.equal(out.match(/Set-Cookie/g).length, 1, 'the cookie goes out once');
  },
  'memory-store.js': (out) => assert.match(out, /\/add\/pear -> cart: apple, pear\n\/ -> cart: apple, pear\n$/),
  'redis-store.js': (out) => {
    if (/redis-server is not installed/.test(out) && !process.env.CI) return;
    assert.equal(
      out,
      '/login -> A: user ann, visits 1\n/ -> B: user ann, visits 2\n/ -> A: user ann, visits 3\n/logout -> B: user (none), visits 1\n/ -> A: user (none), visits 1\n',
    );
  },
  'signed-ids.js': (out) => {
    assert.match(out, /\(64 chars\)/);
    assert.match(out, /with the old signature: user = ann/);
    assert.match(out, /with a forged signature: new session = true, user = undefined/);
  },
  'no-cookies.js': (out) => {
    assert.match(out, /same session: true, step = 1/);
    assert.match(out, /tampered id gives a new session: true/);
  },
  'lock.js': (out) => {
    const plain = Number(/\/plain: 22 increments, counter = (\d+)/.exec(out)[1]);
    assert.ok(plain >= 1 && plain <= 22);
    assert.match(out, /\/locked: 22 increments, counter = 22$/m);
  },
  'login-logout.js': (out) => {
    assert.match(out, /\/login: user=ann/);
    assert.match(out, /\/logout: user=-/);
    assert.match(out, /login changed the id: true; logout changed it again: true/);
  },
  'custom-store.js': (out) => {
    assert.match(out, /first save:\n {2}store\.save: set \[user,cart\], delete \[\]/);
    assert.match(out, /second save \(only what changed\):\n {2}store\.save: set \[cart\], delete \[\]/);
    assert.match(out, /lock\(\) without store support: ERR_SESSION_LOCK_UNSUPPORTED/);
    assert.match(out, /lacks the required NamespaceManager methods save, remove/);
  },
  'get-session.js': (out) => {
    assert.match(out, /Set-Cookie: app_sid=<signed id>; Max-Age=3600; Path=\/; Expires=<in an hour>; HttpOnly; SameSite=Lax/);
    assert.match(out, /file under: sessions/);
    assert.match(out, /timeout: 1800 s/);
  },
  'timeouts.js': (out) => {
    assert.equal(out.match(/user=ann isNew=false/g).length, 4);
    assert.match(out, /\+10 min \(62 min old\): user=- isNew=true wasInvalidated=true/);
    assert.match(out, /idle 16 min: user=- wasInvalidated=true/);
  },
  'values.js': (out) => {
    for (const line of [
      "map: Map(2) { 'a' => 1, 2 => 'b' }",
      'set: Set(3) { 1, 2, 3 }',
      'bigint: 1267650600228229401496703205376n',
      'date: 2030-01-01T00:00:00.000Z',
      'buffer: <Buffer 62 79 74 65 73>',
      'regexp: /ab+c/gi',
      'point: { x: 3, y: 4 }',
      'functions are refused: TypeError',
    ]) {
      assert.ok(out.includes(line), line);
    }
  },
  'cleanup.js': (out) => {
    assert.match(out, /layout: <dataDir>\/[0-9a-f]{2}\/[0-9a-f]{2}\/<id>\.dbm/);
    assert.match(out, /removed 2 idle session\(s\), 1 left/);
  },
  'express.js': (out) => {
    assert.match(out, /POST \/login -> 302 \/whoami, cookie myghty_session_id/);
    assert.match(out, /GET \/whoami -> user: ann/);
    assert.match(out, /20 concurrent \/inc with lock -> n = 21 after one more/);
  },
  'fastify.js': (out) => {
    assert.match(out, /visits: 1; Set-Cookie: theme, myghty_session_id\n/);
    assert.match(out, /visits: 2; Set-Cookie: theme, myghty_session_id\n/);
  },
  'express-session-store.js': (out) => {
    assert.match(out, /WasmSessionStore: \{"user":"ann","theme":"dark","cart":"3"\}/);
    assert.match(out, /WasmSessionStore: ids \["[\w-]{4}…"\], length 1/);
    assert.match(out, /MemoryStore: \{"user":"ann","theme":"dark"\}/);
  },
  'sweep.js': (out) => {
    assert.match(out, /^dry run: 2 of 4 would go\nremoved 2, kept 1, skipped 1 \(in use\)\nnext time: removed 1\n/);
    assert.match(out, /from cron: npx wasm-session gc <dataDir> --idle 30m --max-age 1d\n$/);
  },
  'import-sessions.js': (out) => {
    assert.equal(out, 'dry run: 1 to import, 1 expired\nimported 1, skipped 1 expired, 0 failed\nann-sid: user ann; bob-sid: null\n');
  },
  'sessions-of-user.js': (out) => {
    assert.match(out, /^\* x{8}… Firefox on Linux\n {2}x{8}… (Chrome on Android|Safari on iPhone)\n {2}x{8}… (Chrome on Android|Safari on iPhone)\n/);
    assert.match(out, /logged out 2 other session\(s\)\nthe phone's request saves: false, and is a new session: true\nann's sessions now: 1; bob's: 1\n$/);
  },
  'debug-log.js': (out) => {
    assert.match(out, /: new session\n.*saved 1 changed and 0 deleted key\(s\) \(created\)\n.*cookie sent\n.*loaded 1 key\(s\)\n.*locked\n/);
    assert.match(out, /invalidated <id>… \(invalidate\(\) called\); new session/);
  },
};

describe('README examples (examples/*.js)', function () {
  this.timeout(60000);

  it('every example file has an expectation here', () => {
    assert.deepEqual(
      fs
        .readdirSync(EXAMPLES)
        .filter((f) => f.endsWith('.js'))
        .sort(),
      Object.keys(expectations).sort(),
    );
  });

  it('every example is referenced by the README', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const name of Object.keys(expectations)) assert.ok(readme.includes(`examples/${name}`), name);
  });

  for (const [name, check] of Object.entries(expectations)) {
    it(`examples/${name}`, async () => {
      const { stdout, stderr } = await runExample(name);
      assert.equal(stderr, '');
      check(stdout);
    });
  }
});
