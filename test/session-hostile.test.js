// Hostile input: malformed Cookie headers and ids, listed and fuzzed, and
// things that are not session files at session paths. Each cookie case
// must give a fresh session, never an exception, and never a file outside
// dataDir (the temp tree around it is compared before and after).
// Cases go through a real HTTP server where HTTP can carry them, and straight
// into the Session for what HTTP cannot (NUL, characters beyond Latin-1).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Session, createIdSigner } from 'wasm-session';
import { sessionHandler } from './fixtures/session/app.js';
import { LONG, rng, SEED, tempDir } from './helpers/index.js';
import { rawRequest, snapshotTree, startServer } from './helpers/http.js';

const KEY = 'myghty_session_id';
const fakeRes = () => {
  const headers = {};
  return {
    headersSent: false,
    getHeader: (n) => headers[n],
    setHeader: (n, v) => {
      headers[n] = v;
    },
    headers,
  };
};
const SHARDED = /^[0-9a-f]{2}(\/[0-9a-f]{2}(\/[0-9a-f]{32}\.dbm)?)?$/;

/** Cookie values aimed at the file system and the parser, built around a real stored id. */
function hostileValues(id, secret) {
  const signed = secret ? createIdSigner(secret).sign(id) : id;
  const values = [
    '',
    ' ',
    '""',
    '"',
    '=',
    ';',
    '../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/etc/passwd',
    '..\\..\\windows\\win.ini',
    'aa/bb/../../../../tmp/x',
    `../${id}`,
    `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`,
    `./${id}`,
    `${id}%00`,
    `${id.slice(0, 16)}%00${id.slice(17)}`,
    `%00${id.slice(1)}`,
    `${id}/`,
    `${id.slice(0, 31)}/`,
    `${id}.dbm`,
    id.toUpperCase(),
    `${id}0`,
    id.slice(1),
    id.slice(0, 16),
    `${id}${id}`,
    'a'.repeat(5000),
    '0'.repeat(10000),
    'g'.repeat(32),
    'z'.repeat(32),
    '-'.repeat(32),
    ' '.repeat(32),
    `${id.slice(0, 31)}G`,
    `0x${id.slice(2)}`,
    '%C3%A9'.repeat(32),
    '%FF'.repeat(32),
    '%',
    '%%',
    `%${id}`,
    '__proto__',
    'constructor',
    'toString',
    'null',
    'undefined',
    encodeURIComponent('é'.repeat(32)),
    `${id},x`,
    `${id} x`,
    `"${id}`,
    `${id}"`,
  ];
  if (secret) {
    values.push(
      id,
      signed.toUpperCase(),
      signed.slice(1),
      `${signed}0`,
      createIdSigner('wrong secret').sign(id),
      `${'0'.repeat(32)}${id}`,
      `${signed.slice(0, 32)}${id.toUpperCase()}`,
      `${signed.slice(0, 32)}../../etc/passwd`,
      `${createIdSigner(secret).sign('../../etc/passwd')}`,
    );
  }
  return values;
}

/** Whole Cookie headers: duplicates, empty names, odd separators, many cookies. */
function hostileHeaders(id) {
  return [
    '',
    ';',
    ';;;;',
    '=',
    '==',
    KEY,
    `${KEY}`,
    `${KEY}=`,
    `${KEY}=;`,
    `=${id}`,
    ` ${KEY} = `,
    `${KEY}=${id.toUpperCase()}; ${KEY}=../x`,
    `__proto__=${id}; constructor=${id}`,
    `${KEY.toUpperCase()}=${id}`,
    `${KEY}x=${id}`,
    `x${KEY}=${id}`,
    'a=1; '.repeat(2000),
    `${KEY}=a; `.repeat(500),
    `${'x'.repeat(8000)}=1`,
  ];
}

