//! The `tributary` binary: everything happens in [`tributary::cli`].

#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    tributary::platform::keep_large_allocations_mapped();
    tributary::cli::main()
}
