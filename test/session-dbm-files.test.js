// The walk over the dbm store's session files (src/session/stores/dbm-files.ts)
// and DbmNamespace's static ids()/clear() built on it: exactly the files a
// DbmNamespace would open, nothing else (wrong names, misplaced files,
// symbolic links, directories, FIFOs), streamed, and stoppable early.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DbmNamespace, generateId, storeOptions } from 'wasm-session/session';
import { walkSessionFiles } from '../dist/session/stores/dbm-files.js';
import { tempDir } from './helpers/index.js';

const fileOf = (dir, id) => path.join(dir, id.slice(0, 2), id.slice(2, 4), `${id}.dbm`);

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

async function storeSession(options, id) {
  const ns = new DbmNamespace(id, options);
  assert.equal(await ns.save({ mode: 'create', set: new Map([['k', Buffer.from('v')]]), delete: [], created: 1, accessed: 1 }), 'ok');
}

describe('dbm session files: walkSessionFiles(), DbmNamespace.ids() and clear()', function () {
  this.timeout(30000);
  let tmp;
  let dir;
  let options;
  beforeEach(() => {
    tmp = tempDir('walk');
    dir = path.join(tmp.dir, 'sessions');
    options = storeOptions({ dataDir: dir });
  });
  afterEach(() => tmp.cleanup());

  it('a missing data directory has no sessions; clear() of it is a no-op', async () => {
    assert.deepEqual(await collect(walkSessionFiles(dir)), []);
    assert.deepEqual(await collect(DbmNamespace.ids(options)), []);
    await DbmNamespace.clear(options);
    assert.equal(fs.existsSync(dir), false);
  });

  it('yields { id, path } for every session file, and nothing that is not one', async () => {
    const ids = [generateId(), generateId(), generateId()];
    for (const id of ids) await storeSession(options, id);
    const real = fileOf(dir, ids[0]);
    const shard = path.dirname(real);
    const other = generateId();
    // Hostile or foreign entries, none of which a DbmNamespace would open for its id:
    fs.writeFileSync(path.join(dir, 'README'), 'not a session');
    fs.writeFileSync(path.join(shard, `${ids[0].toUpperCase()}.dbm`), 'upper-case hex');
    fs.writeFileSync(path.join(shard, `${ids[0].slice(0, 31)}.dbm`), 'too short');
    fs.writeFileSync(path.join(shard, `${ids[0]}.dbm.tmp`), 'a temporary file');
    fs.writeFileSync(path.join(shard, `${other.slice(0, 4) === ids[0].slice(0, 4) ? generateId() : other}.dbm`), 'misplaced: not in its shard');
    fs.mkdirSync(path.join(shard, `${ids[0].slice(0, 4)}${'0'.repeat(28)}.dbm`)); // a directory with a session file's name
    const linkId = `${ids[0].slice(0, 4)}${'1'.repeat(28)}`;
    fs.symlinkSync(real, path.join(shard, `${linkId}.dbm`)); // a symlink to a real session file
    const outside = path.join(tmp.dir, 'outside');
    const outsideId = `ab${'cd'}${'e'.repeat(28)}`;
    fs.mkdirSync(path.join(outside, 'cd'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'cd', `${outsideId}.dbm`), 'outside the data directory');
    if (!fs.existsSync(path.join(dir, 'ab'))) fs.symlinkSync(outside, path.join(dir, 'ab')); // a symlinked shard directory
    fs.mkdirSync(path.join(dir, 'zz', 'zz'), { recursive: true }); // not hex
    fs.writeFileSync(path.join(dir, 'zz', 'zz', `zz${'0'.repeat(30)}.dbm`), 'x');
    execFileSync('mkfifo', [path.join(shard, `${ids[0].slice(0, 4)}${'2'.repeat(28)}.dbm`)]);

    const found = await collect(walkSessionFiles(dir));
    assert.deepEqual(found.map((e) => e.id).sort(), [...ids].sort());
    for (const { id, path: p } of found) assert.equal(p, fileOf(dir, id));
    assert.deepEqual((await collect(DbmNamespace.ids(options))).sort(), [...ids].sort());

    await DbmNamespace.clear(options);
    assert.deepEqual(await collect(DbmNamespace.ids(options)), []);
    // Only session files went: the foreign entries, the link's target outside and the link itself stay.
    assert.ok(fs.existsSync(path.join(dir, 'README')));
    assert.ok(fs.existsSync(path.join(outside, 'cd', `${outsideId}.dbm`)));
    assert.ok(fs.lstatSync(path.join(shard, `${linkId}.dbm`)).isSymbolicLink());
  });

  it('streams: a walk stopped early closes its directories, and removing what it just yielded is safe', async () => {
    const ids = Array.from({ length: 150 }, generateId);
    for (const id of ids) await storeSession(options, id);
    let seen = 0;
    for await (const entry of walkSessionFiles(dir)) {
      fs.unlinkSync(entry.path);
      if (++seen === 20) break;
    }
    assert.equal(seen, 20);
    assert.equal((await collect(walkSessionFiles(dir))).length, 130);
  });
});
