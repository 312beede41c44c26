// Accessibility: axe-core on the main views, light and dark, phone and desktop; and the
// whole chat by keyboard alone, with a visible focus.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { DESKTOP, PHONE, arrive, message, newPerson, say, serverAndBrowser } from './harness.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/// Runs axe on the page as it is; returns the serious and critical findings, readably.
async function audit(page, view) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }),
  );
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${view}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('accessibility', () => {
  const env = serverAndBrowser();

  for (const colorScheme of ['light', 'dark']) {
    test(`no serious or critical axe findings on the main views (${colorScheme})`, async () => {
      const findings = [];
      // Scripts injected by the test need the page's CSP out of the way.
      const options = { colorScheme, bypassCSP: true };

      const desk = await newPerson(env.browser, { viewport: DESKTOP, ...options });
      await desk.page.goto(env.server.url + '/r/general');
      await desk.page.locator('#name-input').waitFor();
      findings.push(...(await audit(desk.page, 'welcome dialog')));
      await desk.page.getByRole('tab', { name: 'Register' }).click();
      findings.push(...(await audit(desk.page, 'register dialog')));
      await desk.context.close();

      const person = await newPerson(env.browser, { viewport: DESKTOP, ...options });
      await arrive(person.page, env.server.url, '/r/general', `axe-${colorScheme}`);
      await say(person.page, `A ${colorScheme} message to audit, with a link-looking www.example.com`);
      await message(person.page, `A ${colorScheme} message to audit`).waitFor();
      findings.push(...(await audit(person.page, 'room, desktop')));
      await person.page.getByRole('button', { name: 'New room' }).click();
      findings.push(...(await audit(person.page, 'new room form')));
      await person.page.getByRole('button', { name: 'Change name' }).click();
      findings.push(...(await audit(person.page, 'change name dialog')));
      await person.context.close();

      const phone = await newPerson(env.browser, { viewport: PHONE, ...options });
      await arrive(phone.page, env.server.url, '/r/random', `axe-phone-${colorScheme}`);
      await say(phone.page, `From the ${colorScheme} phone`);
      await message(phone.page, `From the ${colorScheme} phone`).waitFor();
      findings.push(...(await audit(phone.page, 'room, phone (with notification offer)')));
      await phone.page.getByRole('button', { name: 'Rooms and people' }).click();
      await phone.page.waitForTimeout(300);
      findings.push(...(await audit(phone.page, 'drawer, phone')));
      await phone.context.close();

      const lost = await newPerson(env.browser, { viewport: PHONE, ...options });
      await lost.page.goto(env.server.url + '/r/no-such-room');
      await lost.page.locator('.not-found').waitFor();
      findings.push(...(await audit(lost.page, 'not found')));
      await lost.context.close();

      assert.deepEqual(findings, []);
    });
  }

  test('the whole chat works from the keyboard, with a visible focus', async () => {
    const { context, page } = await newPerson(env.browser);
    await page.goto(env.server.url + '/r/general');
    // The name form has the focus once the page is ready.
    await page.locator('#name-input:focus').waitFor();
    await page.keyboard.type('keys-only');
    await page.keyboard.press('Enter');
    await page.locator('.timeline[data-loaded=true]').waitFor();

    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return { text: (el.getAttribute('aria-label') || el.textContent || el.id).trim(), outline: style.outlineStyle, width: style.outlineWidth };
      });

    // Tab to the Tech room and open it with Enter.
    let found = null;
    for (let i = 0; i < 30 && !found; i++) {
      await page.keyboard.press('Tab');
      const now = await focused();
      if (now.text.startsWith('#Tech')) found = now;
    }
    assert.ok(found, 'the Tech room is reachable with Tab');
    assert.notEqual(found.outline, 'none', 'the focus is visible');
    assert.notEqual(found.width, '0px');
    await page.keyboard.press('Enter');
    await page.locator('.room-header h1', { hasText: 'Tech' }).waitFor();

    // Tab on to the message box, write and send with Enter.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement.id)) === 'message') break;
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), 'message');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    await message(page, 'typed without a mouse').waitFor();

    // New messages are announced: the list is a polite live region.
    const log = page.locator('.timeline [role=log]');
    assert.equal(await log.getAttribute('role'), 'log');
    assert.equal(await log.getAttribute('aria-live'), 'polite');
    assert.deepEqual(page.problems, []);
    await context.close();
  });
});
