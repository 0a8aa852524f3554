// The web pages in headless Chromium, against a real missive and a real loopback receiver.
// Locators go by role and label, so these tests also check the accessible markup.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { eventually, launchChromium, newSession } from './lib/browser.mjs';
import { startReceiver } from './lib/receiver.mjs';
import { startMissive } from './lib/server.mjs';

const SECRET = 'hook-secret-7f3a';

let server;
let receiver;
let browser;
const sessions = [];

before(async () => {
  server = await startMissive();
  receiver = await startReceiver();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await receiver?.close();
  await server?.stop();
});

async function session() {
  const s = await newSession(browser, server.url);
  sessions.push(s);
  return s;
}

/** Clicks the Refresh button of a Deliveries section and waits for the list to be loaded. */
async function refreshDeliveries(section) {
  await section.getByRole('button', { name: 'Refresh' }).click();
  await section.locator('[aria-busy="true"]').waitFor({ state: 'detached' });
}

/** Waits until `locator`'s text matches `pattern`. */
async function textMatches(locator, pattern, what = String(pattern)) {
  return eventually(async () => pattern.test(await locator.innerText()), { what: `text ${what}` });
}

async function signUp(page, username, password = 'a good password') {
  await page.goto('/signup');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await textMatches(page.getByRole('status'), new RegExp(`Welcome, @${username}`));
}

