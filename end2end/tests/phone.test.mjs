// Phone first: the screens at 360×740, the drawer by swipe, unread counts and the tab
// title, notifications, and a room with 10,000 messages loaded.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  PHONE,
  arrive,
  artifacts,
  eventually,
  message,
  newPerson,
  say,
  serverAndBrowser,
} from './harness.mjs';

/// Swipes across the page horizontally by `dx` pixels, as a finger would.
async function swipe(page, fromX, dx) {
  await page.evaluate(
    ({ fromX, dx }) => {
      const target = document.querySelector('.chat');
      const touch = (x) => new Touch({ identifier: 1, target, clientX: x, clientY: 400 });
      const fire = (type, x) =>
        target.dispatchEvent(
          new TouchEvent(type, { bubbles: true, changedTouches: [touch(x)], touches: type === 'touchend' ? [] : [touch(x)] }),
        );
      fire('touchstart', fromX);
      fire('touchend', fromX + dx);
    },
    { fromX, dx },
  );
}

/// What can be tapped (visible buttons, links, fields) but is under 44 px either way.
function smallTargets(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('button, a, textarea, input')]
      .filter((el) => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')
      .map((el) => [el.getBoundingClientRect(), el.outerHTML.slice(0, 80)])
      .filter(([r]) => r.width > 0 && (r.width < 44 || r.height < 44))
      .map(([r, html]) => `${Math.round(r.width)}×${Math.round(r.height)} ${html}`),
  );
}

/// Makes the page believe it is hidden (another tab in front, phone locked).
async function hide(page, hidden) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
    // As browsers fire it: at the document, bubbling to the window.
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  }, hidden);
}

