// What two people do with Natter, in real headless Chromium against the real server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  DESKTOP, PHONE, arrive, artifacts, eventually, launchBrowser, message, newPerson,
  onlineList, roomReady, say, startServer,
} from './harness.mjs';

describe('chatting', () => {
  let server, browser, ana, bo;
  const names = (page) => onlineList(page).allInnerTexts().then((l) => l.map((s) => s.trim()));

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ana = await newPerson(browser);
    bo = await newPerson(browser);
  });

  after(async () => {
    for (const p of [ana, bo]) assert.deepEqual(p.page.problems, [], 'no script errors or dialogs');
    await browser?.close();
    await server?.stop();
  });

  test('two people in one room see each other and exchange messages live', async () => {
    await arrive(ana.page, server.url, '/r/general', 'ana');
    await arrive(bo.page, server.url, '/r/general', 'Bo');
    await eventually(() => names(ana.page), ['ana', 'Bo']);
    await eventually(() => names(bo.page), ['ana', 'Bo']);
    await ana.page.locator('.notice', { hasText: 'Bo joined' }).waitFor();

    await say(ana.page, 'hello Bo');
    await message(bo.page, 'hello Bo').waitFor({ timeout: 3_000 });
    await message(ana.page, 'hello Bo').waitFor();
    await say(bo.page, 'hi ana!\nsecond line');
    await message(ana.page, 'second line').waitFor({ timeout: 3_000 });
    assert.equal(await ana.page.locator('.pending').count(), 0, 'nothing left pending');
    const authors = await ana.page.locator('.lines .msg .author').allInnerTexts();
    assert.deepEqual(authors, ['ana', 'Bo']);
    assert.deepEqual(await ana.page.locator('.lines .day').allInnerTexts(), ['Today']);
    // The room list counts both of them.
    await eventually(
      () => ana.page.locator('a.room-link[href="/r/general"] .count').innerText().then((t) => t.split(/\s/)[0]),
      '2',
    );
  });

  test('a second tab of the same person counts once', async () => {
    const tab = await ana.context.newPage();
    await tab.goto(server.url + '/r/general');
    await roomReady(tab);
    await eventually(() => names(tab), ['ana', 'Bo']);
    await message(tab, 'second line').waitFor();
    const count = (page) => page.locator('a.room-link[href="/r/general"] .count').innerText().then((t) => t.split(/\s/)[0]);
    await bo.page.waitForTimeout(700); // counts are sent at most every 500 ms
    assert.equal(await count(bo.page), '2');
    assert.equal(await count(tab), '2');
    await tab.close();
    // Bo never saw a second ana, nor ana leaving.
    await bo.page.waitForTimeout(3_500);
    assert.deepEqual(await names(bo.page), ['ana', 'Bo']);
    assert.equal(await bo.page.locator('.notice', { hasText: 'ana left' }).count(), 0);
  });

  test('a reload shows the history and keeps the name', async () => {
    await ana.page.reload();
    await roomReady(ana.page);
    assert.equal(await ana.page.locator('#name-input').count(), 0, 'no name prompt');
    const texts = await ana.page.locator('.lines .msg .text').allInnerTexts();
    assert.deepEqual(texts, ['hello Bo', 'hi ana!\nsecond line']);
    await eventually(() => names(ana.page), ['ana', 'Bo']);
  });

  test('switching rooms moves the person between online lists', async () => {
    await bo.page.locator('a.room-link[href="/r/tech"]').click();
    await bo.page.waitForURL('**/r/tech');
    await roomReady(bo.page);
    await eventually(() => names(bo.page), ['Bo']);
    await eventually(() => names(ana.page), ['ana']);
    await ana.page.locator('.notice', { hasText: 'Bo left' }).waitFor();
    assert.equal(await bo.page.locator('.room-header h1').innerText(), '#Tech');

    // Back button returns to general, where Bo is online again.
    await bo.page.goBack();
    await bo.page.waitForURL('**/r/general');
    await eventually(() => names(ana.page), ['ana', 'Bo']);
    await eventually(() => bo.page.locator('.lines .msg .text').count(), 2);
  });

  test('closing the tab takes the person offline', async () => {
    await bo.page.close();
    // After the server's grace period (3 s), which spares reloads a "left … joined".
    await eventually(() => names(ana.page), ['ana'], 10_000);
    await ana.page.locator('.notice', { hasText: 'Bo left' }).nth(1).waitFor();
    bo.page = await bo.context.newPage();
    bo.page.problems = [];
  });

  test('markup in messages is shown as text and never runs', async () => {
    const payload = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>';
    await say(ana.page, payload);
    await message(ana.page, 'onerror').waitFor();
    assert.equal(await message(ana.page, 'onerror').innerText(), payload);
    assert.equal(await ana.page.locator('.lines img, .lines script').count(), 0);
    await ana.page.reload();
    await roomReady(ana.page);
    assert.equal(await message(ana.page, 'onerror').innerText(), payload, 'from history too');
    assert.equal(await ana.page.evaluate(() => window.__pwned), undefined);
  });

  test('a name held by someone online is refused', async () => {
    const carl = await newPerson(browser);
    await carl.page.goto(server.url + '/r/general');
    await carl.page.locator('#name-input').fill('ANA');
    await carl.page.locator('.name-form button[type=submit]').click();
    await carl.page.locator('#name-error', { hasText: 'taken' }).waitFor();
    await carl.page.locator('#name-input').fill('<b>carl</b>');
    await carl.page.locator('.name-form button[type=submit]').click();
    await carl.page.locator('#name-error', { hasText: 'not “<”' }).waitFor();
    await carl.page.locator('#name-input').fill('carl');
    await carl.page.locator('.name-form button[type=submit]').click();
    await roomReady(carl.page);
    await eventually(() => names(ana.page), ['ana', 'carl']);
    await carl.context.close();
  });

  test('empty and over-long messages are not sent', async () => {
    const page = ana.page;
    await page.locator('#message').fill('   ');
    assert.equal(await page.locator('.composer .send').isDisabled(), true);
    await page.locator('#message').fill('x'.repeat(4001));
    assert.equal(await page.locator('.composer .send').isDisabled(), true);
    await page.locator('.composer-note', { hasText: 'too long' }).waitFor();
    await page.locator('#message').press('Enter');
    assert.equal(await page.locator('.pending').count(), 0);
    await page.locator('#message').fill('');
  });

  test('a person can change their name, and it sticks', async () => {
    const page = ana.page;
    await page.locator('.whoami button', { hasText: 'Change name' }).click();
    await page.locator('.name-form h2', { hasText: 'Change your name' }).waitFor();
    await page.locator('#name-input').fill(' Ana Lu ');
    await page.locator('.name-form button[type=submit]').click();
    await page.locator('.whoami strong', { hasText: 'Ana Lu' }).waitFor();
    // The old name goes like a closed tab, after the grace period.
    await eventually(() => names(page), ['Ana Lu'], 10_000);
    await page.reload();
    await roomReady(page);
    assert.equal(await page.locator('.whoami strong').innerText(), 'Ana Lu');
    await say(page, 'new name, same me');
    assert.equal(
      await page.locator('.lines .msg:not(.pending)', { hasText: 'same me' }).locator('.author').innerText(),
      'Ana Lu',
    );
  });
});

