import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { md5, hmacMd5, createMd5, createIdSigner, MAX_SIGNED_ID_BYTES } from 'wasm-session';
import * as cryptoSubpath from 'wasm-session/crypto';
import { rng, SEED } from './helpers/index.js';

const nodeMd5 = (data) => crypto.createHash('md5').update(data).digest('hex');
const nodeHmac = (key, data) => crypto.createHmac('md5', key).update(data).digest('hex');

function randomBytes(rand, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function randomUnicode(rand, n) {
  // ASCII, 2-, 3- and 4-byte UTF-8 characters (the last as surrogate pairs).
  const pool = ['a', 'Z', '0', ' ', 'é', 'ß', 'Ж', '€', '中', '😀', '𝄞', '\u0000'];
  let s = '';
  for (let i = 0; i < n; i++) s += pool[Math.floor(rand() * pool.length)];
  return s;
}

describe('md5: RFC 1321 appendix A.5 test suite', () => {
  const vectors = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, expected] of vectors) {
    it(`MD5(${JSON.stringify(input.length > 20 ? `${input.slice(0, 20)}…` : input)})`, () => {
      assert.equal(md5(input), expected);
      assert.equal(md5(Buffer.from(input)), expected);
      assert.equal(Buffer.from(md5(input, 'buffer')).toString('hex'), expected);
      const h = createMd5();
      for (const ch of input) h.update(ch);
      assert.equal(h.digest('hex'), expected);
    });
  }
});

