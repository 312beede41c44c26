// Budgets of the release front end, checked on every test run: what a phone downloads on
// a first visit, and that it carries only what it uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { files, frontEndSizes } from '../bench/size.mjs';

/** WASM + JS, gzipped (issue "One contract between page and server", §5). */
const BUDGET_KIB = 300;

test(`the front end's WASM + JS is at most ${BUDGET_KIB} KiB gzipped`, () => {
  const sizes = frontEndSizes();
  const shown = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  console.log(JSON.stringify(shown));
  assert.ok(sizes.wasm_js_gz_kib > 50, `no front end built? ${JSON.stringify(shown)}`);
  assert.ok(sizes.wasm_js_gz_kib <= BUDGET_KIB, `over budget: ${JSON.stringify(shown)}`);
});

test('the wasm-streams stand-in is the one built in (patches/wasm-streams)', () => {
  // The real crate exports these JS classes through wasm-bindgen; the stand-in has none.
  const js = files('.js').map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const name of ['IntoUnderlyingSource', 'IntoUnderlyingSink', 'IntoUnderlyingByteSource']) {
    assert.ok(!js.includes(name), `${name} is in the front end's JS: the patch is not applied`);
  }
});

for (const crate of ['tachys', 'reactive_graph']) {
  test(`the patched ${crate} is the one built in (patches/${crate})`, () => {
    // A crate taken from a path has no `source` in the lockfile; crates.io's copy has one.
    const lock = readFileSync(new URL('../../Cargo.lock', import.meta.url), 'utf8');
    const entry = lock.split('[[package]]').find((p) => new RegExp(`\nname = "${crate}"\n`).test(p));
    assert.ok(entry, `no ${crate} in Cargo.lock`);
    assert.ok(!entry.includes('source = '), `${crate} comes from a registry, not patches/${crate}:${entry}`);
  });
}
