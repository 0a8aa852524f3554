// @ts-check
// What every page shares: DOM helpers, the API call, the signed-in session, messages and
// the start-up that fills the header. Each page is its own module (js/pages/*.js) that
// imports from here and calls `start` with its own function.
//
// The server sends each page as static HTML with <body data-page="...">; the page's module
// fills it in through the same /api/* endpoints any client uses, with the token kept in
// localStorage. User content is only ever written with textContent (never innerHTML), and
// every API failure is shown in the page's role="alert" region: nothing fails silently.

/**
 * @typedef {'public' | 'home' | 'followers' | 'specified'} Visibility
 *
 * @typedef {object} UserLite A user as notes and lists embed it.
 * @property {string} id
 * @property {string} username
 * @property {string | null} name
 *
 * @typedef {object} UserCounts What `users/show` adds to a user.
 * @property {number} notesCount
 * @property {number} followingCount
 * @property {number} followersCount
 * @property {boolean} [isFollowing] Whether the signed-in user follows this user.
 * @property {boolean} [isFollowed] Whether this user follows the signed-in user.
 *
 * @typedef {UserLite & UserCounts} UserDetailed
 *
 * @typedef {object} MeExtra What `i` adds about the signed-in user.
 * @property {boolean} isAdmin
 * @property {{ webhookLimit?: number }} [policies]
 *
 * @typedef {UserDetailed & MeExtra} Me
 *
 * @typedef {object} Note
 * @property {string} id
 * @property {string} createdAt
 * @property {string} userId
 * @property {UserLite} user
 * @property {string | null} text
 * @property {string | null} [cw]
 * @property {Visibility} visibility
 * @property {string | null} [replyId]
 * @property {Note | null} [reply]
 * @property {string | null} [renoteId]
 * @property {Note | null} [renote]
 * @property {string[]} [fileIds]
 * @property {boolean} [isHidden]
 * @property {Record<string, number>} [reactions] Each reaction with its count.
 * @property {number} [reactionCount]
 * @property {string} [myReaction] The signed-in user's reaction, if they reacted.
 *
 * @typedef {'follow' | 'followed' | 'unfollow' | 'note' | 'reply' | 'renote' | 'mention' | 'reaction'} EventName
 *
 * @typedef {object} WebhookState The parts of a webhook that its status is made of.
 * @property {boolean} active
 * @property {number | null} latestStatus HTTP status of the last delivery, 1 for a network error.
 * @property {string | null} latestSentAt
 * @property {number} [consecutiveFailures] Deliveries that failed in a row (missive's endpoint health).
 * @property {DisabledReason | null} [disabledReason] Why missive switched the webhook off by itself.
 * @property {string | null} [disabledAt]
 *
 * @typedef {'gone' | 'failing'} DisabledReason `gone`: the endpoint answered 410 Gone;
 *   `failing`: its deliveries kept failing.
 *
 * @typedef {object} WebhookFields
 * @property {string} id
 * @property {string} userId
 * @property {string} name
 * @property {string} url
 * @property {string[]} on
 *
 * @typedef {WebhookFields & WebhookState} AdminWebhook A webhook as the administrator sees it: no secret.
 * @typedef {AdminWebhook & { secret: string }} Webhook A webhook as its owner sees it.
 *
 * @typedef {{ limit?: number, untilId?: string }} Paging
 *
 * @typedef {object} NoteParams
 * @property {string | null} [text]
 * @property {string} [cw]
 * @property {Visibility} [visibility]
 * @property {string} [replyId]
 * @property {string} [renoteId]
 * @property {string[]} [visibleUserIds]
 *
 * @typedef {object} WebhookParams
 * @property {string} name
 * @property {string} url
 * @property {string} secret
 * @property {string[]} on
 *
 * @typedef {Paging & { userId?: string, active?: boolean }} AdminWebhookFilter
 *
 * @typedef {'pending' | 'succeeded' | 'failed' | 'cancelled'} DeliveryState
 *
 * @typedef {object} Delivery One delivery of an event to a webhook (missive's delivery log).
 * @property {string} id
 * @property {string} webhookId
 * @property {string} userId
 * @property {string} type The event type.
 * @property {string} eventId The same on every attempt and on a redelivery.
 * @property {string} createdAt When the event happened.
 * @property {DeliveryState} state
 * @property {number} attempts
 * @property {number | null} latestStatus HTTP status of the last attempt, 1 for a network error.
 * @property {string | null} nextAttemptAt When a pending delivery is tried next.
 * @property {string | null} finishedAt
 *
 * @typedef {object} DeliveryAttempt
 * @property {number} attempt 1 for the first.
 * @property {string} startedAt
 * @property {number} durationMs
 * @property {number | null} status The HTTP status; null when no answer came.
 * @property {string | null} error Why no answer came: refused, timeout, dns, tls, blocked or other.
 * @property {string | null} responseBody The first KiB of the answer.
 * @property {string | null} nextRetryAt
 *
 * @typedef {Delivery & { attemptLog: DeliveryAttempt[], requestBody: string | null }} DeliveryDetail
 *
 * @typedef {Paging & { webhookId: string, state?: DeliveryState, type?: string }} DeliveryFilter
 *
 * @typedef {{ deliveryId: string } | { webhookId: string, since: number }} RedeliverParams
 */

