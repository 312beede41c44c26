// Never losing a message: offline sends, the outbox across a reload, refused messages,
// and sends the server asks to slow down. Real Chromium against the real server.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import {
  arrive, artifacts, eventually, message, newPerson, roomReady, say, serverAndBrowser,
} from './harness.mjs';

/// Texts of the stored messages on screen, in order.
const texts = (page) => page.locator('.lines .msg:not(.pending) .text').allInnerTexts();
const pending = (page) => page.locator('.lines .msg.pending .text').allInnerTexts();
const seqs = (page) =>
  page.locator('.lines .msg:not(.pending)').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));

/// Makes the page's socket to the server fail (or work again) on demand, the page's HTTP
/// untouched; `tamper` may rewrite frames the page sends; `muteCurrent()` silently drops
/// everything the server sends on the socket open now, like a connection that died
/// without closing.
async function controlSocket(context) {
  const control = { blocked: false, tamper: null, sockets: 0, muted: 0 };
  control.muteCurrent = () => { control.muted = control.sockets; };
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (control.blocked) return ws.close({ code: 1011, reason: 'blocked by the test' });
    const id = ++control.sockets;
    const server = ws.connectToServer();
    ws.onMessage((frame) => {
      const rewrite = control.tamper;
      server.send(rewrite ? rewrite(frame) : frame);
    });
    server.onMessage((frame) => {
      if (control.muted !== id) ws.send(frame);
    });
  });
  return control;
}

/// Leaves the socket's own close messages, and the browser's log of a request made while
/// it is offline, out of a page's recorded problems.
function problemsBesidesTheSocket(page) {
  return page.problems.filter((p) => !p.includes('WebSocket') && !p.includes('ERR_INTERNET_DISCONNECTED'));
}

describe('never losing a message', () => {
  const env = serverAndBrowser();

  test('three messages written offline arrive once, in order, for both people', async () => {
    const ana = await newPerson(env.browser);
    const bo = await newPerson(env.browser);
    await arrive(ana.page, env.server.url, '/r/tech', 'ana');
    await arrive(bo.page, env.server.url, '/r/tech', 'bo');
    await say(ana.page, 'online first');
    await message(bo.page, 'online first').waitFor();

    await ana.context.setOffline(true);
    await ana.page.locator('.status', { hasText: 'offline' }).waitFor();
    for (const text of ['offline one', 'offline two', 'offline three']) await say(ana.page, text);
    await eventually(() => pending(ana.page), ['offline one', 'offline two', 'offline three']);
    await ana.page.locator('.msg.pending .state', { hasText: 'waiting for connection' }).first().waitFor();
    await ana.page.screenshot({ path: join(artifacts, 'desktop-offline.png') });
    await bo.page.waitForTimeout(500);
    assert.deepEqual(await texts(bo.page), ['online first'], 'nothing leaks out while offline');

    await ana.context.setOffline(false);
    const want = ['online first', 'offline one', 'offline two', 'offline three'];
    await eventually(() => texts(ana.page), want, 10_000);
    await eventually(() => texts(bo.page), want, 10_000);
    assert.deepEqual(await pending(ana.page), []);
    await ana.page.locator('.status').waitFor({ state: 'detached' });
    for (const page of [ana.page, bo.page]) assert.deepEqual(await seqs(page), [1, 2, 3, 4]);

    // The history agrees: each stored once.
    await bo.page.reload();
    await roomReady(bo.page);
    assert.deepEqual(await texts(bo.page), want);
    assert.deepEqual(problemsBesidesTheSocket(ana.page), []);
    assert.deepEqual(bo.page.problems, []);
  });

  test('unsent messages survive a reload and go out once the server is reachable', async () => {
    const cleo = await newPerson(env.browser);
    const dan = await newPerson(env.browser);
    const socket = await controlSocket(cleo.context);
    await arrive(cleo.page, env.server.url, '/r/music', 'cleo');
    await arrive(dan.page, env.server.url, '/r/music', 'dan');

    socket.blocked = true;
    await cleo.context.setOffline(true); // drops the open socket; the next ones fail
    await cleo.context.setOffline(false);
    await cleo.page.locator('.status', { hasText: 'reconnecting' }).waitFor();
    await say(cleo.page, 'kept one');
    await say(cleo.page, 'kept two');
    await eventually(() => pending(cleo.page), ['kept one', 'kept two']);

    await cleo.page.reload();
    await eventually(() => pending(cleo.page), ['kept one', 'kept two']);
    await dan.page.waitForTimeout(300);
    assert.deepEqual(await texts(dan.page), []);

    socket.blocked = false;
    // The browser says the network is back: reconnect now rather than after the backoff.
    await cleo.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await eventually(() => texts(dan.page), ['kept one', 'kept two'], 10_000);
    await eventually(() => texts(cleo.page), ['kept one', 'kept two'], 10_000);
    assert.deepEqual(await pending(cleo.page), []);

    // Confirmed messages leave storage: another reload sends nothing again.
    await cleo.page.reload();
    await roomReady(cleo.page);
    await cleo.page.waitForTimeout(500);
    assert.deepEqual(await texts(dan.page), ['kept one', 'kept two']);
    assert.deepEqual(await seqs(dan.page), [1, 2]);
    assert.deepEqual(problemsBesidesTheSocket(cleo.page), []);
  });

  test('a connection that dies without closing is noticed, and nothing is doubled', async () => {
    const gus = await newPerson(env.browser);
    const hal = await newPerson(env.browser);
    const socket = await controlSocket(gus.context);
    await arrive(gus.page, env.server.url, '/r/general', 'gus');
    await arrive(hal.page, env.server.url, '/r/general', 'hal');

    // The server still gets what gus sends, but nothing comes back: his message is
    // stored, yet he never sees the confirmation.
    socket.muteCurrent();
    await say(gus.page, 'into the void');
    await message(hal.page, 'into the void').waitFor();
    assert.deepEqual(await pending(gus.page), ['into the void']);

    // Coming back to the tab makes the page ask the server whether it is there; no
    // answer, so it reconnects, resends (stored once) and catches up.
    await gus.page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await eventually(() => texts(gus.page), ['into the void'], 15_000);
    assert.deepEqual(await pending(gus.page), []);
    assert.equal(socket.sockets, 2, 'one new socket');
    await say(gus.page, 'and back');
    await eventually(() => texts(hal.page), ['into the void', 'and back']);
    assert.deepEqual(await seqs(hal.page), [1, 2]);
    assert.deepEqual(await seqs(gus.page), [1, 2]);
    assert.deepEqual(problemsBesidesTheSocket(gus.page), []);
  });

  test('a join that fails is asked again, and the room loads', async () => {
    const person = await newPerson(env.browser);
    let asked = 0;
    await person.page.route('**/api/join_room', (route) => {
      asked += 1;
      if (asked === 1) {
        return route.fulfill({ status: 503, contentType: 'text/plain', body: 'busy' });
      }
      return route.continue();
    });
    await arrive(person.page, env.server.url, '/r/general', 'patient');
    assert.ok(asked >= 2, `join asked ${asked} time(s)`);
    await say(person.page, 'in after a retry');
    await message(person.page, 'in after a retry').waitFor();
    await person.context.close();
  });

  test('a refused message says why and can be retried or discarded', async () => {
    const eve = await newPerson(env.browser);
    const socket = await controlSocket(eve.context);
    await arrive(eve.page, env.server.url, '/r/games', 'eve');

    // Something between the page and the server mangles the next send into one that is
    // too long, so the server refuses it.
    const mangleOnce = () => {
      socket.tamper = (frame) => {
        if (!frame.includes('"t":"send"')) return frame;
        socket.tamper = null;
        const sent = JSON.parse(frame);
        return JSON.stringify({ ...sent, text: 'x'.repeat(4_001) });
      };
    };
    mangleOnce();
    await say(eve.page, 'first try fails');
    const failed = eve.page.locator('.msg.pending.failed');
    await failed.locator('.send-error', { hasText: 'at most 4000 characters' }).waitFor();
    await eve.page.screenshot({ path: join(artifacts, 'desktop-refused.png') });
    await failed.getByRole('button', { name: 'Retry' }).click();
    await message(eve.page, 'first try fails').waitFor();
    assert.equal(await failed.count(), 0);

    mangleOnce();
    await say(eve.page, 'this one goes away');
    await failed.waitFor();
    // A refusal is kept across a reload until the user decides.
    await eve.page.reload();
    await roomReady(eve.page);
    await failed.getByRole('button', { name: 'Discard' }).click();
    assert.equal(await failed.count(), 0);
    await eve.page.reload();
    await roomReady(eve.page);
    assert.deepEqual(await pending(eve.page), []);
    assert.deepEqual(await texts(eve.page), ['first try fails']);
    assert.deepEqual(eve.page.problems, []);
  });
});

