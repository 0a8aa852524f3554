#!/usr/bin/env bash
# Runs every test of missive: the Rust unit, storage and integration tests, then the
# JavaScript tests that drive a real server with misskey-js and headless Chromium.
#
# PostgreSQL tests run when MISSIVE_TEST_DATABASE_URL is set (.ci/run sets it).
# The Rust tests run under cargo-nextest when it is installed (settings in
# .config/nextest.toml), under `cargo test` otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

(cd tests/js && npm ci --no-audit --no-fund --silent --prefer-offline)
npm --prefix tests/js run --silent --if-present typecheck

# The integration tests build the `missive` binary with the test build's features, and
# the JavaScript tests run that same binary: one build for both. It is removed first so
# that the JavaScript tests can only ever run what this build made.
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))')
bin="$target_dir/debug/missive"
rm -f "$bin"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace
else
  cargo test --workspace
fi
[ -x "$bin" ] || { echo "the test build did not make $bin" >&2; exit 1; }
MISSIVE_BIN="$bin" npm --prefix tests/js test
