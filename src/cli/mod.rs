//! The command line (SPEC.md "CLI"): argument parsing and dispatch to one handler per
//! command. Handlers return the exit status; an `Err` is a usage, config or database
//! problem (exit 2), printed as one sentence.

mod check;
mod explain;
mod export;
mod feeds;
mod feeds_file;
mod fetch;
mod logging;
mod migrate_store;
mod stories;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;

/// tributary: merges many news feeds into one, each syndicated story once.
#[derive(Debug, Parser)]
#[command(name = "tributary", version, about, max_term_width = 100)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, env = "TRIBUTARY_CONFIG", default_value = crate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, global = true, env = "TRIBUTARY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people reading a terminal or the journal.
    Text,
    /// For log collectors.
    Json,
}

/// The commands of SPEC.md's CLI table.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: scheduler and HTTP server, until SIGTERM/SIGINT.
    Run,
    /// Poll all (or the named) feeds once now, ignoring the schedule and backoff.
    Fetch {
        /// Feed names or URLs; all enabled feeds when none are given.
        feeds: Vec<String>,
    },
    /// Manage the sources in feeds.toml.
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Write the merged feed to stdout, as the server would serve it.
    Export(ExportArgs),
    /// List recent stories with their copies.
    Stories {
        /// How many stories.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only stories with a copy that matches: words (all of them), "a phrase",
        /// prefix*, -excluded.
        #[arg(long, value_name = "Q")]
        search: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show why one stored article was or was not merged.
    Explain {
        /// The article's URL.
        url: String,
    },
    /// Validate feeds.toml and the database.
    Check,
    /// Copy the SQLite database feeds.toml names into an empty PostgreSQL database.
    MigrateStore {
        /// The PostgreSQL database (postgres://user:password@host/database). Read as text:
        /// clap's own message for a bad value would repeat it, password and all.
        #[arg(long)]
        to: String,
    },
}

/// `feeds ...`.
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Check a feed (following an HTML page to the feed it advertises) and add it.
    Add(AddArgs),
    /// Remove a feed from feeds.toml (its stored articles stay until retention).
    Remove {
        /// Name or URL.
        feed: String,
    },
    /// List feeds with their fetch state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add the feeds of an OPML file; folders become tags.
    Import {
        /// The OPML file.
        file: PathBuf,
    },
    /// Write all feeds as OPML 2.0 to stdout.
    Export,
    /// Poll a feed again after it answered 410 Gone.
    Enable {
        /// Name or URL.
        feed: String,
    },
}

/// `feeds add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The feed's URL, or a web page that advertises one.
    pub url: String,
    /// Name to show; defaults to the feed's title.
    #[arg(long)]
    pub name: Option<String>,
    /// A tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A cron schedule for this feed.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Add without fetching the URL first.
    #[arg(long)]
    pub no_check: bool,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Document format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Atom)]
    pub format: ExportFormat,
    /// Only stories with a copy from a feed with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only stories with a copy from this feed (name or URL).
    #[arg(long)]
    pub feed: Option<String>,
    /// How many stories.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// Formats of the merged feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Atom 1.0.
    Atom,
    /// RSS 2.0.
    Rss,
    /// JSON Feed 1.1.
    Json,
}

/// Parses the arguments, runs the command, and maps failures to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "error"
    };
    logging::init(cli.log_format, quiet);
    if prints_a_listing(&cli.command) {
        crate::platform::die_quietly_on_a_closed_pipe();
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tributary: {}", one_sentence(&e));
            ExitCode::from(2)
        }
    }
}

/// The commands that print a listing and touch no network: piped into `head`, they should
/// stop quietly as `ls` does when the reader goes away.
fn prints_a_listing(command: &Command) -> bool {
    matches!(
        command,
        Command::Stories { .. }
            | Command::Export(_)
            | Command::Explain { .. }
            | Command::Feeds(FeedsCommand::List { .. } | FeedsCommand::Export)
    )
}

/// An error chain as one line: "what failed: why".
fn one_sentence(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Feeds(cmd) => feeds::run(&cli.config, cmd),
        Command::Check => check::run(&cli.config),
        Command::Export(args) => export::run(&cli.config, args),
        Command::Run => crate::daemon::run(&cli.config),
        Command::Fetch { feeds } => fetch::run(&cli.config, feeds),
        Command::Stories {
            limit,
            search,
            json,
        } => stories::run(&cli.config, *limit, search.as_deref(), *json),
        Command::Explain { url } => explain::run(&cli.config, url),
        Command::MigrateStore { to } => migrate_store::run(&cli.config, to),
    }
}

/// Loads the config, as every command but `feeds add` on a missing file needs it.
pub(crate) fn load_config(path: &std::path::Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// Opens the database the config names.
pub(crate) fn open_store(config: &Config) -> Result<crate::store::Store> {
    Ok(crate::store::Store::open_location(
        &config.storage.location(),
    )?)
}
