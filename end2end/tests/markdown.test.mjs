// Formatting: markdown parsed by the server, drawn by the page as DOM nodes. Another
// person sees the formatting, live and from history; a `javascript:` link is no link;
// the XSS corpus written as markdown runs nothing. Real Chromium against the real server.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, eventually, message, newPerson, PHONE, roomReady, say, serverAndBrowser,
} from './harness.mjs';
import { XSS_PAYLOADS } from './xss-payloads.mjs';
import { assertOnlyFormatting } from './formatting.mjs';

const nothingRan = async (page) => {
  assert.deepEqual(page.problems, [], 'no dialog, script error or hydration problem');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
};

const FORMATTED = [
  '**Release notes** for _today_, ~~yesterday~~ and `v1.2`, @reader',
  '```rust',
  'fn main() { println!("<b>hi</b>"); }',
  '```',
  '> quoted *words*',
  '',
  '- first',
  '- second, see [the docs](https://example.com/docs)',
  '',
  '1. one',
  '2. two https://example.org/x.',
].join('\n');

describe('formatting', () => {
  const env = serverAndBrowser();

  test('a message with formatting renders as formatting for the other person', async () => {
    const sender = await newPerson(env.browser);
    const reader = await newPerson(env.browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    await arrive(sender.page, env.server.url, '/r/general', 'writer');
    await arrive(reader.page, env.server.url, '/r/general', 'reader');
    await sender.page.locator('.composer-note', { hasText: '**bold**' }).waitFor();
    await say(sender.page, FORMATTED);

    const check = async (page) => {
      const msg = message(page, 'Release notes');
      await msg.waitFor();
      assert.ok(await msg.evaluate((el) => el.classList.contains('rich')));
      assert.equal(await msg.locator('strong').first().innerText(), 'Release notes');
      assert.equal(await msg.locator('em').first().innerText(), 'today');
      assert.equal(await msg.locator('s').innerText(), 'yesterday');
      assert.equal(await msg.locator(':not(pre) > code').first().innerText(), 'v1.2');
      assert.equal(await msg.locator('mark.mention').innerText(), '@reader');
      assert.equal(await msg.locator('.code .lang').innerText(), 'rust');
      assert.equal(
        await msg.locator('pre code').innerText(),
        'fn main() { println!("<b>hi</b>"); }',
      );
      assert.equal(await msg.locator('pre b').count(), 0, 'code is text');
      assert.equal(await msg.locator('blockquote em').innerText(), 'words');
      assert.deepEqual(await msg.locator('ul > li').allInnerTexts(), [
        'first', 'second, see the docs',
      ]);
      assert.deepEqual(await msg.locator('ol > li').allInnerTexts(), [
        'one', 'two https://example.org/x.',
      ]);
      const links = await msg.locator('a').evaluateAll((as) =>
        as.map((a) => [a.getAttribute('href'), a.textContent, a.target, a.rel]),
      );
      const rel = 'noopener noreferrer nofollow ugc';
      assert.deepEqual(links, [
        ['https://example.com/docs', 'the docs', '_blank', rel],
        ['https://example.org/x', 'https://example.org/x', '_blank', rel],
      ]);
      await assertOnlyFormatting(page, '.lines .text.rich');
    };
    await check(reader.page);
    await check(sender.page);
    assert.equal(
      await reader.page.locator('.lines .msg.mentions-me mark.mention.me').count(),
      1,
      'the mention of the reader is theirs',
    );
    await reader.page.screenshot({ path: join(artifacts, 'phone-formatting.png') });
    // From history, rendered on the server and hydrated: the same.
    await reader.page.reload();
    await roomReady(reader.page);
    await check(reader.page);
    await nothingRan(reader.page);
    await nothingRan(sender.page);
  });

  test('a javascript: link is not a link', async () => {
    const sender = await newPerson(env.browser);
    const reader = await newPerson(env.browser);
    await arrive(sender.page, env.server.url, '/r/random', 'linker');
    await arrive(reader.page, env.server.url, '/r/random', 'clicker');
    const bad = [
      '[click me](javascript:alert(1)) **now**',
      '[mixed](JaVaScRiPt:alert(1)) _case_',
      '[encoded](&#106;avascript:alert(1)) _entity_',
      '<javascript:alert(1)> _autolink_',
      '![image](javascript:alert(1)) _image_',
      '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) _data_',
      '[vb](vbscript:msgbox(1)) _vb_',
    ];
    for (const text of bad) await say(sender.page, text);
    await say(sender.page, 'the end');
    await message(reader.page, 'the end').waitFor();
    const msg = message(reader.page, 'click me');
    assert.equal(await msg.innerText(), 'click me now');
    assert.equal(await reader.page.locator('.lines .text a').count(), 0, 'no link at all');
    assert.equal(await message(reader.page, 'autolink').innerText(), 'javascript:alert(1) autolink');
    await msg.getByText('click me').click();
    await reader.page.waitForTimeout(300);
    await nothingRan(reader.page);
    assert.equal(reader.context.pages().length, 1, 'nothing opened');
  });

  test(`${XSS_PAYLOADS.length} payloads as markdown run nothing, live and from history`, async () => {
    const sender = await newPerson(env.browser);
    const reader = await newPerson(env.browser);
    await arrive(sender.page, env.server.url, '/r/games', 'marker');
    await arrive(reader.page, env.server.url, '/r/games', 'watcher');
    for (const p of XSS_PAYLOADS) {
      await say(
        sender.page,
        [
          `**${p}** _${p}_ ~~${p}~~ \`${p}\``,
          `[link](${p}) [${p}](javascript:alert(1)) ![${p}](${p}) <${p}>`,
          `> ${p}`,
          `- ${p}`,
          '```' + p,
          p,
          '```',
        ].join('\n'),
      );
    }
    const count = (page) => page.locator('.lines .msg:not(.pending)').count();
    await eventually(() => count(reader.page), XSS_PAYLOADS.length, 20_000);
    await eventually(() => count(sender.page), XSS_PAYLOADS.length, 20_000);
    for (const { page } of [sender, reader]) {
      await assertOnlyFormatting(page, '.lines .text');
      await nothingRan(page);
    }
    await reader.page.reload();
    await roomReady(reader.page);
    // History comes a page (50) at a time.
    await eventually(() => count(reader.page), Math.min(XSS_PAYLOADS.length, 50));
    await assertOnlyFormatting(reader.page, '.lines .text');
    await reader.page.waitForTimeout(500);
    await nothingRan(reader.page);
  });
});
