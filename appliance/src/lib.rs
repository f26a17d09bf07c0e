//! The appliance's core as a library: the engine that ingests and answers, the store that
//! owns every SQL statement, the HTTP layer and the command line. The binary (`main.rs`)
//! only parses arguments and calls [`cli::run`].

pub mod acl;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod embed_cache;
pub mod endpoints;
pub mod engine;
pub mod error;
pub mod eval;
pub mod http;
pub mod isolate;
pub mod loadtest;
pub mod metrics;
pub mod models;
pub mod retention;
pub mod settings;
pub mod store;
pub mod throttle;

pub use error::{Error, Result};