/**
 * The endpoints the pages call: what each takes (besides the token, which `api` adds) and
 * what it answers (null for 204).
 *
 * @typedef {{
 *   'i': { params: {}, answer: Me },
 *   'i/revoke-token': { params: { token: string }, answer: null },
 *   'signin-flow': { params: { i: null, username: string, password: string }, answer: { finished: boolean, i: string } },
 *   'signup': { params: { i: null, username: string, password: string }, answer: Me & { token: string } },
 *   'users/show': { params: { username: string } | { userId: string } | { userIds: string[] }, answer: UserDetailed },
 *   'users/notes': { params: Paging & { userId: string }, answer: Note[] },
 *   'notes/timeline': { params: Paging, answer: Note[] },
 *   'notes/show': { params: { noteId: string }, answer: Note },
 *   'notes/create': { params: NoteParams, answer: { createdNote: Note } },
 *   'notes/reactions/create': { params: { noteId: string, reaction: string }, answer: null },
 *   'notes/reactions/delete': { params: { noteId: string }, answer: null },
 *   'following/create': { params: { userId: string }, answer: UserLite },
 *   'following/delete': { params: { userId: string }, answer: UserLite },
 *   'i/webhooks/list': { params: {}, answer: Webhook[] },
 *   'i/webhooks/show': { params: { webhookId: string }, answer: Webhook },
 *   'i/webhooks/create': { params: WebhookParams, answer: Webhook },
 *   'i/webhooks/update': { params: WebhookParams & { webhookId: string, active: boolean }, answer: null },
 *   'i/webhooks/delete': { params: { webhookId: string }, answer: null },
 *   'i/webhooks/test': { params: { webhookId: string, type: string, override: { url: string, secret: string } }, answer: null },
 *   'admin/webhooks/list': { params: AdminWebhookFilter, answer: AdminWebhook[] },
 *   'admin/webhooks/update': { params: { webhookId: string, active: boolean }, answer: null },
 *   'i/webhooks/deliveries': { params: DeliveryFilter, answer: Delivery[] },
 *   'i/webhooks/deliveries/show': { params: { deliveryId: string }, answer: DeliveryDetail },
 *   'i/webhooks/redeliver': { params: RedeliverParams, answer: { deliveryIds: string[] } },
 *   'admin/webhooks/deliveries': { params: DeliveryFilter, answer: Delivery[] },
 *   'admin/webhooks/deliveries/show': { params: { deliveryId: string }, answer: DeliveryDetail },
 *   'admin/webhooks/redeliver': { params: RedeliverParams, answer: { deliveryIds: string[] } },
 * }} Endpoints
 */

const TOKEN_KEY = 'missive:token';
const FLASH_KEY = 'missive:flash';

/**
 * Who is signed in, once `start` has asked the server.
 * @type {{ me: Me | null, sessionExpired: boolean }}
 */
