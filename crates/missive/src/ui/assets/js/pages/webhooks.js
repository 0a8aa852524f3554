// @ts-check
// Settings > Webhook: the signed-in user's webhooks with their state and last delivery,
// the endpoint's health, and Edit and Delete for each.

import { $, api, el, requireSignIn, run, showStatus, srOnly, start } from '../shared.js';
import { eventsText, healthBadge, lastSentCell, statusCell } from '../webhook.js';

/** @import { Webhook } from '../shared.js' */

async function pageWebhooks() {
  const me = requireSignIn();
  if (!me) return;
  const body = $('webhooks-body');
  const limit = me.policies?.webhookLimit;

  async function load() {
    const hooks = await api('i/webhooks/list', {});
    body.replaceChildren(...hooks.map(row));
    $('webhooks-empty').hidden = hooks.length > 0;
    $('webhooks-table').hidden = hooks.length === 0;
    $('webhooks-limit').textContent = limit == null ? '' : `${hooks.length} of ${limit} allowed.`;
  }

  /** @param {Webhook} hook */
  function row(hook) {
    const label = hook.name || hook.url;
    const remove = el('button', { type: 'button', class: 'danger' }, 'Delete', srOnly(` ${label}`));
    remove.addEventListener('click', () => {
      if (!window.confirm(`Delete the webhook “${label}”? This cannot be undone.`)) return;
      run(remove, async () => {
        await api('i/webhooks/delete', { webhookId: hook.id });
        await load();
        showStatus(`The webhook “${label}” was deleted.`);
      });
    });
    const edit = `/settings/webhook/edit/${encodeURIComponent(hook.id)}`;
    return el('tr', { 'data-webhook-id': hook.id },
      el('td', { class: 'status-cell' }, statusCell(hook), healthBadge(hook)),
      el('th', { scope: 'row' }, el('a', { href: edit, text: hook.name })),
      el('td', { class: 'url', text: hook.url }),
      el('td', { text: eventsText(hook) }),
      el('td', { text: hook.active ? 'Yes' : 'No' }),
      el('td', {}, lastSentCell(hook)),
      el('td', { class: 'row-actions' }, el('a', { class: 'button', href: edit }, 'Edit', srOnly(` ${label}`)), ' ', remove));
  }

  const refresh = $('webhooks-refresh', HTMLButtonElement);
  refresh.addEventListener('click', () => run(refresh, load));
  await load();
}

start(pageWebhooks);
