//! The endpoint table: every endpoint missive serves, with who may call it, its parameters
//! (the `Schema` its handler checks), its answer and its errors. `dispatch`, `endpoints`,
//! `endpoint` and the OpenAPI document all read this one table.
//!
//! Adding an endpoint: one `Endpoint` entry below (a `Schema` of its properties, the
//! answer, the error codes), one arm in `mod.rs`'s `dispatch`, and a handler that starts
//! with `let p = call.check()?;`.

use serde_json::{Value, json};

use crate::api::params::Len;
use crate::api::schema::{Conditional, Kind, Prop, Schema, USER_ID_LIST};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a valid token makes the caller known.
    Anyone,
    /// A valid token.
    User,
    /// A native token (Misskey's `secure`): anything else is `ACCESS_DENIED`.
    Secure,
    /// The administrator.
    Admin,
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 204 with no body.
    NoContent,
    /// 200 with one object of this component (`#/components/schemas/<name>`).
    Ref(&'static str),
    /// 200 with an array of this component.
    ListOf(&'static str),
    /// 200 with this schema (for answers that are not one of Misskey's components).
    Inline(fn() -> Value),
}

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub name: &'static str,
    pub access: Access,
    pub params: &'static Schema,
    pub answer: Answer,
    /// The endpoint's own errors (beyond the common ones of its access rule and
    /// `INVALID_PARAM`): code and HTTP status.
    pub errors: &'static [(&'static str, u16)],
    /// One line for the API document.
    pub summary: &'static str,
}

impl Endpoint {
    const fn new(name: &'static str, access: Access, params: &'static Schema) -> Endpoint {
        Endpoint {
            name,
            access,
            params,
            answer: Answer::NoContent,
            errors: &[],
            summary: "",
        }
    }

    const fn answers(self, answer: Answer) -> Endpoint {
        Endpoint { answer, ..self }
    }

    const fn errors(self, errors: &'static [(&'static str, u16)]) -> Endpoint {
        Endpoint { errors, ..self }
    }

    const fn summary(self, summary: &'static str) -> Endpoint {
        Endpoint { summary, ..self }
    }
}

/// The endpoint of this name.
pub fn find(name: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.name == name)
}

/// Misskey's `MAX_NOTE_TEXT_LENGTH`.
pub const MAX_NOTE_TEXT: usize = 3000;
pub const VISIBILITIES: &[&str] = &["public", "home", "followers", "specified"];
const REACTION_ACCEPTANCES: &[&str] = &[
    "likeOnly",
    "likeOnlyForRemote",
    "nonSensitiveOnly",
    "nonSensitiveOnlyForLocalLikeOnlyForRemote",
];
const PASSWORD: Kind = Kind::Str(Len::new(0, 1024));
const ANY_LENGTH: Len = Len::new(0, usize::MAX);
const WEBHOOK_NAME: Kind = Kind::Str(Len::new(1, 100));
const WEBHOOK_SECRET: Kind = Kind::Str(Len::new(0, 1024));
const PAGE_LIMIT: Kind = Kind::Int {
    min: 1,
    max: 100,
    default: 10,
};

static NEW_ACCOUNT: Schema = Schema::new(&[
    Prop::new("username", Kind::Username),
    Prop::new("password", Kind::Str(Len::new(1, 1024))),
])
.required(&["username", "password"]);

static SIGNIN: Schema = Schema::new(&[
    Prop::new("username", Kind::Str(Len::new(0, 1024))),
    Prop::new("password", PASSWORD).nullable(),
])
.required(&["username"]);

static REGENERATE_TOKEN: Schema =
    Schema::new(&[Prop::new("password", PASSWORD)]).required(&["password"]);

static REVOKE_TOKEN: Schema = Schema::new(&[
    Prop::new("tokenId", Kind::Id),
    Prop::new("token", PASSWORD).nullable(),
])
.any_of(&["tokenId", "token"]);

static USERS_SHOW: Schema = Schema::new(&[
    Prop::new("userIds", USER_ID_LIST),
    Prop::new("userId", Kind::Id),
    Prop::new("username", Kind::Str(ANY_LENGTH)),
    Prop::new("host", Kind::Str(ANY_LENGTH)).nullable(),
])
.any_of(&["userId", "userIds", "username"]);

static FOLLOWING_CREATE: Schema = Schema::new(&[
    Prop::new("userId", Kind::Id),
    Prop::new("withReplies", Kind::Bool),
])
.required(&["userId"]);

static USER_ID: Schema = Schema::new(&[Prop::new("userId", Kind::Id)]).required(&["userId"]);

