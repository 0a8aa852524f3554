// missive's web pages: one small script for every page, no framework and no build step.
//
// The server sends each page as static HTML with <body data-page="...">; this script fills
// it in through the same /api/* endpoints any client uses, with the token kept in
// localStorage. User content is only ever written with textContent (never innerHTML), and
// every API failure is shown in the page's role="alert" region: nothing fails silently.

'use strict';

const TOKEN_KEY = 'missive:token';
const FLASH_KEY = 'missive:flash';

// In the order the webhook form lists them; `reaction` is accepted but never sent.
const EVENTS = ['follow', 'followed', 'unfollow', 'note', 'reply', 'renote', 'mention', 'reaction'];
const SENDABLE_EVENTS = EVENTS.filter((e) => e !== 'reaction');
const PAGE_SIZE = 20;

const state = { me: null, sessionExpired: false };

// ---------------------------------------------------------------------------------------
// Small DOM helpers.

function $(id) {
  return document.getElementById(id);
}

/** Creates an element; `props` are DOM properties (text via `text`), children are nodes or strings. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    node.append(child);
  }
  return node;
}

/** Visually hidden text for screen readers. */
function srOnly(text) {
  return el('span', { class: 'visually-hidden', text });
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  ok: [['path', { d: 'M5 12.5l4.5 4.5L19 7.5' }]],
  fail: [['path', { d: 'M12 3.5L2.5 20h19z' }], ['path', { d: 'M12 10v4.5' }], ['path', { d: 'M12 17.2v.1' }]],
  paused: [['path', { d: 'M9 6v12' }], ['path', { d: 'M15 6v12' }]],
};

/** A decorative status icon; the text next to it carries the meaning. */
function icon(kind) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon', `icon-${kind}`);
  for (const [tag, attrs] of ICONS[kind] ?? []) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, v);
    svg.append(shape);
  }
  return svg;
}

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** A <time> showing "3 minutes ago", with the exact time as its tooltip. */
function timeEl(iso) {
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

// ---------------------------------------------------------------------------------------
// Messages: errors in the alert region, confirmations in the status region.

function clearMessages() {
  $('alert').replaceChildren();
  $('status').replaceChildren();
}

function showStatus(text) {
  $('alert').replaceChildren();
  $('status').replaceChildren(el('p', { text }));
}

function showError(error) {
  const { message, code } = describeError(error);
  $('status').replaceChildren();
  $('alert').replaceChildren(
    el('p', {}, el('strong', { text: 'Error: ' }), message, code ? el('span', { class: 'code', text: ` (${code})` }) : null),
  );
  const box = $('alert').getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) $('alert').scrollIntoView({ block: 'nearest' });
}

/** Keeps a message across a page load (after a redirect); `error` shows it as an alert. */
function flash(text, kind = 'status') {
  sessionStorage.setItem(FLASH_KEY, JSON.stringify({ text, kind }));
}

function showFlash() {
  const stored = sessionStorage.getItem(FLASH_KEY);
  if (!stored) return;
  sessionStorage.removeItem(FLASH_KEY);
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

class ApiError extends Error {
  constructor(message, code, info) {
    super(message);
    this.code = code;
    this.info = info;
  }
}

// Field names in INVALID_PARAM errors, as the forms label them.
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

function describeError(error) {
  if (!(error instanceof ApiError)) {
    return { message: String(error?.message ?? error ?? 'Something went wrong.'), code: null };
  }
  if (error.code === 'INVALID_PARAM') {
    const param = String(error.info?.param ?? '');
    const key = (param.match(/properties\/([A-Za-z]+)/) ?? [])[1];
    const field = FIELD_NAMES[key] ?? key;
    const reason = error.info?.reason ?? 'is not valid';
    return { message: field ? `${field}: ${reason}.` : `Some input is not valid: ${reason}.`, code: error.code };
  }
  return { message: PLAIN_ERRORS[error.code] ?? error.message, code: error.code };
}

/** Calls `POST /api/<endpoint>` with the token in the body; returns the JSON answer or null for 204. */
async function api(endpoint, params = {}) {
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
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the HTTP status.
  }
  if (!response.ok) {
    const e = data?.error;
    if (e?.code === 'AUTHENTICATION_FAILED') localStorage.removeItem(TOKEN_KEY);
    throw new ApiError(e?.message ?? `The server answered HTTP ${response.status}.`, e?.code ?? `HTTP_${response.status}`, e?.info);
  }
  return data;
}