describe('on a phone', () => {
  const env = serverAndBrowser();

  test('the room, the drawer (button and swipe) and the composer at 360×740', async () => {
    const { context, page } = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(page, env.server.url, '/r/general', 'thumbs');
    await say(page, 'Hello from a phone 👋');
    await message(page, 'Hello from a phone').waitFor();
    await page.screenshot({ path: join(artifacts, 'phone-room.png') });

    // Everything one taps is at least 44 px tall and wide.
    assert.deepEqual(await smallTargets(page), [], 'touch targets under 44 px');

    const drawer = page.locator('.sidebar');
    await page.getByRole('button', { name: 'Rooms and people' }).click();
    await drawer.locator('.room-link', { hasText: 'Random' }).waitFor({ state: 'visible' });
    await page.waitForTimeout(300); // the slide-in
    await page.screenshot({ path: join(artifacts, 'phone-drawer.png') });
    await page.getByRole('button', { name: 'New room' }).click();
    await page.locator('#room-title').waitFor();
    assert.deepEqual(await smallTargets(page), [], 'touch targets under 44 px in the drawer');
    await page.getByRole('button', { name: 'New room' }).click();
    await page.locator('.scrim').click({ position: { x: 340, y: 400 } });
    await eventually(() => page.locator('.chat.drawer-open').count(), 0);

    await swipe(page, 30, 200);
    await eventually(() => page.locator('.chat.drawer-open').count(), 1);
    await swipe(page, 300, -200);
    await eventually(() => page.locator('.chat.drawer-open').count(), 0);
    // A vertical scroll is not a swipe.
    await page.evaluate(() => {
      const target = document.querySelector('.chat');
      const at = (x, y) => [new Touch({ identifier: 2, target, clientX: x, clientY: y })];
      target.dispatchEvent(new TouchEvent('touchstart', { bubbles: true, changedTouches: at(100, 600), touches: at(100, 600) }));
      target.dispatchEvent(new TouchEvent('touchend', { bubbles: true, changedTouches: at(170, 200), touches: [] }));
    });
    assert.equal(await page.locator('.chat.drawer-open').count(), 0);

    await page.locator('#message').fill('A reply typed with one thumb, long enough to wrap onto a second line');
    await page.screenshot({ path: join(artifacts, 'phone-composer.png') });
    // The composer is on screen, at the bottom.
    const box = await page.locator('.composer').boundingBox();
    assert.ok(box.y + box.height <= PHONE.height && box.y > PHONE.height / 2, JSON.stringify(box));
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('unread counts per room and in the tab title', async () => {
    const reader = await newPerson(env.browser);
    const writer = await newPerson(env.browser);
    await arrive(reader.page, env.server.url, '/r/tech', 'reader');
    // Opened once: from now on, this browser counts what it has not seen in #tech.
    await reader.page.locator('.room-link', { hasText: 'Random' }).click();
    await reader.page.locator('.room-header h1', { hasText: 'Random' }).waitFor();

    await arrive(writer.page, env.server.url, '/r/tech', 'writer');
    for (const text of ['one', 'two', 'three']) await say(writer.page, `unread ${text}`);
    await message(writer.page, 'unread three').waitFor();

    const techLink = reader.page.locator('.room-link', { hasText: 'Tech' });
    await techLink.locator('.unread', { hasText: '3' }).waitFor();
    assert.match(await techLink.locator('.unread').innerText(), /^3\s*unread$/);
    await eventually(() => reader.page.title(), '(3) #random · Natter');
    // Rooms never opened here show no count.
    assert.equal(await reader.page.locator('.room-link', { hasText: 'General' }).locator('.unread').count(), 0);

    // Reading them clears the count; the title follows.
    await techLink.click();
    await message(reader.page, 'unread three').waitFor();
    await eventually(() => reader.page.title(), '#tech · Natter');
    assert.equal(await techLink.locator('.unread').count(), 0);

    // A hidden tab counts what arrives in the open room too, until it is looked at.
    await hide(reader.page, true);
    await say(writer.page, 'while you were away');
    await eventually(() => reader.page.title(), '(1) #tech · Natter');
    await hide(reader.page, false);
    await eventually(() => reader.page.title(), '#tech · Natter');
    await reader.context.close();
    await writer.context.close();
  });

  test('notifications: offered after a first message, shown while the tab is hidden', async () => {
    // Asked at a sensible moment: not on arrival, after the user has written.
    const shy = await newPerson(env.browser);
    await arrive(shy.page, env.server.url, '/r/random', 'shy');
    const offer = shy.page.locator('.banner', { hasText: 'Notify you of new messages' });
    assert.equal(await offer.count(), 0);
    await say(shy.page, 'first words');
    await offer.waitFor();
    await offer.getByRole('button', { name: 'Not now' }).click();
    await offer.waitFor({ state: 'detached' });
    await shy.page.reload();
    await say(shy.page, 'second words');
    await message(shy.page, 'second words').waitFor();
    assert.equal(await offer.count(), 0, '"not now" is remembered');

    const reader = await newPerson(env.browser);
    await reader.context.grantPermissions(['notifications'], { origin: env.server.url });
    await reader.context.addInitScript(() => {
      window.__notes = [];
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.__notes.push({ title, body: options?.body, tag: options?.tag });
        }
      };
    });
    await arrive(reader.page, env.server.url, '/r/random', 'listener');
    await say(shy.page, 'nobody hears this one');
    await message(reader.page, 'nobody hears this one').waitFor();
    await hide(reader.page, true);
    await say(shy.page, 'ping while hidden');
    await eventually(() => reader.page.evaluate(() => window.__notes), [
      { title: 'shy in #Random', body: 'ping while hidden', tag: 'natter-random' },
    ]);
    // Our own messages never notify.
    await say(reader.page, 'my own words');
    await message(shy.page, 'my own words').waitFor();
    assert.equal(await reader.page.evaluate(() => window.__notes.length), 1);
    await shy.context.close();
    await reader.context.close();
  });
});

