//! The ids of Misskey's API errors that the tests expect, one constant each. Misskey gives
//! an error the same code in several endpoints but a different id in each, so a constant
//! is named by its code and, where the id is an endpoint's own, by that endpoint.

// A test file uses the ids it needs; an id no test uses yet must not fail the build.
#![allow(dead_code)]

// Errors every endpoint can answer.

/// `INVALID_PARAM`, 400: the body does not match the endpoint's schema.
pub const INVALID_PARAM: &str = "3d81ceae-475f-4600-b2a8-2bc116157532";
/// `CREDENTIAL_REQUIRED`, 401: no token for an endpoint that needs one.
pub const CREDENTIAL_REQUIRED: &str = "1384574d-a912-4b81-8601-c7b1c4085df1";
/// `AUTHENTICATION_FAILED`, 401: a token that names no one.
pub const AUTHENTICATION_FAILED: &str = "b0a7f5f8-dc2f-4171-b91f-de88ad238e14";
/// `ACCESS_DENIED`, 400: no token for a secure endpoint such as `i/webhooks/test`.
pub const ACCESS_DENIED: &str = "56f35758-7dd5-468b-8439-5d6fb8ec9b8e";
/// `ROLE_PERMISSION_DENIED`, 403: an administrator's endpoint called by someone else.
pub const ROLE_PERMISSION_DENIED: &str = "c3d38592-54c0-429d-be96-5636b0431a61";
/// `RATE_LIMIT_EXCEEDED`, 429: too many calls, or the password hashing pool is full.
pub const RATE_LIMIT_EXCEEDED: &str = "d5826d14-3982-4d2e-8011-b9e9f02499ef";
/// `UNKNOWN_API_ENDPOINT`, 404.
pub const UNKNOWN_API_ENDPOINT: &str = "2ca3b769-540a-4f08-9dd5-b5a825b6d0f1";

// Accounts.

/// `ACCESS_DENIED` of `admin/accounts/create` once an account exists.
pub const ACCESS_DENIED_ADMIN_ACCOUNTS_CREATE: &str = "1fb7cb09-d46a-4fff-b8df-057708cce513";
/// `DUPLICATED_USERNAME` of `admin/accounts/create`.
pub const DUPLICATED_USERNAME_ADMIN_ACCOUNTS_CREATE: &str = "4c0a6f7e-4d4b-4b8e-bb8c-1f6f1d6f0e31";
/// `signin-flow` with a wrong password (403); `i/regenerate-token` answers it with 400.
pub const INCORRECT_PASSWORD_SIGNIN_FLOW: &str = "932c904e-9460-45b7-9ce6-7ed33be7eb2c";
/// `USED_USERNAME` of `signup`: a reserved username.
pub const USED_USERNAME: &str = "2e5ba9c4-1d3f-4c8b-9f0e-6a7b8c9d0e12";
/// `signin-flow` for an unknown username (404).
pub const NO_SUCH_USER_SIGNIN_FLOW: &str = "6cc579cc-885d-43d8-95c2-b8c7fc963280";

// Users and following.

/// `NO_SUCH_USER` of `users/show` (404).
pub const NO_SUCH_USER_USERS_SHOW: &str = "4362f8dc-731f-4ad8-a694-be5a88922a24";
/// `NO_SUCH_USER` of `following/create`.
pub const NO_SUCH_USER_FOLLOWING_CREATE: &str = "fcd2eef9-a9b2-4c4f-8624-038099e90aa5";
/// `FOLLOWEE_IS_YOURSELF` of `following/create`.
pub const FOLLOWEE_IS_YOURSELF_FOLLOWING_CREATE: &str = "26fbe7bb-a331-4857-af17-205b426669a9";
/// `ALREADY_FOLLOWING` of `following/create`.
pub const ALREADY_FOLLOWING: &str = "35387507-38c7-4cb9-9197-300b93783fa0";
/// `NO_SUCH_USER` of `following/delete`.
pub const NO_SUCH_USER_FOLLOWING_DELETE: &str = "5b12c78d-2b28-4dca-99d2-f56139b42ff8";
/// `FOLLOWEE_IS_YOURSELF` of `following/delete`.
pub const FOLLOWEE_IS_YOURSELF_FOLLOWING_DELETE: &str = "d9e400b9-36b0-4808-b1d8-79e707f1296c";
/// `NOT_FOLLOWING` of `following/delete`.
pub const NOT_FOLLOWING: &str = "5dbf82f5-c92b-40b1-87d1-6c8c0741fd09";

// Notes.

