// @ts-check
// Sign up: creates an account, keeps its token and welcomes the new user on the home page
// (the first account is the administrator).

import { $, api, flash, keepToken, run, start, submitButton } from '../shared.js';

function pageSignup() {
  const form = $('signup-form', HTMLFormElement);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(submitButton(form), async () => {
      const account = await api('signup', {
        i: null,
        username: $('signup-username', HTMLInputElement).value.trim(),
        password: $('signup-password', HTMLInputElement).value,
      });
      keepToken(account.token);
      flash(
        account.isAdmin
          ? `Welcome, @${account.username}! As the first account, you are the administrator of this server.`
          : `Welcome, @${account.username}!`,
      );
      location.assign('/');
    });
  });
}

start(pageSignup);
