//! The missive server: configuration, the Misskey-compatible API, the delivery workers
//! and the wiring between them. `main.rs` is a thin command line over this library.

pub mod api;
pub mod app;
pub mod config;
pub mod ctx;
mod fanout;
mod health;
mod identicon;
pub mod metrics;
pub mod passwords;
pub mod rate_limit;
pub mod ui;
mod view;
pub mod worker;