/// `NO_SUCH_NOTE` of `notes/show`.
pub const NO_SUCH_NOTE_NOTES_SHOW: &str = "24fcbfc6-2e37-42b6-8388-c29b3861a08d";
/// `NO_SUCH_NOTE` of `notes/delete`.
pub const NO_SUCH_NOTE_NOTES_DELETE: &str = "490be23f-8c1f-4796-819f-94cb4f9d1630";
/// `ACCESS_DENIED` of `notes/delete`: someone else's note.
pub const ACCESS_DENIED_NOTES_DELETE: &str = "fe8d7103-0ea8-4ec3-814d-f8b401dc69e9";
/// `NO_SUCH_REPLY_TARGET` of `notes/create`.
pub const NO_SUCH_REPLY_TARGET: &str = "749ee0f6-d3da-459a-bf02-282e2da4292c";
/// `NO_SUCH_RENOTE_TARGET` of `notes/create`.
pub const NO_SUCH_RENOTE_TARGET: &str = "b5c90186-4ab0-49c8-9bba-a1f76c282ba4";
/// `CANNOT_RENOTE_TO_A_PURE_RENOTE` of `notes/create`.
pub const CANNOT_RENOTE_TO_A_PURE_RENOTE: &str = "fd4cc33e-2a37-48dd-99cc-9b806eb2031a";
/// `CANNOT_REPLY_TO_A_PURE_RENOTE` of `notes/create`.
pub const CANNOT_REPLY_TO_A_PURE_RENOTE: &str = "3ac74a84-8fd5-4bb0-870f-01804f82ce15";
/// `CANNOT_RENOTE_DUE_TO_VISIBILITY` of `notes/create`.
pub const CANNOT_RENOTE_DUE_TO_VISIBILITY: &str = "be9529e9-fe72-4de0-ae43-0b363c4938af";
/// `CANNOT_REPLY_TO_AN_INVISIBLE_NOTE` of `notes/create`.
pub const CANNOT_REPLY_TO_AN_INVISIBLE_NOTE: &str = "b98980fa-3780-406c-a935-b6d0eeee10d1";
/// `CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY` of `notes/create`.
pub const CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY: &str =
    "ed940410-535c-4d5e-bfa3-af798671e93c";
/// `CONTAINS_TOO_MANY_MENTIONS` of `notes/create`.
pub const CONTAINS_TOO_MANY_MENTIONS: &str = "4de0363a-3046-481b-9b0f-feff3e211025";
/// `NO_SUCH_FILE` of `notes/create`.
pub const NO_SUCH_FILE: &str = "b6992544-63e7-67f0-fa7f-32444b1b5306";
/// `NO_SUCH_CHANNEL` of `notes/create`.
pub const NO_SUCH_CHANNEL: &str = "b1653923-5453-4edc-b786-7c4f39bb0bbb";

// Webhooks.

/// `TOO_MANY_WEBHOOKS` of `i/webhooks/create`.
pub const TOO_MANY_WEBHOOKS: &str = "87a9bb19-111e-4e37-81d3-a3e7426453b0";
/// `NO_SUCH_WEBHOOK` of `i/webhooks/show`.
pub const NO_SUCH_WEBHOOK_SHOW: &str = "50f614d9-3047-4f7e-90d8-ad6b2d5fb098";
/// `NO_SUCH_WEBHOOK` of `i/webhooks/update`.
pub const NO_SUCH_WEBHOOK_UPDATE: &str = "fb0fea69-da18-45b1-828d-bd4fd1612518";
/// `NO_SUCH_WEBHOOK` of `i/webhooks/delete`.
pub const NO_SUCH_WEBHOOK_DELETE: &str = "bae73e5a-5522-4965-ae19-3a8688e71d82";
/// `NO_SUCH_WEBHOOK` of `i/webhooks/test`.
pub const NO_SUCH_WEBHOOK_TEST: &str = "0c52149c-e913-18f8-5dc7-74870bfe0cf9";
/// `NO_SUCH_WEBHOOK` of `admin/webhooks/update`.
pub const NO_SUCH_WEBHOOK_ADMIN_UPDATE: &str = "7c8a5c9e-2f63-4b52-a0a3-0c7d4c8f9e12";

// Reactions.

/// `NO_SUCH_NOTE` of `notes/reactions/create`.
pub const NO_SUCH_NOTE_REACTIONS_CREATE: &str = "033d0620-5bfe-4027-965d-980b0c85a3ea";
/// `ALREADY_REACTED` of `notes/reactions/create`: the same reaction again.
pub const ALREADY_REACTED: &str = "71efcf98-86d6-4e2b-b2ad-9d032369366b";
/// `CANNOT_REACT_TO_RENOTE` of `notes/reactions/create`: a pure renote.
pub const CANNOT_REACT_TO_RENOTE: &str = "eaccdc08-ddef-43fe-908f-d108faad57f5";
/// `NO_SUCH_NOTE` of `notes/reactions/delete`.
pub const NO_SUCH_NOTE_REACTIONS_DELETE: &str = "764d9fce-f9f2-4a0e-92b1-6ceac9a7ad37";
/// `NOT_REACTED` of `notes/reactions/delete`.
pub const NOT_REACTED: &str = "92f4426d-4196-4125-aa5b-02943e2ec8fc";

// The delivery log (missive's own endpoints).

/// `NO_SUCH_WEBHOOK` of `i/webhooks/deliveries`, `i/webhooks/redeliver` and their admin
/// equivalents.
pub const NO_SUCH_WEBHOOK_DELIVERIES: &str = "595747bd-f440-4914-869e-107221b262f3";
/// `NO_SUCH_DELIVERY` of `i/webhooks/deliveries/show`, `i/webhooks/redeliver` and their
/// admin equivalents: unknown, another user's, or a deleted webhook's.
pub const NO_SUCH_DELIVERY: &str = "362dfd3f-4d18-4958-9cd6-e1de9a137e7d";
