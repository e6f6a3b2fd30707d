//! The exit codes of every command, in one place (docs/operations.md, "Exit codes", lists
//! which command uses which).

use std::process::ExitCode;

use idbridge_sync::RunReport;

/// Success: everything converged, nothing to do, or the command did what was asked.
pub const SUCCESS: ExitCode = ExitCode::SUCCESS;
/// Failed: an error (configuration, connection, a source that could not be read), or no
/// target converged.
pub const FAILED: ExitCode = ExitCode::FAILURE;
/// `plan`: changes are pending.
pub const CHANGES_PENDING: u8 = 2;
/// Partly failed: at least one target converged and at least one failed, was refused or
/// could not be reached or read.
pub const PARTLY_FAILED: u8 = 3;
/// Usage error: unknown or malformed arguments (sysexits' `EX_USAGE`; clap's own 2 would
/// read as "changes pending").
pub const USAGE: u8 = 64;

/// The exit code of one of the numbered outcomes above.
pub fn code(n: u8) -> ExitCode {
    ExitCode::from(n)
}

/// Prints a command-line parsing error (or the help or version text it stands for) and
/// returns its exit code: 0 for `--help` and `--version`, [`USAGE`] for everything else
/// (including a bare `idbridge` with no command, which prints the help to stderr).
pub fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // A closed stdout or stderr has nobody to tell; the exit code still says it.
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => SUCCESS,
        _ => code(USAGE),
    }
}

/// The exit code of an apply's report: [`SUCCESS`] when every target converged or the run
/// was stopped on request (SIGINT/SIGTERM) after finishing what was in flight;
/// [`PARTLY_FAILED`] when at least one target converged and another did not; [`FAILED`]
/// when none did.
pub fn of_run(report: &RunReport) -> ExitCode {
    use idbridge_store::RunOutcome;
    match report.outcome {
        RunOutcome::Succeeded | RunOutcome::Stopped => SUCCESS,
        RunOutcome::Failed | RunOutcome::Running | RunOutcome::Interrupted => {
            if report.targets.iter().any(|t| t.converged()) {
                code(PARTLY_FAILED)
            } else {
                FAILED
            }
        }
    }
}
