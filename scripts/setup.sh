#!/usr/bin/env bash
# Everything a fresh Debian 12 machine with Rust needs: system packages, verified models,
# the build, and the fast re-quantised generator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh "${APPLIANCE_MODELS_DIR:-models}"
cargo build -j2 --workspace --all-targets
target/debug/appliance --models-dir "${APPLIANCE_MODELS_DIR:-models}" models prepare
target/debug/appliance --models-dir "${APPLIANCE_MODELS_DIR:-models}" models verify
