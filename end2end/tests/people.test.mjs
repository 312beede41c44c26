// People, in real Chromium against the real server: a direct message round trip with its
// unread badge, a private room nobody else can see or open, a mention in another room,
// and read marks that follow a registered person from one browser to another.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  PHONE, arrive, artifacts, eventually, message, newPerson, roomReady, say, serverAndBrowser,
} from './harness.mjs';

/// Problems a page reported, leaving out the browser's note on each refused request (a
/// private room asked for by someone outside answers 404 on purpose).
const problems = (page) =>
  page.problems.filter((p) => !/Failed to load resource: .* status of 4\d\d/.test(p));

const link = (page, slug) => page.locator(`a.room-link[href="/r/${slug}"]`);
/// The unread count beside a room in the list ('0' when none is shown); never waits.
const unread = (page, slug) =>
  link(page, slug).locator('.unread').allInnerTexts().then((t) => (t.length ? t[0].split(/\s/)[0] : '0'));
const slugOf = (page) => new URL(page.url()).pathname.split('/').pop();

describe('people', () => {
  const env = serverAndBrowser();

  test('a direct message round trip, with its unread badge', async () => {
    const ana = await newPerson(env.browser);
    const bo = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(ana.page, env.server.url, '/r/general', 'ana');
    await arrive(bo.page, env.server.url, '/r/tech', 'bo');

    // Bo is online in #general? No: in #tech. Ana opens the conversation by name.
    await ana.page.getByRole('button', { name: 'New conversation' }).click();
    await ana.page.locator('#conversation-names').fill('bo');
    await ana.page.getByRole('button', { name: 'Start conversation' }).click();
    await ana.page.waitForURL(/\/r\/~[0-9a-f]+$/);
    const dm = slugOf(ana.page);
    await roomReady(ana.page);
    assert.match(await ana.page.locator('.room-title h1').innerText(), /bo/);
    await say(ana.page, 'psst, bo');
    await message(ana.page, 'psst, bo').waitFor();

    // Bo's list shows it, named after Ana, with one unread.
    await bo.page.locator('.menu-button').click();
    await link(bo.page, dm).waitFor({ timeout: 5_000 });
    assert.match(await link(bo.page, dm).innerText(), /ana/);
    await eventually(() => unread(bo.page, dm), '1');
    await bo.page.waitForTimeout(400); // the drawer slides in
    await bo.page.screenshot({ path: join(artifacts, 'phone-conversations.png') });
    await link(bo.page, dm).click();
    await roomReady(bo.page);
    await message(bo.page, 'psst, bo').waitFor();
    await eventually(() => unread(bo.page, dm), '0');
    await say(bo.page, 'hi ana, privately');
    await message(ana.page, 'hi ana, privately').waitFor({ timeout: 3_000 });
    await bo.page.screenshot({ path: join(artifacts, 'phone-conversation.png') });

    // "Message" on an author finds the same conversation again.
    await ana.page.locator('a.room-link[href="/r/general"]').click();
    await roomReady(ana.page);
    await say(ana.page, 'in general now');
    await bo.page.locator('.menu-button').click();
    await bo.page.locator('a.room-link[href="/r/general"]').click();
    await roomReady(bo.page);
    await bo.page.locator('.lines .msg', { hasText: 'in general now' }).locator('button.author').click();
    await bo.page.waitForURL(`**/r/${dm}`);
    for (const p of [ana.page, bo.page]) assert.deepEqual(problems(p), []);
    await ana.context.close();
    await bo.context.close();
  });

  test('a private room: invisible to a third person by list, address and API', async () => {
    const owner = await newPerson(env.browser);
    const guest = await newPerson(env.browser);
    const third = await newPerson(env.browser);
    await arrive(owner.page, env.server.url, '/r/general', 'olga');
    await arrive(guest.page, env.server.url, '/r/general', 'gus');
    await arrive(third.page, env.server.url, '/r/general', 'tom');

    await owner.page.getByRole('button', { name: 'New room' }).click();
    await owner.page.locator('#room-title').fill('Secret plans');
    await owner.page.locator('input[name=private]').check();
    await owner.page.getByRole('button', { name: 'Create room' }).click();
    await owner.page.waitForURL(/\/r\/secret-plans-[0-9a-f]+$/);
    const slug = slugOf(owner.page);
    await roomReady(owner.page);
    await say(owner.page, 'the plan is cake');
    await message(owner.page, 'the plan is cake').waitFor();

    // Invite gus from the members panel.
    await owner.page.getByRole('button', { name: 'Members' }).click();
    await owner.page.locator('#invite-name').fill('gus');
    await owner.page.getByRole('button', { name: 'Invite' }).click();
    await owner.page.locator('.members-panel li', { hasText: 'gus' }).waitFor();
    await link(guest.page, slug).waitFor({ timeout: 5_000 });
    await link(guest.page, slug).click();
    await message(guest.page, 'the plan is cake').waitFor();

    // Tom: not listed, the address is "no such room", the API says what a missing room says.
    assert.equal(await link(third.page, slug).count(), 0);
    await third.page.goto(`${env.server.url}/r/${slug}`);
    await third.page.locator('.not-found, h1', { hasText: /no such room|not found/i }).first().waitFor();
    assert.equal(await third.page.getByText('the plan is cake').count(), 0);
    const ask = (room) =>
      third.page.evaluate(async (room) => {
        const r = await fetch('/api/history', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ room, before: 100 }),
        });
        return [r.status, (await r.text()).replace(room, 'ROOM')];
      }, room);
    assert.deepEqual(await ask(slug), await ask('no-such-room-here'));
    const listed = await third.page.evaluate(async () => {
      const r = await fetch('/api/list_rooms', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: '{}',
      });
      // A room is an array on the wire (`protocol::wire`); its slug comes first.
      return (await r.json()).map((room) => room[0]);
    });
    assert.equal(listed.includes(slug), false);
    await owner.page.screenshot({ path: join(artifacts, 'desktop-private-room.png') });
    for (const p of [owner.page, guest.page]) assert.deepEqual(problems(p), []);
    for (const p of [owner, guest, third]) await p.context.close();
  });

  test('a mention in another room badges it and notifies', async () => {
    const ana = await newPerson(env.browser);
    const bo = await newPerson(env.browser);
    await bo.context.grantPermissions(['notifications'], { origin: env.server.url });
    await bo.page.addInitScript(() => {
      // Records notifications instead of showing them (headless has no desktop to show on).
      window.__shown = [];
      const Real = window.Notification;
      class Recorded extends Real {
        constructor(title, options) {
          super(title, options);
          window.__shown.push({ title, body: options?.body });
        }
      }
      window.Notification = Recorded;
    });
    await arrive(ana.page, env.server.url, '/r/music', 'ana');
    await arrive(bo.page, env.server.url, '/r/games', 'Bo Li');
    // The @ offers those online in the room: Bo is elsewhere, so Ana types the name.
    await say(ana.page, 'hey @Bo Li, listen to this');
    const mine = ana.page.locator('.lines .msg', { hasText: 'listen to this' });
    await mine.locator('mark.mention', { hasText: '@Bo Li' }).waitFor();
    await link(bo.page, 'music').locator('.mention-badge').waitFor({ timeout: 5_000 });
    await eventually(() => bo.page.evaluate(() => window.__shown.map((n) => n.title)), ['ana in #Music']);
    await link(bo.page, 'music').click();
    await roomReady(bo.page);
    await bo.page.locator('.msg.mentions-me mark.mention.me').waitFor();
    await eventually(() => link(bo.page, 'music').locator('.mention-badge').count(), 0);

    // The @ offers: Bo is in #music now.
    await ana.page.locator('#message').fill('thanks @b');
    await ana.page.locator('.mention-offers li', { hasText: '@Bo Li' }).waitFor();
    await ana.page.locator('#message').press('Tab');
    assert.equal(await ana.page.locator('#message').inputValue(), 'thanks @Bo Li ');
    for (const p of [ana.page, bo.page]) assert.deepEqual(problems(p), []);
    await ana.context.close();
    await bo.context.close();
  });

  test('a registered person reads on one browser and the other clears live', async () => {
    const phone = await newPerson(env.browser, { viewport: PHONE });
    await phone.page.goto(env.server.url + '/r/general');
    await phone.page.locator('.name-form .tab', { hasText: 'Register' }).click();
    await phone.page.locator('#name-input').fill('Reader');
    await phone.page.locator('#password-input').fill('plum tractor violin');
    await phone.page.locator('.name-form button[type=submit]').click();
    await phone.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(phone.page);
    // The same account on a laptop, sitting in #general.
    const laptop = await newPerson(env.browser);
    await laptop.page.goto(env.server.url + '/r/general');
    await laptop.page.locator('.name-form .tab', { hasText: 'Log in' }).click();
    await laptop.page.locator('#name-input').fill('reader');
    await laptop.page.locator('#password-input').fill('plum tractor violin');
    await laptop.page.locator('.name-form button[type=submit]').click();
    await laptop.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(laptop.page);
    // Both have seen #tech once (so it counts), then stay in #general.
    for (const page of [phone.page, laptop.page]) {
      await page.goto(env.server.url + '/r/tech');
      await roomReady(page);
      await page.goto(env.server.url + '/r/general');
      await roomReady(page);
    }
    const writer = await newPerson(env.browser);
    await arrive(writer.page, env.server.url, '/r/tech', 'writer');
    await say(writer.page, 'news in tech');
    await say(writer.page, 'more news');
    await eventually(() => unread(laptop.page, 'tech'), '2');
    await phone.page.locator('.menu-button').click();
    await eventually(() => unread(phone.page, 'tech'), '2');
    // Read on the phone: the laptop's count clears by itself.
    await link(phone.page, 'tech').click();
    await message(phone.page, 'more news').waitFor();
    await eventually(() => unread(laptop.page, 'tech'), '0');
    await eventually(() => laptop.page.title(), '#general · Natter');
    for (const p of [phone.page, laptop.page, writer.page]) assert.deepEqual(problems(p), []);
  });
});
