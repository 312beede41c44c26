// Accounts and what keeps people safe: registering a name, logging out and in again,
// a guest kept off a registered name, a password change signing other devices out, and
// a corpus of XSS payloads as messages, usernames and room topics. Real Chromium against
// the real server.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, eventually, message, newPerson, roomReady, say, serverAndBrowser,
} from './harness.mjs';
import { XSS_PAYLOADS } from './xss-payloads.mjs';
import { assertOnlyFormatting } from './formatting.mjs';

const PASSWORD = 'plum tractor violin';

/// Fills the open account form's tab `tab` ("Log in", "Register") and sends it.
async function useAccountForm(page, tab, name, password) {
  await page.locator('.name-form .tab', { hasText: tab }).click();
  await page.locator('#name-input').fill(name);
  await page.locator('#password-input').fill(password);
  await page.locator('.name-form button[type=submit]').click();
}

const whoami = (page) => page.locator('.whoami').innerText();

/// A page's problems, leaving out the browser's note on each refused request (4xx): these
/// tests are about refusals.
const problems = (page) =>
  page.problems.filter((p) => !/Failed to load resource: .* status of 4\d\d/.test(p));

describe('accounts', () => {
  const env = serverAndBrowser();

  test('register, log out, and log in again from another browser', async () => {
    const first = await newPerson(env.browser);
    await first.page.goto(env.server.url + '/r/general');
    await useAccountForm(first.page, 'Register', 'Ana', 'short');
    await first.page.locator('#name-error', { hasText: 'at least 10 characters' }).waitFor();
    await useAccountForm(first.page, 'Register', 'Ana', 'password123456');
    await first.page.locator('#name-error', { hasText: 'too easy to guess' }).waitFor();
    await useAccountForm(first.page, 'Register', 'Ana', PASSWORD);
    await first.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(first.page);
    assert.match(await whoami(first.page), /You are Ana/);
    assert.doesNotMatch(await whoami(first.page), /guest/);
    await say(first.page, 'registered and here');
    await message(first.page, 'registered and here').waitFor();

    // The session cookie is out of scripts' reach and stays on this site.
    const [cookie] = (await first.context.cookies()).filter((c) => c.name === 'natter_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(await first.page.evaluate(() => document.cookie.includes('natter_session')), false);

    await first.page.getByRole('button', { name: 'Log out', exact: true }).click();
    await first.page.locator('.name-form').waitFor();
    assert.equal((await first.context.cookies()).some((c) => c.name === 'natter_session'), false);

    const second = await newPerson(env.browser);
    await second.page.goto(env.server.url + '/r/general');
    await useAccountForm(second.page, 'Log in', 'ana', 'plum tractor viola');
    await second.page.locator('#name-error', { hasText: 'Wrong name or password' }).waitFor();
    await useAccountForm(second.page, 'Log in', 'ana', PASSWORD);
    await second.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(second.page);
    assert.match(await whoami(second.page), /You are Ana/);
    await message(second.page, 'registered and here').waitFor();
    await second.page.screenshot({ path: join(artifacts, 'desktop-logged-in.png') });
    for (const p of [first.page, second.page]) assert.deepEqual(problems(p), []);
  });

  test('a guest cannot take a registered name', async () => {
    const guest = await newPerson(env.browser);
    await guest.page.goto(env.server.url + '/r/general');
    await guest.page.locator('#name-input').fill('ANA');
    await guest.page.locator('.name-form button[type=submit]').click();
    await guest.page.locator('#name-error', { hasText: 'registered name' }).waitFor();
    await guest.page.screenshot({ path: join(artifacts, 'desktop-name-registered.png') });
    await guest.page.locator('#name-input').fill('not ana');
    await guest.page.locator('.name-form button[type=submit]').click();
    await guest.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(guest.page);
    assert.match(await whoami(guest.page), /You are not ana\s*guest/);
    assert.deepEqual(problems(guest.page), []);
  });

  test('a field chosen as the form opens keeps the focus', async () => {
    // The form focuses its first field a frame after it opens. Someone (or a password
    // manager) already in another field keeps typing there: a password once went into
    // the name field this way.
    const guest = await newPerson(env.browser);
    await arrive(guest.page, env.server.url, '/r/general', 'cleo');
    const focused = await guest.page.evaluate(async () => {
      const chosen = new Promise((done) => {
        new MutationObserver((_, observer) => {
          const password = document.querySelector('#password-input');
          if (password) {
            observer.disconnect();
            password.focus();
            done();
          }
        }).observe(document.body, { childList: true, subtree: true });
      });
      [...document.querySelectorAll('button')].find((b) => b.textContent === 'Register').click();
      await chosen;
      for (let i = 0; i < 3; i++) await new Promise(requestAnimationFrame);
      return document.activeElement.id;
    });
    assert.equal(focused, 'password-input');
    // Opened with nothing chosen, the form starts at its first field.
    await guest.page.getByRole('button', { name: 'Cancel' }).click();
    await guest.page.getByRole('button', { name: 'Change name' }).click();
    await eventually(() => guest.page.evaluate(() => document.activeElement.id), 'name-input');
  });

  test('a guest registers the name in use; a password change, then "log out everywhere", sign other devices out', async () => {
    const laptop = await newPerson(env.browser);
    await arrive(laptop.page, env.server.url, '/r/tech', 'bea');
    await laptop.page.getByRole('button', { name: 'Register' }).click();
    await laptop.page.locator('#password-input').fill(PASSWORD);
    await laptop.page.locator('.name-form button[type=submit]').click();
    await laptop.page.locator('.name-form').waitFor({ state: 'detached' });
    await eventually(() => whoami(laptop.page).then((t) => /guest/.test(t)), false);

    const phone = await newPerson(env.browser);
    await phone.page.goto(env.server.url + '/r/tech');
    await useAccountForm(phone.page, 'Log in', 'bea', PASSWORD);
    await phone.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(phone.page);

    await laptop.page.getByRole('button', { name: 'Change password' }).click();
    await laptop.page.locator('#password-input').fill(PASSWORD);
    await laptop.page.locator('#new-password-input').fill('a brand new passphrase');
    await laptop.page.locator('.name-form button[type=submit]').click();
    await laptop.page.locator('.name-form').waitFor({ state: 'detached' });

    // The phone's session is gone: it is asked who it is.
    await phone.page.locator('.name-form').waitFor({ timeout: 10_000 });
    // The laptop carries on with its fresh session.
    await laptop.page.locator('.status').waitFor({ state: 'detached', timeout: 10_000 });
    await say(laptop.page, 'after the change');
    await message(laptop.page, 'after the change').waitFor();

    // The phone logs in again; then "Log out everywhere" on the laptop ends both.
    // Signed in before the laptop signs everyone out: a log-in still on its way would
    // open a session after that, rightly.
    await useAccountForm(phone.page, 'Log in', 'bea', 'a brand new passphrase');
    await phone.page.locator('.name-form').waitFor({ state: 'detached' });
    await roomReady(phone.page);
    await laptop.page.getByRole('button', { name: 'Log out everywhere' }).click();
    await laptop.page.locator('.name-form').waitFor({ timeout: 10_000 });
    await phone.page.locator('.name-form').waitFor({ timeout: 10_000 });
    await phone.page.reload();
    await phone.page.locator('.name-form').waitFor({ timeout: 10_000 });
    for (const p of [laptop.page, phone.page]) {
      assert.deepEqual(problems(p).filter((x) => !x.includes('WebSocket')), []);
    }
  });
});

describe('markup shows as text', () => {
  // The corpus is sent quickly; the usual flood limits would slow the test, not change it.
  const env = serverAndBrowser(['--send-rate', '200', '--send-burst', '200', '--new-rooms-burst', '200']);

  /// Fails on anything that ran: a dialog, a script error, a CSP violation (logged as a
  /// console error), or the marker the payloads set.
  async function assertNothingRan(page) {
    assert.deepEqual(problems(page), [], 'no dialog, script error or blocked script');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  }

  /// The elements showing user text hold text only: no element a payload could have
  /// injected.
  async function assertNoMarkup(page, selector) {
    const injected = await page.locator(selector).evaluateAll((holders) =>
      holders.flatMap((holder) => [...holder.querySelectorAll('*')].map((el) => el.outerHTML)),
    );
    assert.deepEqual(injected, []);
  }

  test(`${XSS_PAYLOADS.length} payloads as messages, for the sender and a reader, live and from history`, async () => {
    const sender = await newPerson(env.browser);
    const reader = await newPerson(env.browser);
    await arrive(sender.page, env.server.url, '/r/random', 'sender');
    await arrive(reader.page, env.server.url, '/r/random', 'reader');
    for (const payload of XSS_PAYLOADS) await say(sender.page, payload);
    const shown = (page) => page.locator('.lines .msg:not(.pending) .text').allInnerTexts();
    // Markdown: a payload with a `code span` shows it as code, without the backticks.
    const expected = XSS_PAYLOADS.map((p) => p.replace(/`([^`]+)`/g, '$1'));
    await eventually(() => shown(reader.page), expected, 15_000);
    await eventually(() => shown(sender.page), expected, 15_000);
    await reader.page.reload();
    await roomReady(reader.page);
    await eventually(() => shown(reader.page), expected.slice(-50));
    for (const { page } of [sender, reader]) {
      await assertNoMarkup(page, '.lines .text:not(.rich)');
      await assertOnlyFormatting(page, '.lines .text.rich');
      await assertNothingRan(page);
    }
  });

  test(`${XSS_PAYLOADS.length} payloads as usernames are refused, and the refusal is text`, async () => {
    const { page } = await newPerson(env.browser);
    await page.goto(env.server.url + '/r/general');
    for (const payload of XSS_PAYLOADS) {
      await page.locator('#name-input').fill(payload);
      await page.locator('.name-form button[type=submit]').click();
      await page.locator('#name-error:not(:empty)').waitFor();
      await assertNoMarkup(page, '#name-error');
    }
    await page.screenshot({ path: join(artifacts, 'desktop-bad-name.png') });
    await assertNothingRan(page);
  });

  test(`${XSS_PAYLOADS.length} payloads as room topics (and some as titles)`, async () => {
    const { page } = await newPerson(env.browser);
    await arrive(page, env.server.url, '/r/games', 'maker');
    for (const [i, payload] of XSS_PAYLOADS.entries()) {
      const title = i < 5 ? `${payload.slice(0, 24)} ${i}` : `Payload room ${i}`;
      await page.getByRole('button', { name: 'New room' }).click();
      await page.locator('#room-title').fill(title);
      await page.locator('#room-topic').fill(payload);
      await page.locator('.new-room button[type=submit]').click();
      await page.locator('.new-room').waitFor({ state: 'detached' });
      await eventually(() => page.locator('.room-header .topic').innerText(), payload);
      assert.equal(await page.locator('.room-header h1').innerText(), `#${title}`);
      await assertNoMarkup(page, '.room-header .topic, .sidebar .rooms .name');
      assert.equal(await page.locator('.room-header h1 > :not(.hash)').count(), 0);
    }
    // Someone else sees the rooms in the list, and the topics render as text for them too.
    const other = await newPerson(env.browser);
    await arrive(other.page, env.server.url, '/r/payload-room-7', 'visitor');
    assert.equal(await other.page.locator('.room-header .topic').innerText(), XSS_PAYLOADS[7]);
    await assertNoMarkup(other.page, '.room-header .topic, .sidebar .rooms .name');
    await assertNothingRan(page);
    await assertNothingRan(other.page);
  });
});
