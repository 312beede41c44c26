// "Bo is typing…": what Ana sees while Bo writes, in real headless Chromium against the
// real server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, eventually, launchBrowser, message, newPerson, startServer,
} from './harness.mjs';

describe('typing', () => {
  let server, browser, ana, bo;
  const typingLine = (page) => page.locator('.typing');
  const shown = (page) => typingLine(page).innerText().then((t) => t.trim());

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ana = await newPerson(browser);
    bo = await newPerson(browser);
    await arrive(ana.page, server.url, '/r/general', 'Ana');
    await arrive(bo.page, server.url, '/r/general', 'Bo');
    await ana.page.locator('.notice', { hasText: 'Bo joined' }).waitFor();
  });

  after(async () => {
    for (const p of [ana, bo]) assert.deepEqual(p.page.problems, [], 'no script errors or dialogs');
    await browser?.close();
    await server?.stop();
  });

  test('Bo typing shows under Ana\'s messages and goes when his message arrives', async () => {
    assert.equal(await typingLine(ana.page).getAttribute('aria-live'), 'polite');
    assert.equal(await shown(ana.page), '');
    await bo.page.locator('#message').pressSequentially('hello Ana', { delay: 40 });
    await eventually(() => shown(ana.page), 'Bo is typing…', 3_000);
    await ana.page.screenshot({ path: join(artifacts, 'typing.png') });
    // Only the others hear of it.
    assert.equal(await shown(bo.page), '');
    // Between the messages and the box to write in.
    const [list, line, composer] = await Promise.all(
      ['.timeline', '.typing', '.composer'].map((sel) => ana.page.locator(sel).boundingBox()),
    );
    assert.ok(list.y + list.height <= line.y + 1 && line.y + line.height <= composer.y + 1, 'under the list, above the composer');

    await bo.page.locator('#message').press('Enter');
    await message(ana.page, 'hello Ana').waitFor({ timeout: 3_000 });
    assert.equal(await shown(ana.page), '', 'gone with the message');
  });

  test('it goes by itself about 5 s after Bo stops typing', async () => {
    // One event per person per 3 s: let the last one age.
    await bo.page.waitForTimeout(3_200);
    await bo.page.locator('#message').pressSequentially('still thin', { delay: 40 });
    await eventually(() => shown(ana.page), 'Bo is typing…', 3_000);
    const since = Date.now();
    await ana.page.waitForTimeout(3_500);
    assert.equal(await shown(ana.page), 'Bo is typing…', 'still there after 3.5 s');
    await eventually(() => shown(ana.page), '', 4_000);
    const after = Date.now() - since;
    assert.ok(after >= 4_000 && after <= 7_500, `gone after ${after} ms`);
    // Nothing was sent or stored.
    assert.equal(await ana.page.locator('.lines .msg .text', { hasText: 'still thin' }).count(), 0);
  });
});
