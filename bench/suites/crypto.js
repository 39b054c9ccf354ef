// Crypto suite: id signing/verification and MD5 against node:crypto and
// hash-wasm, in one run.

import crypto from 'node:crypto';
import { md5 as hashWasmMd5 } from 'hash-wasm';
import { md5, createIdSigner } from 'wasm-session';
import { runGroup, versionOf } from '../lib/harness.js';

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
  await runGroup({
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

  await runGroup({
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
  await runGroup({
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
  await runGroup({
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
  if (sink === 0) console.log('(unreachable)');
}
