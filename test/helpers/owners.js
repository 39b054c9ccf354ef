// What the owner tests (session-owners, redis-owners) share: opening a
// session without an HTTP request, a login as an application does it, and
// the owner hash computed here, independently of src/session/owner.ts, so a
// test fails if the store's layout drifts from what FORMAT.md and REDIS.md say.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Session } from 'wasm-session';

/** Session.open() without a request or response; `id` opens that session. */
export const openSession = (options, id) => Session.open(undefined, undefined, id === undefined ? options : { ...options, id });

/** A login: data, the owner (with `info`), a new id, saved. Resolves to the session. */
export async function login(options, user, info = {}) {
  const s = await openSession(options);
  s.set('user', user);
  s.setOwner(user, info);
  await s.regenerateId();
  assert.equal(await s.save(), true);
  return s;
}

/** The owner index's name for `owner`: the first 32 hex characters of SHA-256 of its UTF-8 bytes. */
export const ownerHashOf = (owner) => crypto.createHash('sha256').update(owner, 'utf8').digest('hex').slice(0, 32);
