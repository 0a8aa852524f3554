//! missive's integration tests: one binary that starts real servers on loopback.

mod api_conventions;
mod support;