static NOTE_ID: Schema = Schema::new(&[Prop::new("noteId", Kind::Id)]).required(&["noteId"]);

/// Misskey sets no bound on a reaction; missive takes 1,024 characters.
pub const MAX_REACTION: usize = 1024;

static REACTIONS_CREATE: Schema = Schema::new(&[
    Prop::new("noteId", Kind::Id),
    Prop::new("reaction", Kind::Str(Len::new(0, MAX_REACTION))),
])
.required(&["noteId", "reaction"]);

static REACTIONS_LIST: Schema = Schema::new(&[
    Prop::new("noteId", Kind::Id),
    Prop::new("type", Kind::Str(ANY_LENGTH)).nullable(),
    Prop::new("limit", PAGE_LIMIT),
    Prop::new("sinceId", Kind::Id),
    Prop::new("untilId", Kind::Id),
])
.required(&["noteId"]);

/// Misskey's `then` of `notes/create`: unless a renote, files or a poll carry the note,
/// `text` is required and must hold a non-space character (Ajv reports this first).
static NOTE_TEXT: Schema = Schema::new(&[Prop::new(
    "text",
    Kind::NonBlankStr(Len::new(1, MAX_NOTE_TEXT)),
)])
.required(&["text"]);

const FILE_IDS: Kind = Kind::IdList {
    count: Len::new(1, 16),
    unique: true,
};

static NOTES_CREATE: Schema = Schema::new(&[
    Prop::new("visibility", Kind::Enum(VISIBILITIES)),
    Prop::new("visibleUserIds", USER_ID_LIST),
    Prop::new("cw", Kind::Str(Len::new(1, 100))).nullable(),
    Prop::new("localOnly", Kind::Bool),
    Prop::new("reactionAcceptance", Kind::Enum(REACTION_ACCEPTANCES)).nullable(),
    Prop::new("noExtractMentions", Kind::Bool),
    Prop::new("noExtractHashtags", Kind::Bool),
    Prop::new("noExtractEmojis", Kind::Bool),
    Prop::new("replyId", Kind::Id).nullable(),
    Prop::new("renoteId", Kind::Id).nullable(),
    Prop::new("channelId", Kind::Id).nullable(),
    Prop::new("text", Kind::Str(Len::new(1, MAX_NOTE_TEXT))).nullable(),
    Prop::new("fileIds", FILE_IDS),
    Prop::new("mediaIds", FILE_IDS),
    Prop::new("poll", Kind::Object(&Schema::EMPTY)).nullable(),
])
.conditional(Conditional {
    unless_given: &["renoteId", "fileIds", "mediaIds", "poll"],
    then: &NOTE_TEXT,
});

static TIMELINE: Schema = Schema::new(&[
    Prop::new("limit", PAGE_LIMIT),
    Prop::new("untilId", Kind::Id),
]);

static USER_NOTES: Schema = Schema::new(&[
    Prop::new("userId", Kind::Id),
    Prop::new("limit", PAGE_LIMIT),
    Prop::new("untilId", Kind::Id),
])
.required(&["userId"]);

static WEBHOOKS_CREATE: Schema = Schema::new(&[
    Prop::new("name", WEBHOOK_NAME),
    Prop::new("url", Kind::Url),
    Prop::new("secret", WEBHOOK_SECRET),
    Prop::new("on", Kind::EventList),
])
.required(&["name", "url", "on"]);

static WEBHOOK_ID: Schema =
    Schema::new(&[Prop::new("webhookId", Kind::Id)]).required(&["webhookId"]);

static WEBHOOKS_UPDATE: Schema = Schema::new(&[
    Prop::new("webhookId", Kind::Id),
    Prop::new("name", WEBHOOK_NAME),
    Prop::new("url", Kind::Url),
    // `null` clears the secret, as in Misskey.
    Prop::new("secret", WEBHOOK_SECRET).nullable(),
    Prop::new("on", Kind::EventList),
    Prop::new("active", Kind::Bool),
])
.required(&["webhookId"]);

static TEST_OVERRIDE: Schema = Schema::new(&[
    Prop::new("url", Kind::Url),
    Prop::new("secret", WEBHOOK_SECRET),
]);

static WEBHOOKS_TEST: Schema = Schema::new(&[
    Prop::new("webhookId", Kind::Id),
    Prop::new("type", Kind::Enum(crate::api::schema::EVENT_TYPES)),
    Prop::new("override", Kind::Object(&TEST_OVERRIDE)),
])
.required(&["webhookId", "type"]);

/// A delivery's states, as the delivery log reports them.
pub const DELIVERY_STATES: &[&str] = &["pending", "succeeded", "failed", "cancelled"];

