//! The shipped `idbridge` binary: the command line of the `idbridge` library with the
//! adapters shipped in this repository.

use std::process::ExitCode;

/// The allocator of the shipped binary (see [`idbridge::Allocator`]).
#[global_allocator]
static ALLOCATOR: idbridge::Allocator = idbridge::Allocator;

fn main() -> ExitCode {
    idbridge::main()
}
