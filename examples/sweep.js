// Removing idle and old sessions: sweep() is what `npx wasm-session gc`
// runs. It decides by the times stored in each session (not the file's
// mtime), never removes one in use, and removes the directories and owner
// index entries it leaves empty. sweep(sessionOptions) takes idle and
// maxAge from the application's timeout and maxLifetime. startSweeper()
// does it in the application's process, for servers without cron.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session, startSweeper, sweep } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-sweep-'));
const app = { dataDir, useCookies: false }; // (an app with timeout and maxLifetime would end these itself on load)
const HOUR = 3_600_000;
const now = Date.now();

/** A session used at each of `times` (ms), the first one creating it. */
async function used(...times) {
  let id;
  for (const at of times) {
    const s = await Session.open(undefined, undefined, { ...app, id, now: () => at });
    s.set('at', at);
    await s.save();
    id = s.id;
  }
  return id;
}
await used(now - 2 * HOUR); // idle for 2 hours: over the 30-minute timeout
await used(now - 48 * HOUR, now - 60_000); // used a minute ago, but created 2 days ago: over maxLifetime
await used(now - 60_000); // live
const busy = await used(now - 2 * HOUR); // idle, but a request holds it locked right now
const holder = await Session.open(undefined, undefined, { ...app, id: busy, now: () => now - 2 * HOUR });
await holder.lock();

// The same as sweep({ ...sessionOptions }) with timeout: 1800 and maxLifetime: 86400.
const options = { ...app, idle: '30m', maxAge: '1d' };
const dry = await sweep({ ...options, dryRun: true });
console.log(`dry run: ${dry.removed} of ${dry.scanned} would go`);
const r = await sweep(options);
console.log(`removed ${r.removed}, kept ${r.kept}, skipped ${r.skipped} (in use)`);
await holder.unlock();
console.log(`next time: removed ${(await sweep(options)).removed}`);

// In the application's process: every `every`, never two at once, the timer unref'd.
const stop = startSweeper({ ...options, every: '10m', onSweep: (result) => console.log(`swept: ${result.removed} removed`) });
await stop();
console.log('from cron: npx wasm-session gc <dataDir> --idle 30m --max-age 1d');
fs.rmSync(dataDir, { recursive: true, force: true });
