// Web Push in the browser: the service worker's push handler, driven through DevTools'
// `ServiceWorker.deliverPushMessage` (the real push service is Google's, out of reach
// here; the server's side is tests/push.rs against a stand-in), shows the notification
// with the room's title, body and tag, and a click on it goes to the room.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { arrive, eventually, newPerson, serverAndBrowser } from './harness.mjs';

describe('web push', () => {
  const env = serverAndBrowser();

  test("the service worker shows a pushed notice, and a click goes to the notice's room", async (t) => {
    const { context, page } = await newPerson(env.browser);
    await context.grantPermissions(['notifications'], { origin: env.server.url });
    await arrive(page, env.server.url, '/r/random', 'pushed');
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done));
      }
    });

    // DevTools knows the worker's registration by an id of its own.
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => registrations.push(...updated));
    await cdp.send('ServiceWorker.enable');
    await eventually(() => registrations.some((r) => r.scopeURL === `${env.server.url}/` && !r.isDeleted), true);
    const { registrationId } = registrations.find((r) => r.scopeURL === `${env.server.url}/`);
    assert.ok(context.serviceWorkers().length > 0, 'the worker is running');
    // The newest: a worker stopped while idle is a new one when a push wakes it.
    const shown = () =>
      context.serviceWorkers().at(-1).evaluate(async () =>
        (await self.registration.getNotifications()).map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          url: n.data && n.data.url,
          target: clickTarget(n).href,
        })),
      );
    const deliver = (notice) =>
      cdp.send('ServiceWorker.deliverPushMessage', {
        origin: env.server.url,
        registrationId,
        data: JSON.stringify(notice),
      });
    const notice = {
      title: 'bo in #general',
      body: '@pushed are you there?',
      url: '/r/general',
      tag: 'natter-general',
      room: 'general',
      seq: 3,
    };

    // Natter open, visible and focused: the page shows messages itself.
    const looking = await page.evaluate(() => document.visibilityState === 'visible' && document.hasFocus());
    if (looking) {
      await deliver(notice);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await shown(), [], 'no notification over a visible Natter');
    } else {
      t.diagnostic('the page had no focus: a push over a visible Natter was not tried');
    }

    // Natter closed (only another site open): the worker shows the notice.
    await page.goto('about:blank');
    await deliver(notice);
    await eventually(shown, [
      {
        title: 'bo in #general',
        body: '@pushed are you there?',
        tag: 'natter-general',
        url: '/r/general',
        target: `${env.server.url}/r/general`,
      },
    ]);

    // The next notice of the same room replaces it; a notice naming another site's page
    // still opens Natter.
    await deliver({ ...notice, body: 'hello again', url: 'https://evil.example/r/x', seq: 4 });
    await eventually(
      async () => (await shown()).map(({ body, target }) => ({ body, target })),
      [{ body: 'hello again', target: `${env.server.url}/` }],
    );
    // (The harness leaves out Chromium's note that incognito contexts have no Push API.)
    assert.deepEqual(page.problems, []);
    await context.close();
  });
});