describe(`hostile cookies and ids (seed ${SEED}${LONG ? ', long run' : ''})`, function () {
  this.timeout(LONG ? 1_200_000 : 120_000);
  let root;
  let dataDir;
  let server;
  let before0;
  let realId;
  let secretId;
  const SECRET = 'hostile-test-secret';

  before(async () => {
    root = tempDir('hostile').dir;
    dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'decoy\n');
    server = await startServer(sessionHandler({ dataDir }));
    const res = fakeRes();
    const s = await Session.open({ headers: {} }, res, { dataDir });
    s.set('owner', 'real');
    await s.save();
    realId = s.id;
    const t = await Session.open({ headers: {} }, fakeRes(), { dataDir, secret: SECRET });
    t.set('owner', 'signed');
    await t.save();
    secretId = t.id;
    before0 = snapshotTree(root).filter((p) => !p.startsWith('data/'));
  });
  after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The tree outside dataDir is unchanged and dataDir holds only sharded session files. */
  function assertTreeClean() {
    const now = snapshotTree(root);
    assert.deepEqual(
      now.filter((p) => !p.startsWith('data/') && p !== 'data'),
      before0.filter((p) => p !== 'data'),
    );
    for (const p of now.filter((q) => q.startsWith('data/'))) assert.match(p.slice(5), SHARDED, p);
    assert.equal(fs.readFileSync(path.join(root, 'etc', 'passwd'), 'utf8'), 'decoy\n');
  }

  /** A session straight from a header: fresh, no exception, storage where it belongs. */
  async function assertFreshDirect(header, options = {}, { save = false } = {}) {
    const res = fakeRes();
    let s;
    try {
      s = await Session.open({ headers: { cookie: header } }, res, { dataDir, ...options });
    } catch (err) {
      assert.fail(`Session.open threw ${err?.name}: ${err?.message} for Cookie ${JSON.stringify(header.slice(0, 200))}`);
    }
    assert.equal(s.isNew, true, `not a fresh session for ${JSON.stringify(header.slice(0, 200))}`);
    assert.notEqual(s.id, realId);
    assert.notEqual(s.id, secretId);
    assert.match(s.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(s.keys(), []);
    if (save) {
      s.set('probe', 1);
      await s.save();
      assert.equal(path.dirname(s.namespace.file.path), path.join(dataDir, s.id.slice(0, 2), s.id.slice(2, 4)));
    }
  }

  it('adopts the real id in its accepted forms (control: the hostile cases below would have been adoptable)', async () => {
    for (const header of [`${KEY}=${realId}`, `${KEY}="${realId}"`, `${KEY}= ${realId} `, `a=1;${KEY}=${realId};b=2`]) {
      const s = await Session.open({ headers: { cookie: header } }, fakeRes(), { dataDir });
      assert.equal(s.id, realId, header);
      assert.equal(s.get('owner'), 'real');
    }
  });

  it('takes the first valid cookie of several with our name', async () => {
    for (const header of [
      `${KEY}=../x; ${KEY}=${realId}`,
      `${KEY}=${realId.toUpperCase()}; ${KEY}=${realId}`,
      `${KEY}=; ${KEY}=${realId}; ${KEY}=${secretId}`,
    ]) {
      const s = await Session.open({ headers: { cookie: header } }, fakeRes(), { dataDir });
      assert.equal(s.id, realId, header);
    }
    // Both valid: the first wins, even if it has no stored session (then: fresh).
    const unknown = '0123456789abcdef0123456789abcdef';
    const s = await Session.open({ headers: { cookie: `${KEY}=${unknown}; ${KEY}=${realId}` } }, fakeRes(), { dataDir });
    assert.equal(s.isNew, true);
    assert.notEqual(s.id, unknown, 'an id with no stored session is not adopted');
    assert.notEqual(s.id, realId);
  });

  it('the listed malformed cookie values give a fresh session (direct and over HTTP), unsigned and signed', async () => {
    for (const secret of [undefined, SECRET]) {
      for (const value of hostileValues(secret ? secretId : realId, secret)) {
        await assertFreshDirect(`${KEY}=${value}`, secret ? { secret } : {}, { save: true });
        const r = await rawRequest(server.url, {
          method: 'POST',
          headers: { cookie: `${KEY}=${value}` },
          body: JSON.stringify({ steps: [['state'], ['set', 'p', 1], ['save'], ['state']], options: secret ? { secret } : {} }),
        });
        assert.equal(r.status, 200, `${value}: ${r.text}`);
        const [state] = r.json.results;
        assert.equal(state.isNew, true, value);
        assert.notEqual(state.id, realId);
        assert.notEqual(state.id, secretId);
        assert.match(r.setCookie[0], new RegExp(`^${KEY}=[0-9a-f]{${secret ? 64 : 32}};`));
      }
    }
    assertTreeClean();
  });

  it('the listed malformed Cookie headers give a fresh session', async () => {
    for (const header of hostileHeaders(realId)) {
      await assertFreshDirect(header, {}, { save: true });
      const r = await rawRequest(server.url, { method: 'POST', headers: { cookie: header }, body: JSON.stringify({ steps: [['state']] }) });
      assert.ok(r.status === 200 || r.status === 431, `${r.status} for ${header.slice(0, 80)}`); // 431: over Node's header size limit
      if (r.status === 200) assert.equal(r.json.results[0].isNew, true);
    }
    assertTreeClean();
  });

  it('NUL, CR/LF and non-Latin-1 characters: straight into the Session; over raw TCP the server answers 400 and keeps running', async () => {
    const nasty = [
      `${KEY}=${realId}\0`,
      `${KEY}=\0${realId.slice(1)}`,
      `${KEY}=${realId.slice(0, 16)}\0${realId.slice(17)}`,
      `${KEY}=${'é'.repeat(32)}`,
      `${KEY}=${'０'.repeat(32)}`,
      `${KEY}=${'😀'.repeat(16)}`,
      `${KEY}=${realId}\r\nX-Injected: 1`,
      `${KEY}=\u202e${realId.slice(1)}`,
    ];
    for (const header of nasty) await assertFreshDirect(header, {}, { save: true });
    for (const header of nasty.slice(0, 3)) {
      const answer = await new Promise((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1', () => {
          socket.end(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${header}\r\nConnection: close\r\n\r\n`, 'latin1');
        });
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (c) => {
          text += c;
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.1 (400|200)/);
    }
    const alive = await rawRequest(server.url, { method: 'POST', body: JSON.stringify({ steps: [['state']] }) });
    assert.equal(alive.status, 200);
    assertTreeClean();
  });

  it('the same values as the id option (useCookies: false) give a fresh session', async () => {
    for (const value of [...hostileValues(realId), `${realId}\0`, '０'.repeat(32), '\0'.repeat(32)]) {
      const s = await Session.open(undefined, undefined, { dataDir, useCookies: false, id: value });
      assert.equal(s.isNew, true, JSON.stringify(value.slice(0, 80)));
      assert.notEqual(s.id, realId);
      s.set('p', 1);
      await s.save();
    }
    const real = await Session.open(undefined, undefined, { dataDir, useCookies: false, id: realId });
    assert.equal(real.get('owner'), 'real');
    assertTreeClean();
  });

  it(`fuzz: ${LONG ? 50000 : 4000} random Cookie headers into the Session, ${LONG ? 5000 : 500} over HTTP`, async () => {
    const rand = rng(SEED);
    const pick = (arr) => arr[Math.floor(rand() * arr.length)];
    const pieces = ['0', '9', 'a', 'f', 'g', 'A', 'F', '.', '/', '\\', '%', '%2e', '%2f', '%00', '"', '=', ';', ' ', '\t', ',', '-', '_', 'é', 'ÿ', '..'];
    const wide = ['\0', '😀', '中', '\u202e', '\r', '\n', '０'];
    const mutate = (id) => {
      const chars = [...id];
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const op = Math.floor(rand() * 4);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, pick(pieces));
        else if (op === 2) chars[at % chars.length] = pick(pieces);
        else chars[at % chars.length] = chars[at % chars.length].toUpperCase();
      }
      return chars.join('');
    };
    const value = (latin1) => {
      const r = rand();
      if (r < 0.35) return mutate(realId);
      if (r < 0.45) return mutate(createIdSigner(SECRET).sign(secretId));
      const len = r < 0.7 ? Math.floor(rand() * 70) : pick([31, 32, 33, 63, 64, 65, 300, 4096]);
      let s = '';
      for (let i = 0; i < len; i++) s += rand() < 0.05 && !latin1 ? pick(wide) : rand() < 0.5 ? pick('0123456789abcdef') : pick(pieces);
      return s;
    };
    const header = (latin1) => {
      const parts = [];
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const name = rand() < 0.7 ? KEY : pick(['a', KEY.toUpperCase(), '', ' ', '__proto__', `${KEY}x`]);
        parts.push(rand() < 0.1 ? value(latin1) : `${name}=${value(latin1)}`);
      }
      return parts.join(pick(['; ', ';', ' ; ', ';;']));
    };
    const direct = LONG ? 50000 : 4000;
    let adopted = 0;
    for (let i = 0; i < direct; i++) {
      const h = header(false);
      if (h.includes(realId) || h.includes(secretId)) {
        adopted++;
        continue;
      } // a mutation that changed nothing
      await assertFreshDirect(h, i % 2 ? { secret: SECRET } : {}, { save: i % 50 === 0 });
    }
    const overHttp = LONG ? 5000 : 500;
    for (let i = 0; i < overHttp; i++) {
      const h = header(true);
      if (h.includes(realId) || h.includes(secretId)) continue;
      const r = await rawRequest(server.url, {
        method: 'POST',
        headers: { cookie: Buffer.from(h, 'latin1').toString('latin1') },
        body: JSON.stringify({ steps: [['state'], ['set', 'p', 1], ['save']], options: i % 2 ? { secret: SECRET } : {} }),
      });
      assert.equal(r.status, 200, `${JSON.stringify(h)}: ${r.text}`);
      assert.equal(r.json.results[0].isNew, true, JSON.stringify(h));
    }
    assert.ok(adopted < direct / 3, `${adopted} cases kept the real id intact`);
    assertTreeClean();
    // The real sessions are intact.
    assert.equal((await Session.open({ headers: { cookie: `${KEY}=${realId}` } }, fakeRes(), { dataDir })).get('owner'), 'real');
  });
});

/**
 * Things that are not session files, at the path of a session the client
 * names: left by a careless administrator, or planted by another user when
 * the dataDir was shared. Each must give a typed corruption (or, for an
 * empty file, nothing stored), never a hang, and touch nothing outside
 * dataDir. `make(file, root)` puts one at `file`; `root` holds the decoys.
 */
const rescues = [];
const HOSTILE_ENTRIES = [
  [
    'a FIFO',
    (f) => {
      execFileSync('mkfifo', [f]);
      // Would an open() block on it, a writer appearing after 3 s ends the
      // freeze, so that the test fails instead of hanging.
      rescues.push(spawn(process.execPath, ['-e', `setTimeout(() => { try { require('fs').openSync(${JSON.stringify(f)}, 'r+') } catch {} }, 3000)`]));
    },
  ],
  ['an empty directory', (f) => fs.mkdirSync(f)],
  [
    'a directory with a file in it',
    (f) => {
      fs.mkdirSync(f);
      fs.writeFileSync(path.join(f, 'x'), 'x');
    },
    { left: true },
  ],
  ['a link to a file outside dataDir', (f, root) => fs.symlinkSync(path.join(root, 'etc', 'passwd'), f)],
  ['a link to a session file outside dataDir', (f, root) => fs.symlinkSync(path.join(root, 'outside.dbm'), f)],
  ['a link to an empty file outside dataDir', (f, root) => fs.symlinkSync(path.join(root, 'empty'), f)],
  ['a link to /dev/null', (f) => fs.symlinkSync('/dev/null', f)],
  ['a link to a directory outside', (f, root) => fs.symlinkSync(path.join(root, 'etc'), f)],
  ['a dangling link', (f, root) => fs.symlinkSync(path.join(root, 'nowhere'), f)],
  ['a hard link to a session file outside dataDir', (f, root) => fs.linkSync(path.join(root, 'hardlinked.dbm'), f)],
  [
    'a session file far larger than a session can be',
    (f, root) => {
      fs.copyFileSync(path.join(root, 'template.dbm'), f);
      fs.truncateSync(f, 64 * 1024 * 1024);
    },
  ],
  ['an empty file', (f) => fs.writeFileSync(f, ''), { nothingStored: true }],
  // Root only: device nodes and other users' files.
  ['a character device', (f) => execFileSync('mknod', [f, 'c', '1', '3']), { rootOnly: true }],
  [
    "another user's session file",
    (f, root) => {
      fs.copyFileSync(path.join(root, 'template.dbm'), f);
      fs.chownSync(f, 65534, 65534);
    },
    { rootOnly: true },
  ],
];

/**
 * A timer firing every 5 ms, and the longest the event loop went without
 * firing it: a blocking open() shows as a gap of seconds.
 */
function startTicker() {
  let last = Date.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, Date.now() - last);
    },
  };
}

describe('hostile entries at session paths (dbm store)', function () {
  this.timeout(60_000);
  let root;
  let dataDir;
  let server;
  let outside;
  before(async () => {
    root = tempDir('hostile-fs').dir;
    dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'decoy\n');
    fs.writeFileSync(path.join(root, 'empty'), '');
    server = await startServer(sessionHandler({ dataDir }));
    // Valid session files: to copy, and outside dataDir for links to reach.
    const s = await Session.open({ headers: {} }, fakeRes(), { dataDir });
    s.set('owner', 'template');
    await s.save();
    for (const name of ['template.dbm', 'outside.dbm', 'hardlinked.dbm']) fs.copyFileSync(s.namespace.file.path, path.join(root, name));
    outside = () =>
      snapshotTree(root)
        .filter((p) => !p.startsWith('data'))
        .map((p) => {
          const st = fs.lstatSync(path.join(root, p));
          return `${p} ${
            st.isFile()
              ? crypto
                  .createHash('sha256')
                  .update(fs.readFileSync(path.join(root, p)))
                  .digest('hex')
              : '-'
          }`;
        });
  });
  after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const child of rescues.splice(0)) child.kill('SIGKILL');
  });

  /** A stored session's id, whose file is then replaced by `make`. */
  async function plant(make) {
    const s = await Session.open({ headers: {} }, fakeRes(), { dataDir });
    s.set('owner', 'victim');
    await s.save();
    const file = s.namespace.file.path;
    fs.unlinkSync(file);
    make(file);
    return { id: s.id, file };
  }

  for (const [name, make, { left = false, nothingStored = false, rootOnly = false } = {}] of HOSTILE_ENTRIES) {
    const outcome = nothingStored ? 'nothing stored, a fresh session' : 'SessionCorruptError, or with invalidateCorrupt a fresh session';
    it(`${name}: ${outcome}; never a hang, nothing outside dataDir touched`, async function () {
      if (rootOnly && process.getuid() !== 0) {
        console.log('      (skipped: setting this up needs root)');
        return this.skip();
      }
      const before = outside();
      const { id, file } = await plant((f) => make(f, root));
      const cookie = `${KEY}=${id}`;
      const ticker = startTicker();
      try {
        const t0 = Date.now();
        // Straight into the Session (read() path: the response has end()), then over HTTP.
        const res = { ...fakeRes(), end() {} };
        if (nothingStored) {
          const s = await Session.open({ headers: { cookie } }, res, { dataDir });
          assert.equal(s.isNew, true);
          assert.notEqual(s.id, id);
        } else {
          await assert.rejects(Session.open({ headers: { cookie } }, res, { dataDir }), (err) => {
            assert.equal(err.name, 'SessionCorruptError', `${name}: ${err.message}`);
            assert.equal(err.file, file);
            return true;
          });
          const r = await rawRequest(server.url, { method: 'POST', headers: { cookie }, body: JSON.stringify({ steps: [['state']] }) });
          assert.equal(r.status, 500, r.text);
          assert.equal(r.json.error.code, 'ERR_SESSION_CORRUPT');
          assert.equal(r.json.error.file, file);
        }
        const r = await rawRequest(server.url, {
          method: 'POST',
          headers: { cookie },
          body: JSON.stringify({ steps: [['state'], ['set', 'p', 1], ['save'], ['state']], options: { invalidateCorrupt: true } }),
        });
        assert.equal(r.status, 200, r.text);
        const [state, , , saved] = r.json.results;
        assert.equal(state.isNew, true);
        assert.equal(state.wasInvalidated, !nothingStored);
        assert.notEqual(saved.id, id);
        assert.match(r.setCookie[0], new RegExp(`^${KEY}=${saved.id};`));
        const elapsed = Date.now() - t0;
        const gap = ticker.stop();
        assert.ok(elapsed < 5000, `${name}: ${elapsed} ms`);
        assert.ok(gap < 1000, `${name}: the timer kept firing (longest gap ${gap} ms)`);
      } finally {
        ticker.stop();
      }
      if (left) assert.equal(fs.lstatSync(file).isDirectory(), true, 'a directory with contents is not deleted recursively');
      else if (!nothingStored) assert.throws(() => fs.lstatSync(file), { code: 'ENOENT' }, `${name} was removed`);
      assert.deepEqual(outside(), before, 'nothing outside dataDir changed');
      assert.equal(fs.readFileSync(path.join(root, 'etc', 'passwd'), 'utf8'), 'decoy\n');
    });
  }
});
