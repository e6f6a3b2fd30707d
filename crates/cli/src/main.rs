//! The shipped `idbridge` binary: the command line of the `idbridge` library with the
//! adapters shipped in this repository.

use std::process::ExitCode;

fn main() -> ExitCode {
    idbridge::main()
}
