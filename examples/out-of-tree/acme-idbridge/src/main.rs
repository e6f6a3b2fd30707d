//! The `idbridge` command with Acme's portal adapter next to the shipped ones.

/// The shipped binary's allocator, so that this program holds what the shipped one holds.
#[global_allocator]
static ALLOCATOR: idbridge::Allocator = idbridge::Allocator;

fn main() -> std::process::ExitCode {
    acme_portal::link();
    idbridge::main()
}