export const session = { me: null, sessionExpired: false };

// ---------------------------------------------------------------------------------------
// Small DOM helpers.

/**
 * The element with this id, of `type` (any HTML element unless told): a page whose markup
 * lacks it is a bug, reported like any other error.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
export function $(id, type) {
  const node = document.getElementById(id);
  const expected = type ?? HTMLElement;
  if (!(node instanceof expected)) throw new Error(`This page has no element #${id} of the expected kind.`);
  return /** @type {T} */ (node);
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * Creates an element; `props` are DOM properties (text via `text`), children are nodes or strings.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = String(value);
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') node.setAttribute(key, String(value));
    else /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (node))[key] = value;
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    node.append(child);
  }
  return node;
}

/**
 * Visually hidden text for screen readers.
 * @param {string} text
 */
export function srOnly(text) {
  return el('span', { class: 'visually-hidden', text });
}

/**
 * A link to a user's page.
 * @param {UserLite} user
 */
export function userLink(user) {
  return el('a', { href: `/@${user.username}`, class: 'user-link', text: `@${user.username}` });
}

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * A <time> showing "3 minutes ago", with the exact time as its tooltip.
 * @param {string} iso
 */
export function timeEl(iso) {
  const date = new Date(iso);
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  let text;
  if (abs < 10) text = 'just now';
  else if (abs < 60) text = relativeFormat.format(seconds, 'second');
  else if (abs < 3600) text = relativeFormat.format(Math.round(seconds / 60), 'minute');
  else if (abs < 86400) text = relativeFormat.format(Math.round(seconds / 3600), 'hour');
  else if (abs < 30 * 86400) text = relativeFormat.format(Math.round(seconds / 86400), 'day');
  else text = date.toLocaleDateString();
  return el('time', { dateTime: iso, title: date.toLocaleString(), text });
}

/**
 * The submit button of `form`, which `run` disables while the form's action runs.
 * @param {HTMLFormElement} form
 */
export function submitButton(form) {
  const button = form.querySelector('button[type=submit]');
  return button instanceof HTMLButtonElement ? button : null;
}

// ---------------------------------------------------------------------------------------
// Messages: errors in the alert region, confirmations in the status region.

function clearMessages() {
  $('alert').replaceChildren();
  $('status').replaceChildren();
}

/** @param {string} text */
export function showStatus(text) {
  $('alert').replaceChildren();
  $('status').replaceChildren(el('p', { text }));
}

/** @param {unknown} error */
export function showError(error) {
  const { message, code } = describeError(error);
  const alert = $('alert');
  $('status').replaceChildren();
  alert.replaceChildren(
    el('p', {}, el('strong', { text: 'Error: ' }), message, code ? el('span', { class: 'code', text: ` (${code})` }) : null),
  );
  const box = alert.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) alert.scrollIntoView({ block: 'nearest' });
}

/**
 * Keeps a message across a page load (after a redirect); `error` shows it as an alert.
 * @param {string} text
 * @param {'status' | 'error'} [kind]
 */
export function flash(text, kind = 'status') {
  sessionStorage.setItem(FLASH_KEY, JSON.stringify({ text, kind }));
}

function showFlash() {
  const stored = sessionStorage.getItem(FLASH_KEY);
  if (!stored) return;
  sessionStorage.removeItem(FLASH_KEY);
  /** @type {{ text: string, kind: string }} */
  let message;
  try {
    message = JSON.parse(stored);
  } catch {
    return;
  }
  if (message.kind === 'error') showError(new Error(message.text));
  else showStatus(message.text);
}

// ---------------------------------------------------------------------------------------
// The API.

/** @typedef {{ param?: string, reason?: string }} ApiErrorInfo */

/** A Misskey error object from the server, or NETWORK_ERROR when there was no answer. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {ApiErrorInfo} [info]
   */
  constructor(message, code, info) {
    super(message);
    this.code = code;
    this.info = info;
  }
}

/**
 * Whether `error` is the API's error `code`.
 * @param {unknown} error
 * @param {string} code
 */
export function hasCode(error, code) {
  return error instanceof ApiError && error.code === code;
}

