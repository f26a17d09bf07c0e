//! Integration tests of the `llm` crate against the real model files.
//!
//! The models directory is `$APPLIANCE_MODELS_DIR`, else `models/` at the workspace root;
//! `scripts/fetch-models.sh` fills it.

mod e5_parity;
mod generation;

use std::path::PathBuf;

pub fn models_dir() -> PathBuf {
    match std::env::var_os("APPLIANCE_MODELS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"),
    }
}
