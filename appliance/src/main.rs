//! `appliance`: the on-premise RAG appliance in one binary.
//!
//! This file fixes the model threads, parses arguments, sets up logging and hands over to the
//! library.

use clap::Parser;

/// Re-executes this binary with [`llm::THREADS_VARIABLE`] set, when it is not, to the count
/// candle would find itself ([`llm::product_threads`]), so that candle stops re-reading
/// /proc/cpuinfo before every product. The variable can only be set soundly before any
/// thread exists, with `unsafe`, which this workspace forbids; `exec` keeps the process id,
/// the open files and every argument. Where `exec` fails, the process goes on as it was.
#[cfg(unix)]
fn fix_product_threads() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(llm::THREADS_VARIABLE).is_some() {
        return;
    }
    let Ok(executable) = std::env::current_exe() else {
        return;
    };
    let mut arguments = std::env::args_os();
    let name = arguments.next().unwrap_or_else(|| executable.clone().into_os_string());
    let error = std::process::Command::new(&executable)
        .arg0(name)
        .args(arguments)
        .env(llm::THREADS_VARIABLE, llm::product_threads().to_string())
        .exec();
    eprintln!("warning: could not set {}: {error}", llm::THREADS_VARIABLE);
}

#[cfg(not(unix))]
fn fix_product_threads() {}

fn main() -> std::process::ExitCode {
    fix_product_threads();
    let cli = appliance::cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tantivy=warn,sqlx::postgres::notice=warn".into());
    // `log_format` is also a setting (validated there); logging starts before settings load.
    if std::env::var("APPLIANCE__LOG_FORMAT").is_ok_and(|format| format == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(appliance::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
