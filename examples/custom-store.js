// namespaceClass: your own store. The required methods are load, save and
// remove; touch, lock/unlock and close are optional (see the
// NamespaceManager contract in the README). Values arrive msgpack-encoded.
import { Session } from 'wasm-session';

const db = new Map(); // stands in for Redis, SQL, ...

class MapStore {
  constructor(id, options) {
    this.id = id; // always a validated 32-hex id
    this.prefix = options.namespaceOptions.prefix ?? 'sess:';
  }

  async load(accessed) {
    const row = db.get(this.prefix + this.id);
    if (!row) return null;
    const stored = { data: new Map(row.data), created: row.created, accessed: row.accessed };
    row.accessed = accessed; // record this access
    return stored;
  }

  async save({ set, delete: deleted, created, accessed }) {
    const row = db.get(this.prefix + this.id) ?? { data: new Map() };
    for (const key of deleted) row.data.delete(key); // merge: keys not mentioned are kept
    for (const [key, bytes] of set) row.data.set(key, bytes);
    Object.assign(row, { created, accessed });
    db.set(this.prefix + this.id, row);
    console.log(`  store.save: set [${[...set.keys()]}], delete [${[...deleted]}]`);
  }

  async remove() {
    db.delete(this.prefix + this.id);
  }
}

const fakeResponse = () => {
  const headers = {};
  return {
    headersSent: false,
    getHeader: (n) => headers[n],
    setHeader: (n, v) => {
      headers[n] = v;
    },
    headers,
  };
};
const options = { namespaceClass: MapStore, namespaceOptions: { prefix: 'app1:' } };

const res = fakeResponse();
const a = await Session.open({ headers: {} }, res, options);
a.set('user', 'ann').set('cart', ['apple']);
console.log('first save:');
await a.save();
const cookie = res.headers['set-cookie'][0].split(';')[0];

const b = await Session.open({ headers: { cookie } }, fakeResponse(), options);
b.get('cart').push('pear'); // an in-place change is detected
console.log('second save (only what changed):');
await b.save();
console.log(`stored keys: ${[...db.get(`app1:${a.id}`).data.keys()].join(', ')}`);

try {
  await b.lock();
} catch (err) {
  console.log(`lock() without store support: ${err.code}`);
}
try {
  new Session({ headers: {} }, fakeResponse(), {
    namespaceClass: class Incomplete {
      async load() {}
    },
  });
} catch (err) {
  console.log(`incomplete store: ${err.message}`);
}