// Field names in INVALID_PARAM errors, as the forms label them.
/** @type {Record<string, string>} */
const FIELD_NAMES = {
  name: 'Name',
  url: 'URL',
  secret: 'Secret',
  on: 'Events',
  text: 'Text',
  cw: 'Content warning',
  visibility: 'Visibility',
  username: 'Username',
  password: 'Password',
};

// Plain-words explanations of the errors a person can meet on these pages.
/** @type {Record<string, string>} */
const PLAIN_ERRORS = {
  NETWORK_ERROR: 'The server cannot be reached. Check your connection and try again.',
  CREDENTIAL_REQUIRED: 'You need to sign in first.',
  AUTHENTICATION_FAILED: 'Your session is no longer valid. Please sign in again.',
  ROLE_PERMISSION_DENIED: 'Only the administrator can do this.',
  NO_SUCH_USER: 'There is no user with that name.',
  INCORRECT_PASSWORD: 'The password is incorrect.',
  DUPLICATED_USERNAME: 'This username is already taken. Please choose another.',
  SIGNUP_DISABLED: 'Sign-up is closed on this server.',
  NO_SUCH_WEBHOOK: 'This webhook does not exist any more. It may have been deleted.',
  TOO_MANY_WEBHOOKS: 'You already have as many webhooks as this server allows. Delete one to create another.',
  ALREADY_FOLLOWING: 'You already follow this user.',
  NOT_FOLLOWING: 'You do not follow this user.',
  FOLLOWEE_IS_YOURSELF: 'You cannot follow yourself.',
  NO_SUCH_NOTE: 'This note does not exist any more.',
  NO_SUCH_RENOTE_TARGET: 'The note you are renoting does not exist any more.',
  NO_SUCH_REPLY_TARGET: 'The note you are replying to does not exist any more.',
  CANNOT_RENOTE_DUE_TO_VISIBILITY: 'This note cannot be renoted because of its visibility.',
  CANNOT_REPLY_TO_AN_INVISIBLE_NOTE: 'You cannot reply to a note you are not allowed to see.',
  CONTAINS_TOO_MANY_MENTIONS: 'The note mentions too many users.',
  RATE_LIMIT_EXCEEDED: 'Too many requests. Please wait a moment and try again.',
  SERVICE_UNAVAILABLE: 'The server’s database is unavailable. Please try again later.',
  INTERNAL_ERROR: 'The server failed unexpectedly. Please try again; if it keeps failing, tell the operator.',
};

/**
 * The words and the code to show for a failure.
 * @param {unknown} error
 * @returns {{ message: string, code: string | null }}
 */
function describeError(error) {
  if (!(error instanceof ApiError)) {
    const ownMessage = typeof error === 'object' && error !== null && 'message' in error ? error.message : undefined;
    return { message: String(ownMessage ?? error ?? 'Something went wrong.'), code: null };
  }
  if (error.code === 'INVALID_PARAM') {
    const param = String(error.info?.param ?? '');
    const key = (param.match(/properties\/([A-Za-z]+)/) ?? [])[1];
    const field = key == null ? undefined : FIELD_NAMES[key] ?? key;
    const reason = error.info?.reason ?? 'is not valid';
    return { message: field ? `${field}: ${reason}.` : `Some input is not valid: ${reason}.`, code: error.code };
  }
  return { message: PLAIN_ERRORS[error.code] ?? error.message, code: error.code };
}

/**
 * Calls `POST /api/<endpoint>` with the token in the body; returns the JSON answer or null for 204.
 * @template {keyof Endpoints} E
 * @param {E} endpoint
 * @param {Endpoints[E]['params']} params
 * @returns {Promise<Endpoints[E]['answer']>}
 */