/**
 * Runs an action started by a button or form: clears old messages, disables the control
 * meanwhile (no double submits) and shows any failure.
 */
async function run(control, action) {
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
// Signed-in state and the header.

function signedIn() {
  return localStorage.getItem(TOKEN_KEY) != null;
}

/** Sends a visitor who is not signed in to the sign-in page, then back here. */
function requireSignIn() {
  if (state.me) return true;
  if (!signedIn()) {
    if (state.sessionExpired) flash(PLAIN_ERRORS.AUTHENTICATION_FAILED, 'error');
    location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  return false;
}

function renderNav() {
  const me = state.me;
  for (const item of document.querySelectorAll('[data-when]')) {
    const when = item.dataset.when;
    item.hidden = !(
      (when === 'signed-in' && me) ||
      (when === 'admin' && me?.isAdmin) ||
      (when === 'signed-out' && !me)
    );
  }
  if (me) {
    $('nav-me').href = `/@${me.username}`;
    $('nav-me').textContent = `@${me.username}`;
  }
  $('sign-out').addEventListener('click', () => {
    localStorage.removeItem(TOKEN_KEY);
    flash('You are signed out.');
    location.assign('/signin');
  });
}

/** Where to go after signing in: `?next=` if it is a path on this site. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

// ---------------------------------------------------------------------------------------
// Pages.

const PAGES = {
  signin: pageSignin,
  signup: pageSignup,
  home: pageHome,
  user: pageUser,
  webhooks: pageWebhooks,
  'webhook-new': () => pageWebhookForm(null),
  'webhook-edit': () => pageWebhookForm(decodeURIComponent(location.pathname.split('/').pop())),
  'admin-webhooks': pageAdminWebhooks,
};

function pageSignin() {
  if (state.me) showStatus(`You are signed in as @${state.me.username}.`);
  const form = $('signin-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(form.querySelector('button[type=submit]'), async () => {
      const answer = await api('signin-flow', {
        i: null,
        username: $('signin-username').value.trim(),
        password: $('signin-password').value,
      });
      if (!answer.finished) {
        throw new Error('This account needs another sign-in step, which these pages do not support.');
      }
      localStorage.setItem(TOKEN_KEY, answer.i);
      location.assign(nextPath());
    });
  });
}

function pageSignup() {
  const form = $('signup-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(form.querySelector('button[type=submit]'), async () => {
      const account = await api('signup', {
        i: null,
        username: $('signup-username').value.trim(),
        password: $('signup-password').value,
      });
      localStorage.setItem(TOKEN_KEY, account.token);
      flash(
        account.isAdmin
          ? `Welcome, @${account.username}! As the first account, you are the administrator of this server.`
          : `Welcome, @${account.username}!`,
      );
      location.assign('/');
    });
  });
}

// --- Notes ---

function isPureRenote(note) {
  return note.renoteId != null && note.text == null && note.cw == null && !(note.fileIds?.length);
}

/** Whether the signed-in user may renote or quote `note` (as Misskey's menu allows). */
function canRenote(note) {
  if (!state.me) return false;
  return note.visibility === 'public' || note.visibility === 'home' ||
    (note.visibility === 'followers' && note.userId === state.me.id);
}

function userLink(user) {
  return el('a', { href: `/@${user.username}`, class: 'user-link', text: `@${user.username}` });
}

const VISIBILITY_NAMES = { home: 'Home', followers: 'Followers only', specified: 'Direct' };

/** Note text with @mentions and http(s) URLs as links; everything else stays plain text. */
function noteText(text) {
  const p = el('p', { class: 'note-text' });
  const pattern = /(^|[^\w@])@([A-Za-z0-9_]{1,20})(?![\w@])|https?:\/\/[^\s<>"]+/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[2]) {
      const start = match.index + match[1].length;
      p.append(text.slice(last, start));
      p.append(el('a', { href: `/@${match[2]}`, text: `@${match[2]}` }));
    } else {
      p.append(text.slice(last, match.index));
      p.append(el('a', { href: match[0], rel: 'noopener noreferrer nofollow', text: match[0] }));
    }
    last = match.index + match[0].length;
  }
  p.append(text.slice(last));
  return p;
}

function noteHead(note) {
  const user = note.user;
  return el(
    'header',
    { class: 'note-head' },
    el('a', { href: `/@${user.username}`, class: 'author' },
      el('strong', { text: user.name || user.username }),
      ' ',
      el('span', { class: 'handle', text: `@${user.username}` })),
    ' ',
    timeEl(note.createdAt),
    VISIBILITY_NAMES[note.visibility] ? el('span', { class: 'badge', text: VISIBILITY_NAMES[note.visibility] }) : null,
  );
}

function noteContent(note) {
  const parts = [];
  if (note.isHidden) {
    parts.push(el('p', { class: 'muted', text: 'This note is not visible to you.' }));
  } else if (note.cw != null) {
    parts.push(el('details', { class: 'cw' },
      el('summary', {}, el('span', { text: note.cw }), ' ', el('span', { class: 'cw-hint', text: '(show content)' })),
      note.text != null ? noteText(note.text) : null));
  } else if (note.text != null) {
    parts.push(noteText(note.text));
  }
  return parts;
}

/**
 * One note of a list. `actions` are callbacks for reply, renote and quote; on a pure
 * renote they act on the renoted note, as Misskey does.
 */
function renderNote(note, actions) {
  const pure = isPureRenote(note) && note.renote;
  const target = pure ? note.renote : note;
  const article = el('article', { class: 'note', 'data-note-id': target.id });
  if (pure) {
    article.append(el('p', { class: 'renoted-by' }, 'Renoted by ', userLink(note.user), ' · ', timeEl(note.createdAt)));
  }
  article.append(noteHead(target));
  if (target.reply) {
    article.append(el('p', { class: 'context' }, 'Replying to ', userLink(target.reply.user)));
  } else if (target.replyId) {
    article.append(el('p', { class: 'context', text: 'Replying to a note' }));
  }
  article.append(...noteContent(target));
  if (target.renoteId) {
    if (target.renote) {
      article.append(el('blockquote', { class: 'quote' }, noteHead(target.renote), ...noteContent(target.renote)));
    } else {
      article.append(el('p', { class: 'context', text: 'Quoting a note that is not available' }));
    }
  }
  if (state.me) {
    const bar = el('div', { class: 'note-actions' });
    bar.append(el('button', { type: 'button', text: 'Reply', onclick: (e) => actions.reply(target, e.currentTarget) }));
    if (canRenote(target)) {
      bar.append(el('button', { type: 'button', text: 'Renote', onclick: (e) => actions.renote(target, e.currentTarget) }));
      bar.append(el('button', { type: 'button', text: 'Quote', onclick: (e) => actions.quote(target, e.currentTarget) }));
    }
    article.append(bar);
  }
  return article;
}

/** A paged list of notes from `endpoint`, newest first, with a "Load more" button. */
function noteList({ list, empty, more, endpoint, params, actions }) {
  let untilId = null;
  async function load(reset) {
    const notes = await api(endpoint, { ...params, limit: PAGE_SIZE, ...(reset || !untilId ? {} : { untilId }) });
    if (reset) list.replaceChildren();
    for (const note of notes) list.append(el('li', {}, renderNote(note, actions)));
    if (notes.length) untilId = notes[notes.length - 1].id;
    more.hidden = notes.length < PAGE_SIZE;
    empty.hidden = list.children.length > 0;
  }
  more.addEventListener('click', () => run(more, () => load(false)));
  return { reload: () => load(true) };
}

/** Renotes `note` at once, then refreshes the list. */
async function renote(note, button, list) {
  await run(button, async () => {
    await api('notes/create', { renoteId: note.id });
    await list.reload();
    showStatus(`You renoted @${note.user.username}’s note.`);
  });
}

function pageHome() {
  if (!requireSignIn()) return;
  const compose = { replyId: null, renoteId: null };
  const form = $('compose-form');
  const textArea = $('compose-text');
  const submit = $('compose-submit');

  function setContext(kind, note) {
    compose.replyId = kind === 'reply' ? note.id : null;
    compose.renoteId = kind === 'quote' ? note.id : null;
    const box = $('compose-context');
    box.hidden = !kind;
    submit.textContent = kind === 'reply' ? 'Reply' : kind === 'quote' ? 'Quote' : 'Post';
    $('compose-cancel').textContent = kind === 'reply' ? 'Cancel reply' : 'Cancel quote';
    if (kind) {
      const excerpt = (note.text ?? note.cw ?? '').slice(0, 80);
      $('compose-context-text').replaceChildren(
        kind === 'reply' ? 'Replying to ' : 'Quoting ',
        userLink(note.user),
        excerpt ? `: “${excerpt}”` : '',
      );
      if (kind === 'reply' && note.visibility !== 'public') $('compose-visibility').value = note.visibility === 'specified' ? 'specified' : 'home';
      textArea.focus();
      form.scrollIntoView({ block: 'nearest' });
    }
  }

  const actions = {
    reply: (note) => setContext('reply', note),
    quote: (note) => setContext('quote', note),
    renote: (note, button) => renote(note, button, timeline),
  };
  const timeline = noteList({
    list: $('timeline'),
    empty: $('timeline-empty'),
    more: $('timeline-more'),
    endpoint: 'notes/timeline',
    params: {},
    actions,
  });

  $('compose-cancel').addEventListener('click', () => {
    setContext(null);
    textArea.focus();
  });
  textArea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(submit, async () => {
      const text = textArea.value;
      const cw = $('compose-cw').value.trim();
      const visibility = $('compose-visibility').value;
      if (!text.trim() && !compose.renoteId) {
        textArea.focus();
        throw new Error('Write some text first.');
      }
      const params = { text: text.trim() ? text : null, visibility };
      if (cw) params.cw = cw;
      if (compose.replyId) params.replyId = compose.replyId;
      if (compose.renoteId) params.renoteId = compose.renoteId;
      if (visibility === 'specified') params.visibleUserIds = await mentionedUserIds(text);
      await api('notes/create', params);
      form.reset();
      setContext(null);
      await timeline.reload();
      showStatus('Your note was posted.');
    });
  });

  $('find-user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('find-username').value.trim().replace(/^@/, '');
    if (name) location.assign(`/@${encodeURIComponent(name)}`);
  });
  $('timeline-refresh').addEventListener('click', (e) => run(e.currentTarget, () => timeline.reload()));

  // Reply and Quote on a user page come here with the note to answer.
  const query = new URLSearchParams(location.search);
  const preset = query.get('reply') ? ['reply', query.get('reply')] : query.get('quote') ? ['quote', query.get('quote')] : null;
  return Promise.all([
    timeline.reload(),
    preset ? api('notes/show', { noteId: preset[1] }).then((note) => setContext(preset[0], note)) : null,
  ]);
}

