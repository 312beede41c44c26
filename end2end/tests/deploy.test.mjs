// One file to deploy: the release binary, copied alone into an empty folder and started
// there, serves the whole app — the page, its content-hashed scripts, WASM and styles,
// the service worker — from the front end built into it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

const freePort = () => new Promise((ok) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => ok(port));
  });
});

test('a copied binary serves the app by itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-deploy-'));
  const binary = join(dir, 'natter');
  copyFileSync(join(root, 'target/release/natter'), binary);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['--addr', `127.0.0.1:${port}`, '--database', join(dir, 'natter.db')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    let page;
    for (let i = 0; i < 200 && !page; i++) {
      page = await fetch(`${url}/r/general`).then((r) => r.text()).catch(() => undefined);
      if (!page) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(page, 'the server answered');
    const assets = [...page.matchAll(/(?:src|href)="(\/pkg\/[^"]+)"/g)].map((m) => m[1]);
    const hashed = page.match(/\/pkg\/natter\.[A-Za-z0-9_-]+\.(js|wasm)/g) ?? [];
    assert.ok(hashed.length >= 2, `the page names hashed files: ${JSON.stringify(assets)}`);
    for (const path of new Set([...assets, ...hashed])) {
      const response = await fetch(url + path);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
    }
    const worker = await fetch(`${url}/sw.js`).then((r) => r.text());
    for (const path of hashed) assert.ok(worker.includes(path), `the worker keeps ${path}`);
    assert.ok(existsSync(join(dir, 'natter.db.site', 'pkg')), 'unpacked beside the database');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