describe('hmacMd5: RFC 2202 test cases 1-7', () => {
  const cases = [
    [Buffer.alloc(16, 0x0b), Buffer.from('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
    [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
    [Buffer.alloc(16, 0xaa), Buffer.alloc(50, 0xdd), '56be34521d144c88dbb8c733f0e8b3f6'],
    [Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1)), Buffer.alloc(50, 0xcd), '697eaf0aca3a3aea3a75164746ffaa79'],
    [Buffer.alloc(16, 0x0c), Buffer.from('Test With Truncation'), '56461ef2342edc00f9bab995690efd4c'],
    [Buffer.alloc(80, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'],
    [Buffer.alloc(80, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'), '6f630fad67cda0ee1fb1f562db3aa53e'],
  ];
  cases.forEach(([key, data, expected], i) => {
    it(`test case ${i + 1}`, () => {
      assert.equal(hmacMd5(key, data), expected);
      assert.equal(Buffer.from(hmacMd5(key, data, 'buffer')).toString('hex'), expected);
    });
  });
  it('accepts string keys and data as UTF-8', () => {
    assert.equal(hmacMd5('Jefe', 'what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738');
    assert.equal(hmacMd5('ключ', 'данные 😀'), nodeHmac('ключ', 'данные 😀'));
  });
});

describe(`md5 and hmacMd5 against node:crypto (seed ${SEED})`, () => {
  it('one-shot md5 over random inputs of every length 0..300', () => {
    const rand = rng(SEED);
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(rand, n);
      assert.equal(md5(data), nodeMd5(data), `length ${n}`);
      assert.deepEqual(Buffer.from(md5(data, 'buffer')), crypto.createHash('md5').update(data).digest(), `length ${n}`);
    }
  });

  it('incremental md5 with random chunk sizes for every length 0..300', () => {
    const rand = rng(SEED + 1);
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(rand, n);
      const h = createMd5();
      for (let off = 0; off < n; ) {
        const size = Math.min(n - off, Math.floor(rand() * 80));
        h.update(data.subarray(off, off + size));
        off += size;
      }
      assert.equal(h.digest(), nodeMd5(data), `length ${n}`);
    }
  });

  it('md5 of a view into a larger buffer hashes only the view', () => {
    const rand = rng(SEED + 2);
    const big = randomBytes(rand, 500);
    const view = big.subarray(37, 400);
    assert.equal(md5(view), nodeMd5(view));
    assert.equal(md5(new Uint8Array(big.buffer, big.byteOffset + 3, 129)), nodeMd5(big.subarray(3, 132)));
  });

  for (const size of [1 << 20, 5 << 20]) {
    it(`md5 of ${size >> 20} MiB, one-shot and chunked`, () => {
      const data = crypto.randomBytes(size);
      const expected = nodeMd5(data);
      assert.equal(md5(data), expected);
      const rand = rng(SEED + size);
      const h = createMd5();
      for (let off = 0; off < size; ) {
        const chunk = Math.min(size - off, 1 + Math.floor(rand() * 200_000));
        h.update(data.subarray(off, off + chunk));
        off += chunk;
      }
      assert.equal(h.digest(), expected);
      assert.equal(hmacMd5('k', data), nodeHmac('k', data));
    });
  }

  it('strings with multi-byte UTF-8, short and long', () => {
    const rand = rng(SEED + 3);
    for (const n of [0, 1, 2, 3, 15, 16, 17, 21, 22, 31, 63, 64, 65, 100, 1000, 30000, 70000]) {
      const s = randomUnicode(rand, n);
      assert.equal(md5(s), nodeMd5(s), `length ${n}`);
      assert.equal(hmacMd5('sécret', s), nodeHmac('sécret', s), `length ${n}`);
      const h = createMd5();
      h.update(s.slice(0, n >> 1)).update(s.slice(n >> 1));
      // Splitting may cut a surrogate pair; node:crypto encodes halves the same way.
      assert.equal(
        h.digest(),
        crypto
          .createHash('md5')
          .update(s.slice(0, n >> 1))
          .update(s.slice(n >> 1))
          .digest('hex'),
      );
    }
  });

  it('hmacMd5 over random keys (short, 64-byte, long) and data', () => {
    const rand = rng(SEED + 4);
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(rand, [0, 1, 16, 63, 64, 65, 200][i % 7]);
      const data = randomBytes(rand, Math.floor(rand() * 300));
      assert.equal(hmacMd5(key, data), nodeHmac(key, data), `case ${i}`);
    }
  });

  it('many hashers interleaved keep separate state', () => {
    const rand = rng(SEED + 5);
    const inputs = Array.from({ length: 8 }, () => randomBytes(rand, 1000));
    const hashers = inputs.map(() => createMd5());
    for (let off = 0; off < 1000; off += 77) {
      for (const [i, h] of hashers.entries()) h.update(inputs[i].subarray(off, off + 77));
      md5('interleaved one-shot'); // must not disturb the open contexts
    }
    for (const [i, h] of hashers.entries()) assert.equal(h.digest(), nodeMd5(inputs[i]));
  });
});

describe('argument checking', () => {
  it('md5 rejects non-binary input with a TypeError', () => {
    for (const bad of [undefined, null, 42, {}, [1, 2], new ArrayBuffer(4)]) {
      assert.throws(() => md5(bad), { name: 'TypeError', message: /md5 data must be a string or a Uint8Array/ });
    }
  });
  it('rejects unknown encodings', () => {
    assert.throws(() => md5('x', 'base64'), { name: 'TypeError', message: /encoding must be 'hex' or 'buffer'/ });
    assert.throws(() => hmacMd5('k', 'x', 'latin1'), TypeError);
  });
  it('hmacMd5 checks key and data', () => {
    assert.throws(() => hmacMd5(undefined, 'x'), { name: 'TypeError', message: /key/ });
    assert.throws(() => hmacMd5('k', 5), { name: 'TypeError', message: /data/ });
  });
  it('an incremental hash cannot be used after digest()', () => {
    const h = createMd5().update('abc');
    assert.equal(h.digest(), '900150983cd24fb0d6963f7d28e17f72');
    assert.throws(() => h.update('x'), /after digest/);
    assert.throws(() => h.digest(), /after digest/);
    assert.throws(() => createMd5().update(7), TypeError);
  });
});

describe('createIdSigner', () => {
  const id = 'c0ffee00112233445566778899aabbcc';

  it("signs in Myghty's layout: 32 hex chars of HMAC-MD5(secret, id), then the id", () => {
    const signer = createIdSigner('s3cret');
    const signed = signer.sign(id);
    assert.equal(signed, nodeHmac('s3cret', id) + id);
    assert.equal(signer.unsign(signed), id);
  });

  it('round-trips random ids, including non-ASCII ones', () => {
    const rand = rng(SEED + 6);
    const signer = createIdSigner(['current', 'older']);
    for (let i = 0; i < 500; i++) {
      const anId = i % 2 ? crypto.randomBytes(16).toString('hex') : randomUnicode(rand, 1 + (i % 50));
      const signed = signer.sign(anId);
      assert.equal(signed.slice(0, 32), nodeHmac('current', anId));
      assert.equal(signer.unsign(signed), anId);
    }
  });

  it('rotation: the first secret signs, every listed secret verifies', () => {
    const oldSigner = createIdSigner('old-secret');
    const rotated = createIdSigner(['new-secret', 'old-secret']);
    const oldSigned = oldSigner.sign(id);
    assert.equal(rotated.unsign(oldSigned), id);
    const newSigned = rotated.sign(id);
    assert.equal(newSigned, nodeHmac('new-secret', id) + id);
    assert.equal(oldSigner.unsign(newSigned), false);
    assert.equal(createIdSigner('new-secret').unsign(newSigned), id);
    assert.equal(createIdSigner('unrelated').unsign(oldSigned), false);
  });

  it('changing any single character makes verification fail', () => {
    const signer = createIdSigner('s3cret');
    const signed = signer.sign(id);
    for (let i = 0; i < signed.length; i++) {
      for (const replacement of ['0', 'f', 'A', 'g', 'é', '\u0000']) {
        if (signed[i] === replacement) continue;
        const tampered = signed.slice(0, i) + replacement + signed.slice(i + 1);
        assert.equal(signer.unsign(tampered), false, `position ${i} -> ${JSON.stringify(replacement)}`);
      }
    }
  });

  it('uppercase hex and non-ASCII look-alikes of the signature are rejected', () => {
    const signer = createIdSigner('s3cret');
    const signed = signer.sign(id);
    assert.equal(signer.unsign(signed.slice(0, 32).toUpperCase() + id), /[a-f]/.test(signed.slice(0, 32)) ? false : id);
    // U+0161 has 0x61 ('a') as its low byte; a latin1 write would alias it.
    const idx = signed.search(/[a-f]/);
    if (idx >= 0 && idx < 32) {
      const alias = String.fromCharCode(0x100 | signed.charCodeAt(idx));
      assert.equal(signer.unsign(signed.slice(0, idx) + alias + signed.slice(idx + 1)), false);
    }
  });

  it('wrong lengths, garbage and non-strings give false without throwing', () => {
    const signer = createIdSigner('s3cret');
    const signed = signer.sign(id);
    const bad = [
      '',
      'x',
      signed.slice(0, 31),
      signed.slice(0, 32),
      signed.slice(0, 63),
      `${signed}x`,
      signed.slice(1),
      'z'.repeat(64),
      '\u0000'.repeat(64),
      '😀'.repeat(40),
      `g${signed.slice(1)}`,
      ` ${signed}`,
      `${signed} `,
      `${signed.slice(0, 32)}../../etc/passwd`,
      'a'.repeat(100_000),
      '€'.repeat(MAX_SIGNED_ID_BYTES),
      undefined,
      null,
      12345,
      {},
      [],
      Buffer.from(signed),
      Symbol('x'),
    ];
    for (const value of bad) assert.equal(signer.unsign(value), false, String(typeof value === 'string' ? value.slice(0, 40) : typeof value));
  });

  it('ids up to the documented limit sign; longer ones are a RangeError', () => {
    const signer = createIdSigner('s3cret');
    const longest = 'x'.repeat(MAX_SIGNED_ID_BYTES);
    assert.equal(signer.unsign(signer.sign(longest)), longest);
    assert.throws(() => signer.sign(`${longest}x`), RangeError);
    assert.throws(() => signer.sign('€'.repeat(MAX_SIGNED_ID_BYTES / 2)), RangeError);
  });

  it('rejects bad secrets and ids with TypeErrors', () => {
    for (const bad of ['', [], [''], ['ok', ''], [1], undefined, null, 7, {}]) {
      assert.throws(() => createIdSigner(bad), TypeError, `secrets ${JSON.stringify(bad)}`);
    }
    assert.throws(() => createIdSigner(''), /empty/);
    const signer = createIdSigner('k');
    for (const bad of ['', undefined, null, 5, {}]) assert.throws(() => signer.sign(bad), TypeError);
  });

  it('is also exported from wasm-session/crypto', () => {
    assert.equal(cryptoSubpath.createIdSigner, createIdSigner);
    assert.equal(cryptoSubpath.md5, md5);
    assert.equal(cryptoSubpath.hmacMd5('Jefe', 'what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738');
  });
});
