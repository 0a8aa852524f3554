// @ts-check
// How the webhook pages (Settings > Webhook, its form, the administration screen) show a
// webhook: its events, the state and result of its last delivery, when it was sent, and
// the endpoint's health.

import { el, timeEl } from './shared.js';

/** @import { EventName, WebhookState } from './shared.js' */

/**
 * In the order the webhook form lists them.
 * @type {readonly EventName[]}
 */
export const EVENTS = ['follow', 'followed', 'unfollow', 'note', 'reply', 'renote', 'mention', 'reaction'];

/** @typedef {'ok' | 'fail' | 'paused'} StatusKind */

const SVG_NS = 'http://www.w3.org/2000/svg';
/** @type {Record<StatusKind, [string, Record<string, string>][]>} */
const ICONS = {
  ok: [['path', { d: 'M5 12.5l4.5 4.5L19 7.5' }]],
  fail: [['path', { d: 'M12 3.5L2.5 20h19z' }], ['path', { d: 'M12 10v4.5' }], ['path', { d: 'M12 17.2v.1' }]],
  paused: [['path', { d: 'M9 6v12' }], ['path', { d: 'M15 6v12' }]],
};

/**
 * A decorative status icon; the text next to it carries the meaning.
 * @param {StatusKind} kind
 */
function icon(kind) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon', `icon-${kind}`);
  for (const [tag, attrs] of ICONS[kind]) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, v);
    svg.append(shape);
  }
  return svg;
}

/**
 * The mark and words for a webhook's state and last delivery.
 * @param {WebhookState} hook
 * @returns {{ kind: StatusKind | null, text: string }}
 */
export function webhookStatus(hook) {
  const s = hook.latestStatus;
  /** @type {StatusKind | null} */
  let kind = null;
  let text;
  if (s == null) text = 'Not sent yet';
  else if (s >= 200 && s < 300) {
    kind = 'ok';
    text = `Success (HTTP ${s})`;
  } else if (s === 1) {
    kind = 'fail';
    text = 'Failed (network error or timeout)';
  } else {
    kind = 'fail';
    text = `Failed (HTTP ${s})`;
  }
  if (!hook.active) return { kind: 'paused', text: s == null ? 'Paused' : `Paused; last: ${text}` };
  return { kind, text };
}

/** @param {WebhookState} hook */
export function statusCell(hook) {
  const { kind, text } = webhookStatus(hook);
  return el('span', { class: `status-mark status-${kind ?? 'none'}` }, kind ? icon(kind) : null, el('span', { text }));
}

/**
 * The webhook's events in the form's order.
 * @param {{ on: string[] }} hook
 */
export function eventsText(hook) {
  const on = EVENTS.filter((e) => hook.on.includes(e));
  return on.length ? on.join(', ') : 'none';
}

/**
 * The endpoint's health in words: healthy, failing (with the run of failures), or
 * switched off automatically (with the reason).
 * @param {WebhookState} hook
 * @returns {{ kind: 'healthy' | 'failing' | 'disabled', text: string }}
 */
export function webhookHealth(hook) {
  const failures = hook.consecutiveFailures ?? 0;
  const inARow = `${failures} consecutive ${failures === 1 ? 'failure' : 'failures'}`;
  if (hook.disabledReason === 'gone') {
    return { kind: 'disabled', text: 'Switched off automatically: the endpoint answered 410 Gone' };
  }
  if (hook.disabledReason === 'failing') {
    return { kind: 'disabled', text: `Switched off automatically after ${inARow}` };
  }
  if (failures > 0) return { kind: 'failing', text: `Failing (${inARow})` };
  return { kind: 'healthy', text: 'Healthy' };
}

/**
 * A badge with the endpoint's health, and when it was switched off if it was.
 * @param {WebhookState} hook
 */
export function healthBadge(hook) {
  const { kind, text } = webhookHealth(hook);
  return el('span', { class: `health-badge health-${kind}` },
    el('span', { text }),
    kind === 'disabled' && hook.disabledAt ? el('span', {}, ' (', timeEl(hook.disabledAt), ')') : null);
}

/** @param {WebhookState} hook */
export function lastSentCell(hook) {
  return hook.latestSentAt ? timeEl(hook.latestSentAt) : el('span', { class: 'muted', text: 'never' });
}
