-- One schema for SQLite and PostgreSQL: only portable SQL is used.
-- The whole schema of missive. Booleans are 0/1 integers and times are Unix epoch
-- milliseconds, so that the SQLite and PostgreSQL schemas read the same way.

CREATE TABLE instance (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    name TEXT,
    password_hash TEXT NOT NULL,
    token TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    is_admin BIGINT NOT NULL DEFAULT 0,
    followers_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    notes_count BIGINT NOT NULL DEFAULT 0,
    last_active_at BIGINT,
    logged_in_days BIGINT NOT NULL DEFAULT 0,
    last_logged_in_day BIGINT
);

CREATE TABLE follows (
    follower_id TEXT NOT NULL,
    followee_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_by_followee ON follows (followee_id, follower_id);

CREATE TABLE notes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT,
    cw TEXT,
    visibility TEXT NOT NULL,
    local_only BIGINT NOT NULL DEFAULT 0,
    reaction_acceptance TEXT,
    reply_id TEXT,
    renote_id TEXT,
    reply_user_id TEXT,
    renote_user_id TEXT,
    mentions TEXT NOT NULL DEFAULT '',
    visible_user_ids TEXT NOT NULL DEFAULT '',
    replies_count BIGINT NOT NULL DEFAULT 0,
    renote_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notes_by_user ON notes (user_id, id);
CREATE INDEX notes_by_reply ON notes (reply_id);
CREATE INDEX notes_by_renote ON notes (renote_id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    events TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    latest_sent_at BIGINT,
    latest_status BIGINT
);
CREATE INDEX webhooks_by_user ON webhooks (user_id);

-- A packed event body, serialized once and shared by every delivery of it.
CREATE TABLE payloads (
    id TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
);

-- The delivery queue. A pending row (state 0) is due at `due_at`; claiming it moves
-- `due_at` to the end of the lease, so an expired lease makes it due again.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    payload_id TEXT NOT NULL,
    state BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    lease_token TEXT,
    last_status BIGINT,
    finished_at BIGINT
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 0;
CREATE INDEX deliveries_pending_by_webhook ON deliveries (webhook_id) WHERE state = 0;
