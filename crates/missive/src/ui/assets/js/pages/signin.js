// @ts-check
// Sign in: trades a username and password for a token, then goes back where the visitor
// came from (`?next=`).

import { $, api, keepToken, nextPath, run, session, showStatus, start, submitButton } from '../shared.js';

function pageSignin() {
  if (session.me) showStatus(`You are signed in as @${session.me.username}.`);
  const form = $('signin-form', HTMLFormElement);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(submitButton(form), async () => {
      const answer = await api('signin-flow', {
        i: null,
        username: $('signin-username', HTMLInputElement).value.trim(),
        password: $('signin-password', HTMLInputElement).value,
      });
      if (!answer.finished) {
        throw new Error('This account needs another sign-in step, which these pages do not support.');
      }
      keepToken(answer.i);
      location.assign(nextPath());
    });
  });
}

start(pageSignin);
