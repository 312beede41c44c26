// The installed app: manifest and icons, the service worker and its cache, an offline
// start, updates, the install offer.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  PHONE,
  arrive,
  eventually,
  launchBrowser,
  message,
  newPerson,
  say,
  startServer,
} from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/// Width and height from a PNG's IHDR chunk.
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, 'a PNG file');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
}

/// Waits until a service worker controls the page; returns its script URL.
async function controlled(page) {
  return page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done));
    }
    return navigator.serviceWorker.controller.scriptURL;
  });
}

/// Whether the worker's copy of this page was rendered for `name`.
async function keptPageNames(page, name) {
  return page.evaluate(async (name) => {
    for (const key of await caches.keys()) {
      const kept = await (await caches.open(key)).match(location.href, { ignoreSearch: true });
      if (kept) return (await kept.text()).includes(name);
    }
    return false;
  }, name);
}

/// A copy of the built front end, which a test may change as a new release would.
function copyOfSite() {
  const dir = mkdtempSync(join(tmpdir(), 'natter-site-'));
  cpSync(join(root, 'target', 'site'), dir, { recursive: true });
  return dir;
}

describe('installable app', () => {
  test('the manifest is served, complete, and its icons have the sizes it states', async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    try {
      const { page } = await newPerson(browser);
      await page.goto(server.url + '/');
      const href = await page.locator('link[rel=manifest]').getAttribute('href');
      assert.equal(href, '/manifest.webmanifest');
      for (const selector of [
        'meta[name=theme-color]',
        'link[rel=apple-touch-icon]',
        'meta[name=apple-mobile-web-app-capable][content=yes]',
        'meta[name=apple-mobile-web-app-title]',
      ]) {
        assert.equal(await page.locator(selector).count(), 1, selector);
      }

      const response = await page.request.get(server.url + href);
      assert.equal(response.status(), 200);
      assert.match(response.headers()['content-type'], /application\/manifest\+json/);
      const manifest = await response.json();
      for (const field of ['name', 'short_name', 'description', 'start_url', 'scope', 'theme_color', 'background_color']) {
        assert.ok(typeof manifest[field] === 'string' && manifest[field].length > 0, field);
      }
      assert.equal(manifest.display, 'standalone');
      assert.equal(manifest.start_url, '/');
      assert.equal(manifest.scope, '/');

      const kinds = new Set();
      for (const icon of manifest.icons) {
        const file = await page.request.get(new URL(icon.src, server.url).href);
        assert.equal(file.status(), 200, icon.src);
        assert.equal(file.headers()['content-type'], icon.type, icon.src);
        assert.equal(pngSize(await file.body()), icon.sizes, icon.src);
        kinds.add(`${icon.sizes} ${icon.purpose}`);
      }
      for (const want of ['192x192 any', '512x512 any', '192x192 maskable', '512x512 maskable']) {
        assert.ok(kinds.has(want), `an icon ${want}`);
      }
      const apple = await page.request.get(server.url + '/icons/apple-touch-icon.png');
      assert.equal(pngSize(await apple.body()), '180x180');
      assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('offline, the installed app opens with its rooms and last messages, and sends later', async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    try {
      const { context, page } = await newPerson(browser, { viewport: PHONE });
      await arrive(page, server.url, '/r/general', 'wanderer');
      assert.match(await controlled(page), /\/sw\.js$/);
      await say(page, 'seen before the tunnel');
      await message(page, 'seen before the tunnel').waitFor();
      // Kept once the page has settled (written at most once a second).
      await page.waitForTimeout(1_500);
      // The page the worker keeps was fetched again after the sign-in, so it says who this is.
      await eventually(() => keptPageNames(page, 'wanderer'), true);

      // The server is gone and so is the network.
      await server.halt();
      await context.setOffline(true);
      await page.reload();
      await page.locator('.room-header h1', { hasText: 'General' }).waitFor();
      await message(page, 'seen before the tunnel').waitFor();
      await page.locator('.room-header .status', { hasText: 'offline' }).waitFor();
      assert.ok((await page.locator('.room-link').count()) >= 3, 'the room list is there');
      await page.screenshot({ path: join(root, 'end2end', 'artifacts', 'phone-offline.png') });

      // What is written waits in the outbox.
      await say(page, 'written in the tunnel');
      await page.locator('.msg.pending', { hasText: 'written in the tunnel' }).waitFor();

      await server.resume();
      await context.setOffline(false);
      await message(page, 'written in the tunnel').waitFor({ timeout: 20_000 });
      assert.equal(await message(page, 'written in the tunnel').count(), 1);
      assert.deepEqual(page.problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket|net::/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('a new release installs a new cache and the page offers a reload into it', async () => {
    const site = copyOfSite();
    const server = await startServer(['--site-root', site]);
    const browser = await launchBrowser();
    try {
      const { page } = await newPerson(browser);
      await arrive(page, server.url, '/r/general', 'updater');
      await controlled(page);
      const before = await page.evaluate(() => caches.keys());
      assert.equal(before.length, 1);
      assert.equal(await page.locator('.banner', { hasText: 'new version' }).count(), 0);

      // A "new release": a file of the shell changes, and the server restarts.
      await server.halt();
      const css = readdirSync(join(site, 'pkg')).find((f) => f.endsWith('.css'));
      appendFileSync(join(site, 'pkg', css), '\n/* release 2 */\n');
      await server.resume();
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());

      const banner = page.locator('.banner', { hasText: 'A new version of Natter is ready.' });
      await banner.waitFor({ timeout: 15_000 });
      await Promise.all([page.waitForEvent('load'), banner.getByRole('button', { name: 'Reload' }).click()]);
      await page.locator('.timeline[data-loaded=true]').waitFor();
      await eventually(async () => {
        const keys = await page.evaluate(() => caches.keys());
        return keys.length === 1 && keys[0] !== before[0];
      }, true, 10_000);
      assert.equal(await page.locator('.banner', { hasText: 'new version' }).count(), 0);
    } finally {
      await browser.close();
      await server.stop();
      rmSync(site, { recursive: true, force: true });
    }
  });

  test('an Install button appears when the browser offers installation', async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    try {
      const { page } = await newPerson(browser);
      await arrive(page, server.url, '/r/general', 'installer');
      const button = page.getByRole('button', { name: 'Install app' });
      assert.equal(await button.count(), 0, 'no offer, no button');
      // What Chromium fires when the app is installable (headless never does).
      await page.evaluate(() => {
        const offer = new Event('beforeinstallprompt', { cancelable: true });
        offer.prompt = () => { window.__prompted = true; return Promise.resolve(); };
        window.dispatchEvent(offer);
      });
      await button.click();
      assert.equal(await page.evaluate(() => window.__prompted), true);
      await button.waitFor({ state: 'detached' });
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
