// The README's dbm examples are real programs: run each and check its output.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const example = (name) =>
  execFileSync(process.execPath, [fileURLToPath(new URL(`../examples/${name}`, import.meta.url))], { encoding: 'utf8', timeout: 30000 });

describe('README dbm examples', () => {
  it('dbm-basics.mjs', () => {
    const out = example('dbm-basics.mjs');
    assert.match(out, /^visits: 42$/m);
    assert.match(out, /^roles has admin: true$/m);
    assert.match(out, /^size: 2 has missing: false$/m);
    assert.match(out, /^after reopen: user$/m);
    assert.match(out, /^read-only: DbmReadOnlyError$/m);
  });

  it('dbm-transaction.mjs', () => {
    const out = example('dbm-transaction.mjs');
    assert.match(out, /^rolled back: insufficient funds$/m);
    assert.match(out, /^alice 70 bob 30$/m);
    assert.match(out, /^check: true$/m);
  });
});
