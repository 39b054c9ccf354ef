import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dbm } from 'wasm-session/dbm';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30000 });

describe('cli: wasm-session dbm check|stat|dump', () => {
  let dir;
  let file;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-cli-'));
    file = path.join(dir, 'data.dbm');
    const db = await Dbm.open(file, { flag: 'c' });
    await db.transaction((tx) => {
      for (let i = 0; i < 300; i++) tx.set(`key${i}`, { n: i, tags: new Set(['a']) });
      tx.set('big', 'x'.repeat(5000));
      tx.set(Buffer.from([0xff, 0x00, 0x01]), 'binary key');
    });
    await db.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stat describes the file', () => {
    const r = run('dbm', 'stat', file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /page size\s+4096/);
    assert.match(r.stdout, /keys\s+302/);
    assert.match(r.stdout, /mode\s+hashed, directory depth \d+/);
  });

  it('check passes on a sound file and reports its pages', () => {
    const r = run('dbm', 'check', file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok: 302 keys, \d+ pages .*overflow [1-9]\d*.*meta slots current\/current/);
  });

  it('dump prints every key once, as text, JSON lines, or raw hex', () => {
    const plain = run('dbm', 'dump', file);
    assert.equal(plain.status, 0, plain.stderr);
    const lines = plain.stdout.trim().split('\n');
    assert.equal(lines.length, 302);
    assert.ok(lines.includes("key7\t{ n: 7, tags: Set(1) { 'a' } }"), lines.slice(0, 3).join('\n'));
    assert.ok(lines.includes("0xff0001\t'binary key'"));

    const json = run('dbm', 'dump', file, '--json');
    const records = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      records.find((r) => r.key === 'key9'),
      { key: 'key9', value: { n: 9, tags: ['a'] } },
    );
    assert.equal(new Set(records.map((r) => r.key)).size, 302);

    const raw = run('dbm', 'dump', file, '--raw');
    const rawLine = raw.stdout.split('\n').find((l) => l.startsWith('big\t'));
    assert.match(rawLine, /^big\t[0-9a-f]+$/);
  });

  it('check exits 1 and names the page when the file is damaged', () => {
    const damaged = path.join(dir, 'damaged.dbm');
    const bytes = fs.readFileSync(file);
    // Flip a byte in the middle of page 2 (a data page) and in both meta slots' payloads.
    bytes[2 * 4096 + 100] ^= 0xff;
    bytes[200] ^= 0xff;
    bytes[4096 + 200] ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    const r = run('dbm', 'check', damaged);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /damaged: .*corrupt/);
  });

  it('usage errors exit 2 with the usage text; missing files exit 1', () => {
    for (const args of [[], ['dbm'], ['dbm', 'frobnicate', file], ['dbm', 'stat'], ['other'], ['dbm', 'stat', file, '--bogus']]) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: wasm-session dbm/);
    }
    const missing = run('dbm', 'stat', path.join(dir, 'nope.dbm'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
  });

  it('a file that is not a dbm file is reported, not crashed on', () => {
    const text = path.join(dir, 'text.txt');
    fs.writeFileSync(text, 'hello, this is not a database\n'.repeat(100));
    const r = run('dbm', 'check', text);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not a dbm file/);
  });
});
