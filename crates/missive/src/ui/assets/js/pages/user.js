// @ts-check
// A user's page (/@username): the profile with its counts, Follow / Unfollow, and the
// user's notes, whose Reply and Quote lead to the compose box on the home page.

import { noteList, renote } from '../notes.js';
import { $, ApiError, api, hasCode, run, session, showStatus, start } from '../shared.js';

/** @import { UserDetailed } from '../shared.js' */

async function pageUser() {
  const username = decodeURIComponent(location.pathname.slice(2));
  /** @type {UserDetailed} */
  let user;
  try {
    user = await api('users/show', { username });
  } catch (error) {
    if (hasCode(error, 'NO_SUCH_USER')) {
      document.title = 'No such user · missive';
      throw new ApiError(`There is no user @${username}.`, 'NO_SUCH_USER');
    }
    throw error;
  }
  document.title = `@${user.username} · missive`;
  const button = $('follow-button', HTMLButtonElement);

  /** @param {UserDetailed} u */
  function show(u) {
    user = u;
    $('profile-name').textContent = u.name || `@${u.username}`;
    $('profile-handle').textContent = `@${u.username}`;
    $('profile-handle').hidden = !u.name;
    $('profile-notes').textContent = String(u.notesCount);
    $('profile-following').textContent = String(u.followingCount);
    $('profile-followers').textContent = String(u.followersCount);
    $('profile-follows-you').hidden = !u.isFollowed;
    const self = session.me?.id === u.id;
    $('profile-self').hidden = !self;
    $('profile-signin').hidden = Boolean(session.me);
    button.hidden = !session.me || self;
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
    more: $('user-notes-more', HTMLButtonElement),
    fetchPage: (paging) => api('users/notes', { userId: user.id, ...paging }),
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

start(pageUser);
