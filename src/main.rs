//! The `tributary` binary: everything happens in [`tributary::cli`].

fn main() -> std::process::ExitCode {
    tributary::dedup::keep_large_allocations_mapped();
    tributary::cli::main()
}
