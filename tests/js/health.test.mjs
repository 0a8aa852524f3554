// Endpoint health and secret rotation, as a receiver and a browser see them: both
// signatures of a rotated secret verify with a Standard Webhooks library during the grace
// period, and the webhook pages show each endpoint's health.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { eventually, launchChromium, newSession } from './lib/browser.mjs';
import { startReceiver } from './lib/receiver.mjs';
import { startMissive } from './lib/server.mjs';

const GRACE_MS = 3000;

let server;
let receiver;
let browser;
let root;
const sessions = [];

before(async () => {
  server = await startMissive({
    MISSIVE_SECRET_ROTATION_GRACE: `${GRACE_MS}ms`,
    MISSIVE_DELIVERY_MAX_ATTEMPTS: '1',
  });
  receiver = await startReceiver();
  browser = await launchChromium();
  // The first account is the administrator.
  root = await signUp('root');
});

after(async () => {
  for (const s of sessions) assert.deepEqual(s.problems, [], 'no script errors on the pages');
  await browser?.close();
  await receiver?.close();
  await server?.stop();
});

async function api(endpoint, body, token) {
  const res = await fetch(`${server.url}/api/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${endpoint} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function signUp(username) {
  const me = await api('signup', { username, password: 'a good password' });
  return me.token;
}

/** Posts a note and returns the delivery `path` got for it. */
async function deliveryOf(token, path, text) {
  await api('notes/create', { text }, token);
  return receiver.waitFor((r) => r.path === `/${path}` && r.body?.body?.note?.text === text);
}

/** Verifies a delivery with `secret` as a Standard Webhooks receiver would. */
function verifies(delivery, secret) {
  const headers = {
    'webhook-id': delivery.headers['webhook-id'],
    'webhook-timestamp': delivery.headers['webhook-timestamp'],
    'webhook-signature': delivery.headers['webhook-signature'],
  };
  try {
    new Webhook(secret).verify(delivery.raw, headers);
    return true;
  } catch {
    return false;
  }
}

describe('secret rotation', () => {
  test('old and new secrets both verify during the grace period, then only the new', async () => {
    const token = await signUp('rotor');
    const oldSecret = `whsec_${Buffer.from('the old secret bytes').toString('base64')}`;
    const newSecret = `whsec_${Buffer.from('the new secret bytes').toString('base64')}`;
    const hook = await api('i/webhooks/create',
      { name: 'rotating', url: receiver.url('rotate'), secret: oldSecret, on: ['note'] }, token);

    const before = await deliveryOf(token, 'rotate', 'before the rotation');
    assert.ok(verifies(before, oldSecret));
    assert.ok(!verifies(before, newSecret));

    await api('i/webhooks/update', { webhookId: hook.id, secret: newSecret }, token);
    const rotatedAt = Date.now();
    const during = await deliveryOf(token, 'rotate', 'during the grace period');
    assert.ok(Date.now() - rotatedAt < GRACE_MS, 'too slow for the grace period');
    assert.equal(during.headers['x-misskey-hook-secret'], newSecret);
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2);
    assert.ok(verifies(during, newSecret), 'the new secret verifies');
    assert.ok(verifies(during, oldSecret), 'the old secret still verifies');

    await new Promise((r) => setTimeout(r, GRACE_MS + 300 - (Date.now() - rotatedAt)));
    const afterGrace = await deliveryOf(token, 'rotate', 'after the grace period');
    assert.equal(afterGrace.headers['webhook-signature'].split(' ').length, 1);
    assert.ok(verifies(afterGrace, newSecret), 'the new secret verifies');
    assert.ok(!verifies(afterGrace, oldSecret), 'the old secret no longer verifies');
  });
});

describe('health badges', () => {
  test('the list and the administration screen show each endpoint\'s health', async () => {
    const token = await signUp('dana');
    receiver.answer('gone', 410);
    receiver.answer('broken', 500);
    for (const name of ['fine', 'gone', 'broken']) {
      await api('i/webhooks/create', { name: `${name}-hook`, url: receiver.url(name), on: ['note'] }, token);
    }
    await api('notes/create', { text: 'health check' }, token);
    for (const path of ['/fine', '/gone', '/broken']) await receiver.waitFor((r) => r.path === path);

    const s = await newSession(browser, server.url);
    sessions.push(s);
    const { page } = s;
    await page.addInitScript((t) => localStorage.setItem('missive:token', t), token);
    await page.goto('/settings/webhook');
    const rowOf = (name) => page.getByRole('row', { name: new RegExp(name) });
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return /410 Gone/.test(await rowOf('gone-hook').innerText())
        && /Failing \(1 consecutive failure\)/.test(await rowOf('broken-hook').innerText());
    }, { what: 'the list shows the health' });
    assert.match(await rowOf('gone-hook').innerText(), /Switched off automatically: the endpoint answered 410 Gone/);
    await rowOf('gone-hook').locator('.health-badge time').waitFor();
    assert.match(await rowOf('fine-hook').innerText(), /Healthy/);
    assert.match(await rowOf('broken-hook').innerText(), /Failed \(HTTP 500\)/);

    // Each edit page shows its own webhook's health.
    await rowOf('gone-hook').getByRole('link', { name: 'Edit gone-hook' }).click();
    await page.waitForURL(/\/settings\/webhook\/edit\//);
    const health = page.locator('#webhook-health');
    await eventually(async () => /410 Gone/.test(await health.innerText()), { what: 'the edit page shows the reason' });
    await health.locator('.health-badge time').waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Active' }).isChecked(), false);
    await page.goBack();
    await rowOf('broken-hook').getByRole('link', { name: 'Edit broken-hook' }).click();
    await eventually(async () => /Failing \(1 consecutive failure\)/.test(await page.locator('#webhook-health').innerText()),
      { what: 'the edit page shows the run of failures' });

    // The administrator sees the same and switching back on clears the reason.
    const admin = await newSession(browser, server.url);
    sessions.push(admin);
    await admin.page.addInitScript((t) => localStorage.setItem('missive:token', t), root);
    await admin.page.goto('/admin/webhooks');
    const table = admin.page.getByRole('table', { name: 'All webhooks' });
    const goneRow = table.getByRole('row', { name: /gone-hook/ });
    await eventually(async () => /410 Gone/.test(await goneRow.innerText()), { what: 'the admin row shows the reason' });
    assert.match(await table.getByRole('row', { name: /broken-hook/ }).innerText(), /Failing \(1 consecutive failure\)/);
    const toggle = goneRow.getByRole('switch', { name: /Active/ });
    assert.equal(await toggle.isChecked(), false);
    await toggle.check();
    await eventually(async () => /Healthy/.test(await goneRow.innerText()), { what: 'switched on and healthy' });
    await admin.page.reload();
    await eventually(async () => /Healthy/.test(await goneRow.innerText()), { what: 'stored' });
    const shown = (await api('i/webhooks/list', {}, token)).find((w) => w.name === 'gone-hook');
    assert.equal(shown.active, true);
    assert.equal(shown.disabledReason, null);
    assert.equal(shown.consecutiveFailures, 0);
  });

  test('a successful test send says the endpoint answered', async () => {
    const token = await signUp('tess');
    const hook = await api('i/webhooks/create', { name: 'tested', url: receiver.url('tested'), on: ['note'] }, token);
    const s = await newSession(browser, server.url);
    sessions.push(s);
    await s.page.addInitScript((t) => localStorage.setItem('missive:token', t), token);
    await s.page.goto(`/settings/webhook/edit/${hook.id}`);
    await s.page.getByRole('button', { name: 'Send test note' }).click();
    await eventually(async () => /Test “note”: Success \(HTTP 200\)\. The endpoint answered\./
      .test(await s.page.getByRole('status').innerText()), { what: 'the page says the endpoint answered' });
  });
});
