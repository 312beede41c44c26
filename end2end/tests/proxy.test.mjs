// Behind nginx (`NATTER_E2E_PROXY=nginx`, as the test command runs the chat suite a
// second time): pages and the WebSocket come through `docs/deploy/nginx.conf`, and two
// people chat live. On two nodes (`NATTER_E2E_NODES=2`, the third run), each person is
// on a node of their own and they still chat, and see each other online. Without the proxy this file checks only that natter answers itself.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrive, behindNginx, message, newPerson, nodes, say, serverAndBrowser } from './harness.mjs';

describe('behind a reverse proxy', () => {
  const env = serverAndBrowser();

  test('pages and live messages pass through the proxy', async () => {
    const page = await fetch(`${env.server.url}/r/general`);
    assert.equal(page.status, 200);
    const server = page.headers.get('server') ?? '';
    assert.equal(/nginx/.test(server), behindNginx, `server: ${server}`);
    const ana = await newPerson(env.browser);
    const bo = await newPerson(env.browser);
    await arrive(ana.page, env.server.url, '/r/general', 'proxied-ana');
    await arrive(bo.page, env.server.url, '/r/general', 'proxied-bo');
    await say(ana.page, 'through the proxy');
    await message(bo.page, 'through the proxy').waitFor();
    if (nodes > 1) {
      // Ana and Bo are on two nodes: each holds one of the sockets.
      for (const node of env.server.nodeUrls) {
        const health = await (await fetch(`${node}/healthz`)).text();
        assert.match(health, /ok.*\b1\b/, `${node}: ${health}`);
      }
      await say(bo.page, 'and back across nodes');
      await message(ana.page, 'and back across nodes').waitFor();
      // Each sees the other online.
      await ana.page.locator('.online-list li .person', { hasText: 'proxied-bo' }).waitFor();
      await bo.page.locator('.online-list li .person', { hasText: 'proxied-ana' }).waitFor();
    }
    assert.deepEqual([...ana.page.problems, ...bo.page.problems], []);
  });
});
