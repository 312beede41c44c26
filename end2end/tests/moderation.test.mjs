// Moderation, as the people who run a room see it: the server's admin (the first account
// registered) removes a message and bans its author, who is cut off at once and cannot
// come back; slow mode counts down in the composer; a report reaches the admin's queue,
// which leads to the message.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, fromMenu, line, message, newPerson, PHONE, roomReady, say, serverAndBrowser,
} from './harness.mjs';

/// Registers `name` on the page (a fresh browser, at `path`).
async function register(page, url, path, name) {
  await page.goto(url + path);
  await page.locator('.name-form .tab', { hasText: 'Register' }).click();
  await page.locator('#name-input').fill(name);
  await page.locator('#password-input').fill('plum tractor violin');
  await page.locator('.name-form button[type=submit]').click();
  await page.locator('.name-form').waitFor({ state: 'detached' });
  await roomReady(page);
}

/// Sends the account form with `password` typed in it.
async function withPassword(page, password) {
  await page.locator('#password-input').fill(password);
  await page.locator('.name-form button[type=submit]').click();
}

/// Problems a page reported, leaving out the browser's note on each refused request (a
/// banned person's join answers 4xx on purpose).
const problems = (page) =>
  page.problems.filter((p) => !/Failed to load resource: .* status of 4\d\d/.test(p));

// One server each: the first account registered on it is its admin.
describe('moderation: remove and ban', () => {
  const env = serverAndBrowser();

  test('a moderator removes a message and bans its author, who is cut off and cannot come back', async () => {
    const chief = await newPerson(env.browser);
    await register(chief.page, env.server.url, '/r/random', 'Chief');
    const admin = await newPerson(env.browser);
    await register(admin.page, env.server.url, '/r/random', 'Warden');
    const spammer = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(spammer.page, env.server.url, '/r/random', 'spammer');
    await say(spammer.page, 'cheap pills here');
    await message(admin.page, 'cheap pills here').waitFor();
    // Not a moderator yet: Report, no Remove.
    await line(admin.page, 'cheap pills here').locator('.msg-menu > summary').click();
    await line(admin.page, 'cheap pills here').getByRole('button', { name: 'Report' }).waitFor();
    assert.equal(await line(admin.page, 'cheap pills here').getByRole('button', { name: 'Remove' }).count(), 0);
    await line(admin.page, 'cheap pills here').locator('.msg-menu > summary').click();

    // The server's admin (the first account) makes Warden a moderator of #random; Warden's
    // page learns it at once: Remove is in the menu of others' messages.
    await say(chief.page, '/mod @Warden ');
    await message(admin.page, 'made @Warden a moderator of the room').waitFor();
    await fromMenu(admin.page, 'cheap pills here', 'Remove');
    for (const page of [admin.page, spammer.page]) {
      await page.locator('.lines .msg.deleted .text', { hasText: 'removed by a moderator' }).waitFor();
    }
    assert.equal(await message(admin.page, 'cheap pills here').count(), 0);

    // A ban, typed as a command: the room sees the notice; the spammer is put out. (The
    // space ends the name, or Enter would pick it from the names offered.)
    await say(admin.page, '/ban @spammer ');
    await message(admin.page, 'banned @spammer from the room').waitFor();
    await spammer.page.locator('.alert', { hasText: 'You are banned from #random' }).waitFor();
    await say(admin.page, 'only for those who stay');
    await message(admin.page, 'only for those who stay').waitFor();
    await spammer.page.waitForTimeout(500);
    assert.equal(await message(spammer.page, 'only for those who stay').count(), 0);
    await spammer.page.screenshot({ path: join(artifacts, 'phone-banned.png') });

    // Coming back is refused, with the reason, and the room stays closed.
    await spammer.page.goto(env.server.url + '/r/random');
    await spammer.page.locator('.alert', { hasText: 'You are banned from #random' }).waitFor();
    assert.equal(await spammer.page.locator('.timeline[data-loaded=true]').count(), 0);
    await admin.page.screenshot({ path: join(artifacts, 'desktop-moderated.png') });
    for (const p of [chief.page, admin.page]) assert.deepEqual(problems(p), []);
  });

});

