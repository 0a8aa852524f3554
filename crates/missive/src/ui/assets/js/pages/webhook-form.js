// @ts-check
// The webhook form, for a new webhook (/settings/webhook/new) or an existing one
// (/settings/webhook/edit/<id>: also Active, the last status, the endpoint's health,
// "Send test", Delete and the Deliveries section).

import { $, api, el, flash, requireSignIn, run, showStatus, start, timeEl } from '../shared.js';
import { EVENTS, healthBadge, statusCell, webhookStatus } from '../webhook.js';
import { showDeliveries } from '../deliveries.js';

/** @import { EventName, Webhook } from '../shared.js' */

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string | null} webhookId null for a new webhook */
async function pageWebhookForm(webhookId) {
  if (!requireSignIn()) return;
  const form = $('webhook-form', HTMLFormElement);
  const editing = webhookId != null;
  /** @param {EventName} event */
  const checkbox = (event) => $(`event-${event}`, HTMLInputElement);
  for (const node of document.querySelectorAll('[data-when-edit]')) {
    if (node instanceof HTMLElement) node.hidden = !editing;
  }
  $('webhook-secret-generate').addEventListener('click', () => {
    $('webhook-secret', HTMLInputElement).value = randomSecret();
    showStatus('A new secret was generated. Save to keep it.');
  });

  /**
   * Shows the last delivery's status and time, and the endpoint's health; returns the
   * status in words.
   * @param {Webhook} hook
   */
  function showLastStatus(hook) {
    const { text } = webhookStatus({ ...hook, active: true });
    $('webhook-last-status').replaceChildren(statusCell({ ...hook, active: true }),
      hook.latestSentAt ? el('span', {}, ' · ', timeEl(hook.latestSentAt)) : '');
    $('webhook-health').replaceChildren(healthBadge(hook));
    return text;
  }

  const values = () => ({
    name: $('webhook-name', HTMLInputElement).value.trim(),
    url: $('webhook-url', HTMLInputElement).value.trim(),
    secret: $('webhook-secret', HTMLInputElement).value,
    on: EVENTS.filter((event) => checkbox(event).checked),
  });

  if (webhookId == null) {
    $('webhook-form-title').textContent = 'New webhook';
    $('webhook-save').textContent = 'Create';
    for (const event of EVENTS) checkbox(event).checked = true;
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      run($('webhook-save', HTMLButtonElement), async () => {
        const v = values();
        await api('i/webhooks/create', v);
        flash(`The webhook “${v.name}” was created.`);
        location.assign('/settings/webhook');
      });
    });
    return;
  }

  let hook = await api('i/webhooks/show', { webhookId });
  $('webhook-form-title').textContent = 'Edit webhook';
  document.title = 'Edit webhook · missive';
  $('webhook-name', HTMLInputElement).value = hook.name;
  $('webhook-url', HTMLInputElement).value = hook.url;
  $('webhook-secret', HTMLInputElement).value = hook.secret;
  for (const event of EVENTS) checkbox(event).checked = hook.on.includes(event);
  const active = $('webhook-active', HTMLInputElement);
  active.checked = hook.active;
  showLastStatus(hook);
  form.hidden = false;
  const deliveries = showDeliveries($('webhook-deliveries'), webhookId, 'i');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run($('webhook-save', HTMLButtonElement), async () => {
      await api('i/webhooks/update', { webhookId, ...values(), active: active.checked });
      hook = await api('i/webhooks/show', { webhookId });
      showLastStatus(hook);
      showStatus(`The webhook “${hook.name}” was saved.`);
    });
  });

  const remove = $('webhook-delete', HTMLButtonElement);
  remove.addEventListener('click', () => {
    if (!window.confirm(`Delete the webhook “${hook.name}”? This cannot be undone.`)) return;
    run(remove, async () => {
      await api('i/webhooks/delete', { webhookId });
      flash(`The webhook “${hook.name}” was deleted.`);
      location.assign('/settings/webhook');
    });
  });

  for (const button of form.querySelectorAll('button[data-test]')) {
    if (!(button instanceof HTMLButtonElement)) continue;
    button.addEventListener('click', () =>
      run(button, async () => {
        const type = button.dataset.test ?? '';
        const { url, secret } = values();
        const before = hook.latestSentAt;
        await api('i/webhooks/test', { webhookId, type, override: { url, secret } });
        showStatus(`A test “${type}” was sent to ${url}. Waiting for the answer…`);
        // The send happens after the API answers; its result shows up as the last status.
        for (let waited = 0; waited < 10_000; waited += 300) {
          await new Promise((r) => setTimeout(r, 300));
          hook = await api('i/webhooks/show', { webhookId });
          if (hook.latestSentAt !== before) {
            const status = hook.latestStatus ?? 0;
            const answered = status >= 200 && status < 300 ? ' The endpoint answered.' : '';
            showStatus(`Test “${type}”: ${showLastStatus(hook)}.${answered}`);
            return;
          }
        }
        showStatus(`The test “${type}” was sent; no answer yet. The last status will show it.`);
      }),
    );
  }
  await deliveries;
}

// One form for both pages; the edit page's address ends with the webhook's id.
start(() =>
  pageWebhookForm(
    document.body.dataset.page === 'webhook-edit' ? decodeURIComponent(location.pathname.split('/').pop() ?? '') : null,
  ),
);
