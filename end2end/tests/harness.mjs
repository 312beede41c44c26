// Starts a real natter server (the release build) on a free loopback port with its own
// database, and headless Chromium from Debian, for the tests in this folder.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = join(root, 'end2end', 'artifacts');
mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

/// With `NATTER_E2E_PROXY=nginx` the tests reach natter through Debian's nginx, set up
/// by `docs/deploy/nginx.conf` itself (WebSocket upgrade, Host, X-Forwarded-For), and
/// natter trusts it as its proxy.
export const behindNginx = process.env.NATTER_E2E_PROXY === 'nginx';

/// With `NATTER_E2E_NODES=2` as well, natter runs as that many nodes behind nginx
/// (`docs/deploy/nginx-cluster.conf`), sharing a PostgreSQL database (made on the
/// server `NATTER_TEST_POSTGRES` names) and a NATS server of the test's own. Each new
/// person is pinned to the next node (a cookie this test's nginx routes by), so two
/// people are on two nodes.
export const nodes = behindNginx ? Number(process.env.NATTER_E2E_NODES || 1) : 1;

export async function startServer(extraArgs = []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'natter-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  const natterPorts = [port];
  let proxy = null;
  let database = join(dir, 'e2e.db');
  let cluster = null;
  if (behindNginx) {
    natterPorts.length = 0;
    for (let i = 0; i < nodes; i++) natterPorts.push(await freePort());
    extraArgs = [...extraArgs, '--trusted-proxy', '127.0.0.1/32'];
    if (nodes > 1) {
      cluster = await startClusterServices(dir);
      database = cluster.database;
      extraArgs = [...extraArgs, '--nats', cluster.nats, '--files', join(dir, 'files')];
    }
    proxy = startNginx(port, natterPorts, dir);
  }
  const spawnAll = async () => {
    const children = [];
    // One after another: the first brings the schema up to date.
    for (const natterPort of natterPorts) {
      children.push(await spawnNatter(url, natterPort, database, extraArgs));
    }
    return children;
  };
  let children = await spawnAll();
  const stopAll = (signal) => Promise.all(children.map((child) => stop(child, signal)));
  return {
    url,
    /// Each node's own address (behind the proxy, the browser never sees them).
    nodeUrls: natterPorts.map((p) => `http://127.0.0.1:${p}`),
    /// Kills the process (every node) and starts it again on the same port and database.
    async restart() {
      await stopAll('SIGKILL');
      children = await spawnAll();
    },
    /// Stops the process, keeping its database, until `resume`.
    async halt() {
      await stopAll('SIGTERM');
    },
    /// Starts it again on the same port and database, with other flags if given.
    async resume(args = extraArgs) {
      extraArgs = behindNginx ? [...args, '--trusted-proxy', '127.0.0.1/32'] : args;
      if (cluster) extraArgs = [...extraArgs, '--nats', cluster.nats, '--files', join(dir, 'files')];
      children = await spawnAll();
    },
    async stop() {
      await stopAll('SIGTERM');
      if (proxy) await stop(proxy, 'SIGTERM');
      if (cluster) await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/// A NATS server on a free port and a fresh PostgreSQL database, for several nodes.
async function startClusterServices(dir) {
  const server = process.env.NATTER_TEST_POSTGRES;
  if (!server) throw new Error('NATTER_E2E_NODES needs NATTER_TEST_POSTGRES (scripts/test sets it)');
  const name = `natter_e2e_${process.pid}_${Date.now()}`;
  const psql = (sql) => {
    const done = spawnSync('psql', ['-q', server, '-c', sql], { stdio: 'inherit' });
    if (done.status !== 0) throw new Error(`psql failed: ${sql}`);
  };
  psql(`CREATE DATABASE ${name}`);
  const natsPort = await freePort();
  const nats = spawn(process.env.NATTER_NATS_SERVER || 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], {
    stdio: 'ignore',
  });
  return {
    database: server.replace(/\/[^/]*$/, `/${name}`),
    nats: `nats://127.0.0.1:${natsPort}`,
    async stop() {
      await stop(nats, 'SIGTERM');
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/// nginx on `port`, in front of natter on `natterPorts`, with `docs/deploy/nginx.conf`
/// (or, for several nodes, `nginx-cluster.conf`) inside a minimal configuration of its
/// own (files under `dir`, in the foreground).
function startNginx(port, natterPorts, dir) {
  let site;
  if (natterPorts.length === 1) {
    site = readFileSync(join(root, 'docs', 'deploy', 'nginx.conf'), 'utf8')
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${natterPorts[0]};`);
  } else {
    const servers = natterPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n');
    // The test's own routing on top: a person whose `natter_node` cookie says n goes to
    // node n; anyone else as the deployed file says.
    const pinned = [
      'map $cookie_natter_node $natter_pinned {',
      '    default natter;',
      ...natterPorts.map((_, i) => `    "${i + 1}" natter_${i + 1};`),
      '}',
      ...natterPorts.map((p, i) => `upstream natter_${i + 1} { server 127.0.0.1:${p}; }`),
    ].join('\n');
    site = readFileSync(join(root, 'docs', 'deploy', 'nginx-cluster.conf'), 'utf8')
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace(/( *server 127\.0\.0\.1:300\d[^\n]*\n)+/, `${servers}\n`)
      .replace('proxy_pass http://natter;', 'proxy_pass http://$natter_pinned;')
      .concat('\n', pinned, '\n');
  }
  const temp = (what) => `${what}_temp_path ${join(dir, `nginx-${what}`)};`;
  const conf = [
    'worker_processes 1;',
    'daemon off;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'nginx-error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    'access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp),
    site,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  return spawn(
    process.env.NGINX || '/usr/sbin/nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

async function spawnNatter(url, port, database, extraArgs) {
  const child = spawn(
    join(root, 'target', 'release', 'natter'),
    ['--addr', `127.0.0.1:${port}`, '--database', database, ...extraArgs],
    {
      cwd: root,
      env: { ...process.env, LEPTOS_SITE_ROOT: join(root, 'target', 'site'), NATTER_LOG: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`natter exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {}
    if (Date.now() > deadline) throw new Error('natter did not start within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stop(child, signal) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill(signal);
  });
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/// A server (with `args`) and a browser for the tests of the current `describe`: started
/// before them, stopped after. Read `.server` and `.browser` inside the tests.
export function serverAndBrowser(args = []) {
  const env = {};
  before(async () => {
    env.server = await startServer(args);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/// A new browser context (a new person) whose page records script errors and dialogs.
/// `options` go to the context as well (colorScheme, hasTouch, bypassCSP, …).
let nextNode = 0;

export async function newPerson(browser, { viewport = DESKTOP, ...options } = {}) {
  const context = await browser.newContext({ viewport, ...options });
  if (nodes > 1) {
    const node = String((nextNode++ % nodes) + 1);
    await context.addCookies([{ name: 'natter_node', value: node, domain: '127.0.0.1', path: '/' }]);
  }
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Hydration mismatches and panics show up here, not as page errors. Playwright's
    // contexts are incognito, where Chromium has no Push API and says so when the page
    // subscribes (once notifications are allowed): the test machine's limit, not ours.
    const text = msg.text();
    if (msg.type() === 'error' && !text.includes('does not support the Push API in incognito')) {
      page.problems.push(`console: ${text}`);
    }
  });
  page.on('dialog', async (dialog) => {
    page.problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return { context, page };
}

/// Opens `path`, picks `name` in the name form and waits until the room is on screen.
export async function arrive(page, url, path, name) {
  await page.goto(url + path);
  // The form is disabled until the page has hydrated; if it never does, say what the
  // page reported.
  await page
    .locator('#name-input:enabled')
    .waitFor({ timeout: 20_000 })
    .catch((err) => {
      throw new Error(`${path} never became usable; the page said ${JSON.stringify(page.problems)}`, {
        cause: err,
      });
    });
  await page.locator('#name-input').fill(name);
  await page.locator('.name-form button[type=submit]').click();
  await page.locator('.name-form').waitFor({ state: 'detached' });
  await roomReady(page);
}

/// The room's messages are loaded and its online list includes us.
export async function roomReady(page) {
  await page.locator('.timeline[data-loaded=true]').waitFor();
}

export function onlineList(page) {
  return page.locator('.online-list li .person');
}

export async function say(page, text) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

export function message(page, text) {
  return page.locator('.lines .msg:not(.pending) .text', { hasText: text });
}

/// The stored line (the whole `li`) of the message whose text has `text`.
export function line(page, text) {
  return page.locator('.lines .msg:not(.pending)', { has: page.locator('.text', { hasText: text }) });
}

/// Opens the menu of the message whose text has `text` and clicks `name` in it.
export async function fromMenu(page, text, name) {
  const msg = line(page, text);
  await msg.locator('.msg-menu > summary').click();
  await msg.locator('.msg-menu .menu').getByRole('button', { name, exact: true }).click();
}

/// Waits until `read()` returns something deeply equal to `want`, or fails with both.
export async function eventually(read, want, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  let got;
  for (;;) {
    got = await read();
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    if (Date.now() > deadline) {
      throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