describe('pages', () => {
  let server, browser;
  before(async () => {
    // The history test posts 120 messages at once: lift the flood limit for it.
    server = await startServer(['--send-rate', '1000', '--send-burst', '1000']);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a new visitor picks a name and lands in a random room', async () => {
    const { page } = await newPerson(browser, { viewport: PHONE });
    await page.goto(server.url + '/');
    await page.locator('#name-input').waitFor();
    await page.screenshot({ path: join(artifacts, 'phone-welcome.png') });
    await page.locator('#name-input').fill('newbie');
    await page.locator('.name-form button[type=submit]').click();
    await page.waitForURL(/\/r\/(general|random|tech|music|games)$/);
    await roomReady(page);
    // On a phone the list sits in the closed drawer: read its text, not what is shown.
    await eventually(
      () => onlineList(page).allTextContents().then((l) => l.map((s) => s.trim())),
      ['newbie'],
    );
    assert.deepEqual(page.problems, []);
  });

  test('an unknown room gets a proper page and a 404', async () => {
    const { page } = await newPerson(browser);
    const response = await page.goto(server.url + '/r/no-such-room');
    assert.equal(response.status(), 404);
    await page.locator('h1', { hasText: 'No such room' }).waitFor();
  });

  test('scrolling up pages through history to the beginning', async () => {
    const { page } = await newPerson(browser);
    await arrive(page, server.url, '/r/music', 'reader');
    // A second person posts 120 messages straight over the protocol, on a socket of
    // their own that their session cookie authorises.
    const writer = await newPerson(browser);
    await arrive(writer.page, server.url, '/r/games', 'seeder');
    const posted = await writer.page.evaluate(async (url) => {
      const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
      const events = [];
      ws.onmessage = (e) => events.push(JSON.parse(e.data));
      await new Promise((r) => (ws.onopen = r));
      while (!events.some((e) => e[0] === 'welcome')) await new Promise((r) => setTimeout(r, 20));
      // An event is `[tag, …fields]`; a welcome's first field is the connection's id.
      const conn = events.find((e) => e[0] === 'welcome')[1];
      await fetch('/api/join_room', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ conn, room: 'music' }),
      });
      for (let i = 1; i <= 120; i++) {
        ws.send(JSON.stringify({ t: 'send', room: 'music', cid: `seed-${1000 + i}`, text: `line ${i}` }));
      }
      while (events.filter((e) => e[0] === 'message').length < 120) {
        if (events.some((e) => e[0] === 'error')) return events.filter((e) => e[0] === 'error');
        await new Promise((r) => setTimeout(r, 20));
      }
      return 120;
    }, server.url);
    assert.equal(posted, 120);
    await page.locator('.msg .text', { hasText: /^line 120$/ }).waitFor();

    // A newcomer sees the newest 50, then older pages as they scroll up.
    const { page: newcomer } = await newPerson(browser);
    await arrive(newcomer, server.url, '/r/music', 'newcomer');
    assert.equal(await newcomer.locator('.lines .msg').count(), 50);
    for (let i = 0; i < 10 && (await newcomer.locator('.edge.beginning').count()) === 0; i++) {
      await newcomer.locator('.timeline').evaluate((el) => el.scrollTo(0, 0));
      await newcomer.waitForTimeout(300);
    }
    await newcomer.locator('.edge.beginning').waitFor();
    const texts = await newcomer.locator('.lines .msg .text').allInnerTexts();
    assert.deepEqual(texts, Array.from({ length: 120 }, (_, i) => `line ${i + 1}`));
  });

  test('history survives a server restart, and the page reconnects by itself', async () => {
    const { page } = await newPerson(browser);
    await arrive(page, server.url, '/r/random', 'survivor');
    await say(page, 'before the restart');
    await message(page, 'before the restart').waitFor();
    await server.restart();
    await page.locator('.status', { hasText: 'reconnecting' }).waitFor();
    await page.locator('.status').waitFor({ state: 'detached', timeout: 15_000 });
    await say(page, 'after the restart');
    await message(page, 'after the restart').waitFor();
    const { page: later } = await newPerson(browser);
    await arrive(later, server.url, '/r/random', 'latecomer');
    const texts = await later.locator('.lines .msg .text').allInnerTexts();
    assert.deepEqual(texts, ['before the restart', 'after the restart']);
    const seqs = await later.locator('.lines .msg').evaluateAll((els) => els.map((e) => e.dataset.seq));
    assert.deepEqual(seqs, ['1', '2']);
    // The socket's close on kill is logged by the browser, not an error of ours; so is a
    // request the restart cut off (the reconnecting page asks while the server stops).
    page.problems = page.problems.filter((p) => !p.includes('WebSocket') && !p.includes('ERR_CONNECTION_RESET'));
    assert.deepEqual(page.problems, []);
  });

  test('phone and desktop layouts fit, with the drawer on phones', async () => {
    const phone = await newPerson(browser, { viewport: PHONE });
    await arrive(phone.page, server.url, '/r/general', 'thumbs');
    await say(phone.page, 'Typing on a phone, with a fairly long line that has to wrap nicely');
    await message(phone.page, 'fairly long').waitFor();
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, 'no horizontal scrolling at 360 px');
    assert.equal(await phone.page.locator('#message').isVisible(), true, 'composer visible');
    assert.equal(await phone.page.locator('.sidebar').isVisible(), false, 'drawer closed');
    await phone.page.locator('#message').fill('A draft in the composer');
    await phone.page.screenshot({ path: join(artifacts, 'phone-room.png') });
    await say(phone.page, 'https://example.com/' + 'a-very-long-unbroken-path'.repeat(8));
    await message(phone.page, 'unbroken-path').waitFor();
    assert.equal(
      await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
      0,
      'long unbroken text wraps',
    );
    await phone.page.locator('.menu-button').click();
    await phone.page.locator('.sidebar a.room-link[href="/r/games"]').waitFor({ state: 'visible' });
    await phone.page.waitForTimeout(300); // the slide-in transition
    await phone.page.screenshot({ path: join(artifacts, 'phone-drawer.png') });
    await phone.page.locator('.sidebar a.room-link[href="/r/games"]').click();
    await phone.page.waitForURL('**/r/games');
    await eventually(() => phone.page.locator('.sidebar').isVisible(), false);

    const desk = await newPerson(browser, { viewport: DESKTOP });
    await arrive(desk.page, server.url, '/r/general', 'deskperson');
    await say(desk.page, 'Hello from a desktop browser');
    await message(desk.page, 'desktop browser').waitFor();
    assert.equal(await desk.page.locator('.sidebar').isVisible(), true, 'sidebar always shown');
    await desk.page.screenshot({ path: join(artifacts, 'desktop-room.png') });
    const dark = await newPerson(browser, { viewport: PHONE });
    await dark.page.emulateMedia({ colorScheme: 'dark' });
    await arrive(dark.page, server.url, '/r/general', 'nightowl');
    await dark.page.screenshot({ path: join(artifacts, 'phone-dark.png') });
    for (const p of [phone, desk, dark]) assert.deepEqual(p.page.problems, []);
  });
});
