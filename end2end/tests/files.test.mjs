// Files, in real headless Chromium against the real server: a pasted image, a dropped
// PDF, a picked video and a file over the limit, seen by the other person; the upload's
// progress and cancel; a file attached offline (kept in IndexedDB) and an upload cut off
// by a reload, each making one message; a file's name is only ever text.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  DESKTOP, PHONE, arrive, artifacts, launchBrowser, newPerson, startServer,
} from './harness.mjs';

/// Waits until a service worker controls the page (it serves the page offline).
async function controlled(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done));
    }
  });
}

/// Uploads at `bytesPerSecond` from this page (DevTools' network throttling).
async function throttle(person, bytesPerSecond) {
  const cdp = await person.context.newCDPSession(person.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
  return cdp;
}

/// Bytes that do not compress, `n` of them.
function noise(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 1) out[i] = (i * 2654435761) >>> 24;
  return out;
}

/// Console noise a page makes while offline (failed fetches and sockets).
const offlineNoise = /ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket|net::|Failed to load resource/;

/// Makes a `width`×`height` PNG in the page (a canvas) and returns its bytes.
async function pngIn(page, width, height) {
  return page.evaluate(async ([w, h]) => {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d');
    g.fillStyle = '#3a7';
    g.fillRect(0, 0, w, h);
    g.fillStyle = '#fff';
    g.font = '48px sans-serif';
    g.fillText('Natter', 20, 80);
    const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  }, [width, height]);
}

/// Records two seconds of an animated canvas as WebM (VP8) in the page; returns its bytes.
async function webmIn(page) {
  return page.evaluate(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 120;
    const g = canvas.getContext('2d');
    const stream = canvas.captureStream(15);
    const recorder = new MediaRecorder(stream, { mimeType: 'video/webm;codecs=vp8' });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    let frame = 0;
    const timer = setInterval(() => {
      g.fillStyle = `hsl(${(frame++ * 20) % 360} 70% 50%)`;
      g.fillRect(0, 0, 160, 120);
    }, 60);
    recorder.start();
    await new Promise((r) => setTimeout(r, 2000));
    const stopped = new Promise((r) => (recorder.onstop = r));
    recorder.stop();
    await stopped;
    clearInterval(timer);
    const blob = new Blob(chunks, { type: 'video/webm' });
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  });
}

