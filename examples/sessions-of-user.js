// "Log out my other devices": a login binds the session to the user with
// setOwner() (what it records is shown back to the user); listSessions()
// lists the user's live sessions (id prefixes only: full ids are
// credentials) and revokeSessions() ends them at once. A request in flight
// on a revoked session cannot bring it back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session, listSessions, revokeSessions } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-owners-'));
const options = { dataDir, useCookies: false };

/** A login on some device: data, the owner, a new id (regenerateId at login), saved. */
async function login(user, userAgent) {
  const session = await Session.open(undefined, undefined, options);
  session.set('user', user);
  session.setOwner(user, { userAgent });
  await session.regenerateId();
  await session.save();
  return session;
}
const laptop = await login('ann', 'Firefox on Linux');
const phone = await login('ann', 'Safari on iPhone');
await login('ann', 'Chrome on Android');
await login('bob', 'Edge on Windows');

for (const s of await listSessions('ann', options, { current: laptop.id })) {
  console.log(`${s.current ? '*' : ' '} ${s.idPrefix.replace(/./g, 'x')}… ${s.info.userAgent}`);
}
// A request of the phone is in flight while the laptop logs out everywhere else.
const inFlight = await Session.open(undefined, undefined, { ...options, id: phone.id });
const ended = await revokeSessions('ann', options, { except: laptop.id });
console.log(`logged out ${ended} other session(s)`);
inFlight.set('cart', ['late']);
console.log(`the phone's request saves: ${await inFlight.save()}, and is a new session: ${inFlight.isNew}`);
console.log(`ann's sessions now: ${(await listSessions('ann', options)).length}; bob's: ${(await listSessions('bob', options)).length}`);
fs.rmSync(dataDir, { recursive: true, force: true });
