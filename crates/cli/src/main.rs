//! The shipped `idbridge` binary: the command line of the `idbridge` library with the
//! adapters shipped in this repository.

use std::process::ExitCode;

/// The allocator of the shipped binary. The reads of a large run convert millions of
/// records on several threads at once; the C library's allocator keeps an arena per
/// thread and returns little of them: a steady `plan` of a million users peaked 25 % higher
/// with it and took a fifth more processor time (docs/performance.md).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    idbridge::main()
}
