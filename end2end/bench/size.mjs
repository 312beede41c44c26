// The gzipped size of what a first visit downloads: the release build's WASM, JS and CSS
// in target/site/pkg, each gzipped at level 9, in KiB. Shared by first-load.mjs (which
// reports it) and the budget test (which fails above the budget).

import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const pkg = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'target', 'site', 'pkg');

/** The files of the build ending in `ext`, wasm-bindgen's `snippets/` (inline JS) included. */
export const files = (ext) =>
  readdirSync(pkg, { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => join(pkg, f));

const gzKib = (ext) => files(ext).reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0) / 1024;

export function frontEndSizes() {
  const wasm = gzKib('.wasm');
  const js = gzKib('.js');
  return { wasm_gz_kib: wasm, js_gz_kib: js, wasm_js_gz_kib: wasm + js, css_gz_kib: gzKib('.css') };
}
