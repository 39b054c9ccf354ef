// The wasm-session demo: `npm start`, then open http://127.0.0.1:3000/.
//
// A plain node:http server with sessions in dbm files under ./data
// (DATA_DIR to change it): a visit counter, a login form that calls
// regenerateId() (so a session id planted before login is worthless after
// it), and a logout that calls invalidate(). The page shows the session's
// id, creation and last-access times. GET /session.json shows the same as JSON.
// A login binds the session to the user (setOwner()), so the page lists the
// user's other sessions (listSessions()) with a button that logs them all out
// (revokeSessions()).

import http from 'node:http';
import path from 'node:path';
import { Session, listSessions, revokeSessions } from 'wasm-session';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = '127.0.0.1';
const sessionOptions = {
  dataDir: path.resolve(process.env.DATA_DIR ?? 'data'),
  // Signed ids: a cookie value is the HMAC-MD5 signature, then the id.
  secret: process.env.SESSION_SECRET ?? 'wasm-session demo secret: set SESSION_SECRET in real use',
  timeout: 30 * 60, // idle sessions end after 30 minutes...
  maxLifetime: 24 * 60 * 60, // ...and every session after a day
};

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw Object.assign(new Error('form too large'), { status: 413 });
  }
  return new URLSearchParams(body);
}

function redirectHome(res) {
  res.writeHead(303, { location: '/' });
  res.end();
}

/** The user's other sessions, as a list with a button that ends them all. */
function otherSessions(others) {
  if (others.length === 0) return '<p id="no-other-sessions">No other sessions of yours.</p>';
  const items = others
    .map(
      (s) =>
        `<li class="other-session"><code class="prefix">${escapeHtml(s.idPrefix)}…</code> ${escapeHtml(s.info.userAgent ?? 'unknown browser')}, logged in ${escapeHtml(s.since.toISOString())}, last seen ${escapeHtml(s.accessed.toISOString())}</li>`,
    )
    .join('\n');
  return `<p>Your other sessions (<span id="others-count">${others.length}</span>):</p>
<ul id="other-sessions">
${items}
</ul>
<form method="post" action="/logout-others"><button id="logout-others" type="submit">Log out everywhere else</button></form>`;
}

function page(session, flash, others) {
  const user = session.get('user');
  const visits = session.get('visits');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wasm-session demo</title>
<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:2em auto}dt{font-weight:bold}code{background:#eee;padding:0 .2em}</style></head>
<body>
<h1>wasm-session demo</h1>
${flash ? `<p><strong id="flash">${escapeHtml(flash)}</strong></p>` : ''}
<p>Visits in this session: <strong id="visits">${visits}</strong></p>
${
  user
    ? `<p>Logged in as <strong id="user">${escapeHtml(user)}</strong></p>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
${otherSessions(others)}`
    : `<form method="post" action="/login">
<label>Name <input id="name" name="name" required maxlength="40"></label>
<button id="login" type="submit">Log in</button></form>`
}
<dl>
<dt>Session id</dt><dd><code id="session-id">${session.id}</code></dd>
<dt>Created</dt><dd id="created">${session.created.toISOString()}</dd>
<dt>Last accessed before this request</dt><dd id="accessed">${session.accessed.toISOString()}</dd>
<dt>New in this request</dt><dd id="is-new">${session.isNew}</dd>
<dt>File</dt><dd><code>${escapeHtml(path.relative(process.cwd(), session.namespace.file.path))}</code></dd>
</dl>
<p>Log in: the session keeps its data under a new id (<code>regenerateId()</code>) and is bound to you
(<code>setOwner()</code>): log in under the same name in another browser and each lists the other.
Log out: the session is thrown away and a new one starts (<code>invalidate()</code>).
Log out everywhere else: your other sessions end at once (<code>revokeSessions()</code>).</p>
</body></html>`;
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  const session = await Session.open(req, res, sessionOptions);

  if (req.method === 'POST' && url.pathname === '/login') {
    const name = (await readForm(req)).get('name')?.trim() ?? '';
    if (name.length === 0 || name.length > 40) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('A name of 1 to 40 characters, please.');
    }
    session.set('user', name);
    session.set('flash', `Welcome, ${name}. Your session id changed.`);
    // Bound to the user: listSessions() and revokeSessions() find it. What is recorded is shown to the user.
    session.setOwner(name, { userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300) });
    await session.regenerateId(); // writes the data under the new id and sends its cookie
    return redirectHome(res);
  }
  if (req.method === 'POST' && url.pathname === '/logout') {
    await session.invalidate(); // old storage removed, new id, no data
    session.set('flash', 'Logged out: this is a new session.');
    await session.save();
    return redirectHome(res);
  }
  if (req.method === 'POST' && url.pathname === '/logout-others') {
    const user = session.get('user');
    if (user) {
      const ended = await revokeSessions(user, sessionOptions, { except: session.id });
      session.set('flash', `Logged out ${ended} other session(s).`);
      await session.save();
    }
    return redirectHome(res);
  }
  if (req.method === 'GET' && url.pathname === '/session.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({
        id: session.id,
        isNew: session.isNew,
        created: session.created,
        accessed: session.accessed,
        visits: session.get('visits') ?? 0,
        user: session.get('user') ?? null,
      }),
    );
  }
  if (req.method === 'GET' && url.pathname === '/') {
    session.set('visits', (session.get('visits') ?? 0) + 1);
    const flash = session.get('flash');
    session.remove('flash');
    await session.save(); // before the body: a first save sends the cookie
    const user = session.get('user');
    const others = user ? (await listSessions(user, sessionOptions, { current: session.id })).filter((s) => !s.current) : [];
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(page(session, flash, others));
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(err.status ?? 500, { 'content-type': 'text/plain' });
    res.end(err.status ? err.message : 'internal error');
  });
});
server.listen(PORT, HOST, () => {
  console.log(`wasm-session demo listening on http://${HOST}:${server.address().port}/ (sessions in ${sessionOptions.dataDir})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
