//! missive's integration tests: one binary that starts real servers on loopback.

mod accounts;
mod api_conventions;
mod cli;
mod cluster;
mod crash;
mod delivery;
mod delivery_log;
mod emission;
mod errors;
mod fairness;
mod following;
mod fuzz;
mod hardening;
mod health;
mod notes;
mod reactions;
mod retries;
mod ssrf;
mod statements;
mod support;
mod surface;
mod users;
mod webhooks_api;
