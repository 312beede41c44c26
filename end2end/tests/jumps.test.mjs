// Replies, links to a message, search and pins: a reply quotes the message it answers
// and a click on the quote jumps back to it, 500 messages up, fetching the history
// around it; `/r/<room>/<seq>` opens the room at its message; search finds a stemmed
// word and jumps to the message; a room's pins are one click away (search opens on
// them). Changes made offline
// reach the other person once the writer is back.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, fromMenu, line, message, newPerson, PHONE, roomReady, say, serverAndBrowser,
} from './harness.mjs';

/// Sends `count` messages "<prefix> <i>" to `room` through a socket of the page's own
/// session, each step once the last is stored.
async function flood(page, room, prefix, count) {
  return page.evaluate(async ({ room, prefix, count }) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((ok) => ws.addEventListener('open', ok));
    let acked = 0;
    let wake = () => {};
    ws.addEventListener('message', (event) => {
      if (JSON.parse(event.data)[0] === 'ack') {
        acked++;
        wake();
      }
    });
    const hex = (n) => n.toString(16).padStart(8, '0');
    for (let i = 0; i < count; i++) {
      ws.send(JSON.stringify({ t: 'send', room, cid: `flood${hex(i)}${hex(Date.now())}`, text: `${prefix} ${i}` }));
      if (i % 100 === 99 || i === count - 1) {
        while (acked < i + 1) await new Promise((ok) => { wake = ok; });
      }
    }
    ws.close();
    return acked;
  }, { room, prefix, count });
}

/// Whether the line of message `seq` is inside the message pane's visible part.
async function inView(page, seq) {
  return page.evaluate((seq) => {
    const li = document.querySelector(`.lines li[data-seq="${seq}"]`);
    const pane = document.querySelector('.timeline');
    if (!li || !pane) return false;
    const a = li.getBoundingClientRect();
    const b = pane.getBoundingClientRect();
    return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  }, seq);
}

async function seqOf(page, text) {
  return Number(await line(page, text).getAttribute('data-seq'));
}

