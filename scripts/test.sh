#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test with the real
# models (fetched and verified first). Model-heavy tests run one at a time (nextest group).
# The store suite runs against SQLite and a throwaway PostgreSQL cluster on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh "${APPLIANCE_MODELS_DIR:-models}"
cargo fmt --all -- --check
# The workspace denies `unsafe`; one module, the 8-bit kernel, allows it, and no other may.
unsafe_files=$(grep -rl --include='*.rs' 'allow(unsafe_code)' appliance ingest retrieval llm web tests || true)
if [ "$unsafe_files" != "llm/src/tiles.rs" ]; then
    echo "only llm/src/tiles.rs may allow unsafe code; found: ${unsafe_files:-none}" >&2
    exit 1
fi
# Lints and build in one pass: clippy's driver compiles the workspace's own crates, as
# `cargo clippy -- -D warnings` does, but building them instead of only checking, so the
# dependencies are compiled once instead of once for the lints and again for the tests.
# Exported so that nextest finds the same build and does not redo it.
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
cargo build -j2 --workspace --all-targets
"${CARGO_TARGET_DIR:-target}"/debug/appliance --models-dir "${APPLIANCE_MODELS_DIR:-models}" models prepare
read -r postgres_url postgres_dir < <(scripts/throwaway-postgres.sh)
trap 'scripts/throwaway-postgres.sh stop "$postgres_dir"' EXIT
export APPLIANCE_TEST_POSTGRES_URL=$postgres_url APPLIANCE_REQUIRE_POSTGRES=1
cargo nextest run -j2 --workspace --no-fail-fast
