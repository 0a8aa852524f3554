// @ts-check
// Administration > Webhooks: every user's webhooks, filtered by owner and state, each with
// an Active switch and its Deliveries. Anyone but the administrator is refused.

import { $, ApiError, api, el, hasCode, requireSignIn, run, showStatus, srOnly, start, userLink } from '../shared.js';
import { eventsText, healthBadge, lastSentCell, statusCell } from '../webhook.js';
import { showDeliveries } from '../deliveries.js';

/** @import { AdminWebhook, AdminWebhookFilter, UserDetailed } from '../shared.js' */

async function pageAdminWebhooks() {
  const me = requireSignIn();
  if (!me) return;
  if (!me.isAdmin) {
    $('admin-refusal').hidden = false;
    return;
  }
  const query = new URLSearchParams(location.search);
  const filterUser = (query.get('user') ?? '').trim().replace(/^@/, '');
  const filterState = query.get('state') ?? '';
  $('filter-user', HTMLInputElement).value = filterUser;
  $('filter-state', HTMLSelectElement).value = ['active', 'inactive'].includes(filterState) ? filterState : '';
  $('admin-content').hidden = false;

  const limit = 100;
  /** @type {AdminWebhookFilter} */
  const filter = { limit };
  if (filterState === 'active') filter.active = true;
  if (filterState === 'inactive') filter.active = false;
  if (filterUser) {
    try {
      filter.userId = (await api('users/show', { username: filterUser })).id;
    } catch (error) {
      if (hasCode(error, 'NO_SUCH_USER')) throw new ApiError(`There is no user @${filterUser}.`, 'NO_SUCH_USER');
      throw error;
    }
  }

  /** @type {Map<string, UserDetailed>} */
  const owners = new Map();
  const body = $('admin-body');
  const more = $('admin-more', HTMLButtonElement);
  /** @type {string | null} */
  let untilId = null;

  async function load() {
    let hooks;
    try {
      hooks = await api('admin/webhooks/list', { ...filter, ...(untilId ? { untilId } : {}) });
    } catch (error) {
      if (hasCode(error, 'ROLE_PERMISSION_DENIED')) {
        $('admin-content').hidden = true;
        $('admin-refusal').hidden = false;
      }
      throw error;
    }
    const unknown = [...new Set(hooks.map((h) => h.userId))].filter((id) => !owners.has(id));
    if (unknown.length) {
      // Asked for several ids, users/show answers a list.
      const users = /** @type {UserDetailed[]} */ (/** @type {unknown} */ (await api('users/show', { userIds: unknown })));
      for (const user of users) owners.set(user.id, user);
    }
    body.append(...hooks.map(row));
    const oldest = hooks[hooks.length - 1];
    if (oldest) untilId = oldest.id;
    more.hidden = hooks.length < limit;
    $('admin-empty').hidden = body.children.length > 0;
    $('admin-table').hidden = body.children.length === 0;
  }

  /** @param {AdminWebhook} hook */
  function row(hook) {
    const owner = owners.get(hook.userId);
    const ownerName = owner ? `@${owner.username}` : hook.userId;
    const status = el('td', { class: 'status-cell' }, statusCell(hook), healthBadge(hook));
    const id = `active-${hook.id}`;
    const toggle = el('input', { type: 'checkbox', id, role: 'switch', checked: hook.active });
    toggle.addEventListener('change', () => {
      const active = toggle.checked;
      run(toggle, async () => {
        try {
          await api('admin/webhooks/update', { webhookId: hook.id, active });
        } catch (error) {
          toggle.checked = !active;
          throw error;
        }
        hook.active = active;
        if (active) {
          // Switching on clears the health, as the server did.
          hook.disabledReason = null;
          hook.disabledAt = null;
          hook.consecutiveFailures = 0;
        }
        status.replaceChildren(statusCell(hook), healthBadge(hook));
        showStatus(`The webhook “${hook.name}” of ${ownerName} was switched ${active ? 'on' : 'off'}.`);
      });
    });
    const deliveries = el('button', { type: 'button', class: 'webhook-deliveries', text: 'Deliveries' }, srOnly(` (${hook.name}, ${ownerName})`));
    deliveries.addEventListener('click', () =>
      run(deliveries, async () => {
        const section = $('admin-deliveries-section');
        $('admin-deliveries-title').textContent = `Deliveries of “${hook.name}” (${ownerName})`;
        section.hidden = false;
        await showDeliveries($('admin-deliveries'), hook.id, 'admin');
        section.scrollIntoView({ block: 'start' });
      }));
    return el('tr', { 'data-webhook-id': hook.id },
      status,
      el('td', {}, owner ? userLink(owner) : el('span', { text: ownerName })),
      el('th', { scope: 'row', text: hook.name }),
      el('td', { class: 'url', text: hook.url }),
      el('td', { text: eventsText(hook) }),
      el('td', {}, lastSentCell(hook)),
      el('td', { class: 'active-cell' }, toggle, el('label', { htmlFor: id }, 'Active', srOnly(` (${hook.name}, ${ownerName})`))),
      el('td', {}, deliveries));
  }

  more.addEventListener('click', () => run(more, load));
  await load();
}

start(pageAdminWebhooks);
