// @ts-check
// Home: the compose box (post, reply, quote, direct notes to the mentioned users), the
// timeline and a box to open a user's page. A user page's Reply and Quote come here with
// `?reply=` or `?quote=`.

import { noteList, renote } from '../notes.js';
import { $, api, hasCode, requireSignIn, run, showStatus, start, userLink } from '../shared.js';

/** @import { Note, NoteParams, Visibility } from '../shared.js' */
/** @import { NoteActions } from '../notes.js' */

function pageHome() {
  if (!requireSignIn()) return undefined;
  /** @type {{ replyId: string | null, renoteId: string | null }} */
  const compose = { replyId: null, renoteId: null };
  const form = $('compose-form', HTMLFormElement);
  const textArea = $('compose-text', HTMLTextAreaElement);
  const submit = $('compose-submit', HTMLButtonElement);
  const visibilitySelect = $('compose-visibility', HTMLSelectElement);

  /**
   * Sets what the compose box answers: a reply to `note`, a quote of it, or nothing.
   * @param {'reply' | 'quote' | null} kind
   * @param {Note} [note]
   */
  function setContext(kind, note) {
    compose.replyId = kind === 'reply' && note ? note.id : null;
    compose.renoteId = kind === 'quote' && note ? note.id : null;
    const box = $('compose-context');
    box.hidden = !kind;
    submit.textContent = kind === 'reply' ? 'Reply' : kind === 'quote' ? 'Quote' : 'Post';
    $('compose-cancel').textContent = kind === 'reply' ? 'Cancel reply' : 'Cancel quote';
    if (kind && note) {
      const excerpt = (note.text ?? note.cw ?? '').slice(0, 80);
      $('compose-context-text').replaceChildren(
        kind === 'reply' ? 'Replying to ' : 'Quoting ',
        userLink(note.user),
        excerpt ? `: “${excerpt}”` : '',
      );
      if (kind === 'reply' && note.visibility !== 'public') visibilitySelect.value = note.visibility === 'specified' ? 'specified' : 'home';
      textArea.focus();
      form.scrollIntoView({ block: 'nearest' });
    }
  }

  /** @type {NoteActions} */
  const actions = {
    reply: (note) => setContext('reply', note),
    quote: (note) => setContext('quote', note),
    renote: (note, button) => renote(note, button, timeline),
  };
  const timeline = noteList({
    list: $('timeline'),
    empty: $('timeline-empty'),
    more: $('timeline-more', HTMLButtonElement),
    fetchPage: (paging) => api('notes/timeline', paging),
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
      const cw = $('compose-cw', HTMLInputElement).value.trim();
      const visibility = /** @type {Visibility} */ (visibilitySelect.value);
      if (!text.trim() && !compose.renoteId) {
        textArea.focus();
        throw new Error('Write some text first.');
      }
      /** @type {NoteParams} */
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

  $('find-user-form', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('find-username', HTMLInputElement).value.trim().replace(/^@/, '');
    if (name) location.assign(`/@${encodeURIComponent(name)}`);
  });
  const refresh = $('timeline-refresh', HTMLButtonElement);
  refresh.addEventListener('click', () => run(refresh, () => timeline.reload()));

  // Reply and Quote on a user page come here with the note to answer.
  const query = new URLSearchParams(location.search);
  const replyTo = query.get('reply');
  const quoted = query.get('quote');
  /** @type {['reply' | 'quote', string] | null} */
  const preset = replyTo ? ['reply', replyTo] : quoted ? ['quote', quoted] : null;
  return Promise.all([
    timeline.reload(),
    preset ? api('notes/show', { noteId: preset[1] }).then((note) => setContext(preset[0], note)) : null,
  ]);
}

/**
 * A direct note is visible to the users it mentions, as Misskey's compose form does it.
 * @param {string} text
 */
async function mentionedUserIds(text) {
  const mentions = text.matchAll(/(?:^|[^\w@])@([A-Za-z0-9_]{1,20})(?![\w@])/g);
  const names = [...new Set([...mentions].map((m) => (m[1] ?? '').toLowerCase()))];
  if (!names.length) throw new Error('A direct note goes to the users it mentions: mention at least one with @username.');
  const ids = [];
  for (const username of names) {
    try {
      ids.push((await api('users/show', { username })).id);
    } catch (error) {
      if (hasCode(error, 'NO_SUCH_USER')) {
        throw new Error(`There is no user @${username} to send this direct note to.`);
      }
      throw error;
    }
  }
  return ids;
}

start(pageHome);
