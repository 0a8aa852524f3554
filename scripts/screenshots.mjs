#!/usr/bin/env node
// Takes the README's screenshots of Settings > Webhook and the administration screen:
// starts a real missive (target/debug/missive, or MISSIVE_BIN) with a fresh database,
// gives a few users webhooks whose deliveries succeed, fail or are switched off, and
// photographs the pages in headless Chromium.
//
//   cargo build --bin missive && (cd tests/js && npm ci) && node scripts/screenshots.mjs [OUTPUT_DIR]
//
// OUTPUT_DIR defaults to docs/screenshots.

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { eventually, launchChromium } from '../tests/js/lib/browser.mjs';
import { startMissive } from '../tests/js/lib/server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'docs/screenshots'));

/** A receiver on loopback answering every POST with `status`. */
async function receiver(status) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: (path) => `http://localhost:${server.address().port}${path}`, close: () => server.close() };
}

const server = await startMissive({ MISSIVE_DELIVERY_MAX_ATTEMPTS: '1' });
const ok = await receiver(200);
const failing = await receiver(500);
let browser;
try {
  async function api(endpoint, body, token) {
    const res = await fetch(`${server.url}/api/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, i: token ?? null }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${endpoint}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  const signup = async (username) => api('signup', { username, password: `${username}-password` });

  const alice = await signup('alice');
  const bob = await signup('bob');
  const carol = await signup('carol');
  const hook = (owner, name, url, on, secret = 'not shown in lists') =>
    api('i/webhooks/create', { name, url, on, secret }, owner.token);

  const chat = await hook(alice, 'Chat bridge', ok.url('/misskey/alice'), ['note', 'reply', 'mention']);
  const audit = await hook(alice, 'Follower audit', failing.url('/audit'), ['follow', 'followed', 'unfollow']);
  const staging = await hook(alice, 'Staging relay', 'https://relay.staging.example/hooks/missive', ['note', 'renote']);
  await api('i/webhooks/update', { webhookId: staging.id, active: false }, alice.token);
  const notifier = await hook(bob, 'Phone notifier', ok.url('/push/bob'), ['followed', 'mention', 'reply']);
  const ci = await hook(carol, 'Deploy notes', 'https://ci.carol.example/webhook', ['note']);

  // Deliveries that succeed (alice's note, bob being followed and mentioned), fail with
  // HTTP 500 (alice's follow) or cannot connect (carol's note).
  await api('notes/create', { text: 'Hello, @bob!' }, alice.token);
  await api('following/create', { userId: bob.id }, alice.token);
  await api('notes/create', { text: 'Deployed v1.2.0' }, carol.token);
  const settled = async (owner, id) => {
    const w = await api('i/webhooks/show', { webhookId: id }, owner.token);
    return w.latestStatus != null;
  };
  for (const [owner, w] of [[alice, chat], [alice, audit], [bob, notifier], [carol, ci]]) {
    await eventually(() => settled(owner, w.id), { timeoutMs: 20_000, what: `a delivery for ${w.name}` });
  }

  browser = await launchChromium();
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 700 }, colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto('/signin');
  await page.evaluate((token) => localStorage.setItem('missive:token', token), alice.token);
  mkdirSync(outDir, { recursive: true });

  await page.goto('/settings/webhook');
  await page.getByRole('row', { name: /Staging relay/ }).waitFor();
  await page.screenshot({ path: join(outDir, 'settings-webhook.png'), fullPage: true });

  await page.goto('/admin/webhooks');
  await page.getByRole('row', { name: /Deploy notes/ }).waitFor();
  await page.screenshot({ path: join(outDir, 'admin-webhooks.png'), fullPage: true });

  console.log(`screenshots written to ${outDir}`);
} finally {
  await browser?.close();
  ok.close();
  failing.close();
  await server.stop();
}
