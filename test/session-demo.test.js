// The demo server (`npm start`) as a child process on a free loopback port,
// driven with real requests: the visit counter counts, login changes the id
// cookie and keeps the data, logout issues a new id and drops the data, the
// user's other sessions are listed and logged out everywhere else.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Children, ROOT, tempDir } from './helpers/index.js';
import { CookieJar, freePort, parseSetCookie, sessionFiles } from './helpers/http.js';

const DEMO = path.join(ROOT, 'demo/server.js');
const pick = (html, id) => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];

describe('demo server (npm start)', function () {
  this.timeout(30000);
  const children = new Children();
  let dataDir;
  let demo;

  before(async () => {
    dataDir = tempDir('demo').dir;
    demo = await children.start(DEMO, { env: { PORT: '0', DATA_DIR: dataDir } });
  });
  after(async () => {
    await children.stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts visits in one session, with a signed HttpOnly SameSite=Lax cookie sent once', async () => {
    const jar = new CookieJar(demo.url);
    const first = await jar.request('/');
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type'), /text\/html/);
    assert.equal(pick(first.text, 'visits'), '1');
    assert.equal(first.setCookie.length, 1);
    const c = parseSetCookie(first.setCookie[0]);
    assert.equal(c.name, 'myghty_session_id');
    assert.match(c.value, /^[0-9a-f]{64}$/, 'signed: signature then id');
    assert.deepEqual(c.attrs, { path: '/', httponly: true, samesite: 'Lax' });
    const id = pick(first.text, 'session-id');
    assert.equal(c.value.slice(32), id);
    assert.equal(pick(first.text, 'is-new'), 'true');

    const second = await jar.request('/');
    assert.equal(pick(second.text, 'visits'), '2');
    assert.equal(pick(second.text, 'session-id'), id);
    assert.equal(pick(second.text, 'is-new'), 'false');
    assert.deepEqual(second.setCookie, []);
    assert.ok(Date.parse(pick(second.text, 'created')) <= Date.parse(pick(second.text, 'accessed')));
    assert.deepEqual(sessionFiles(dataDir), [`${id.slice(0, 2)}/${id.slice(2, 4)}/${id}.dbm`]);
  });

  it('login changes the id cookie and keeps the data; the old id is worthless; logout starts over with a new id', async () => {
    const jar = new CookieJar(demo.url);
    await jar.request('/');
    await jar.request('/');
    const oldCookie = jar.header();
    const oldId = (await jar.request('/session.json')).json.id;

    const login = await jar.request('/login', { method: 'POST', body: 'name=Ann+%3Cb%3E', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/');
    assert.equal(login.setCookie.length, 1);
    const newId = parseSetCookie(login.setCookie[0]).value.slice(32);
    assert.notEqual(newId, oldId);

    const home = await jar.request('/');
    assert.equal(pick(home.text, 'session-id'), newId);
    assert.equal(pick(home.text, 'visits'), '3', 'the counter survived the id change');
    assert.equal(pick(home.text, 'user'), 'Ann &lt;b&gt;', 'the name, escaped');
    assert.equal(pick(home.text, 'flash'), 'Welcome, Ann &lt;b&gt;. Your session id changed.');
    assert.equal(fs.existsSync(path.join(dataDir, oldId.slice(0, 2), oldId.slice(2, 4), `${oldId}.dbm`)), false);

    // Someone holding the pre-login cookie gets nothing.
    const thief = await fetch(`${demo.url}/session.json`, { headers: { cookie: oldCookie } }).then((r) => r.json());
    assert.notEqual(thief.id, oldId);
    assert.equal(thief.user, null);
    assert.equal(thief.visits, 0);

    const logout = await jar.request('/logout', { method: 'POST' });
    assert.equal(logout.status, 303);
    assert.equal(logout.setCookie.length, 1, 'the expiry is replaced by the new cookie');
    const afterId = parseSetCookie(logout.setCookie[0]).value.slice(32);
    assert.notEqual(afterId, newId);
    const out = await jar.request('/');
    assert.equal(pick(out.text, 'session-id'), afterId);
    assert.equal(pick(out.text, 'visits'), '1');
    assert.doesNotMatch(out.text, /Logged in as/);
    assert.equal(pick(out.text, 'flash'), 'Logged out: this is a new session.');
    assert.equal(fs.existsSync(path.join(dataDir, newId.slice(0, 2), newId.slice(2, 4), `${newId}.dbm`)), false);
  });

  it("lists the user's other sessions (prefixes, user agents) and logs them out everywhere else", async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const login = async (jar, ua) => {
      await jar.request('/', { headers: { 'user-agent': ua } });
      await jar.request('/login', { method: 'POST', body: 'name=Zoe', headers: { ...form, 'user-agent': ua } });
      return (await jar.request('/session.json')).json.id;
    };
    const laptop = new CookieJar(demo.url);
    const phone = new CookieJar(demo.url);
    const laptopId = await login(laptop, 'Laptop/1.0');
    const phoneId = await login(phone, 'Phone/<b>2.0');
    const page = (await laptop.request('/')).text;
    assert.equal(pick(page, 'others-count'), '1');
    assert.ok(page.includes(`<code class="prefix">${phoneId.slice(0, 8)}…</code> Phone/&lt;b&gt;2.0`), 'prefix and the escaped user agent');
    assert.ok(!page.includes(phoneId), 'never the full id');
    const stranger = new CookieJar(demo.url);
    await login(stranger, 'Other');
    await stranger.request('/login', { method: 'POST', body: 'name=Yan', headers: form });
    assert.equal(pick((await laptop.request('/')).text, 'others-count'), '1', "another user's sessions are not listed");

    const out = await laptop.request('/logout-others', { method: 'POST' });
    assert.equal(out.status, 303);
    const after = await laptop.request('/');
    assert.equal(pick(after.text, 'flash'), 'Logged out 1 other session(s).');
    assert.equal(pick(after.text, 'user'), 'Zoe');
    assert.equal(pick(after.text, 'session-id'), laptopId);
    assert.match(after.text, /id="no-other-sessions"/);
    const phoneNow = (await phone.request('/session.json')).json;
    assert.equal(phoneNow.user, null, 'the phone is logged out');
    assert.notEqual(phoneNow.id, phoneId);
    assert.equal(fs.existsSync(path.join(dataDir, phoneId.slice(0, 2), phoneId.slice(2, 4), `${phoneId}.dbm`)), false);
  });

  it('rejects an empty or overlong name without changing the session', async () => {
    const jar = new CookieJar(demo.url);
    await jar.request('/');
    const id = (await jar.request('/session.json')).json.id;
    for (const body of ['name=', `name=${'x'.repeat(41)}`]) {
      const r = await jar.request('/login', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.status, 400);
    }
    const state = (await jar.request('/session.json')).json;
    assert.equal(state.id, id);
    assert.equal(state.user, null);
  });

  it('listens on the PORT it is given, on 127.0.0.1', async () => {
    const port = await freePort();
    const other = await children.start(DEMO, { env: { PORT: String(port), DATA_DIR: dataDir } });
    assert.equal(other.port, port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/session.json`)).status, 200);
  });
});