describe('replies, links, search and pins', () => {
  const env = serverAndBrowser(['--send-rate', '100000', '--send-burst', '100000']);

  test('a reply jumps back 500 messages, and a link opens the room at its message', async () => {
    const writer = await newPerson(env.browser);
    const reader = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(writer.page, env.server.url, '/r/tech', 'replier');
    await arrive(reader.page, env.server.url, '/r/tech', 'jumper');
    await say(writer.page, 'the original plan\nwith details');
    await message(writer.page, 'the original plan').waitFor();
    const original = await seqOf(writer.page, 'the original plan');
    assert.equal(await flood(writer.page, 'tech', 'filler', 500), 500);
    await message(reader.page, 'filler 499').waitFor({ timeout: 30_000 });

    // A link to the message opens the room at it: history around it is fetched, the
    // message is in the middle of the pane and marked.
    await writer.page.goto(`${env.server.url}/r/tech/${original}`);
    await roomReady(writer.page);
    await writer.page.locator(`.lines li.focus[data-seq="${original}"]`).waitFor();
    assert.ok(await inView(writer.page, original), 'the linked message is in view');
    await writer.page.getByRole('button', { name: /Jump to the newest/ }).waitFor();
    await writer.page.screenshot({ path: join(artifacts, 'jump-link-desktop.png') });

    // The writer answers it from its menu; sending goes back down to the newest.
    await fromMenu(writer.page, 'the original plan', 'Reply');
    await writer.page.locator('.replying', { hasText: 'the original plan' }).waitFor();
    await say(writer.page, 'agreed, see above');
    await writer.page.locator('.replying').waitFor({ state: 'detached' });
    await message(writer.page, 'agreed, see above').waitFor();
    assert.equal(await writer.page.getByRole('button', { name: /Jump to the newest/ }).count(), 0);

    // The reader, after a reload (only the newest page held), sees the quote and jumps.
    await reader.page.reload();
    await roomReady(reader.page);
    const reply = line(reader.page, 'agreed, see above');
    const quote = reply.locator('.quote');
    await quote.filter({ hasText: 'replier the original plan' }).waitFor();
    assert.equal(await reader.page.locator(`.lines li[data-seq="${original}"]`).count(), 0, 'not held before the jump');
    await quote.click();
    await reader.page.locator(`.lines li.focus[data-seq="${original}"]`).waitFor();
    assert.ok(await inView(reader.page, original), 'the original is in view');
    await reader.page.screenshot({ path: join(artifacts, 'jump-reply-phone.png') });
    // Reading down from there reaches the newest again; so does the button.
    await reader.page.getByRole('button', { name: /Jump to the newest/ }).click();
    await line(reader.page, 'agreed, see above').waitFor();
    assert.ok(await inView(reader.page, await seqOf(reader.page, 'agreed, see above')));
    for (const p of [writer.page, reader.page]) assert.deepEqual(p.problems, []);
  });

  test('search finds a stemmed word and jumps to it; pins are one click away', async () => {
    const writer = await newPerson(env.browser);
    const seeker = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(writer.page, env.server.url, '/r/random', 'searcher');
    await say(writer.page, 'We are deploying the café menu tonight');
    await message(writer.page, 'deploying the café').waitFor();
    const target = await seqOf(writer.page, 'deploying the café');
    await flood(writer.page, 'random', 'noise', 200);
    await fromMenu(writer.page, 'noise 150', 'Pin');
    await line(writer.page, 'noise 150').locator('.pinned').waitFor();

    // From another room: the hit opens its room at the message.
    await arrive(seeker.page, env.server.url, '/r/general', 'seeker');
    const search = seeker.page.getByRole('button', { name: 'Search and pinned messages' });
    await search.click();
    await seeker.page.locator('.search-note', { hasText: 'Nothing is pinned in #General.' }).waitFor();
    const box = seeker.page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill('deployed cafe');
    await box.press('Enter');
    const hit = seeker.page.locator('.hits a', { hasText: 'We are deploying the café menu tonight' });
    await hit.waitFor();
    await seeker.page.screenshot({ path: join(artifacts, 'search-phone.png') });
    await hit.click();
    await seeker.page.waitForURL(`**/r/random/${target}`);
    await seeker.page.locator(`.lines li.focus[data-seq="${target}"]`).waitFor();
    assert.ok(await inView(seeker.page, target), 'the hit is in view');
    assert.equal(await seeker.page.locator('.search-panel').count(), 0, 'the panel closed');

    // The room's pins, one click away.
    await search.click();
    await seeker.page.locator('.search-note', { hasText: 'Pinned in #Random' }).waitFor();
    const pin = seeker.page.locator('.hits a', { hasText: 'noise 150' });
    await pin.waitFor();
    await seeker.page.screenshot({ path: join(artifacts, 'pins-phone.png') });
    assert.equal(await seeker.page.locator('.hits a').count(), 1);
    await pin.click();
    await line(seeker.page, 'noise 150').and(seeker.page.locator('.focus')).waitFor();
    for (const p of [writer.page, seeker.page]) assert.deepEqual(p.problems, []);
  });

  test('changes made offline arrive once the writer is back', async () => {
    const writer = await newPerson(env.browser);
    const reader = await newPerson(env.browser);
    await arrive(writer.page, env.server.url, '/r/general', 'awaywriter');
    await arrive(reader.page, env.server.url, '/r/general', 'awayreader');
    await say(writer.page, 'react to me');
    await say(writer.page, 'fix my tpyo');
    await say(writer.page, 'take me back');
    await message(reader.page, 'take me back').waitFor();

    await writer.context.setOffline(true);
    await writer.page.locator('.room-header .status', { hasText: 'offline' }).waitFor();
    await fromMenu(writer.page, 'react to me', 'React with 🎉');
    await fromMenu(writer.page, 'fix my tpyo', 'Edit');
    const editor = writer.page.getByRole('textbox', { name: 'Edit message' });
    await editor.fill('fix my typo');
    await editor.press('Enter');
    await fromMenu(writer.page, 'take me back', 'Delete');
    await writer.page.locator('.alert', { hasText: 'goes out once connected' }).waitFor();
    // Nothing reached the reader meanwhile.
    await reader.page.waitForTimeout(300);
    assert.equal(await reader.page.locator('.reaction').count(), 0);

    await writer.context.setOffline(false);
    await line(reader.page, 'react to me').locator('.reaction', { hasText: '🎉 1' }).waitFor({ timeout: 20_000 });
    await line(reader.page, 'fix my typo').locator('.edited').waitFor();
    await reader.page.locator('.lines .msg.deleted').waitFor();
    // Once each, also for the writer.
    await line(writer.page, 'react to me').locator('.reaction', { hasText: '🎉 1' }).waitFor();
    await writer.page.reload();
    await roomReady(writer.page);
    await line(writer.page, 'react to me').locator('.reaction', { hasText: '🎉 1' }).waitFor();
    assert.equal(await writer.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('natter.outbox')).length), 0);
    // The browser logs what the page asked for while offline; nothing else is a problem.
    const offlineNoise = /ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket|net::|Failed to load resource/;
    for (const p of [writer.page, reader.page]) assert.deepEqual(p.problems.filter((m) => !offlineNoise.test(m)), []);
  });
});
