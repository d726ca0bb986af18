//! Log output: tracing to stderr, human-readable or one JSON object per line, filtered by
//! `RUST_LOG` (e.g. `RUST_LOG=tributary=debug`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use super::LogFormat;

/// Installs the global subscriber. `default` is the filter used when `RUST_LOG` is unset
/// (`info` for the daemon; quieter for one-shot commands, which print their own lines).
pub fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