static DELIVERIES_LIST: Schema = Schema::new(&[
    Prop::new("webhookId", Kind::Id),
    Prop::new("state", Kind::Enum(DELIVERY_STATES)).nullable(),
    Prop::new("type", Kind::Enum(crate::api::schema::EVENT_TYPES)).nullable(),
    Prop::new("sinceId", Kind::Id),
    Prop::new("untilId", Kind::Id),
    Prop::new("limit", PAGE_LIMIT),
])
.required(&["webhookId"]);

static DELIVERY_ID: Schema =
    Schema::new(&[Prop::new("deliveryId", Kind::Id)]).required(&["deliveryId"]);

/// One delivery again (`deliveryId`), or a webhook's failed ones since a time
/// (`webhookId` and `since`, epoch milliseconds).
static REDELIVER: Schema = Schema::new(&[
    Prop::new("deliveryId", Kind::Id),
    Prop::new("webhookId", Kind::Id),
    Prop::new(
        "since",
        Kind::Int {
            min: 0,
            max: i64::MAX,
            default: 0,
        },
    ),
])
.any_of(&["deliveryId", "webhookId"]);

static ADMIN_WEBHOOKS_LIST: Schema = Schema::new(&[
    Prop::new("userId", Kind::Id).nullable(),
    Prop::new("active", Kind::Bool),
    Prop::new("sinceId", Kind::Id),
    Prop::new("untilId", Kind::Id),
    Prop::new("limit", PAGE_LIMIT),
]);

static ADMIN_WEBHOOKS_UPDATE: Schema = Schema::new(&[
    Prop::new("webhookId", Kind::Id),
    Prop::new("active", Kind::Bool),
])
.required(&["webhookId", "active"]);

static META: Schema = Schema::new(&[Prop::new("detail", Kind::Bool)]);

static ENDPOINT: Schema =
    Schema::new(&[Prop::new("endpoint", Kind::Str(ANY_LENGTH))]).required(&["endpoint"]);

/// One entry of the delivery log (missive's own shape).
fn delivery_json() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "format": "misskey:id" },
            "webhookId": { "type": "string", "format": "misskey:id" },
            "eventId": { "type": "string" },
            "type": { "type": "string" },
            "state": { "type": "string", "enum": DELIVERY_STATES },
            "attempts": { "type": "integer" },
        },
        "required": ["id", "webhookId", "eventId", "type", "state", "attempts"],
    })
}

fn delivery_list() -> Value {
    json!({ "type": "array", "items": delivery_json() })
}

fn delivery_detail() -> Value {
    json!({
        "allOf": [
            delivery_json(),
            {
                "type": "object",
                "properties": {
                    "attemptLog": { "type": "array", "items": { "type": "object" } },
                    "requestBody": { "type": ["string", "null"] },
                },
                "required": ["attemptLog"],
            },
        ]
    })
}

fn redelivered() -> Value {
    json!({
        "type": "object",
        "properties": {
            "deliveryIds": { "type": "array", "items": { "type": "string", "format": "misskey:id" } },
        },
        "required": ["deliveryIds"],
    })
}

/// Misskey's `NoteReaction` (not among the vendored components).
fn note_reactions() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "id": { "type": "string", "format": "misskey:id" },
                "createdAt": { "type": "string", "format": "date-time" },
                "user": { "$ref": "#/components/schemas/UserLite" },
                "type": { "type": "string" },
            },
            "required": ["id", "createdAt", "user", "type"],
        }
    })
}

fn me_with_token() -> Value {
    json!({
        "allOf": [
            { "$ref": "#/components/schemas/MeDetailed" },
            { "type": "object", "properties": { "token": { "type": "string" } }, "required": ["token"] },
        ]
    })
}

fn signin_answer() -> Value {
    json!({
        "type": "object",
        "properties": {
            "finished": { "type": "boolean" },
            "next": { "type": "string", "enum": ["password"] },
            "id": { "type": "string", "format": "misskey:id" },
            "i": { "type": "string" },
        },
        "required": ["finished"],
    })
}

fn created_note() -> Value {
    json!({
        "type": "object",
        "properties": { "createdNote": { "$ref": "#/components/schemas/Note" } },
        "required": ["createdNote"],
    })
}

fn user_or_users() -> Value {
    json!({
        "oneOf": [
            { "$ref": "#/components/schemas/UserDetailed" },
            { "type": "array", "items": { "$ref": "#/components/schemas/UserDetailed" } },
        ]
    })
}

