// What a formatted message may hold (ui::room::rich_text): these elements, these
// attributes, and links to http, https and mailto only, opening in a new tab.

import assert from 'node:assert/strict';

const ELEMENTS = new Set([
  'P', 'DIV', 'SPAN', 'STRONG', 'EM', 'S', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'A',
  'BR', 'MARK',
]);
const ATTRIBUTES = new Set(['class', 'href', 'target', 'rel', 'start']);

/// Every element inside `selector`'s holders is one the renderer makes, with its
/// attributes only; every link is http(s) or mailto with a safe `rel`.
export async function assertOnlyFormatting(page, selector) {
  const found = await page.locator(selector).evaluateAll((holders) =>
    holders.flatMap((holder) =>
      [...holder.querySelectorAll('*')].map((el) => ({
        tag: el.tagName,
        attrs: [...el.attributes].map((a) => [a.name, a.value]),
        html: el.outerHTML.slice(0, 200),
      })),
    ),
  );
  for (const { tag, attrs, html } of found) {
    assert.ok(ELEMENTS.has(tag), `unexpected element: ${html}`);
    for (const [name, value] of attrs) {
      assert.ok(ATTRIBUTES.has(name), `unexpected attribute: ${html}`);
      if (name === 'href') assert.match(value, /^(https?:\/\/|mailto:)/i, html);
    }
    if (tag === 'A') {
      const attr = Object.fromEntries(attrs);
      assert.equal(attr.target, '_blank', html);
      assert.equal(attr.rel, 'noopener noreferrer nofollow ugc', html);
    }
  }
}
