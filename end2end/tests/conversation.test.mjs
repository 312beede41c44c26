// Conversation tools: a reaction is seen live by the other person and a second click takes
// it back; who reacted shows on hover and on a long press; the author edits a message
// (marked "edited", formatting parsed again) and deletes one (a "message deleted" line
// stays); everyone sees it live and after a reload.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, fromMenu, line, message, newPerson, PHONE, roomReady, say, serverAndBrowser,
} from './harness.mjs';

describe('conversation tools', () => {
  const env = serverAndBrowser();

  test('reactions, edits and deletes reach the other person live and stay after a reload', async () => {
    const writer = await newPerson(env.browser);
    const reader = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(writer.page, env.server.url, '/r/random', 'toolwriter');
    await arrive(reader.page, env.server.url, '/r/random', 'toolreader');
    await say(writer.page, 'first draft');
    await say(writer.page, 'a mistake');
    await message(reader.page, 'a mistake').waitFor();

    // The reader reacts with 👍 from the menu; the writer sees it at once.
    await fromMenu(reader.page, 'first draft', 'React with 👍');
    const thumbs = (page) => line(page, 'first draft').locator('.reaction', { hasText: '👍' });
    await thumbs(writer.page).filter({ hasText: '👍 1' }).waitFor();
    assert.equal(await thumbs(writer.page).getAttribute('title'), '👍 toolreader');
    assert.equal(await thumbs(writer.page).getAttribute('aria-pressed'), 'false');
    // The writer adds theirs by clicking the reaction; the reader sees two.
    await thumbs(writer.page).click();
    await thumbs(reader.page).filter({ hasText: '👍 2' }).waitFor();
    // The writer's own page shows it pressed once its reaction comes back as an event; the
    // reader may see the event first, so wait rather than read at once.
    await line(writer.page, 'first draft')
      .locator('.reaction[aria-pressed="true"]', { hasText: '👍 2' }).waitFor();
    // A long press on a phone says who.
    await thumbs(reader.page).dispatchEvent('contextmenu');
    await reader.page.locator('.alert', { hasText: '👍 toolreader, toolwriter' }).waitFor();
    // The reader takes theirs back: one left, the writer's.
    await thumbs(reader.page).click();
    await thumbs(writer.page).filter({ hasText: '👍 1' }).waitFor();
    assert.equal(await thumbs(writer.page).getAttribute('title'), '👍 toolwriter');

    // The writer edits the first message in place; Enter saves.
    await fromMenu(writer.page, 'first draft', 'Edit');
    const box = writer.page.getByRole('textbox', { name: 'Edit message' });
    await box.fill('second **draft**');
    await box.press('Enter');
    for (const page of [writer.page, reader.page]) {
      const edited = line(page, 'second draft');
      await edited.locator('strong', { hasText: 'draft' }).waitFor();
      await edited.locator('.edited').waitFor();
      await edited.locator('.reaction', { hasText: '👍 1' }).waitFor();
    }
    // Only the author's menu has Edit and Delete.
    await line(reader.page, 'a mistake').locator('.msg-menu > summary').click();
    assert.equal(await line(reader.page, 'a mistake').getByRole('button', { name: 'Delete' }).count(), 0);
    await reader.page.screenshot({ path: join(artifacts, 'conversation-menu-phone.png') });

    // The writer deletes the second: a "message deleted" line stays in its place.
    await fromMenu(writer.page, 'a mistake', 'Delete');
    for (const page of [writer.page, reader.page]) {
      await page.locator('.lines .msg.deleted .gone', { hasText: 'message deleted' }).waitFor();
      assert.equal(await message(page, 'a mistake').count(), 0);
    }
    await reader.page.screenshot({ path: join(artifacts, 'conversation-phone.png') });
    await writer.page.screenshot({ path: join(artifacts, 'conversation-desktop.png') });

    // After a reload, history has them as they are now.
    await reader.page.reload();
    await roomReady(reader.page);
    await line(reader.page, 'second draft').locator('.edited').waitFor();
    await line(reader.page, 'second draft').locator('.reaction', { hasText: '👍 1' }).waitFor();
    await reader.page.locator('.lines .msg.deleted').waitFor();
    assert.equal(await message(reader.page, 'a mistake').count(), 0);
    for (const p of [writer.page, reader.page]) assert.deepEqual(p.problems, []);
  });
});