fn meta_answer() -> Value {
    json!({
        "oneOf": [
            { "$ref": "#/components/schemas/MetaLite" },
            { "$ref": "#/components/schemas/MetaDetailed" },
        ]
    })
}

fn endpoint_names() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn endpoint_description() -> Value {
    json!({
        "type": ["object", "null"],
        "properties": {
            "params": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "name": { "type": "string" }, "type": { "type": "string" } },
                    "required": ["name", "type"],
                },
            },
        },
        "required": ["params"],
    })
}

use Access::{Admin, Anyone, Secure, User};

/// Every endpoint missive serves.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint::new("meta", Anyone, &META)
        .answers(Answer::Inline(meta_answer))
        .summary("The server's metadata (MetaLite; MetaDetailed with `detail: true`)."),
    Endpoint::new("endpoints", Anyone, &Schema::EMPTY)
        .answers(Answer::Inline(endpoint_names))
        .summary("The names of every endpoint this server serves."),
    Endpoint::new("endpoint", Anyone, &ENDPOINT)
        .answers(Answer::Inline(endpoint_description))
        .summary("One endpoint's parameters, or null for an unknown name."),
    Endpoint::new("signup", Anyone, &NEW_ACCOUNT)
        .answers(Answer::Inline(me_with_token))
        .errors(&[
            ("SIGNUP_DISABLED", 400),
            ("USED_USERNAME", 400),
            ("DUPLICATED_USERNAME", 400),
        ])
        .summary("Create an account; the first one is the administrator."),
    Endpoint::new("signin-flow", Anyone, &SIGNIN)
        .answers(Answer::Inline(signin_answer))
        .errors(&[("NO_SUCH_USER", 404), ("INCORRECT_PASSWORD", 403)])
        .summary("Sign in with a password and receive the native token."),
    Endpoint::new("admin/accounts/create", Anyone, &NEW_ACCOUNT)
        .answers(Answer::Inline(me_with_token))
        .errors(&[("USED_USERNAME", 400), ("DUPLICATED_USERNAME", 400)])
        .summary("Create an account (the first one without a token, then as administrator)."),
    Endpoint::new("i", User, &Schema::EMPTY)
        .answers(Answer::Ref("MeDetailed"))
        .summary("The caller's own account."),
    Endpoint::new("i/regenerate-token", Secure, &REGENERATE_TOKEN)
        .errors(&[("INCORRECT_PASSWORD", 400)])
        .summary("Replace the native token after checking the password."),
    Endpoint::new("i/revoke-token", Secure, &REVOKE_TOKEN)
        .summary("Revoke a token; the caller's own token signs it out."),
    Endpoint::new("users/show", Anyone, &USERS_SHOW)
        .answers(Answer::Inline(user_or_users))
        .errors(&[("NO_SUCH_USER", 404)])
        .summary("One user by id or username, or several by ids."),
    Endpoint::new("following/create", User, &FOLLOWING_CREATE)
        .answers(Answer::Ref("UserLite"))
        .errors(&[
            ("FOLLOWEE_IS_YOURSELF", 400),
            ("NO_SUCH_USER", 400),
            ("ALREADY_FOLLOWING", 400),
        ])
        .summary("Follow a user."),
    Endpoint::new("following/delete", User, &USER_ID)
        .answers(Answer::Ref("UserLite"))
        .errors(&[
            ("FOLLOWEE_IS_YOURSELF", 400),
            ("NO_SUCH_USER", 400),
            ("NOT_FOLLOWING", 400),
        ])
        .summary("Unfollow a user."),
    Endpoint::new("notes/create", User, &NOTES_CREATE)
        .answers(Answer::Inline(created_note))
        .errors(&[
            ("NO_SUCH_RENOTE_TARGET", 400),
            ("CANNOT_RENOTE_TO_A_PURE_RENOTE", 400),
            ("CANNOT_RENOTE_DUE_TO_VISIBILITY", 400),
            ("NO_SUCH_REPLY_TARGET", 400),
            ("CANNOT_REPLY_TO_A_PURE_RENOTE", 400),
            ("CANNOT_REPLY_TO_AN_INVISIBLE_NOTE", 400),
            (
                "CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY",
                400,
            ),
            ("NO_SUCH_FILE", 400),
            ("POLLS_NOT_SUPPORTED", 400),
            ("NO_SUCH_CHANNEL", 400),
            ("CONTAINS_TOO_MANY_MENTIONS", 400),
        ])
        .summary("Post a note; the webhooks of everyone it concerns are sent their events."),
    Endpoint::new("notes/show", Anyone, &NOTE_ID)
        .answers(Answer::Ref("Note"))
        .errors(&[("NO_SUCH_NOTE", 400)])
        .summary("One note."),
    Endpoint::new("notes/delete", User, &NOTE_ID)
        .errors(&[("NO_SUCH_NOTE", 400), ("ACCESS_DENIED", 400)])
        .summary("Delete one of your notes."),
    Endpoint::new("notes/timeline", User, &TIMELINE)
        .answers(Answer::ListOf("Note"))
        .summary("The notes of the caller and the users they follow, newest first."),
    Endpoint::new("notes/reactions", Anyone, &REACTIONS_LIST)
        .answers(Answer::Inline(note_reactions))
        .summary("The reactions to a note (NoteReaction objects), newest first."),
    Endpoint::new("notes/reactions/create", User, &REACTIONS_CREATE)
        .errors(&[
            ("NO_SUCH_NOTE", 400),
            ("ALREADY_REACTED", 400),
            ("CANNOT_REACT_TO_RENOTE", 400),
        ])
        .summary("React to a note; its author's webhooks are sent a `reaction` event."),
    Endpoint::new("notes/reactions/delete", User, &NOTE_ID)
        .errors(&[("NO_SUCH_NOTE", 400), ("NOT_REACTED", 400)])
        .summary("Take back your reaction to a note."),
    Endpoint::new("users/notes", Anyone, &USER_NOTES)
        .answers(Answer::ListOf("Note"))
        .summary("One user's notes, newest first."),
    Endpoint::new("i/webhooks/create", User, &WEBHOOKS_CREATE)
        .answers(Answer::Ref("UserWebhook"))
        .errors(&[("TOO_MANY_WEBHOOKS", 400)])
        .summary("Create a webhook."),
    Endpoint::new("i/webhooks/list", User, &Schema::EMPTY)
        .answers(Answer::ListOf("UserWebhook"))
        .summary("The caller's webhooks."),
    Endpoint::new("i/webhooks/show", User, &WEBHOOK_ID)
        .answers(Answer::Ref("UserWebhook"))
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("One of the caller's webhooks."),
    Endpoint::new("i/webhooks/update", User, &WEBHOOKS_UPDATE)
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("Change a webhook; switching it off cancels its pending retries."),
    Endpoint::new("i/webhooks/delete", User, &WEBHOOK_ID)
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("Delete a webhook."),
    Endpoint::new("i/webhooks/test", Secure, &WEBHOOKS_TEST)
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("Send Misskey's dummy payload of one event type once."),
    Endpoint::new("admin/webhooks/list", Admin, &ADMIN_WEBHOOKS_LIST)
        .answers(Answer::ListOf("UserWebhook"))
        .summary("Every user's webhooks, without secrets."),
    Endpoint::new("admin/webhooks/update", Admin, &ADMIN_WEBHOOKS_UPDATE)
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("Switch any webhook on or off."),
    Endpoint::new("i/webhooks/deliveries", User, &DELIVERIES_LIST)
        .answers(Answer::Inline(delivery_list))
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("A webhook's deliveries, newest first (missive's delivery log)."),
    Endpoint::new("i/webhooks/deliveries/show", User, &DELIVERY_ID)
        .answers(Answer::Inline(delivery_detail))
        .errors(&[("NO_SUCH_DELIVERY", 400)])
        .summary("One delivery with its attempts and the exact body that was sent."),
    Endpoint::new("i/webhooks/redeliver", User, &REDELIVER)
        .answers(Answer::Inline(redelivered))
        .errors(&[("NO_SUCH_DELIVERY", 400), ("NO_SUCH_WEBHOOK", 400)])
        .summary("Send a delivery again, or a webhook's failed ones since a time, with the same eventId."),
    Endpoint::new("admin/webhooks/deliveries", Admin, &DELIVERIES_LIST)
        .answers(Answer::Inline(delivery_list))
        .errors(&[("NO_SUCH_WEBHOOK", 400)])
        .summary("Any webhook's deliveries, newest first."),
    Endpoint::new("admin/webhooks/deliveries/show", Admin, &DELIVERY_ID)
        .answers(Answer::Inline(delivery_detail))
        .errors(&[("NO_SUCH_DELIVERY", 400)])
        .summary("Any delivery with its attempts and the body that was sent."),
    Endpoint::new("admin/webhooks/redeliver", Admin, &REDELIVER)
        .answers(Answer::Inline(redelivered))
        .errors(&[("NO_SUCH_DELIVERY", 400), ("NO_SUCH_WEBHOOK", 400)])
        .summary("Send any delivery again, or a webhook's failed ones since a time."),
];