/** Creates a webhook through Settings > Webhook; `events` null keeps the form's defaults. */
async function createWebhook(page, { name, url, secret = '', events = null }) {
  await page.goto('/settings/webhook');
  await page.getByRole('link', { name: 'Create webhook' }).click();
  await page.waitForURL('**/settings/webhook/new');
  const form = page.getByRole('form', { name: 'New webhook' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('URL').fill(url);
  await form.getByLabel('Secret').fill(secret);
  if (events) {
    for (const event of ['follow', 'followed', 'unfollow', 'note', 'reply', 'renote', 'mention', 'reaction']) {
      await form.getByLabel(event, { exact: true }).setChecked(events.includes(event));
    }
  }
  await form.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL('**/settings/webhook');
  await textMatches(page.getByRole('status'), new RegExp(`webhook “${name}” was created`));
  return page.getByRole('row', { name: new RegExp(name) });
}

/** Posts a note from the compose box on the home page. */
async function post(page, text) {
  if (new URL(page.url()).pathname !== '/') await page.goto('/');
  const compose = page.getByRole('form', { name: 'New note' });
  await compose.getByLabel('Text', { exact: true }).fill(text);
  await compose.getByRole('button', { name: 'Post' }).click();
  await textMatches(page.getByRole('status'), /Your note was posted/);
}

function deliveries(path) {
  return receiver.received.filter((r) => r.path === path);
}

describe('the web pages', () => {
  const alice = {};
  const bob = {};

  test('the first account to sign up is the administrator', async () => {
    Object.assign(alice, await session());
    await signUp(alice.page, 'alice');
    await textMatches(alice.page.getByRole('status'), /you are the administrator/);
    const nav = alice.page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Administration' }).waitFor();
    await nav.getByRole('link', { name: '@alice' }).waitFor();
  });

  test('API errors are shown in plain words', async () => {
    const { page } = await session();
    await page.goto('/signup');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('x');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await textMatches(page.getByRole('alert'), /This username is already taken.*DUPLICATED_USERNAME/s);
    assert.equal(new URL(page.url()).pathname, '/signup');

    await page.goto('/signin');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await textMatches(page.getByRole('alert'), /The password is incorrect/);
  });

  test('alice creates a webhook for note and follow', async () => {
    const { page } = alice;
    const row = await createWebhook(page, {
      name: 'alice-hook',
      url: receiver.url('/alice'),
      secret: SECRET,
      events: ['note', 'follow'],
    });
    await textMatches(row, /follow, note/);
    await textMatches(row, /Not sent yet/);
    await textMatches(row.getByRole('cell', { name: 'Yes', exact: true }), /Yes/);
    // The secret appears only in the owner's edit form.
    assert.ok(!(await page.locator('main').innerText()).includes(SECRET));
    await row.getByRole('link', { name: 'Edit alice-hook' }).click();
    const form = page.getByRole('form', { name: 'Edit webhook' });
    await form.waitFor();
    assert.equal(await form.getByLabel('Secret').inputValue(), SECRET);
    assert.equal(await form.getByLabel('note', { exact: true }).isChecked(), true);
    assert.equal(await form.getByLabel('mention', { exact: true }).isChecked(), false);
    assert.equal(await form.getByRole('switch', { name: 'Active' }).isChecked(), true);
  });

  test('a refused API call is reported, not swallowed', async () => {
    const { page } = alice;
    await page.goto('/settings/webhook/new');
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('Name').fill('bad');
    // A valid URL for the browser, refused by the server.
    await form.getByLabel('URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Create' }).click();
    await textMatches(page.getByRole('alert'), /URL: must be an absolute http or https URL/);
    assert.match(page.url(), /\/settings\/webhook\/new$/);
  });

  test('posting from the compose box delivers `note` and the list shows its status', async () => {
    const { page } = alice;
    await post(page, 'Hello from the browser');
    const hit = await receiver.waitFor((r) => r.path === '/alice' && r.body?.type === 'note');
    assert.equal(hit.body.body.note.text, 'Hello from the browser');
    assert.equal(hit.headers['x-misskey-hook-secret'], SECRET);
    assert.equal(hit.headers['user-agent'], 'Misskey-Hooks');
    // The note is on the timeline.
    await textMatches(page.getByRole('list', { name: 'Timeline' }), /Hello from the browser/);

    await page.goto('/settings/webhook');
    const row = page.getByRole('row', { name: /alice-hook/ });
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return /Success \(HTTP 200\)/.test(await row.innerText());
    }, { what: 'the list shows the delivery status' });
    await row.getByRole('cell').locator('time').waitFor();
    assert.equal(await row.locator('.status-mark svg.icon-ok').count(), 1);
  });

  test('a second user is refused the administration screen', async () => {
    Object.assign(bob, await session());
    const { page } = bob;
    // Sign up with the keyboard only.
    await page.goto('/signup');
    await page.getByLabel('Username').focus();
    await page.keyboard.type('bob');
    await page.keyboard.press('Tab');
    await page.keyboard.type('another password');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/');
    await textMatches(page.getByRole('status'), /Welcome, @bob!/);
    assert.doesNotMatch(await page.getByRole('status').innerText(), /administrator/);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: '@bob' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Administration' }).count(), 0);

    await page.goto('/admin/webhooks');
    await textMatches(page.locator('main'), /Access denied\. Only the administrator/);
    assert.equal(await page.getByRole('table').count(), 0);
    assert.equal(await page.getByRole('switch').count(), 0);
    assert.ok(!(await page.locator('main').innerText()).includes('alice-hook'));
  });

  test('following a user from their page delivers `follow`', async () => {
    const { page } = alice;
    await page.goto('/@bob');
    await page.getByRole('heading', { name: '@bob' }).waitFor();
    await page.getByRole('button', { name: 'Follow' }).click();
    await textMatches(page.getByRole('status'), /You now follow @bob/);
    await page.getByRole('button', { name: 'Unfollow' }).waitFor();
    const hit = await receiver.waitFor((r) => r.path === '/alice' && r.body?.type === 'follow');
    assert.equal(hit.body.body.user.username, 'bob');
  });

  test('the edit page lists deliveries, shows one in detail and resends it', async () => {
    const { page } = alice;
    await page.goto('/settings/webhook');
    await page.getByRole('link', { name: 'Edit alice-hook' }).click();
    const section = page.getByRole('region', { name: 'Deliveries' });
    const table = section.getByRole('table', { name: 'Deliveries, newest first' });
    // Newest first: the follow, then the note.
    const rows = table.locator('tbody tr');
    await eventually(async () => {
      await refreshDeliveries(section);
      return (await rows.count()) === 2 && /Delivered \(HTTP 200\)/.test(await rows.nth(0).innerText());
    }, { what: 'both deliveries listed as delivered' });
    await textMatches(rows.nth(0), /follow/);
    await textMatches(rows.nth(1), /note/);
    await textMatches(rows.nth(1).locator('.delivery-attempts'), /^1$/);

    const note = await receiver.waitFor((r) => r.path === '/alice' && r.body?.type === 'note');
    await rows.nth(1).getByRole('button', { name: /Details/ }).click();
    const detail = section.locator('.delivery-detail');
    await textMatches(detail, /Request body/);
    await textMatches(detail, new RegExp(note.body.eventId));
    await textMatches(detail.locator('.delivery-request'), /Hello from the browser/);
    await textMatches(detail.locator('.delivery-attempt'), /HTTP 200/);
    // The receiver's answer, as it began.
    await textMatches(detail.locator('.delivery-response'), /^ok$/);
    assert.ok(!(await section.innerText()).includes(SECRET), 'no secret in the log');

    const before = deliveries('/alice').length;
    await detail.getByRole('button', { name: 'Resend' }).click();
    await textMatches(page.getByRole('status'), /queued again with the same event id/);
    const again = await eventually(async () => deliveries('/alice').length > before && deliveries('/alice').at(-1), { what: 'the resent delivery' });
    assert.equal(again.body.eventId, note.body.eventId);
    assert.deepEqual(again.body.body, note.body.body);
    await eventually(async () => {
      await refreshDeliveries(section);
      return (await rows.count()) === 3;
    }, { what: 'the resent delivery is listed' });
  });

  test('the administration screen lists every webhook and filters it', async () => {
    await createWebhook(bob.page, { name: 'bob-hook', url: receiver.url('/bob'), secret: 'bob-secret-91' });
    const { page } = alice;
    await page.goto('/admin/webhooks');
    const table = page.getByRole('table', { name: 'All webhooks' });
    const aliceRow = table.getByRole('row', { name: /alice-hook/ });
    const bobRow = table.getByRole('row', { name: /bob-hook/ });
    await textMatches(aliceRow, /@alice/);
    await textMatches(aliceRow, /follow, note/);
    await textMatches(aliceRow, /Success \(HTTP 200\)/);
    await textMatches(bobRow, /@bob/);
    await textMatches(bobRow, new RegExp(receiver.url('/bob').replace(/[.]/g, '\\.')));
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(SECRET) && !text.includes('bob-secret-91'), 'no secret on the administration screen');

    await page.getByLabel('User', { exact: true }).fill('bob');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/user=bob/);
    await table.getByRole('row', { name: /bob-hook/ }).waitFor();
    assert.equal(await table.getByRole('row', { name: /alice-hook/ }).count(), 0);

    await page.getByLabel('User', { exact: true }).fill('');
    await page.getByLabel('State', { exact: true }).selectOption('inactive');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/state=inactive/);
    await textMatches(page.locator('main'), /No webhook matches/);
  });

  test('the administration screen shows any webhook\'s deliveries and resends them', async () => {
    const { page } = alice;
    await page.goto('/admin/webhooks');
    const table = page.getByRole('table', { name: 'All webhooks' });
    await table.getByRole('row', { name: /alice-hook/ }).getByRole('button', { name: /Deliveries/ }).click();
    const section = page.getByRole('region', { name: /Deliveries of “alice-hook”/ });
    const rows = section.locator('tbody tr');
    await eventually(async () => (await rows.count()) >= 3, { what: 'alice-hook\'s deliveries' });
    await rows.nth(0).getByRole('button', { name: /Details/ }).click();
    const detail = section.locator('.delivery-detail');
    await textMatches(detail.locator('.delivery-attempt').first(), /HTTP 200/);
    const before = deliveries('/alice').length;
    await detail.getByRole('button', { name: 'Resend' }).click();
    await textMatches(page.getByRole('status'), /queued again|already waiting/);
    await eventually(async () => deliveries('/alice').length > before, { what: 'the resent delivery' });
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(SECRET), 'no secret on the administration screen');
  });

  test('switching a webhook off on the administration screen stops its deliveries', async () => {
    const { page } = alice;
    await page.goto('/admin/webhooks');
    const row = page.getByRole('table', { name: 'All webhooks' }).getByRole('row', { name: /alice-hook/ });
    const toggle = row.getByRole('switch', { name: /Active/ });
    assert.equal(await toggle.isChecked(), true);
    // With the keyboard: Space flips the switch, and the focus stays on it.
    await toggle.focus();
    await page.keyboard.press('Space');
    await textMatches(page.getByRole('status'), /“alice-hook” of @alice was switched off/);
    assert.equal(await toggle.isChecked(), false);
    assert.ok(await toggle.evaluate((e) => e === document.activeElement), 'the switch keeps the focus');
    await textMatches(row, /Paused/);
    // The change is stored: a reload shows it.
    await page.reload();
    assert.equal(await row.getByRole('switch', { name: /Active/ }).isChecked(), false);

    const before = deliveries('/alice').length;
    await post(page, 'Nobody hears this one');
    await page.goto('/@bob');
    await page.getByRole('button', { name: 'Unfollow' }).click();
    await page.getByRole('button', { name: 'Follow' }).click();
    await textMatches(page.getByRole('status'), /You now follow @bob/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(deliveries('/alice').length, before, 'nothing is delivered to a switched-off webhook');

    await page.goto('/settings/webhook');
    const mine = page.getByRole('row', { name: /alice-hook/ });
    await textMatches(mine, /Paused; last: Success \(HTTP 200\)/);
    await textMatches(mine.getByRole('cell', { name: 'No', exact: true }), /No/);
  });

  test('every delivered event can be caused from the browser', async () => {
    const carol = await session();
    const dave = await session();
    await signUp(carol.page, 'carol');
    await signUp(dave.page, 'dave');
    await createWebhook(carol.page, { name: 'carol-hook', url: receiver.url('/carol') });
    await createWebhook(dave.page, { name: 'dave-hook', url: receiver.url('/dave') });
    const got = (path, type) => receiver.waitFor((r) => r.path === path && r.body?.type === type);

    // note (carol) and mention (dave).
    await post(carol.page, 'Hello @dave, welcome');
    await got('/carol', 'note');
    assert.equal((await got('/dave', 'mention')).body.body.note.text, 'Hello @dave, welcome');

    // follow (dave) and followed (carol), from carol's page; the mention is a link there.
    await dave.page.goto('/');
    await dave.page.getByLabel('Username').fill('carol');
    await dave.page.getByRole('button', { name: 'Open user page' }).click();
    await dave.page.waitForURL('**/@carol');
    await dave.page.getByRole('button', { name: 'Follow' }).click();
    assert.equal((await got('/dave', 'follow')).body.body.user.username, 'carol');
    assert.equal((await got('/carol', 'followed')).body.body.user.username, 'dave');

    // renote (carol), from carol's page.
    const carolsNote = dave.page.getByRole('article').filter({ hasText: 'Hello @dave, welcome' }).first();
    await carolsNote.getByRole('link', { name: '@dave' }).waitFor();
    await carolsNote.getByRole('button', { name: 'Renote' }).click();
    await textMatches(dave.page.getByRole('status'), /You renoted @carol’s note/);
    const renote = await got('/carol', 'renote');
    assert.equal(renote.body.body.note.renote.text, 'Hello @dave, welcome');

    // reply (carol): Reply on carol's page leads to the compose box.
    await carolsNote.getByRole('button', { name: 'Reply' }).click();
    await dave.page.waitForURL(/\?reply=/);
    const compose = dave.page.getByRole('form', { name: 'New note' });
    await textMatches(compose, /Replying to @carol/);
    await compose.getByLabel('Text', { exact: true }).fill('Thanks, carol');
    await compose.getByRole('button', { name: 'Reply', exact: true }).click();
    await textMatches(dave.page.getByRole('status'), /Your note was posted/);
    assert.equal((await got('/carol', 'reply')).body.body.note.text, 'Thanks, carol');

    // A quote from the timeline is a renote too.
    const renotesBefore = deliveries('/carol').filter((r) => r.body?.type === 'renote').length;
    const inTimeline = dave.page.getByRole('list', { name: 'Timeline' }).getByRole('article')
      .filter({ hasText: 'Hello @dave, welcome' }).filter({ hasNotText: 'Thanks' }).first();
    await inTimeline.getByRole('button', { name: 'Quote' }).click();
    await textMatches(compose, /Quoting @carol/);
    await compose.getByLabel('Text', { exact: true }).fill('Worth reading');
    await compose.getByRole('button', { name: 'Quote', exact: true }).click();
    await eventually(
      () => deliveries('/carol').filter((r) => r.body?.type === 'renote').length > renotesBefore,
      { what: 'a renote delivery for the quote' },
    );

    // unfollow (dave).
    await dave.page.goto('/@carol');
    await dave.page.getByRole('button', { name: 'Unfollow' }).click();
    assert.equal((await got('/dave', 'unfollow')).body.body.user.username, 'carol');

    const types = new Set(receiver.received.filter((r) => r.path === '/carol' || r.path === '/dave').map((r) => r.body.type));
    assert.deepEqual([...types].sort(), ['follow', 'followed', 'mention', 'note', 'renote', 'reply', 'unfollow']);

    // "Send test" on the edit page sends Misskey's dummy payload and shows the result.
    await carol.page.goto('/settings/webhook');
    await carol.page.getByRole('link', { name: 'Edit carol-hook' }).click();
    const form = carol.page.getByRole('form', { name: 'Edit webhook' });
    await form.getByRole('button', { name: 'Send test followed' }).click();
    const dummy = await receiver.waitFor((r) => r.path === '/carol' && r.body?.type === 'followed' && r.body.body.user.id === 'dummy-user-2');
    assert.equal(dummy.body.body.user.username, 'dummy2');
    await textMatches(carol.page.getByRole('status'), /Test “followed”: Success \(HTTP 200\)/);

    // Delete asks first: dismissing keeps the webhook, accepting deletes it.
    await carol.page.goto('/settings/webhook');
    const row = carol.page.getByRole('row', { name: /carol-hook/ });
    carol.page.once('dialog', (d) => d.dismiss());
    await row.getByRole('button', { name: 'Delete carol-hook' }).click();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await row.count(), 1);
    carol.page.once('dialog', (d) => {
      assert.match(d.message(), /Delete the webhook “carol-hook”\?/);
      d.accept();
    });
    await row.getByRole('button', { name: 'Delete carol-hook' }).click();
    await textMatches(carol.page.getByRole('status'), /“carol-hook” was deleted/);
    await textMatches(carol.page.locator('main'), /You have no webhooks yet/);
  });

  test('reacting from a user page delivers `reaction` to the author', async () => {
    const gina = await session();
    const hank = await session();
    await signUp(gina.page, 'gina');
    await signUp(hank.page, 'hank');
    // The form's defaults subscribe to every event, `reaction` included.
    await createWebhook(hank.page, { name: 'hank-hook', url: receiver.url('/hank') });
    await post(hank.page, 'React to this, gina');

    const { page } = gina;
    await page.goto('/@hank');
    const note = page.getByRole('article').filter({ hasText: 'React to this, gina' }).first();
    await note.getByRole('button', { name: 'React ❤' }).click();
    await textMatches(page.getByRole('status'), /You reacted with ❤/);
    const hit = await receiver.waitFor((r) => r.path === '/hank' && r.body?.type === 'reaction');
    assert.equal(hit.body.body.reaction, '❤');
    assert.equal(hit.body.body.user.username, 'gina');
    assert.equal(hit.body.body.note.text, 'React to this, gina');
    assert.deepEqual(hit.body.body.note.reactions, { '❤': 1 });
    await textMatches(note.getByLabel('Reactions'), /❤ 1/);

    // The button undoes it.
    await note.getByRole('button', { name: 'Undo ❤' }).click();
    await textMatches(page.getByRole('status'), /Your reaction was undone/);
    await note.getByRole('button', { name: 'React ❤' }).waitFor();
    assert.equal(await note.getByLabel('Reactions').count(), 0);
  });

  test('signing out forgets the token', async () => {
    const { page } = bob;
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    await textMatches(page.getByRole('status'), /You are signed out/);
    await page.goto('/settings/webhook');
    await page.waitForURL(/\/signin\?next=%2Fsettings%2Fwebhook/);
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('another password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/settings/webhook');
    await page.getByRole('row', { name: /bob-hook/ }).waitFor();
  });

  test('signing out revokes the token on the server', async () => {
    const tokenOf = (page) => page.evaluate(() => localStorage.getItem('missive:token'));
    const whoIs = async (token) => {
      const response = await fetch(`${server.url}/api/i`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ i: token }),
      });
      return { status: response.status, body: await response.json() };
    };
    const here = await session();
    const there = await session();
    await signUp(here.page, 'erin');
    const token = await tokenOf(here.page);
    assert.equal((await whoIs(token)).body.username, 'erin');
    // A second browser signed in as erin holds the same native token.
    await there.page.goto('/signin');
    await there.page.getByLabel('Username').fill('erin');
    await there.page.getByLabel('Password').fill('a good password');
    await there.page.getByRole('button', { name: 'Sign in' }).click();
    await there.page.waitForURL((url) => url.pathname === '/');
    await there.page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(await tokenOf(there.page), token);

    await here.page.getByRole('button', { name: 'Sign out' }).click();
    await here.page.waitForURL('**/signin');
    await textMatches(here.page.getByRole('status'), /You are signed out/);
    assert.equal(await tokenOf(here.page), null);
    const revoked = await whoIs(token);
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.error.code, 'AUTHENTICATION_FAILED');

    // The other browser's token no longer works: signing out there still signs out.
    await there.page.getByRole('button', { name: 'Sign out' }).click();
    await there.page.waitForURL('**/signin');
    await textMatches(there.page.getByRole('status'), /You are signed out/);
    assert.equal(await tokenOf(there.page), null);

    // Signing in again gives a new token that works.
    await here.page.getByLabel('Username').fill('erin');
    await here.page.getByLabel('Password').fill('a good password');
    await here.page.getByRole('button', { name: 'Sign in' }).click();
    await here.page.waitForURL((url) => url.pathname === '/');
    const renewed = await tokenOf(here.page);
    assert.notEqual(renewed, token);
    assert.equal((await whoIs(renewed)).body.username, 'erin');
  });

  test('no page logged an error', () => {
    assert.deepEqual(sessions.flatMap((s) => s.problems), []);
  });
});
