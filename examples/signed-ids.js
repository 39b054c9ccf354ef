// secret: the cookie carries HMAC-MD5(secret, id) then the id, so a client
// cannot pick ids. An array rotates secrets: the first signs, all verify.
import { Session } from 'wasm-session';

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

const res = fakeResponse();
const session = await Session.open({ headers: {} }, res, { type: 'memory', secret: 'old secret' });
session.set('user', 'ann');
await session.save();
const cookie = res.headers['set-cookie'][0].split(';')[0];
console.log(`cookie value: 32 hex of signature + the id (${cookie.split('=')[1].length} chars)`);

// After rotating to ['new secret', 'old secret'] the old cookie still works...
const rotated = await Session.open({ headers: { cookie } }, fakeResponse(), { type: 'memory', secret: ['new secret', 'old secret'] });
console.log(`with the old signature: user = ${rotated.get('user')}`);
// ...while a forged or tampered value is just no session.
const forged = `myghty_session_id=${'0'.repeat(32)}${session.id}`;
const other = await Session.open({ headers: { cookie: forged } }, fakeResponse(), { type: 'memory', secret: 'old secret' });
console.log(`with a forged signature: new session = ${other.isNew}, user = ${other.get('user')}`);
