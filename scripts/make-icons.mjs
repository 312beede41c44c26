// Draws Natter's app icons (public/icons/*.png) from one SVG with headless Chromium.
// Run after changing the design: node scripts/make-icons.mjs (needs end2end's npm ci).
// "any" icons are a rounded tile; "maskable" ones fill the square and keep the bubble
// inside the central 80 % safe zone, since launchers crop them to circles or squircles.

import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(join(root, 'end2end', 'package.json'))('playwright-core');

const BLUE = '#3b5bdb';
const bubble = (scale) => `
  <g transform="translate(32 32) scale(${scale}) translate(-32 -34)">
    <path d="M16 18h32a6 6 0 0 1 6 6v14a6 6 0 0 1-6 6H30l-10 8v-8h-4a6 6 0 0 1-6-6V24a6 6 0 0 1 6-6z" fill="#fff"/>
    <circle cx="24" cy="31" r="3" fill="${BLUE}"/>
    <circle cx="32" cy="31" r="3" fill="${BLUE}"/>
    <circle cx="40" cy="31" r="3" fill="${BLUE}"/>
  </g>`;
const svg = (maskable) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="100%" height="100%">
  ${maskable ? `<rect width="64" height="64" fill="${BLUE}"/>` : `<rect width="64" height="64" rx="14" fill="${BLUE}"/>`}
  ${bubble(maskable ? 0.8 : 1.05)}
</svg>`;

const icons = [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['maskable-192.png', 192, true],
  ['maskable-512.png', 512, true],
  // iOS ignores the manifest's icons and rounds the corners itself.
  ['apple-touch-icon.png', 180, true],
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
for (const [file, size, maskable] of icons) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block}</style>${svg(maskable)}`);
  await page.screenshot({ path: join(root, 'public', 'icons', file), omitBackground: true });
  await page.close();
  console.log(`public/icons/${file} ${size}x${size}`);
}
await browser.close();
