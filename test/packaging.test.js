import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = path.join(root, 'test/fixtures/consumer');

// A consumer project outside this package, with wasm-session linked into its
// node_modules the way npm links a dependency.
function makeConsumer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-consumer-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules/wasm-session'), 'dir');
  for (const f of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
  return dir;
}

describe('packaging', () => {
  let dir;
  before(() => {
    dir = makeConsumer();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const expected = { md5: '900150983cd24fb0d6963f7d28e17f72', sameExport: true, unsign: 'an-id' };

  it('imports from an ES module', () => {
    const out = execFileSync(process.execPath, ['consumer.mjs'], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), expected);
  });

  it('requires from CommonJS without warnings', () => {
    const res = spawnSync(process.execPath, ['consumer.cjs'], { cwd: dir, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), expected);
    assert.equal(res.stderr, '');
  });

  it('ships TypeScript types that accept correct use and reject misuse', function () {
    this.timeout(120000);
    const tsc = path.join(root, 'node_modules/.bin/tsc');
    const common = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--typeRoots',
      path.join(root, 'node_modules/@types'),
    ];
    const good = spawnSync(tsc, [...common, 'consumer.ts'], { cwd: dir, encoding: 'utf8' });
    assert.equal(good.status, 0, good.stdout + good.stderr);
    const bad = spawnSync(tsc, [...common, 'consumer-bad.ts'], { cwd: dir, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    const errors = bad.stdout.match(/consumer-bad\.ts\(\d+,\d+\): error/g) ?? [];
    assert.equal(errors.length, 3, bad.stdout);
  });

  it('types the framework entry points: req.session on Express, request.session on Fastify, SessionData by declaration merging, WasmSessionStore as an express-session Store', function () {
    this.timeout(180000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-session-consumer-fw-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      for (const name of ['wasm-session', 'express', 'fastify', 'express-session', '@types']) {
        fs.symlinkSync(name === 'wasm-session' ? root : path.join(root, 'node_modules', name), path.join(dir, 'node_modules', name), 'dir');
      }
      const source = path.join(root, 'test/fixtures/consumer-frameworks');
      for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
      const tsc = path.join(root, 'node_modules/.bin/tsc');
      const common = [
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--skipLibCheck',
      ];
      // express-session's own types declare req.session too: the store is compiled apart from the middleware.
      for (const good of ['express.ts', 'store.ts']) {
        const r = spawnSync(tsc, [...common, good], { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, `${good}: ${r.stdout}${r.stderr}`);
      }
      const bad = spawnSync(tsc, [...common, 'express-bad.ts'], { cwd: dir, encoding: 'utf8' });
      const errors = bad.stdout.match(/express-bad\.ts\((\d+),\d+\): error/g) ?? [];
      assert.equal(errors.length, 3, bad.stdout);
      const lines = errors.map((e) => Number(/\((\d+),/.exec(e)[1]));
      const marked = fs
        .readFileSync(path.join(dir, 'express-bad.ts'), 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.includes('// error') ? [i + 1] : []));
      assert.deepEqual(lines, marked, bad.stdout);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps a wasm trap to a WasmTrapError naming the operation', async () => {
    const { trap } = await import(path.join(root, 'dist/wasm.js'));
    const { WasmTrapError } = await import('wasm-session');
    // A real trap: a module whose only function is `unreachable`.
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11]);
    const { f } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    let caught;
    try {
      f();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof WebAssembly.RuntimeError);
    assert.throws(
      () => trap('md5', caught),
      (err) => err instanceof WasmTrapError && err.operation === 'md5' && /trap in md5/.test(err.message) && err.cause === caught,
    );
    const other = new TypeError('not a trap');
    assert.throws(
      () => trap('md5', other),
      (err) => err === other,
    );
  });
});
