// @ts-check
// The Deliveries section of a webhook (its edit page, and the administration screen): the
// delivery log newest first, a detail view with the exact request body, the start of each
// answer and every attempt, and a Resend button. The owner's page calls `i/webhooks/…`,
// the administrator's `admin/webhooks/…`; both answer the same shapes.

import { api, el, run, showStatus, srOnly, timeEl } from './shared.js';

/** @import { Delivery, DeliveryAttempt, DeliveryDetail } from './shared.js' */

/** @typedef {'i' | 'admin'} Scope */

const PAGE = 20;

/**
 * The words for a delivery's state and last status.
 * @param {Delivery} d
 */
export function deliveryStatusText(d) {
  const last = d.latestStatus == null ? '' : d.latestStatus === 1 ? ' (network error)' : ` (HTTP ${d.latestStatus})`;
  switch (d.state) {
    case 'succeeded':
      return `Delivered${last}`;
    case 'failed':
      return `Failed${last}`;
    case 'cancelled':
      return 'Not sent (webhook off or deleted)';
    default:
      return d.attempts === 0 ? 'Pending' : `Retrying${last}`;
  }
}

/**
 * An attempt's outcome in words.
 * @param {DeliveryAttempt} a
 */
export function attemptOutcomeText(a) {
  if (a.status != null) return `HTTP ${a.status}`;
  const why = {
    refused: 'connection refused',
    timeout: 'timed out',
    dns: 'name not resolved',
    tls: 'TLS error',
    blocked: 'address not allowed',
  };
  return `No answer: ${why[/** @type {keyof typeof why} */ (a.error ?? '')] ?? 'network error'}`;
}

/**
 * Fills `container` with the deliveries of `webhookId` and keeps it up to date on demand.
 * @param {HTMLElement} container
 * @param {string} webhookId
 * @param {Scope} scope
 */
export async function showDeliveries(container, webhookId, scope) {
  const list = scope === 'admin' ? 'admin/webhooks/deliveries' : 'i/webhooks/deliveries';
  const showEndpoint = scope === 'admin' ? 'admin/webhooks/deliveries/show' : 'i/webhooks/deliveries/show';
  const resendEndpoint = scope === 'admin' ? 'admin/webhooks/redeliver' : 'i/webhooks/redeliver';
  const body = el('tbody', { class: 'deliveries-body' });
  const table = el('table', { class: 'webhooks deliveries', hidden: true },
    el('caption', { class: 'visually-hidden', text: 'Deliveries, newest first' }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: 'Event' }),
      el('th', { scope: 'col', text: 'Time' }),
      el('th', { scope: 'col', text: 'Status' }),
      el('th', { scope: 'col', text: 'Attempts' }),
      el('th', { scope: 'col' }, srOnly('Actions')))),
    body);
  const empty = el('p', { class: 'empty', text: 'Nothing was delivered yet.', hidden: true });
  const more = el('button', { type: 'button', class: 'deliveries-more', text: 'Load more', hidden: true });
  const refresh = el('button', { type: 'button', class: 'deliveries-refresh', text: 'Refresh' });
  const detail = el('div', { class: 'delivery-detail card', hidden: true, tabIndex: -1 });
  container.replaceChildren(el('div', { class: 'actions' }, refresh), table, empty, more, detail);
  /** @type {string | null} */
  let untilId = null;

  /** @param {boolean} fromStart */
  async function load(fromStart) {
    // Busy while the list is being replaced, for assistive technology (and tests).
    container.setAttribute('aria-busy', 'true');
    let deliveries;
    try {
      deliveries = await api(list, { webhookId, limit: PAGE, ...(fromStart || !untilId ? {} : { untilId }) });
    } finally {
      container.removeAttribute('aria-busy');
    }
    if (fromStart) body.replaceChildren();
    body.append(...deliveries.map(row));
    const oldest = deliveries[deliveries.length - 1];
    if (oldest) untilId = oldest.id;
    else if (fromStart) untilId = null;
    more.hidden = deliveries.length < PAGE;
    table.hidden = body.children.length === 0;
    empty.hidden = body.children.length > 0;
  }

  /** @param {Delivery} d */
  function row(d) {
    const open = el('button', { type: 'button', class: 'delivery-open', text: 'Details' }, srOnly(` (${d.type}, ${d.eventId})`));
    open.addEventListener('click', () => run(open, () => openDetail(d.id)));
    return el('tr', { 'data-delivery-id': d.id, 'data-state': d.state },
      el('th', { scope: 'row', text: d.type }),
      el('td', {}, timeEl(d.createdAt)),
      el('td', { class: 'delivery-status', text: deliveryStatusText(d) }),
      el('td', { class: 'delivery-attempts', text: String(d.attempts) }),
      el('td', {}, open));
  }

  /** @param {string} deliveryId */
  async function openDetail(deliveryId) {
    /** @type {DeliveryDetail} */
    const d = await api(showEndpoint, { deliveryId });
    const resend = el('button', { type: 'button', class: 'primary delivery-resend', text: 'Resend' });
    resend.addEventListener('click', () =>
      run(resend, async () => {
        const { deliveryIds } = await api(resendEndpoint, { deliveryId: d.id });
        showStatus(deliveryIds.length
          ? `The “${d.type}” event was queued again with the same event id.`
          : `The “${d.type}” event is already waiting to be sent.`);
        await load(true);
      }));
    const close = el('button', { type: 'button', text: 'Close' });
    close.addEventListener('click', () => {
      detail.hidden = true;
    });
    const attempts = d.attemptLog.length
      ? el('ol', { class: 'delivery-attempt-list' }, ...d.attemptLog.map((a) => el('li', { class: 'delivery-attempt' },
        el('p', {}, el('strong', { text: attemptOutcomeText(a) }), ' · ', timeEl(a.startedAt), ` · ${a.durationMs} ms`,
          a.nextRetryAt ? el('span', {}, ' · next try ', timeEl(a.nextRetryAt)) : ''),
        a.responseBody ? el('pre', { class: 'delivery-response', text: a.responseBody }) : '')))
      : el('p', { class: 'muted', text: 'No attempt yet.' });
    detail.replaceChildren(
      el('h3', { text: `${d.type} · ${deliveryStatusText(d)}` }),
      el('p', {}, 'Event id ', el('code', { text: d.eventId }), ' · ', timeEl(d.createdAt)),
      el('h4', { text: 'Request body' }),
      d.requestBody == null
        ? el('p', { class: 'muted', text: 'No longer kept.' })
        : el('pre', { class: 'delivery-request', text: prettyJson(d.requestBody) }),
      el('h4', { text: 'Attempts' }),
      attempts,
      el('div', { class: 'actions' }, resend, close));
    detail.hidden = false;
    detail.focus();
  }

  refresh.addEventListener('click', () => run(refresh, () => load(true)));
  more.addEventListener('click', () => run(more, () => load(false)));
  await load(true);
}

/**
 * The body indented for reading (what was sent is compact JSON).
 * @param {string} text
 */
function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
