// Crypto suite: id signing/verification and MD5 against node:crypto and
// hash-wasm, in one run.

import crypto from 'node:crypto';
import { md5 as hashWasmMd5 } from 'hash-wasm';
import { md5, createIdSigner } from 'wasm-session';
import { runGroup as runGroupWith, versionOf } from '../lib/harness.js';
import { currentReport } from '../lib/report.js';
import { MIN_TIME } from '../lib/scenario.js';

// benchmark.js's own maxTime (5 s) at the default, scaled with BENCH_MIN_TIME like every suite.
const runGroup = (group) => runGroupWith(group, { minTime: MIN_TIME, maxTime: 5 * MIN_TIME });

export const title = 'crypto';

export function versions() {
  return { 'hash-wasm': versionOf('hash-wasm'), 'node:crypto (OpenSSL)': process.versions.openssl };
}

export async function run() {
  const secret = 'a-long-enough-server-secret-0123456789';
  const id = crypto.randomBytes(16).toString('hex');
  const signer = createIdSigner(secret);
  const signed = signer.sign(id);
  const signedSha = crypto.createHmac('sha256', secret).update(id).digest('hex') + id;

  // Each case returns or accumulates something so no work can be elided.
  let sink = 0;
  const sign = await runGroup({
    title: 'sign a 32-hex-char session id',
    cases: [
      {
        name: "crypto.createHmac('md5')",
        baseline: true,
        fn: () => {
          sink += crypto.createHmac('md5', secret).update(id).digest('hex').length;
        },
      },
      {
        name: "crypto.createHmac('sha256')",
        fn: () => {
          sink += crypto.createHmac('sha256', secret).update(id).digest('hex').length;
        },
      },
      {
        name: 'wasm-session signer.sign',
        fn: () => {
          sink += signer.sign(id).length;
        },
      },
    ],
  });

  const verify = await runGroup({
    title: 'verify a signed 32-hex-char session id',
    cases: [
      {
        name: "crypto.createHmac('md5') + timingSafeEqual",
        baseline: true,
        fn: () => {
          const mac = crypto.createHmac('md5', secret).update(signed.slice(32)).digest();
          sink += crypto.timingSafeEqual(mac, Buffer.from(signed.slice(0, 32), 'hex')) ? 1 : 0;
        },
      },
      {
        name: "crypto.createHmac('sha256') + timingSafeEqual",
        fn: () => {
          const mac = crypto.createHmac('sha256', secret).update(signedSha.slice(64)).digest();
          sink += crypto.timingSafeEqual(mac, Buffer.from(signedSha.slice(0, 64), 'hex')) ? 1 : 0;
        },
      },
      {
        name: 'wasm-session signer.unsign',
        fn: () => {
          sink += signer.unsign(signed) ? 1 : 0;
        },
      },
    ],
  });

  const small = crypto.randomBytes(32);
  const small32 = await runGroup({
    title: 'md5 of 32 bytes (hex)',
    cases: [
      {
        name: "crypto.hash('md5')",
        baseline: true,
        fn: () => {
          sink += crypto.hash('md5', small).length;
        },
      },
      {
        name: "crypto.createHash('md5')",
        fn: () => {
          sink += crypto.createHash('md5').update(small).digest('hex').length;
        },
      },
      {
        name: 'wasm-session md5',
        fn: () => {
          sink += md5(small).length;
        },
      },
    ],
  });

  const large = crypto.randomBytes(1 << 20);
  const big = await runGroup({
    title: 'md5 of 1 MiB (hex)',
    cases: [
      {
        name: "crypto.hash('md5')",
        baseline: true,
        fn: () => {
          sink += crypto.hash('md5', large).length;
        },
      },
      {
        name: "crypto.createHash('md5')",
        fn: () => {
          sink += crypto.createHash('md5').update(large).digest('hex').length;
        },
      },
      {
        name: `hash-wasm md5 ${versionOf('hash-wasm')}`,
        defer: true,
        fn: async () => {
          sink += (await hashWasmMd5(large)).length;
        },
      },
      {
        name: 'wasm-session md5',
        fn: () => {
          sink += md5(large).length;
        },
      },
    ],
  });
  const report = currentReport();
  if (report) {
    report.measuredNote = 'Measured ratio: ops/s ratios from the tables (cases measured one after the other).';
    const ours = (results) => results.find((r) => r.name.startsWith('wasm-session'));
    const target = (text, results, bound, ref = results.find((r) => r.baseline)) =>
      report.addTarget({
        target: text,
        kind: 'speed',
        bound,
        measured: ours(results).hz / ref.hz,
        detail: `${Math.round(ours(results).hz).toLocaleString('en-US')} vs ${Math.round(ref.hz).toLocaleString('en-US')} ops/s (${ref.name})`,
        row: { group: results.title, case: ours(results).name, reference: ref.name },
      });
    target("sign a 32-char id >= 4x crypto.createHmac('md5')", sign, 4);
    target('verify a 32-char id >= 4x', verify, 4);
    target("md5 of 32 bytes >= crypto.hash('md5')", small32, 1);
    target("md5 of 1 MiB >= 0.85x crypto.hash('md5')", big, 0.85);
    target(
      'md5 of 1 MiB >= hash-wasm',
      big,
      1,
      big.find((r) => r.name.startsWith('hash-wasm')),
    );
  }
  if (sink === 0) console.log('(unreachable)');
}
