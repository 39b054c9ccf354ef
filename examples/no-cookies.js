// useCookies: false: the id travels some other way (here: in the URL), so
// no response object is needed. With a secret, URLs carry session.externalId.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-nocookies-'));
const options = { dataDir, useCookies: false, secret: 'url secret' };

const first = await Session.open(undefined, undefined, options);
first.set('step', 1);
await first.save();
const link = `/wizard?sid=${first.externalId}`;
console.log(`link carries the signed id: ${link.length - '/wizard?sid='.length} chars`);

const sid = new URL(link, 'http://127.0.0.1').searchParams.get('sid');
const next = await Session.open(undefined, undefined, { ...options, id: sid });
console.log(`same session: ${next.id === first.id}, step = ${next.get('step')}`);
// The bare id (session.id) is accepted as well, as Myghty documented it for URLs.
const bare = await Session.open(undefined, undefined, { ...options, id: first.id });
console.log(`bare id, same session: ${bare.id === first.id}`);
const tampered = await Session.open(undefined, undefined, { ...options, id: `${sid.slice(0, -1)}${sid.endsWith('0') ? '1' : '0'}` });
console.log(`tampered id gives a new session: ${tampered.isNew}`);
fs.rmSync(dataDir, { recursive: true, force: true });
