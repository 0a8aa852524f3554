#!/usr/bin/env bash
# Runs every test of missive: the Rust unit, storage and integration tests, then the
# JavaScript tests that drive a real server with misskey-js and headless Chromium.
#
# PostgreSQL tests run when MISSIVE_TEST_DATABASE_URL is set (.ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

(cd tests/js && npm ci --no-audit --no-fund --silent)
npm --prefix tests/js run --silent typecheck
cargo build --bin missive
cargo test --workspace
MISSIVE_BIN="$PWD/target/debug/missive" npm --prefix tests/js test
