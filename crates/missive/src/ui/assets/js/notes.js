// @ts-check
// Notes as the home page's timeline and a user page's list show them: text with links,
// content warnings, replies, renotes and quotes, reactions with a button to react, and
// a paged list with "Load more".

import { api, el, run, session, showStatus, timeEl, userLink } from './shared.js';

/** @import { Note } from './shared.js' */

/**
 * What the buttons under a note do; on a pure renote they act on the renoted note.
 * @typedef {object} NoteActions
 * @property {(note: Note, button: HTMLButtonElement) => void} reply
 * @property {(note: Note, button: HTMLButtonElement) => void} renote
 * @property {(note: Note, button: HTMLButtonElement) => void} quote
 *
 * @typedef {{ reload: () => Promise<void> }} NoteList
 */

const PAGE_SIZE = 20;

/** What the reaction button reacts with: the heart every note accepts, `likeOnly` too. */
const HEART = '\u2764';

/** @type {Partial<Record<Note['visibility'], string>>} */
const VISIBILITY_NAMES = { home: 'Home', followers: 'Followers only', specified: 'Direct' };

/** @param {Note} note */
function isPureRenote(note) {
  return note.renoteId != null && note.text == null && note.cw == null && !(note.fileIds?.length);
}

/**
 * Whether the signed-in user may renote or quote `note` (as Misskey's menu allows).
 * @param {Note} note
 */
function canRenote(note) {
  if (!session.me) return false;
  return note.visibility === 'public' || note.visibility === 'home' ||
    (note.visibility === 'followers' && note.userId === session.me.id);
}

/**
 * Note text with @mentions and http(s) URLs as links; everything else stays plain text.
 * @param {string} text
 */
function noteText(text) {
  const p = el('p', { class: 'note-text' });
  const pattern = /(^|[^\w@])@([A-Za-z0-9_]{1,20})(?![\w@])|https?:\/\/[^\s<>"]+/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[2]) {
      const start = match.index + (match[1] ?? '').length;
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

/** @param {Note} note */
function noteHead(note) {
  const user = note.user;
  const visibility = VISIBILITY_NAMES[note.visibility];
  return el(
    'header',
    { class: 'note-head' },
    el('a', { href: `/@${user.username}`, class: 'author' },
      el('strong', { text: user.name || user.username }),
      ' ',
      el('span', { class: 'handle', text: `@${user.username}` })),
    ' ',
    timeEl(note.createdAt),
    visibility ? el('span', { class: 'badge', text: visibility }) : null,
  );
}

/**
 * @param {Note} note
 * @returns {HTMLElement[]}
 */
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
 * A button under a note.
 * @param {string} text
 * @param {Note} note
 * @param {(note: Note, button: HTMLButtonElement) => void} action
 */
function actionButton(text, note, action) {
  const button = el('button', { type: 'button', text });
  button.addEventListener('click', () => action(note, button));
  return button;
}

/**
 * The note's reactions and their counts, the signed-in user's marked; null if none.
 * @param {Note} note
 */
function reactionSummary(note) {
  const entries = Object.entries(note.reactions ?? {});
  if (entries.length === 0) return null;
  return el('p', { class: 'reactions', 'aria-label': 'Reactions' },
    ...entries.map(([reaction, count]) => el('span', {
      class: reaction === note.myReaction ? 'reaction mine' : 'reaction',
      text: `${reaction} ${count}`,
    })));
}

/**
 * The button that reacts to `target` with a heart, or undoes the signed-in user's
 * reaction; afterwards the note (`shown`, the one the list holds) is shown afresh.
 * @param {Note} shown
 * @param {Note} target
 * @param {HTMLElement} article
 * @param {NoteActions} actions
 */
function reactionButton(shown, target, article, actions) {
  const mine = target.myReaction;
  const button = el('button', { type: 'button', class: 'react', text: mine ? `Undo ${mine}` : `React ${HEART}` });
  button.addEventListener('click', () => run(button, async () => {
    if (mine) {
      await api('notes/reactions/delete', { noteId: target.id });
    } else {
      await api('notes/reactions/create', { noteId: target.id, reaction: HEART });
    }
    const fresh = await api('notes/show', { noteId: shown.id });
    const replacement = renderNote(fresh, actions);
    article.replaceWith(replacement);
    // The button pressed is gone with the old note: its successor takes the focus.
    const successor = replacement.querySelector('button.react');
    if (successor instanceof HTMLButtonElement) successor.focus();
    showStatus(mine ? 'Your reaction was undone.' : `You reacted with ${HEART}.`);
  }));
  return button;
}

/**
 * One note of a list. `actions` are callbacks for reply, renote and quote; on a pure
 * renote they act on the renoted note, as Misskey does.
 * @param {Note} note
 * @param {NoteActions} actions
 */
function renderNote(note, actions) {
  const pure = isPureRenote(note) && note.renote;
  const target = pure && note.renote ? note.renote : note;
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
  const summary = reactionSummary(target);
  if (summary) article.append(summary);
  if (session.me) {
    const bar = el('div', { class: 'note-actions' });
    bar.append(actionButton('Reply', target, actions.reply));
    if (canRenote(target)) {
      bar.append(actionButton('Renote', target, actions.renote));
      bar.append(actionButton('Quote', target, actions.quote));
    }
    if (!isPureRenote(target)) bar.append(reactionButton(note, target, article, actions));
    article.append(bar);
  }
  return article;
}

/**
 * A paged list of notes, newest first, with a "Load more" button; `fetchPage` asks the
 * server for one page.
 * @param {object} parts
 * @param {HTMLElement} parts.list
 * @param {HTMLElement} parts.empty
 * @param {HTMLButtonElement} parts.more
 * @param {(paging: { limit: number, untilId?: string }) => Promise<Note[]>} parts.fetchPage
 * @param {NoteActions} parts.actions
 * @returns {NoteList}
 */
export function noteList({ list, empty, more, fetchPage, actions }) {
  /** @type {string | null} */
  let untilId = null;
  /** @param {boolean} reset */
  async function load(reset) {
    const notes = await fetchPage({ limit: PAGE_SIZE, ...(reset || !untilId ? {} : { untilId }) });
    if (reset) list.replaceChildren();
    for (const note of notes) list.append(el('li', {}, renderNote(note, actions)));
    const oldest = notes[notes.length - 1];
    if (oldest) untilId = oldest.id;
    more.hidden = notes.length < PAGE_SIZE;
    empty.hidden = list.children.length > 0;
  }
  more.addEventListener('click', () => run(more, () => load(false)));
  return { reload: () => load(true) };
}

/**
 * Renotes `note` at once, then refreshes the list.
 * @param {Note} note
 * @param {HTMLButtonElement} button
 * @param {NoteList} list
 */
export async function renote(note, button, list) {
  await run(button, async () => {
    await api('notes/create', { renoteId: note.id });
    await list.reload();
    showStatus(`You renoted @${note.user.username}’s note.`);
  });
}
