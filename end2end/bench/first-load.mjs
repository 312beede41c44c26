// Front-end figures for natter-bench: the gzipped size of what a first visit downloads,
// and how long a cold first load takes to become interactive in Chromium on loopback
// (navigation start to the `natter:interactive` mark the page sets once hydrated).
//   node end2end/bench/first-load.mjs [--runs N]     prints one JSON line

import { launchBrowser, startServer } from '../tests/harness.mjs';
import { frontEndSizes } from './size.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const sizes = frontEndSizes();

const server = await startServer();
const browser = await launchBrowser();
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    // A new context each time: empty HTTP cache, no service worker.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/r/general`);
    await page.waitForFunction(() => performance.getEntriesByName('natter:interactive').length > 0);
    times.push(await page.evaluate(() => performance.getEntriesByName('natter:interactive')[0].startTime));
    await context.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
times.sort((a, b) => a - b);
const round = (x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    scenario: 'front_end',
    wasm_gz_kib: round(sizes.wasm_gz_kib),
    js_gz_kib: round(sizes.js_gz_kib),
    wasm_js_gz_kib: round(sizes.wasm_js_gz_kib),
    css_gz_kib: round(sizes.css_gz_kib),
    first_load_interactive_ms_median: round(times[Math.floor(times.length / 2)]),
    first_load_interactive_ms_max: round(times[times.length - 1]),
    runs,
  }),
);