describe('a busy room', () => {
  // Sends fast enough to load 10,000 messages in seconds, and queues them all for the
  // reader: a slower machine must not make it a slow client, cut off and caught up from
  // history (the resilience tests cover that), since this test counts what it holds.
  const env = serverAndBrowser([
    '--send-rate', '100000', '--send-burst', '100000', '--queue', '20000', '--queue-bytes', '67108864',
  ]);

  test('stays responsive with 10,000 messages loaded', async () => {
    const reader = await newPerson(env.browser);
    const writer = await newPerson(env.browser);
    await arrive(reader.page, env.server.url, '/r/general', 'reader');
    await arrive(writer.page, env.server.url, '/r/random', 'firehose');
    // Joined once: news of the room (counts, activity) is no reason to join it again.
    const joins = [];
    reader.page.on('request', (r) => r.url().includes('/api/join_room') && joins.push(r.url()));
    await reader.page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: false });
    });

    // The writer's page opens a socket of its own (same session) and sends 10,000
    // messages in steps of 250, each step once the last is stored.
    const sent = await writer.page.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((ok) => ws.addEventListener('open', ok));
      let acked = 0;
      let wake = () => {};
      ws.addEventListener('message', (event) => {
        const data = JSON.parse(event.data);
        if (data[0] === 'ack') {
          acked++;
          wake();
        }
      });
      const hex = (n) => n.toString(16).padStart(8, '0');
      for (let i = 0; i < 10_000; i++) {
        ws.send(JSON.stringify({ t: 'send', room: 'general', cid: `busy${hex(i)}${hex(Date.now())}`, text: `busy line ${i}` }));
        if (i % 250 === 249) {
          while (acked < i + 1) await new Promise((ok) => { wake = ok; });
        }
      }
      ws.close();
      return acked;
    });
    assert.equal(sent, 10_000);
    await message(reader.page, 'busy line 9999').waitFor({ timeout: 60_000 });
    assert.deepEqual(joins, []);

    // All 10,000 are loaded in the page; only a window of them is drawn.
    const drawn = await reader.page.locator('.lines .msg').count();
    const pane = await reader.page.locator('.timeline').evaluate((el) => `scrolled to ${el.scrollTop} of ${el.scrollHeight}, ${el.clientHeight} high`);
    assert.ok(drawn <= 300, `${drawn} messages in the DOM; ${pane}`);

    // Typing and sending still answer at once.
    const started = Date.now();
    await say(reader.page, 'still quick');
    await message(reader.page, 'still quick').waitFor({ timeout: 5_000 });
    const roundTrip = Date.now() - started;

    // Scrolling up shows older held lines without asking the server.
    const oldest = async () => Number((await reader.page.locator('.lines .msg .text').first().innerText()).split(' ').pop());
    const before = await oldest();
    const requests = [];
    reader.page.on('request', (r) => r.url().includes('/api/history') && requests.push(r.url()));
    await reader.page.locator('.timeline').evaluate((el) => el.scrollTo(0, 0));
    await eventually(async () => (await oldest()) < before, true);
    assert.deepEqual(requests, []);

    // A reader up in the history stays there while new messages arrive below.
    const scrollTop = () => reader.page.locator('.timeline').evaluate((el) => Math.round(el.scrollTop));
    const readingAt = await scrollTop();
    await writer.page.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((ok) => ws.addEventListener('open', ok));
      const acked = new Promise((ok) => ws.addEventListener('message', (e) => JSON.parse(e.data)[0] === 'ack' && ok()));
      ws.send(JSON.stringify({ t: 'send', room: 'general', cid: `news${Date.now()}`, text: 'news while you read' }));
      await acked;
      ws.close();
    });
    await reader.page.locator('.lines .msg .text', { hasText: 'news while you read' }).waitFor({ state: 'attached' });
    await reader.page.waitForTimeout(300);
    assert.ok(Math.abs((await scrollTop()) - readingAt) < 50, `kept the place: ${readingAt} → ${await scrollTop()}`);

    const longTasks = await reader.page.evaluate(() => window.__longTasks);
    console.log(
      `busy room: ${drawn} of 10000 messages drawn; send→shown ${roundTrip} ms; ` +
        `${longTasks.length} long tasks, longest ${Math.round(Math.max(0, ...longTasks))} ms`,
    );
    assert.deepEqual(reader.page.problems, []);
    await reader.context.close();
    await writer.context.close();
  });
});
