#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test with the real
# models (fetched and verified first). Model-heavy tests run one at a time (nextest group).
# The store suite runs against SQLite and a throwaway PostgreSQL cluster on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh "${APPLIANCE_MODELS_DIR:-models}"
cargo fmt --all -- --check
cargo clippy -j2 --workspace --all-targets -- -D warnings
cargo build -j2 --workspace --all-targets
"${CARGO_TARGET_DIR:-target}"/debug/appliance --models-dir "${APPLIANCE_MODELS_DIR:-models}" models prepare
read -r postgres_url postgres_dir < <(scripts/throwaway-postgres.sh)
trap 'scripts/throwaway-postgres.sh stop "$postgres_dir"' EXIT
export APPLIANCE_TEST_POSTGRES_URL=$postgres_url APPLIANCE_REQUIRE_POSTGRES=1
cargo nextest run -j2 --workspace --no-fail-fast