describe('moderation: slow mode', () => {
  const env = serverAndBrowser();

  test('slow mode counts down in the composer, across the person’s tabs', async () => {
    const admin = await newPerson(env.browser);
    await register(admin.page, env.server.url, '/r/tech', 'Keeper');
    const talker = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(talker.page, env.server.url, '/r/tech', 'talker');
    await say(admin.page, '/slow 30s');
    await message(talker.page, 'set slow mode: one message every 30 s').waitFor();

    await say(talker.page, 'one thought');
    await message(talker.page, 'one thought').waitFor();
    const note = talker.page.locator('.composer-note');
    await note.filter({ hasText: /Slow mode: wait (30|29|28) s/ }).waitFor();
    assert.equal(await talker.page.locator('button.send').isDisabled(), true);
    // It counts down.
    await note.filter({ hasText: /Slow mode: wait 2[0-8] s/ }).waitFor({ timeout: 5_000 });
    await talker.page.screenshot({ path: join(artifacts, 'phone-slow-mode.png') });
    // The moderator is not held.
    await say(admin.page, 'a');
    await say(admin.page, 'b');
    await message(admin.page, 'b').waitFor();
    assert.equal(await admin.page.locator('.composer-note', { hasText: 'Slow mode' }).count(), 0);
    await say(admin.page, '/slow off');
    await message(talker.page, 'ended slow mode').waitFor();
    assert.deepEqual(problems(talker.page), []);
  });

});

describe('moderation: reports', () => {
  const env = serverAndBrowser();

  test('a report reaches the admin’s queue, which leads to the message', async () => {
    const admin = await newPerson(env.browser);
    await register(admin.page, env.server.url, '/r/general', 'Overseer');
    const reader = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    const rude = await newPerson(env.browser);
    await arrive(reader.page, env.server.url, '/r/general', 'reader');
    await arrive(rude.page, env.server.url, '/r/general', 'rude');
    await say(rude.page, 'you are all fools');
    await message(reader.page, 'you are all fools').waitFor();
    await fromMenu(reader.page, 'you are all fools', 'Report');
    await reader.page.locator('.alert', { hasText: 'Reported' }).waitFor();

    // The admin's search panel has the queue.
    await admin.page.getByRole('button', { name: 'Search and pinned messages' }).click();
    await admin.page.locator('.admin-views').getByRole('button', { name: 'Reports' }).click();
    const hit = admin.page.locator('.hits li a', { hasText: 'you are all fools' });
    await hit.waitFor();
    assert.match(await hit.innerText(), /reported once/);
    await admin.page.screenshot({ path: join(artifacts, 'desktop-reports.png') });
    await hit.click();
    await line(admin.page, 'you are all fools').waitFor();
    await fromMenu(admin.page, 'you are all fools', 'Remove');
    await admin.page.locator('.lines .msg.deleted .text', { hasText: 'removed by a moderator' }).waitFor();
    // Acted on: the queue is empty, and the audit log says who did what.
    await admin.page.getByRole('button', { name: 'Search and pinned messages' }).click();
    await admin.page.locator('.admin-views').getByRole('button', { name: 'Reports' }).click();
    await admin.page.locator('.search-note', { hasText: 'No reports waiting.' }).waitFor();
    await admin.page.locator('.admin-views').getByRole('button', { name: 'Audit log' }).click();
    await admin.page.locator('.hits li', { hasText: 'remove message' }).waitFor();
    // Nobody else has the queue.
    await reader.page.getByRole('button', { name: 'Search and pinned messages' }).click();
    assert.equal(await reader.page.locator('.admin-views').count(), 0);
    for (const p of [admin.page, reader.page]) assert.deepEqual(problems(p), []);
  });
});

describe('deleting one’s account', () => {
  const env = serverAndBrowser();

  test('keeps the messages as a deleted user’s and frees the name', async () => {
    const leaver = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await register(leaver.page, env.server.url, '/r/music', 'Leaver');
    const other = await newPerson(env.browser);
    await arrive(other.page, env.server.url, '/r/music', 'stayer');
    await say(leaver.page, 'goodbye all');
    await message(other.page, 'goodbye all').waitFor();

    await leaver.page.locator('.menu-button').click();
    await leaver.page.getByRole('button', { name: 'Delete account' }).click();
    await leaver.page.screenshot({ path: join(artifacts, 'phone-delete-account.png') });
    // The wrong password changes nothing.
    await withPassword(leaver.page, 'not the password');
    await leaver.page.locator('.form-error', { hasText: 'Wrong name or password' }).waitFor();
    await withPassword(leaver.page, 'plum tractor violin');
    // Signed out: the name form, as for a newcomer.
    await leaver.page.locator('#name-input').waitFor();

    // The message stays, signed "deleted user": live (an event of the room), and after a
    // reload.
    const author = () => line(other.page, 'goodbye all').locator('.author');
    await author().filter({ hasText: 'deleted user' }).waitFor();
    await other.page.reload();
    await roomReady(other.page);
    await author().filter({ hasText: 'deleted user' }).waitFor();
    // The name is free again, once the closed sockets' grace (3 s, as after any goodbye)
    // is over.
    await leaver.page.waitForTimeout(3_500);
    await leaver.page.locator('#name-input').fill('Leaver');
    await leaver.page.locator('.name-form button[type=submit]').click();
    await leaver.page.locator('.name-form').waitFor({ state: 'detached' });
  });
});