/** A direct note is visible to the users it mentions, as Misskey's compose form does it. */
async function mentionedUserIds(text) {
  const names = [...new Set([...text.matchAll(/(?:^|[^\w@])@([A-Za-z0-9_]{1,20})(?![\w@])/g)].map((m) => m[1].toLowerCase()))];
  if (!names.length) throw new Error('A direct note goes to the users it mentions: mention at least one with @username.');
  const ids = [];
  for (const username of names) {
    try {
      ids.push((await api('users/show', { username })).id);
    } catch (error) {
      if (error.code === 'NO_SUCH_USER') throw new Error(`There is no user @${username} to send this direct note to.`);
      throw error;
    }
  }
  return ids;
}

async function pageUser() {
  const username = decodeURIComponent(location.pathname.slice(2));
  let user;
  try {
    user = await api('users/show', { username });
  } catch (error) {
    if (error.code === 'NO_SUCH_USER') {
      document.title = 'No such user · missive';
      throw new ApiError(`There is no user @${username}.`, 'NO_SUCH_USER');
    }
    throw error;
  }
  document.title = `@${user.username} · missive`;
  const button = $('follow-button');

  function show(u) {
    user = u;
    $('profile-name').textContent = u.name || `@${u.username}`;
    $('profile-handle').textContent = `@${u.username}`;
    $('profile-handle').hidden = !u.name;
    $('profile-notes').textContent = String(u.notesCount);
    $('profile-following').textContent = String(u.followingCount);
    $('profile-followers').textContent = String(u.followersCount);
    $('profile-follows-you').hidden = !u.isFollowed;
    const self = state.me?.id === u.id;
    $('profile-self').hidden = !self;
    $('profile-signin').hidden = Boolean(state.me);
    button.hidden = !state.me || self;
    button.textContent = u.isFollowing ? 'Unfollow' : 'Follow';
    button.classList.toggle('primary', !u.isFollowing);
    $('profile').hidden = false;
  }
  show(user);

  button.addEventListener('click', () =>
    run(button, async () => {
      const following = user.isFollowing;
      await api(following ? 'following/delete' : 'following/create', { userId: user.id });
      show(await api('users/show', { userId: user.id }));
      showStatus(following ? `You no longer follow @${user.username}.` : `You now follow @${user.username}.`);
    }),
  );

  const notes = noteList({
    list: $('user-notes'),
    empty: $('user-notes-empty'),
    more: $('user-notes-more'),
    endpoint: 'users/notes',
    params: { userId: user.id },
    actions: {
      // The compose box lives on the home page.
      reply: (note) => location.assign(`/?reply=${encodeURIComponent(note.id)}`),
      quote: (note) => location.assign(`/?quote=${encodeURIComponent(note.id)}`),
      renote: (note, b) => renote(note, b, notes),
    },
  });
  $('profile-notes-section').hidden = false;
  await notes.reload();
}

