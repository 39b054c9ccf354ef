// Transactions: several changes, one commit, exclusive lock held; a throw rolls back.
// Run: node examples/dbm-transaction.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dbm } from 'wasm-session/dbm';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-example-'));
const db = await Dbm.open(path.join(dir, 'accounts.dbm'), { flag: 'c', sync: 'commit' });
await db.transaction((tx) => {
  tx.set('alice', 100);
  tx.set('bob', 0);
});

// Move 30 from alice to bob atomically; tx methods are synchronous.
await db.transaction((tx) => {
  tx.set('alice', tx.get('alice') - 30);
  tx.set('bob', tx.get('bob') + 30);
});

// A failed transaction writes nothing.
await db
  .transaction((tx) => {
    tx.set('alice', tx.get('alice') - 1000);
    if (tx.get('alice') < 0) throw new Error('insufficient funds');
  })
  .catch((err) => console.log('rolled back:', err.message));

console.log('alice', await db.get('alice'), 'bob', await db.get('bob'));
console.log('check:', (await db.check()).ok);
await db.close();
fs.rmSync(dir, { recursive: true });
