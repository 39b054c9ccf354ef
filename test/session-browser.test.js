// The demo in a real browser: Debian's Chromium (headless, driven by
// playwright-core) clicks through the visit counter, login and logout, and
// the cookie the browser stored is checked (HttpOnly, SameSite=Lax, Path=/).
// Skipped when /usr/bin/chromium is not installed (apt-get install chromium).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Children, ROOT, tempDir } from './helpers/index.js';

const CHROMIUM = '/usr/bin/chromium';
const DEMO = path.join(ROOT, 'demo/server.js');

describe('demo in headless Chromium', function () {
  this.timeout(90000);
  const children = new Children();
  let browser;
  let dataDir;
  let profileDir;
  let demo;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      this.skip();
    }
    const { chromium } = await import('playwright-core');
    dataDir = tempDir('browser-data').dir;
    profileDir = tempDir('browser-profile').dir;
    demo = await children.start(DEMO, { env: { PORT: '0', DATA_DIR: dataDir } });
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await children.stopAll();
    for (const dir of [dataDir, profileDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts visits, logs in under a new id, logs out into a new session; the stored cookie is HttpOnly, SameSite=Lax, Path=/', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${demo.url}/`);
    assert.equal(await page.textContent('#visits'), '1');
    const firstId = await page.textContent('#session-id');
    await page.reload();
    assert.equal(await page.textContent('#visits'), '2');
    assert.equal(await page.textContent('#session-id'), firstId);

    const [cookie] = await browser.cookies(demo.url);
    assert.equal(cookie.name, 'myghty_session_id');
    assert.equal(cookie.value.slice(32), firstId);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.expires, -1, 'a browser-session cookie');
    assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly: invisible to scripts');

    await page.fill('#name', 'Ann');
    await Promise.all([page.waitForURL(`${demo.url}/`), page.click('#login')]);
    const loggedInId = await page.textContent('#session-id');
    assert.notEqual(loggedInId, firstId);
    assert.equal(await page.textContent('#user'), 'Ann');
    assert.equal(await page.textContent('#visits'), '3');
    assert.equal((await browser.cookies(demo.url))[0].value.slice(32), loggedInId);

    await Promise.all([page.waitForURL(`${demo.url}/`), page.click('#logout')]);
    const afterId = await page.textContent('#session-id');
    assert.notEqual(afterId, loggedInId);
    assert.equal(await page.textContent('#visits'), '1');
    assert.equal(await page.$('#user'), null);
    const cookies = await browser.cookies(demo.url);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].value.slice(32), afterId);
  });
});

describe('demo in headless Chromium: log out everywhere else', function () {
  this.timeout(120000);
  const children = new Children();
  const dirs = [];
  const contexts = [];
  let demo;
  let launch;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      this.skip();
    }
    const { chromium } = await import('playwright-core');
    const dataDir = tempDir('browser-owners-data').dir;
    dirs.push(dataDir);
    demo = await children.start(DEMO, { env: { PORT: '0', DATA_DIR: dataDir } });
    // Each context a browser of its own, with a fresh --user-data-dir: two devices of one user.
    launch = async (userAgent) => {
      const profile = tempDir('browser-owners-profile').dir;
      dirs.push(profile);
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        userAgent,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      contexts.push(context);
      return context.pages()[0] ?? (await context.newPage());
    };
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await children.stopAll();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function loginAs(page, name) {
    await page.goto(`${demo.url}/`);
    await page.fill('#name', name);
    await Promise.all([page.waitForURL(`${demo.url}/`), page.click('#login')]);
    assert.equal(await page.textContent('#user'), name);
    return page.textContent('#session-id');
  }

  it('the first browser lists the second one, logs it out with one click; the second is logged out on reload', async () => {
    const laptop = await launch('Laptop/1.0 (wasm-session test)');
    const phone = await launch('Phone/2.0 (wasm-session test)');
    const laptopId = await loginAs(laptop, 'Ann');
    assert.equal((await laptop.$('#no-other-sessions')) !== null, true, 'alone at first');
    const phoneId = await loginAs(phone, 'Ann');
    assert.notEqual(phoneId, laptopId);

    await laptop.reload();
    assert.equal(await laptop.textContent('#others-count'), '1');
    const listed = await laptop.$$eval('#other-sessions li', (items) => items.map((li) => li.textContent));
    assert.equal(listed.length, 1);
    assert.ok(listed[0].startsWith(`${phoneId.slice(0, 8)}…`), listed[0]);
    assert.match(listed[0], /Phone\/2\.0 \(wasm-session test\)/);
    assert.ok(!listed[0].includes(phoneId), 'only a prefix of the id, never the id');
    // The phone sees the laptop the same way.
    await phone.reload();
    assert.match(await phone.textContent('#other-sessions'), /Laptop\/1\.0/);

    await Promise.all([laptop.waitForURL(`${demo.url}/`), laptop.click('#logout-others')]);
    assert.equal(await laptop.textContent('#flash'), 'Logged out 1 other session(s).');
    assert.equal(await laptop.textContent('#user'), 'Ann', 'this one stays logged in');
    assert.equal(await laptop.textContent('#session-id'), laptopId);
    assert.notEqual(await laptop.$('#no-other-sessions'), null);

    await phone.reload();
    assert.equal(await phone.$('#user'), null, 'the phone is logged out');
    assert.notEqual(await phone.$('#name'), null);
    assert.notEqual(await phone.textContent('#session-id'), phoneId);
    assert.equal(await phone.textContent('#visits'), '1', 'a new session');
  });
});
