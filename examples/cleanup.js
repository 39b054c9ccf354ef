// Old sessions are removed from outside, by modification time: every load
// and save writes a session's file, so its mtime is its last access. From a
// shell: find <dataDir> -name '*.dbm' -mmin +60 -delete. The same in Node:
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'wasm-session';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-cleanup-'));
const fake = () => ({ headersSent: false, getHeader() {}, setHeader() {} });
const files = [];
for (let i = 0; i < 3; i++) {
  const s = await Session.open({ headers: {} }, fake(), { dataDir });
  s.set('i', i);
  await s.save();
  files.push(s.namespace.file.path);
}
// Pretend the first two were last used two hours ago.
const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
for (const f of files.slice(0, 2)) fs.utimesSync(f, twoHoursAgo, twoHoursAgo);

/** Deletes session files not accessed for `minutes`; returns how many. */
function removeIdle(dir, minutes) {
  let removed = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.dbm')) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (Date.now() - fs.statSync(file).mtimeMs > minutes * 60_000) {
      fs.unlinkSync(file);
      removed++;
    }
  }
  return removed;
}
console.log(`layout: <dataDir>/${path.relative(dataDir, files[0]).replace(/[0-9a-f]{32}/, '<id>')}`);
console.log(`removed ${removeIdle(dataDir, 60)} idle session(s), ${files.filter((f) => fs.existsSync(f)).length} left`);
fs.rmSync(dataDir, { recursive: true, force: true });