export async function api(endpoint, params) {
  /** @type {Record<string, unknown>} */
  const body = { ...params };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token && !('i' in body)) body.i = token;
  let response;
  try {
    response = await fetch(`/api/${endpoint}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError('The server cannot be reached.', 'NETWORK_ERROR');
  }
  if (response.status === 204) return /** @type {Endpoints[E]['answer']} */ (null);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the HTTP status.
  }
  if (!response.ok) {
    /** @type {{ message?: string, code?: string, info?: ApiErrorInfo } | undefined} */
    const e = data?.error;
    if (e?.code === 'AUTHENTICATION_FAILED') localStorage.removeItem(TOKEN_KEY);
    throw new ApiError(e?.message ?? `The server answered HTTP ${response.status}.`, e?.code ?? `HTTP_${response.status}`, e?.info);
  }
  return data;
}

/**
 * Runs an action started by a button or form: clears old messages, disables the control
 * meanwhile (no double submits) and shows any failure.
 * @template T
 * @param {HTMLButtonElement | HTMLInputElement | null} control
 * @param {() => Promise<T>} action
 * @returns {Promise<T | undefined>}
 */
export async function run(control, action) {
  clearMessages();
  // Disabling a focused control drops the focus to <body>; keyboard users get it back.
  const hadFocus = control != null && document.activeElement === control;
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (control) {
      control.disabled = false;
      const lost = document.activeElement == null || document.activeElement === document.body;
      if (hadFocus && lost && control.isConnected) control.focus();
    }
  }
}

// ---------------------------------------------------------------------------------------
// The session: the token in localStorage and the header.

function signedIn() {
  return localStorage.getItem(TOKEN_KEY) != null;
}

/**
 * Keeps the token that signing in or up answered.
 * @param {string} token
 */
export function keepToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

/**
 * The signed-in user; a visitor who is not signed in is sent to the sign-in page, then back here.
 * @returns {Me | null}
 */
export function requireSignIn() {
  if (session.me) return session.me;
  if (!signedIn()) {
    if (session.sessionExpired) flash(PLAIN_ERRORS.AUTHENTICATION_FAILED ?? '', 'error');
    location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  return null;
}

/**
 * Revokes the token on the server, then forgets it here. A token the server no longer
 * accepts is forgotten all the same; any other failure is said, since the token then still
 * works until it is revoked.
 */
async function signOut() {
  const token = localStorage.getItem(TOKEN_KEY);
  let failure = null;
  if (token) {
    try {
      await api('i/revoke-token', { token });
    } catch (error) {
      if (!hasCode(error, 'AUTHENTICATION_FAILED')) failure = describeError(error).message;
    }
  }
  localStorage.removeItem(TOKEN_KEY);
  if (failure) {
    flash(`You are signed out of this browser, but the server could not end your session: ${failure} Sign in and out again to end it.`, 'error');
  } else {
    flash('You are signed out.');
  }
  location.assign('/signin');
}

function renderNav() {
  const me = session.me;
  for (const item of document.querySelectorAll('[data-when]')) {
    if (!(item instanceof HTMLElement)) continue;
    const when = item.dataset.when;
    item.hidden = !(
      (when === 'signed-in' && me) ||
      (when === 'admin' && me?.isAdmin) ||
      (when === 'signed-out' && !me)
    );
  }
  if (me) {
    const link = $('nav-me', HTMLAnchorElement);
    link.href = `/@${me.username}`;
    link.textContent = `@${me.username}`;
  }
  const button = $('sign-out', HTMLButtonElement);
  button.addEventListener('click', () => run(button, signOut));
}

/** Where to go after signing in: `?next=` if it is a path on this site. */
export function nextPath() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

// ---------------------------------------------------------------------------------------
// Start.

/**
 * Starts a page: shows a message kept across the last load, asks who is signed in, fills
 * the header, then runs `page` and shows any failure.
 * @param {() => unknown} [page]
 */
export async function start(page) {
  window.addEventListener('unhandledrejection', (event) => showError(event.reason));
  window.addEventListener('error', (event) => showError(event.error ?? event.message));
  showFlash();
  if (signedIn()) {
    try {
      session.me = await api('i', {});
    } catch (error) {
      session.sessionExpired = hasCode(error, 'AUTHENTICATION_FAILED');
      showError(error);
    }
  }
  renderNav();
  if (!page) return;
  try {
    await page();
  } catch (error) {
    showError(error);
  }
}