describe('files', () => {
  let server, browser, ana, bo;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ana = await newPerson(browser, { viewport: PHONE });
    bo = await newPerson(browser, { viewport: PHONE });
    await arrive(ana.page, server.url, '/r/general', 'ana');
    await arrive(bo.page, server.url, '/r/general', 'Bo');
  });

  after(async () => {
    for (const p of [ana, bo]) {
      assert.deepEqual(p.page.problems.filter((m) => !offlineNoise.test(m)), [], 'no script errors or dialogs');
    }
    await browser?.close();
    await server?.stop();
  });

  test('a pasted image reaches the other person as a thumbnail that opens full size', async () => {
    const bytes = await pngIn(ana.page, 1200, 800);
    await ana.page.locator('#message').fill('the view from here');
    await ana.page.evaluate((bytes) => {
      const file = new File([new Uint8Array(bytes)], 'screenshot.png', { type: 'image/png' });
      const data = new DataTransfer();
      data.items.add(file);
      const paste = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
      document.querySelector('#message').dispatchEvent(paste);
    }, bytes);
    const thumb = bo.page.locator('.lines .msg .attachment.image img');
    await thumb.waitFor({ timeout: 10_000 });
    await bo.page.locator('.lines .msg .text', { hasText: 'the view from here' }).waitFor();
    await bo.page.waitForFunction(() => document.querySelector('.attachment.image img')?.naturalWidth > 0);
    const natural = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
    assert.deepEqual(natural, [320, 213], 'the thumbnail, not the full image');
    assert.equal(await ana.page.locator('#message').inputValue(), '', 'the caption went with it');
    await bo.page.screenshot({ path: join(artifacts, 'files-image-phone.png') });

    const [full] = await Promise.all([
      bo.context.waitForEvent('page'),
      bo.page.locator('.attachment.image').click(),
    ]);
    await full.waitForLoadState();
    assert.match(full.url(), /\/files\/[0-9a-f]{32}$/);
    const response = await bo.context.request.get(full.url());
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-type'], 'image/png');
    const size = await full.evaluate(() => [document.images[0]?.naturalWidth, document.images[0]?.naturalHeight]);
    assert.deepEqual(size, [1200, 800], 'the full size');
    await full.close();
  });

  test('a dropped PDF downloads under its name', async () => {
    await ana.page.evaluate(() => {
      const pdf = '%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n';
      const file = new File([pdf], 'minutes.pdf', { type: 'application/pdf' });
      const data = new DataTransfer();
      data.items.add(file);
      const target = document.querySelector('.lines') ?? document.body;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    const link = bo.page.locator('.lines .msg .attachment.file');
    await link.waitFor({ timeout: 10_000 });
    assert.match(await link.innerText(), /minutes\.pdf[\s\S]*application\/pdf/);
    const [download] = await Promise.all([bo.page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'minutes.pdf');
    await bo.page.screenshot({ path: join(artifacts, 'files-pdf-phone.png') });
  });

  test('a picked video plays in place', async () => {
    const bytes = await webmIn(ana.page);
    await ana.page.locator('#file-picker').setInputFiles({
      name: 'clip.webm',
      mimeType: 'video/webm',
      buffer: Buffer.from(bytes),
    });
    const video = bo.page.locator('.lines .msg video.attachment');
    await video.waitFor({ timeout: 10_000 });
    // A recorder's WebM names no duration in its header: the browser finds it by
    // seeking to the end, as it would for any such file.
    const duration = await video.evaluate(async (v) => {
      if (v.readyState < 1) await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
      if (!Number.isFinite(v.duration)) {
        const known = new Promise((r) => v.addEventListener('durationchange', r, { once: true }));
        v.currentTime = 1e9;
        await known;
      }
      return v.duration;
    });
    assert.ok(Number.isFinite(duration) && duration > 1 && duration < 4, `duration ${duration}`);
    const played = await video.evaluate(async (v) => {
      v.muted = true;
      v.currentTime = 0;
      await v.play();
      await new Promise((r) => setTimeout(r, 300));
      return v.currentTime > 0;
    });
    assert.ok(played, 'it plays');
    await bo.page.screenshot({ path: join(artifacts, 'files-video-phone.png') });
  });

  test('a file over the limit is refused with a message', async () => {
    await ana.page.locator('#file-picker').setInputFiles({
      name: 'huge.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(26 * 1024 * 1024, 1),
    });
    const error = ana.page.locator('.alert', { hasText: 'huge.bin' });
    await error.waitFor();
    assert.match(await error.innerText(), /huge\.bin is too large to send: at most 25\.0 MB a file\./);
    assert.equal(await ana.page.locator('.msg.pending', { hasText: 'huge.bin' }).count(), 0, 'nothing queued');
    await ana.page.screenshot({ path: join(artifacts, 'files-too-large-phone.png') });
    assert.equal(await bo.page.locator('.attachment', { hasText: 'huge.bin' }).count(), 0);
  });

  test('the upload shows its progress and can be cancelled; one cut off by a reload goes once', async () => {
    const cdp = await throttle(ana, 256 * 1024);
    try {
      await ana.page.locator('#file-picker').setInputFiles({
        name: 'cancelled.bin', mimeType: 'application/octet-stream', buffer: noise(4 * 1024 * 1024),
      });
      const bar = ana.page.locator('.upload progress');
      await bar.waitFor();
      await ana.page.waitForFunction(() => Number(document.querySelector('.upload progress')?.value) > 0);
      assert.match(await ana.page.locator('.upload').innerText(), /cancelled\.bin/);
      await ana.page.screenshot({ path: join(artifacts, 'files-progress-phone.png') });
      await ana.page.setViewportSize(DESKTOP);
      await ana.page.waitForTimeout(300); // the drawer becomes the sidebar
      await ana.page.screenshot({ path: join(artifacts, 'files-progress-desktop.png') });
      await ana.page.setViewportSize(PHONE);
      await ana.page.locator('.upload button', { hasText: 'Cancel' }).click();
      await bar.waitFor({ state: 'hidden' });
      await ana.page.locator('.msg.pending', { hasText: 'cancelled.bin' }).waitFor({ state: 'detached' });

      // Cut off by a reload halfway: the page finds it in its outbox and sends it again.
      await ana.page.locator('#file-picker').setInputFiles({
        name: 'resumed.bin', mimeType: 'application/octet-stream', buffer: noise(2 * 1024 * 1024),
      });
      await ana.page.waitForFunction(() => Number(document.querySelector('.upload progress')?.value) > 10);
      await ana.page.reload();
      await ana.page.locator('.msg.pending', { hasText: 'resumed.bin' }).waitFor();
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
      });
    } finally {
      await cdp.detach().catch(() => {});
    }
    const resumed = bo.page.locator('.lines .msg .attachment.file', { hasText: 'resumed.bin' });
    await resumed.waitFor({ timeout: 30_000 });
    await ana.page.locator('.msg.pending', { hasText: 'resumed.bin' }).waitFor({ state: 'detached' });
    await bo.page.waitForTimeout(1_000);
    assert.equal(await resumed.count(), 1, 'one message');
    assert.equal(await bo.page.locator('.attachment', { hasText: 'cancelled.bin' }).count(), 0, 'nothing cancelled arrives');
  });

  test('a file attached offline waits in IndexedDB, survives a reload and goes once', async () => {
    const cleo = await newPerson(browser, { viewport: PHONE });
    await arrive(cleo.page, server.url, '/r/general', 'cleo');
    await controlled(cleo.page);
    await cleo.page.waitForTimeout(1_500);
    await cleo.context.setOffline(true);
    await cleo.page.locator('.status', { hasText: 'offline' }).waitFor();
    await cleo.page.locator('#message').fill('from the tunnel');
    await cleo.page.locator('#file-picker').setInputFiles({
      name: 'tunnel-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('written offline\n'),
    });
    const pending = cleo.page.locator('.msg.pending', { hasText: 'tunnel-notes.txt' });
    await pending.waitFor();
    await cleo.page.locator('.msg.pending .state', { hasText: 'waiting for connection' }).waitFor();
    await cleo.page.screenshot({ path: join(artifacts, 'files-offline-phone.png') });

    await cleo.page.reload();
    await pending.waitFor();
    assert.match(await pending.innerText(), /from the tunnel/);
    const kept = await cleo.page.evaluate(() => new Promise((done) => {
      const open = indexedDB.open('natter-files', 1);
      open.onsuccess = () => {
        const count = open.result.transaction('files').objectStore('files').count();
        count.onsuccess = () => { open.result.close(); done(count.result); };
      };
    }));
    assert.equal(kept, 1, 'the file waits in IndexedDB');
    await bo.page.waitForTimeout(500);
    assert.equal(await bo.page.locator('.attachment', { hasText: 'tunnel-notes.txt' }).count(), 0);

    await cleo.context.setOffline(false);
    const seen = bo.page.locator('.lines .msg', { hasText: 'tunnel-notes.txt' });
    await seen.first().waitFor({ timeout: 20_000 });
    await pending.waitFor({ state: 'detached', timeout: 10_000 });
    await bo.page.waitForTimeout(1_000);
    assert.equal(await seen.count(), 1, 'the other person sees it once');
    assert.match(await seen.innerText(), /from the tunnel/);
    assert.equal(await cleo.page.locator('.lines .msg', { hasText: 'tunnel-notes.txt' }).count(), 1);
    assert.deepEqual(cleo.page.problems.filter((m) => !offlineNoise.test(m)), []);
    await cleo.context.close();
  });

  test('nothing of a file name becomes HTML', async () => {
    // (No `"`: a browser's form sends it as %22; no `/`: a name keeps its last part.)
    const name = "<img src=x onerror=window.pwned=1><b>bold<b>'&amp;.pdf";
    await ana.page.locator('#file-picker').setInputFiles({
      name, mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n'),
    });
    const link = bo.page.locator('.lines .msg .attachment.file', { hasText: 'onerror' });
    await link.waitFor({ timeout: 10_000 });
    assert.equal(await link.locator('.file-name').innerText(), name);
    assert.equal(await link.getAttribute('download'), name);
    assert.equal(await bo.page.locator('.lines img[src="x"], .lines .attachment b').count(), 0);
    assert.equal(await bo.page.evaluate(() => window.pwned), undefined);
  });

  test('a room with an image, a video and a PDF, on a phone and a desktop', async () => {
    await bo.page.setViewportSize({ width: 390, height: 844 });
    await bo.page.locator('.lines .msg .attachment.image').first().scrollIntoViewIfNeeded();
    await bo.page.screenshot({ path: join(artifacts, 'files-room-phone.png') });
    await bo.page.setViewportSize(DESKTOP);
    await bo.page.waitForTimeout(300);
    await bo.page.screenshot({ path: join(artifacts, 'files-room-desktop.png') });
    await bo.page.setViewportSize(PHONE);
  });
});