// --- Webhooks ---

/** The mark and words for a webhook's state and last delivery. */
function webhookStatus(hook) {
  const s = hook.latestStatus;
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

function statusCell(hook) {
  const { kind, text } = webhookStatus(hook);
  return el('span', { class: `status-mark status-${kind ?? 'none'}` }, kind ? icon(kind) : null, el('span', { text }));
}

function eventsText(hook) {
  const on = EVENTS.filter((e) => hook.on.includes(e));
  return on.length ? on.join(', ') : 'none';
}

function lastSentCell(hook) {
  return hook.latestSentAt ? timeEl(hook.latestSentAt) : el('span', { class: 'muted', text: 'never' });
}

async function pageWebhooks() {
  if (!requireSignIn()) return;
  const body = $('webhooks-body');

  async function load() {
    const hooks = await api('i/webhooks/list');
    body.replaceChildren(...hooks.map(row));
    $('webhooks-empty').hidden = hooks.length > 0;
    $('webhooks-table').hidden = hooks.length === 0;
    const limit = state.me.policies?.webhookLimit;
    $('webhooks-limit').textContent = limit == null ? '' : `${hooks.length} of ${limit} allowed.`;
  }

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
      el('td', {}, statusCell(hook)),
      el('th', { scope: 'row' }, el('a', { href: edit, text: hook.name })),
      el('td', { class: 'url', text: hook.url }),
      el('td', { text: eventsText(hook) }),
      el('td', { text: hook.active ? 'Yes' : 'No' }),
      el('td', {}, lastSentCell(hook)),
      el('td', { class: 'row-actions' }, el('a', { class: 'button', href: edit }, 'Edit', srOnly(` ${label}`)), ' ', remove));
  }

  $('webhooks-refresh').addEventListener('click', (e) => run(e.currentTarget, load));
  await load();
}

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function pageWebhookForm(webhookId) {
  if (!requireSignIn()) return;
  const form = $('webhook-form');
  const editing = webhookId != null;
  const checkbox = (event) => $(`event-${event}`);
  for (const node of document.querySelectorAll('[data-when-edit]')) node.hidden = !editing;
  $('webhook-secret-generate').addEventListener('click', () => {
    $('webhook-secret').value = randomSecret();
    showStatus('A new secret was generated. Save to keep it.');
  });

  let hook = null;
  function showLastStatus() {
    const { text } = webhookStatus({ ...hook, active: true });
    $('webhook-last-status').replaceChildren(statusCell({ ...hook, active: true }),
      hook.latestSentAt ? el('span', {}, ' · ', timeEl(hook.latestSentAt)) : '');
    return text;
  }

  if (editing) {
    hook = await api('i/webhooks/show', { webhookId });
    $('webhook-form-title').textContent = 'Edit webhook';
    document.title = 'Edit webhook · missive';
    $('webhook-name').value = hook.name;
    $('webhook-url').value = hook.url;
    $('webhook-secret').value = hook.secret;
    for (const event of EVENTS) checkbox(event).checked = hook.on.includes(event);
    $('webhook-active').checked = hook.active;
    showLastStatus();
  } else {
    $('webhook-form-title').textContent = 'New webhook';
    $('webhook-save').textContent = 'Create';
    for (const event of SENDABLE_EVENTS) checkbox(event).checked = true;
  }
  form.hidden = false;

  const values = () => ({
    name: $('webhook-name').value.trim(),
    url: $('webhook-url').value.trim(),
    secret: $('webhook-secret').value,
    on: EVENTS.filter((event) => checkbox(event).checked),
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run($('webhook-save'), async () => {
      const v = values();
      if (!editing) {
        await api('i/webhooks/create', v);
        flash(`The webhook “${v.name}” was created.`);
        location.assign('/settings/webhook');
        return;
      }
      await api('i/webhooks/update', { webhookId, ...v, active: $('webhook-active').checked });
      hook = await api('i/webhooks/show', { webhookId });
      showLastStatus();
      showStatus(`The webhook “${hook.name}” was saved.`);
    });
  });

  if (!editing) return;

  $('webhook-delete').addEventListener('click', (e) => {
    if (!window.confirm(`Delete the webhook “${hook.name}”? This cannot be undone.`)) return;
    run(e.currentTarget, async () => {
      await api('i/webhooks/delete', { webhookId });
      flash(`The webhook “${hook.name}” was deleted.`);
      location.assign('/settings/webhook');
    });
  });

  for (const button of form.querySelectorAll('button[data-test]')) {
    button.addEventListener('click', () =>
      run(button, async () => {
        const type = button.dataset.test;
        const { url, secret } = values();
        const before = hook.latestSentAt;
        await api('i/webhooks/test', { webhookId, type, override: { url, secret } });
        showStatus(`A test “${type}” was sent to ${url}. Waiting for the answer…`);
        // The send happens after the API answers; its result shows up as the last status.
        for (let waited = 0; waited < 10_000; waited += 300) {
          await new Promise((r) => setTimeout(r, 300));
          hook = await api('i/webhooks/show', { webhookId });
          if (hook.latestSentAt !== before) {
            showStatus(`Test “${type}”: ${showLastStatus()}.`);
            return;
          }
        }
        showStatus(`The test “${type}” was sent; no answer yet. The last status will show it.`);
      }),
    );
  }
}

