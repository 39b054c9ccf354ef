// The dbmModule option (Myghty's session_dbmmodule): the dbm store opens its
// files through another engine with wasm-session/dbm's API. A small JSON
// engine (test/fixtures/dbm-module-json.js) passes the store contract and
// serves real sessions; wasm-session/dbm itself is such a module; anything
// else is refused, naming the option.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DbmNamespace, getSession, Session, storeOptions } from 'wasm-session';
import * as wasmDbm from 'wasm-session/dbm';
import * as jsonDbm from './fixtures/dbm-module-json.js';
import { describeStoreContract } from './fixtures/store-contract.js';
import { FIXTURES, tempDir } from './helpers/index.js';
import { CookieJar, sessionFiles, startServer } from './helpers/http.js';

const contractDir = { path: '' };
const options = (extra = {}) => storeOptions({ dataDir: contractDir.path, dbmModule: jsonDbm, ...extra });
describeStoreContract('DbmNamespace on a JSON dbm module (dbmModule)', {
  setup: () => {
    contractDir.path = tempDir('dbm-module').dir;
  },
  teardown: () => fs.rmSync(contractDir.path, { recursive: true, force: true }),
  makeStore: (id, extra) => new DbmNamespace(id, options(extra)),
  stored: (id) => fs.existsSync(path.join(contractDir.path, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`)),
  statics: (extra) => ({ ids: () => DbmNamespace.ids(options(extra)), clear: () => DbmNamespace.clear(options(extra)) }),
  // The owner index is the store's own files; the owner record lives in the engine's file like any key.
  owners: (extra) => ({
    owned: (owner) => DbmNamespace.ownedSessions(owner, options(extra)),
    revoke: (owner, except) => DbmNamespace.revokeOwned(owner, options(extra), except),
  }),
});

describe('Session option dbmModule / session_dbmmodule', function () {
  this.timeout(30000);
  let tmp;
  beforeEach(() => {
    tmp = tempDir('dbm-module-session');
  });
  afterEach(() => tmp.cleanup());

  it('sessions live in files of the given engine: getSession() with session_dbmmodule naming it, Session.open() with the module', async () => {
    const dataDir = tmp.file('sessions');
    const before = jsonDbm.calls.open;
    const config = { session_data_dir: dataDir, session_dbmmodule: path.join(FIXTURES, 'dbm-module-json.js') };
    const server = await startServer(async (req, res) => {
      const session = req.url === '/config' ? await getSession(req, res, config) : await Session.open(req, res, { dataDir, dbmModule: jsonDbm });
      session.set('visits', (session.get('visits') ?? 0) + 1);
      await session.save();
      res.end(String(session.get('visits')));
    });
    try {
      const jar = new CookieJar(server.url);
      assert.equal((await jar.request('/config')).text, '1');
      assert.equal((await jar.request('/module')).text, '2');
      assert.equal((await jar.request('/config')).text, '3');
    } finally {
      await server.close();
    }
    const files = sessionFiles(dataDir);
    assert.equal(files.length, 1);
    const doc = JSON.parse(fs.readFileSync(path.join(dataDir, files[0]), 'utf8'));
    assert.deepEqual(Object.keys(doc.data), ['visits'], 'the file is the JSON engine’s, not a dbm file');
    assert.ok(jsonDbm.calls.open > before);
  });

  it('wasm-session/dbm itself is a dbm module (the default engine)', async () => {
    const dataDir = tmp.file('builtin');
    const server = await startServer(async (req, res) => {
      const session = await Session.open(req, res, { dataDir, dbmModule: wasmDbm });
      session.set('n', (session.get('n') ?? 0) + 1);
      await session.save();
      res.end(String(session.get('n')));
    });
    try {
      const jar = new CookieJar(server.url);
      await jar.request('/');
      assert.equal((await jar.request('/')).text, '2');
    } finally {
      await server.close();
    }
    const [file] = sessionFiles(dataDir);
    const db = await wasmDbm.Dbm.open(path.join(dataDir, file));
    assert.equal(await db.get('n'), 2);
    await db.close();
  });

  it('refuses what is not a dbm module, naming the option', () => {
    for (const bad of [42, {}, { open: 'x' }, { Dbm: {} }, '']) {
      assert.throws(
        () => storeOptions({ dataDir: tmp.dir, dbmModule: bad }),
        (err) => err instanceof TypeError && /option dbmModule/.test(err.message),
        String(bad),
      );
    }
    assert.throws(() => storeOptions({ dataDir: tmp.dir, dbmModule: './no-such-engine.js' }), /option dbmModule: cannot load/);
  });
});
