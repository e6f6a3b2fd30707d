//! The `idbridge` command with Acme's portal adapter next to the shipped ones.

fn main() -> std::process::ExitCode {
    acme_portal::link();
    idbridge::main()
}