async function pageAdminWebhooks() {
  if (!requireSignIn()) return;
  if (!state.me.isAdmin) {
    $('admin-refusal').hidden = false;
    return;
  }
  const query = new URLSearchParams(location.search);
  const filterUser = (query.get('user') ?? '').trim().replace(/^@/, '');
  const filterState = query.get('state') ?? '';
  $('filter-user').value = filterUser;
  $('filter-state').value = ['active', 'inactive'].includes(filterState) ? filterState : '';
  $('admin-content').hidden = false;

  const filter = { limit: 100 };
  if (filterState === 'active') filter.active = true;
  if (filterState === 'inactive') filter.active = false;
  if (filterUser) {
    try {
      filter.userId = (await api('users/show', { username: filterUser })).id;
    } catch (error) {
      if (error.code === 'NO_SUCH_USER') throw new ApiError(`There is no user @${filterUser}.`, 'NO_SUCH_USER');
      throw error;
    }
  }

  const owners = new Map();
  const body = $('admin-body');
  const more = $('admin-more');
  let untilId = null;

  async function load() {
    let hooks;
    try {
      hooks = await api('admin/webhooks/list', { ...filter, ...(untilId ? { untilId } : {}) });
    } catch (error) {
      if (error.code === 'ROLE_PERMISSION_DENIED') {
        $('admin-content').hidden = true;
        $('admin-refusal').hidden = false;
      }
      throw error;
    }
    const unknown = [...new Set(hooks.map((h) => h.userId))].filter((id) => !owners.has(id));
    if (unknown.length) {
      for (const user of await api('users/show', { userIds: unknown })) owners.set(user.id, user);
    }
    body.append(...hooks.map(row));
    if (hooks.length) untilId = hooks[hooks.length - 1].id;
    more.hidden = hooks.length < filter.limit;
    $('admin-empty').hidden = body.children.length > 0;
    $('admin-table').hidden = body.children.length === 0;
  }

  function row(hook) {
    const owner = owners.get(hook.userId);
    const ownerName = owner ? `@${owner.username}` : hook.userId;
    const status = el('td', {}, statusCell(hook));
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
        status.replaceChildren(statusCell(hook));
        showStatus(`The webhook “${hook.name}” of ${ownerName} was switched ${active ? 'on' : 'off'}.`);
      });
    });
    return el('tr', { 'data-webhook-id': hook.id },
      status,
      el('td', {}, owner ? userLink(owner) : el('span', { text: ownerName })),
      el('th', { scope: 'row', text: hook.name }),
      el('td', { class: 'url', text: hook.url }),
      el('td', { text: eventsText(hook) }),
      el('td', {}, lastSentCell(hook)),
      el('td', { class: 'active-cell' }, toggle, el('label', { htmlFor: id }, 'Active', srOnly(` (${hook.name}, ${ownerName})`))));
  }

  more.addEventListener('click', () => run(more, load));
  await load();
}

// ---------------------------------------------------------------------------------------
// Start.

window.addEventListener('unhandledrejection', (event) => showError(event.reason));
window.addEventListener('error', (event) => showError(event.error ?? event.message));

async function main() {
  showFlash();
  if (signedIn()) {
    try {
      state.me = await api('i');
    } catch (error) {
      state.sessionExpired = error.code === 'AUTHENTICATION_FAILED';
      showError(error);
    }
  }
  renderNav();
  const page = PAGES[document.body.dataset.page];
  if (!page) return;
  try {
    await page();
  } catch (error) {
    showError(error);
  }
}

main();
