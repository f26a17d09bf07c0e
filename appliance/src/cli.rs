//! The command line: every subcommand and its flags, and the dispatch to the library.
//!
//! Flags and JSON outputs are a contract: scripts and checks outside the repository run
//! these commands, so add flags and fields, never rename or remove them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Private, on-premise search and question answering over your own documents.
#[derive(Debug, Parser)]
#[command(name = "appliance", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory for everything the appliance writes (database, indexes).
    #[arg(long, global = true, default_value = "data", env = "APPLIANCE_DATA_DIR")]
    data_dir: PathBuf,
    /// Directory holding the model files (shared by several data directories).
    #[arg(long, global = true, default_value = "models", env = "APPLIANCE_MODELS_DIR")]
    models_dir: PathBuf,
    /// Settings file (TOML, `key = value`; see `appliance.example.toml`); environment
    /// variables `APPLIANCE__KEY` override it.
    #[arg(long, global = true, env = "APPLIANCE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI and the HTTP API.
    Serve(ServeArgs),
    /// Parse, chunk, embed and index documents (files or directories).
    Ingest(IngestArgs),
    /// Search the knowledge base (hybrid BM25 + vector search).
    Search(SearchArgs),
    /// Ask a question and get an answer grounded in the documents, with citations.
    Ask(AskArgs),
    /// Measure retrieval or answer quality on an evaluation set.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Check the local model files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Parse one file and print its pages (what ingest would index), without indexing it.
    Parse(ParseArgs),
    /// Write one archive of this appliance (database, vectors, originals, audit key and
    /// checkpoints, settings file; models with --models), also while the server runs.
    Backup(BackupArgs),
    /// Rebuild an appliance from a backup archive into an empty data directory.
    Restore(RestoreArgs),
    /// Measure speed at scale.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Delete audit rows and conversations older than `audit_retention_days` and
    /// `conversation_retention_days` (the server does this every hour); prints one JSON line.
    Purge,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Hybrid search latency over a large index (synthetic vectors, real query embedding);
    /// prints one JSON object.
    Search(crate::bench::SearchBenchArgs),
    /// Many users at once against one node started on loopback, while an editor uploads;
    /// prints one JSON report (errors, latency percentiles, chat queue, peak memory).
    Load(crate::loadtest::LoadArgs),
}

#[derive(Debug, Args)]
struct ParseArgs {
    /// The file, or `-` for standard input.
    path: PathBuf,
    /// File name that decides the format (for standard input).
    #[arg(long)]
    name: Option<String>,
    /// Print the parsed document as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Files or directories to ingest in the background once the server is up.
    #[arg(long, num_args = 1..)]
    ingest: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Files or directories (searched recursively for supported files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Group allowed to read the documents (repeatable); implies not public.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Print one JSON summary on the last line of stdout instead of progress.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// What to look for.
    query: String,
    /// Number of results.
    #[arg(long, short = 'k', default_value_t = 10)]
    k: usize,
    /// Retrieval mode.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Print one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct AskArgs {
    /// The question.
    question: String,
    /// Print one JSON object on the last line of stdout (after the streamed answer).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    Bm25,
    Dense,
    Hybrid,
}

impl From<Mode> for crate::engine::SearchMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Bm25 => crate::engine::SearchMode::Keyword,
            Mode::Dense => crate::engine::SearchMode::Dense,
            Mode::Hybrid => crate::engine::SearchMode::Hybrid,
        }
    }
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Index a corpus in a temporary directory and score retrieval (nDCG, recall, MRR, latency).
    Retrieval(crate::eval::RetrievalArgs),
    /// Index a corpus in a temporary directory, answer its questions and score the answers
    /// (gold answer contained, citation precision, refusals, time to first token).
    Answers(crate::eval::AnswersArgs),
    /// Ingest the demo documents in a temporary directory, ask the trust questions and grade
    /// each answer: right, wrong (contradicted, a wrong fact, or an answer to an unanswerable
    /// question), false refusal, extract or incomplete.
    Trust(crate::eval::TrustArgs),
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Re-check every model file against the manifest (size and sha256).
    Verify,
    /// Derive the fast re-quantised generator from the shipped one (run once at setup).
    Prepare,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; prints a generated password unless --password-stdin is given.
    Add {
        username: String,
        /// admin, editor or employee.
        #[arg(long, default_value = "employee")]
        role: String,
        /// Group the user belongs to (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password (read from standard input) and end their sessions.
    Passwd { username: String },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the hash chain, its seals and the recorded checkpoints: detects an edited,
    /// deleted or rewritten row, and rows cut from the end up to the last checkpoint.
    Verify(AuditVerifyArgs),
    /// Print the chain's head (last row, hash, seal) as one JSON line: keep it apart from the
    /// database and pass it to `audit verify --head` later.
    Head,
}

#[derive(Debug, Args)]
struct AuditVerifyArgs {
    /// Files of heads exported earlier (`audit head` lines), checked besides the server's
    /// checkpoint file.
    #[arg(long = "head")]
    heads: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The archive to write.
    file: PathBuf,
    /// Include the model files (large; they can be fetched again instead).
    #[arg(long)]
    models: bool,
    /// Print one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The archive `appliance backup` wrote.
    file: PathBuf,
    /// Print one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = crate::settings::Settings::load(cli.data_dir, cli.models_dir, cli.config.as_deref())?;
    match cli.command {
        Command::Backup(args) => {
            crate::commands::backup(settings, &args.file, cli.config.as_deref(), args.models, args.json).await
        }
        Command::Restore(args) => crate::commands::restore(settings, &args.file, args.json).await,
        Command::Serve(args) => Ok(crate::http::serve(settings, args.listen, args.ingest).await?),
        Command::Ingest(args) => crate::commands::ingest(settings, &args.paths, args.groups, args.json).await,
        Command::Search(args) => {
            crate::commands::search(settings, &args.query, args.k, args.mode.into(), args.json).await
        }
        Command::Ask(args) => crate::commands::ask(settings, &args.question, args.json).await,
        Command::Eval(EvalCommand::Retrieval(args)) => crate::eval::retrieval(settings, args).await,
        Command::Eval(EvalCommand::Answers(args)) => crate::eval::answers(settings, args).await,
        Command::Eval(EvalCommand::Trust(args)) => crate::eval::trust(settings, args).await,
        Command::Models(ModelsCommand::Verify) => crate::commands::verify_models(&settings),
        Command::Models(ModelsCommand::Prepare) => crate::commands::prepare_models(&settings),
        Command::User(UserCommand::Add {
            username,
            role,
            groups,
            password_stdin,
        }) => crate::commands::user_add(settings, &username, &role, &groups, password_stdin).await,
        Command::User(UserCommand::List) => crate::commands::user_list(settings).await,
        Command::User(UserCommand::Passwd { username }) => crate::commands::user_passwd(settings, &username).await,
        Command::Audit(AuditCommand::Verify(args)) => crate::commands::audit_verify(settings, &args.heads).await,
        Command::Audit(AuditCommand::Head) => crate::commands::audit_head(settings).await,
        Command::Purge => crate::commands::purge(settings).await,
        Command::Bench(BenchCommand::Search(args)) => crate::bench::search(settings, args).await,
        Command::Bench(BenchCommand::Load(args)) => crate::loadtest::run(settings, args).await,
        Command::Parse(args) => crate::isolate::parse_command(&settings, &args.path, args.name.as_deref(), args.json),
    }
}
