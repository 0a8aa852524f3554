//! missive-core: the domain of missive, without IO.
//!
//! Ids, users, notes, follows, webhooks, event types, who receives which event,
//! packing into Misskey's JSON shapes, mention extraction, the retry policy,
//! endpoint health, `Retry-After`, the outbound network policy, rate-limit buckets,
//! reactions, the reaction throttle and what counts as one receiving host live here.
//! Nothing here does IO: no tokio, no SQL, no HTTP. Time is passed in.

pub mod dummy;
pub mod emission;
pub mod envelope;
pub mod event;
pub mod health;
pub mod id;
pub mod mention;
pub mod model;
pub mod net_policy;
pub mod note_rules;
pub mod packed;
pub mod rate_limit;
pub mod reaction;
pub mod receiver;
pub mod redact;
pub mod retry;
pub mod retry_after;
pub mod signing;
pub mod throttle;
pub mod time;
pub mod username;
