// Link cards: a link in a message gets its card (site, title, description, picture) a
// moment after the message, for everyone in the room, live and after a reload; the
// picture is Natter's own thumbnail, so browsers never contact the linked site; the
// author can take the card away. The linked site is a stand-in on loopback, which the
// server may reach only through its test-only flag.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { describe, test, before, after } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, message, newPerson, PHONE, roomReady, say, serverAndBrowser,
} from './harness.mjs';

const PICTURE = readFileSync(new URL('../../docs/screenshot-desktop.png', import.meta.url));

/// The linked site: one page with a card, its picture; counts who asked for what.
function standInSite() {
  const hits = { page: 0, picture: 0 };
  const server = createServer((req, res) => {
    if (req.url === '/page') {
      hits.page += 1;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Plain title</title>
        <meta property="og:site_name" content="Stand-in News">
        <meta property="og:title" content="Natter ships link cards <script>window.__pwned=1</script>">
        <meta property="og:description" content="A card with a picture, drawn as text.">
        <meta property="og:image" content="/picture.png"></head><body>hi</body></html>`);
    } else if (req.url === '/picture.png') {
      hits.picture += 1;
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PICTURE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return { server, hits };
}

describe('link cards', () => {
  const env = serverAndBrowser(['--preview-allow-loopback']);
  const site = standInSite();
  let base;
  before(async () => {
    await new Promise((ok) => site.server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${site.server.address().port}`;
  });
  after(() => site.server.close());

  test('a link gets its card for everyone; its author takes it away', async () => {
    const writer = await newPerson(env.browser);
    const reader = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(writer.page, env.server.url, '/r/random', 'cardwriter');
    await arrive(reader.page, env.server.url, '/r/random', 'cardreader');
    const link = `${base}/page`;
    const sent = Date.now();
    await say(writer.page, `Have a look: ${link}`);

    for (const page of [reader.page, writer.page]) {
      const card = page.locator('.lines .msg .card');
      await card.waitFor({ timeout: 10_000 });
      // A figure for the record (fetch, thumbnail, store, send, draw), not a limit.
      if (page === reader.page) console.log(`card on screen ${Date.now() - sent} ms after sending`);
      assert.equal(await card.locator('.site').innerText(), 'Stand-in News');
      assert.equal(
        await card.locator('.title').innerText(),
        'Natter ships link cards <script>window.__pwned=1</script>',
        'the title is text',
      );
      assert.equal(await card.locator('.about').innerText(), 'A card with a picture, drawn as text.');
      const anchor = card.locator('a.card-link');
      assert.equal(await anchor.getAttribute('href'), link);
      assert.equal(await anchor.getAttribute('target'), '_blank');
      assert.equal(await anchor.getAttribute('rel'), 'noopener noreferrer nofollow ugc');
      const img = card.locator('img');
      assert.match(await img.getAttribute('src'), /^\/previews\/[0-9a-f]{32}\.jpg$/);
      await img.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (el) => el.complete && el.naturalWidth > 0,
        await img.elementHandle(),
      );
      assert.equal(await img.evaluate((el) => el.naturalWidth), 400, "Natter's thumbnail");
      assert.deepEqual(page.problems, []);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
    }
    // The server fetched the page and its picture once; the browsers, nothing.
    assert.deepEqual(site.hits, { page: 1, picture: 1 });
    // Only the author has the button.
    assert.equal(await reader.page.locator('.card-remove').count(), 0);
    await reader.page.screenshot({ path: join(artifacts, 'phone-link-card.png') });
    await writer.page.screenshot({ path: join(artifacts, 'desktop-link-card.png') });

    // After a reload the card is there from history; the unread count is not moved by it.
    await reader.page.reload();
    await roomReady(reader.page);
    await reader.page.locator('.lines .msg .card .title').waitFor();

    await writer.page.locator('.card-remove').click();
    for (const page of [writer.page, reader.page]) {
      await page.locator('.lines .msg .card').waitFor({ state: 'detached' });
      await message(page, 'Have a look').waitFor();
    }
    await writer.page.reload();
    await roomReady(writer.page);
    await message(writer.page, 'Have a look').waitFor();
    assert.equal(await writer.page.locator('.lines .msg .card').count(), 0, 'gone for good');
  });
});
