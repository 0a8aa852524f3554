// Drives missive with the real misskey-js client (the npm package pinned in package.json),
// so that any gap between what missive sends and what misskey-js expects shows up here:
// misskey-js always POSTs JSON with the token in the body's `i` (never a header), sends
// `"i": null` when built with `credential: null`, resolves 200 with the JSON body and 204
// with null, and rejects anything else with the body's `error` object marked as an API error.
//
// Covered: meta, endpoints and endpoint (before any account exists), signup (anonymous client), i, notes/create (plain, reply, pure renote, quote),
// notes/show, users/show (by userId and by username), following/create and
// following/delete between two users, API errors (FOLLOWEE_IS_YOURSELF and others),
// a `credential: null` client, i/webhooks/create + i/webhooks/list (with one delivery),
// and notes/reactions/create, notes/reactions and notes/reactions/delete.
//
// One server is started for the whole file; the tests run in order and share its state.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as Misskey from 'misskey-js';

import { startReceiver } from './lib/receiver.mjs';
import { startMissive } from './lib/server.mjs';

// Clients accept any `[a-zA-Z0-9]+` id (Misskey's `misskey:id` format).
const ID = /^[a-zA-Z0-9]+$/;

/**
 * Runs `promise`, expects it to reject with a misskey-js API error, and returns the error.
 * A non-API rejection (e.g. a JSON parse error on a non-JSON body) fails the test with its own text.
 */
async function apiError(promise) {
  const e = await promise.then(
    (value) => assert.fail(`expected an API error, got ${JSON.stringify(value)}`),
    (reason) => reason,
  );
  assert.ok(Misskey.api.isAPIError(e), `not a misskey-js API error: ${e?.stack ?? JSON.stringify(e)}`);
  return e;
}

