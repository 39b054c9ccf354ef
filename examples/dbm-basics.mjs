// The dbm store on its own: open (creating), set, get, iterate, close.
// Run: node examples/dbm-basics.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-example-'));
const file = path.join(dir, 'example.dbm');

const db = await Dbm.open(file, { flag: 'c' }); // 'r' read-only, 'w' read-write, 'c' create, 'n' new
await db.set('user', { name: 'Ada', roles: new Set(['admin']), since: new Date(0) });
await db.set('visits', 41);
await db.set('visits', (await db.get('visits')) + 1);
console.log('visits:', await db.get('visits'));
console.log('roles has admin:', (await db.get('user')).roles.has('admin'));
console.log('size:', db.size, 'has missing:', await db.has('missing'));
for await (const [key, value] of db.entries()) console.log('entry:', key, JSON.stringify(value));
await db.delete('visits');
await db.close();

// Reopen read-only: writes are refused with DbmReadOnlyError.
const ro = await Dbm.open(file);
console.log('after reopen:', [...(await ro.getAll()).keys()].join(','));
await ro.set('x', 1).catch((err) => console.log('read-only:', err.name));
await ro.close();
fs.rmSync(dir, { recursive: true });