describe('a server asking to slow down', () => {
  const env = serverAndBrowser(['--send-rate', '2', '--send-burst', '3']);

  test('messages refused for now are sent again by themselves, in order', async () => {
    const fay = await newPerson(env.browser);
    await arrive(fay.page, env.server.url, '/r/random', 'fay');
    const want = Array.from({ length: 8 }, (_, i) => `quick ${i + 1}`);
    for (const text of want) await say(fay.page, text);
    await eventually(() => texts(fay.page), want, 15_000);
    assert.deepEqual(await seqs(fay.page), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(await fay.page.locator('.msg.pending.failed').count(), 0);
    assert.deepEqual(fay.page.problems, []);
  });

  test('a message an earlier version left in the outbox is sent after the upgrade, once', async () => {
    const ida = await newPerson(env.browser);
    const jon = await newPerson(env.browser);
    await arrive(ida.page, env.server.url, '/r/games', 'ida');
    await arrive(jon.page, env.server.url, '/r/games', 'jon');
    // As the version before kept it: a JSON object under the old key.
    await ida.page.evaluate(() => localStorage.setItem('natter.outbox.c-old-0000001', JSON.stringify({
      by: 'ida', room: 'games', cid: 'c-old-0000001', text: 'written before the upgrade', made: Date.now(),
    })));
    await ida.page.reload();
    await message(jon.page, 'written before the upgrade').waitFor({ timeout: 10_000 });
    await ida.page.reload();
    await roomReady(ida.page);
    await ida.page.waitForTimeout(500);
    assert.equal(await message(jon.page, 'written before the upgrade').count(), 1);
    const left = await ida.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('natter.outbox')));
    assert.deepEqual(left, [], 'moved over, then confirmed and gone');
    assert.deepEqual(problemsBesidesTheSocket(ida.page), []);
  });
});
