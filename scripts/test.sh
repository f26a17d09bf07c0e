#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test with the real
# models (fetched and verified first). Model-heavy tests run one at a time (nextest group).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh "${APPLIANCE_MODELS_DIR:-models}"
cargo fmt --all -- --check
cargo clippy -j2 --workspace --all-targets -- -D warnings
cargo build -j2 --workspace --all-targets
"${CARGO_TARGET_DIR:-target}"/debug/appliance --models-dir "${APPLIANCE_MODELS_DIR:-models}" models prepare
cargo nextest run -j2 --workspace --no-fail-fast
