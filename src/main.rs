//! The `tributary` binary: everything happens in [`tributary::cli`].

fn main() -> std::process::ExitCode {
    tributary::cli::main()
}