describe('misskey-js against missive', () => {
  let server;
  let receiver;
  /** A client with no credential at all: `i` is left out of every body. */
  let anon;
  /** A client built with `credential: null`: every body carries `"i": null`. */
  let nullCred;
  // Filled in as the tests go.
  let alice; // {client, token, id}
  let bob;
  let aliceNote;

  before(async () => {
    server = await startMissive({ MISSIVE_SIGNUP_OPEN: 'true' });
    receiver = await startReceiver();
    anon = new Misskey.api.APIClient({ origin: server.url });
    nullCred = new Misskey.api.APIClient({ origin: server.url, credential: null });
  });

  after(async () => {
    await receiver?.close();
    await server?.stop();
  });

  test('meta and endpoints, as a client asks at start-up', async () => {
    const meta = await anon.request('meta', {});
    assert.equal(meta.name, 'missive');
    assert.equal(typeof meta.version, 'string');
    assert.equal(meta.uri, server.url);
    assert.equal(meta.disableRegistration, false);
    assert.equal(meta.maxNoteTextLength, 3000);
    assert.equal(typeof meta.policies, 'object');
    const detailed = await anon.request('meta', { detail: true });
    assert.equal(detailed.requireSetup, true);
    assert.equal(detailed.features.registration, true);

    const endpoints = await anon.request('endpoints', {});
    assert.ok(Array.isArray(endpoints));
    for (const name of ['meta', 'endpoints', 'endpoint', 'signup', 'notes/create', 'i/webhooks/create']) {
      assert.ok(endpoints.includes(name), name);
    }
    const described = await anon.request('endpoint', { endpoint: 'notes/show' });
    assert.deepEqual(described, { params: [{ name: 'noteId', type: 'String' }] });
    // An unknown name is `null` (a 204, which misskey-js resolves as null).
    assert.equal(await anon.request('endpoint', { endpoint: 'no/such' }), null);
  });

  test('signup through a client without a credential returns a usable token', async () => {
    const signup = async (username) => {
      const res = await anon.request('signup', { username, password: `${username}-password` });
      // Misskey's signup answers MeDetailed plus the 16-character native token.
      assert.equal(typeof res.token, 'string');
      assert.equal(res.token.length, 16);
      assert.equal(res.username, username);
      assert.equal(res.host, null);
      assert.match(res.id, ID);
      const client = new Misskey.api.APIClient({ origin: server.url, credential: res.token });
      return { client, token: res.token, id: res.id };
    };
    alice = await signup('alice');
    bob = await signup('bob');
    assert.notEqual(alice.id, bob.id);
    assert.notEqual(alice.token, bob.token);
  });

  test('i returns the caller', async () => {
    const me = await alice.client.request('i', {});
    assert.equal(me.id, alice.id);
    assert.equal(me.username, 'alice');
    assert.equal(me.host, null);
    assert.equal(me.notesCount, 0);
    assert.equal(me.followersCount, 0);
    assert.equal(me.followingCount, 0);

    // The same token given per call (the third argument) overrides the client's own.
    const asBob = await anon.request('i', {}, bob.token);
    assert.equal(asBob.id, bob.id);
    assert.equal(asBob.username, 'bob');
  });

  test('notes/create with text', async () => {
    const { createdNote } = await alice.client.request('notes/create', { text: 'hello from misskey-js' });
    assert.match(createdNote.id, ID);
    assert.equal(createdNote.text, 'hello from misskey-js');
    assert.equal(createdNote.userId, alice.id);
    assert.equal(createdNote.user.id, alice.id);
    assert.equal(createdNote.user.username, 'alice');
    assert.equal(createdNote.visibility, 'public');
    assert.equal(createdNote.cw, null);
    assert.equal(createdNote.replyId, null);
    assert.equal(createdNote.renoteId, null);
    assert.equal(createdNote.repliesCount, 0);
    assert.equal(createdNote.renoteCount, 0);
    assert.ok(!Number.isNaN(Date.parse(createdNote.createdAt)), `createdAt: ${createdNote.createdAt}`);
    aliceNote = createdNote;
  });

  test('a reply embeds the note it replies to', async () => {
    const { createdNote } = await bob.client.request('notes/create', { text: 'a reply', replyId: aliceNote.id });
    assert.equal(createdNote.text, 'a reply');
    assert.equal(createdNote.userId, bob.id);
    assert.equal(createdNote.replyId, aliceNote.id);
    assert.equal(createdNote.renoteId, null);
    assert.equal(createdNote.reply.id, aliceNote.id);
    assert.equal(createdNote.reply.text, 'hello from misskey-js');
    assert.equal(createdNote.reply.user.username, 'alice');
    // Misskey adds the reply target's author to `mentions`.
    assert.deepEqual(createdNote.mentions, [alice.id]);
  });

  test('a pure renote has text null and embeds the renoted note', async () => {
    const { createdNote } = await bob.client.request('notes/create', { renoteId: aliceNote.id });
    assert.equal(createdNote.text, null);
    assert.equal(createdNote.cw, null);
    assert.equal(createdNote.userId, bob.id);
    assert.equal(createdNote.replyId, null);
    assert.equal(createdNote.renoteId, aliceNote.id);
    assert.equal(createdNote.renote.id, aliceNote.id);
    assert.equal(createdNote.renote.text, 'hello from misskey-js');
    assert.equal(createdNote.renote.user.username, 'alice');
  });

  test('a quote has its own text and embeds the quoted note', async () => {
    const { createdNote } = await bob.client.request('notes/create', { text: 'quoting alice', renoteId: aliceNote.id });
    assert.equal(createdNote.text, 'quoting alice');
    assert.equal(createdNote.userId, bob.id);
    assert.equal(createdNote.renoteId, aliceNote.id);
    assert.equal(createdNote.renote.id, aliceNote.id);
    assert.equal(createdNote.renote.text, 'hello from misskey-js');
    assert.equal(createdNote.renote.userId, alice.id);
  });

  test('notes/show returns the note with its reply count', async () => {
    const note = await anon.request('notes/show', { noteId: aliceNote.id });
    assert.equal(note.id, aliceNote.id);
    assert.equal(note.text, 'hello from misskey-js');
    assert.equal(note.user.username, 'alice');
    assert.equal(note.repliesCount, 1);
    assert.ok(!note.isHidden);
  });

  test('users/show by userId and by username', async () => {
    const byId = await anon.request('users/show', { userId: alice.id });
    assert.equal(byId.id, alice.id);
    assert.equal(byId.username, 'alice');
    assert.equal(byId.host, null);
    assert.equal(byId.notesCount, 1);

    const byName = await anon.request('users/show', { username: 'bob' });
    assert.equal(byName.id, bob.id);
    assert.equal(byName.username, 'bob');
    // The reply, the pure renote and the quote all count as notes.
    assert.equal(byName.notesCount, 3);
  });

  test('following/create and following/delete between two users', async () => {
    // Both answer the followee as UserLite.
    const followee = await bob.client.request('following/create', { userId: alice.id });
    assert.equal(followee.id, alice.id);
    assert.equal(followee.username, 'alice');

    // The relation block appears only for a viewer other than the user.
    const seenByBob = await bob.client.request('users/show', { userId: alice.id });
    assert.equal(seenByBob.isFollowing, true);
    assert.equal(seenByBob.isFollowed, false);
    assert.equal(seenByBob.followersCount, 1);
    const bobSelf = await bob.client.request('users/show', { username: 'bob' });
    assert.equal(bobSelf.followingCount, 1);

    const unfollowed = await bob.client.request('following/delete', { userId: alice.id });
    assert.equal(unfollowed.id, alice.id);
    assert.equal(unfollowed.username, 'alice');

    const after = await bob.client.request('users/show', { userId: alice.id });
    assert.equal(after.isFollowing, false);
    assert.equal(after.followersCount, 0);
  });

  test('failing calls reject with misskey-js API errors', async () => {
    const self = await apiError(alice.client.request('following/create', { userId: alice.id }));
    assert.equal(self.code, 'FOLLOWEE_IS_YOURSELF');
    assert.equal(self.id, '26fbe7bb-a331-4857-af17-205b426669a9');

    // following/delete has its own id for the same code.
    const selfDelete = await apiError(alice.client.request('following/delete', { userId: alice.id }));
    assert.equal(selfDelete.code, 'FOLLOWEE_IS_YOURSELF');
    assert.equal(selfDelete.id, 'd9e400b9-36b0-4808-b1d8-79e707f1296c');

    const notFollowing = await apiError(bob.client.request('following/delete', { userId: alice.id }));
    assert.equal(notFollowing.code, 'NOT_FOLLOWING');
    assert.equal(notFollowing.id, '5dbf82f5-c92b-40b1-87d1-6c8c0741fd09');

    const noUser = await apiError(anon.request('users/show', { username: 'nobody' }));
    assert.equal(noUser.code, 'NO_SUCH_USER');
    assert.equal(noUser.id, '4362f8dc-731f-4ad8-a694-be5a88922a24');

    const noCredential = await apiError(anon.request('i', {}));
    assert.equal(noCredential.code, 'CREDENTIAL_REQUIRED');
    assert.equal(noCredential.id, '1384574d-a912-4b81-8601-c7b1c4085df1');

    const badToken = await apiError(anon.request('i', {}, 'not-a-real-token'));
    assert.equal(badToken.code, 'AUTHENTICATION_FAILED');
    assert.equal(badToken.id, 'b0a7f5f8-dc2f-4171-b91f-de88ad238e14');

    const invalid = await apiError(alice.client.request('notes/create', {}));
    assert.equal(invalid.code, 'INVALID_PARAM');
    assert.equal(invalid.id, '3d81ceae-475f-4600-b2a8-2bc116157532');
  });

  test('a client with credential null ("i": null) is anonymous', async () => {
    const user = await nullCred.request('users/show', { username: 'alice' });
    assert.equal(user.id, alice.id);
    assert.equal(user.username, 'alice');
    // Anonymous viewers get no relation block.
    assert.equal(user.isFollowing, undefined);

    const note = await nullCred.request('notes/show', { noteId: aliceNote.id });
    assert.equal(note.id, aliceNote.id);

    // `"i": null` is "no token", not a bad token.
    const e = await apiError(nullCred.request('i', {}));
    assert.equal(e.code, 'CREDENTIAL_REQUIRED');
  });

  test('i/webhooks/create and i/webhooks/list', async () => {
    const url = receiver.url('/alice');
    const created = await alice.client.request('i/webhooks/create', {
      name: 'js hook',
      url,
      secret: 'js-secret',
      on: ['note', 'follow'],
    });
    assert.match(created.id, ID);
    assert.equal(created.userId, alice.id);
    assert.equal(created.name, 'js hook');
    assert.equal(created.url, url);
    assert.equal(created.secret, 'js-secret');
    assert.deepEqual(created.on, ['note', 'follow']);
    assert.equal(created.active, true);
    assert.equal(created.latestSentAt, null);
    assert.equal(created.latestStatus, null);

    const list = await alice.client.request('i/webhooks/list', {});
    assert.deepEqual(list, [created]);
    // Webhooks are per user.
    assert.deepEqual(await bob.client.request('i/webhooks/list', {}), []);

    // The webhook made through misskey-js delivers: a new note reaches the receiver.
    const { createdNote } = await alice.client.request('notes/create', { text: 'webhook me' });
    const delivery = await receiver.waitFor((r) => r.body?.type === 'note' && r.body?.body?.note?.id === createdNote.id);
    assert.equal(delivery.path, '/alice');
    assert.equal(delivery.headers['x-misskey-hook-id'], created.id);
    assert.equal(delivery.headers['x-misskey-hook-secret'], 'js-secret');
    assert.equal(delivery.body.hookId, created.id);
    assert.equal(delivery.body.userId, alice.id);
    assert.equal(delivery.body.body.note.text, 'webhook me');
  });

  test('notes/reactions/create, notes/reactions and notes/reactions/delete', async () => {
    // 204s resolve to null, as misskey-js expects.
    assert.equal(await bob.client.request('notes/reactions/create', { noteId: aliceNote.id, reaction: '👍' }), null);
    const seen = await bob.client.request('notes/show', { noteId: aliceNote.id });
    assert.deepEqual(seen.reactions, { '👍': 1 });
    assert.equal(seen.reactionCount, 1);
    assert.equal(seen.myReaction, '👍');

    const e = await apiError(bob.client.request('notes/reactions/create', { noteId: aliceNote.id, reaction: '👍' }));
    assert.equal(e.code, 'ALREADY_REACTED');
    assert.equal(e.id, '71efcf98-86d6-4e2b-b2ad-9d032369366b');

    const listed = await anon.request('notes/reactions', { noteId: aliceNote.id });
    assert.equal(listed.length, 1);
    assert.equal(listed[0].type, '👍');
    assert.equal(listed[0].user.id, bob.id);
    assert.match(listed[0].id, ID);

    assert.equal(await bob.client.request('notes/reactions/delete', { noteId: aliceNote.id }), null);
    const gone = await apiError(bob.client.request('notes/reactions/delete', { noteId: aliceNote.id }));
    assert.equal(gone.code, 'NOT_REACTED');
  });
});
