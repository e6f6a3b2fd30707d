//! The `idbridge` command, as a library: [`main`] is the whole command line.
//!
//! The shipped `idbridge` binary is one call to [`main`]. A program that adds its own
//! adapters (built outside this repository) is the same call, after referencing each of
//! its adapter crates so that the linker keeps their registrations:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: idbridge::Allocator = idbridge::Allocator;
//!
//! fn main() -> std::process::ExitCode {
//!     acme_portal::link(); // one line per adapter crate of the program's own
//!     idbridge::main()
//! }
//! ```
//!
//! The adapters shipped with idbridge are always linked; `idbridge adapters` lists them
//! next to the program's own. `examples/out-of-tree` is such a program, and
//! docs/writing-an-adapter.md walks through it.
//!
//! Subcommands live one per module under `commands/`; this file only parses arguments,
//! sets up logging and maps results to exit codes. Every command exits with one of
//! `exit`'s codes: 0 success (converged, nothing to do), 1 failed, 2 changes pending
//! (`plan`), 3 partly failed (`apply`, `sync`, `offboard`, `plan`: some targets done, some
//! failed or unreachable), 64 usage error. docs/operations.md lists them per command.

/// The allocator the shipped binary declares as its global allocator, for programs that
/// run [`main`] too: jemalloc with the `jemalloc` feature (on by default; not on MSVC),
/// the system allocator otherwise. With reads on several threads, the C library's
/// allocator held about a quarter more memory at the peak of a million-user `plan`
/// (docs/performance.md). How quickly jemalloc gives freed memory back is set when it is
/// built: this repository's `.cargo/config.toml` sets one second (the default is ten),
/// which a program built elsewhere sets the same way or with `_RJEM_MALLOC_CONF`.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
pub use tikv_jemallocator::Jemalloc as Allocator;

/// The allocator the shipped binary declares as its global allocator: the system
/// allocator, as this build has no `jemalloc` feature (or targets MSVC).
#[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
pub use std::alloc::System as Allocator;

mod alerts;
mod commands;
mod exit;
mod metrics;
mod output;
mod shipped;
mod timing;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Keeps users, groups, roles and sessions consistent across business platforms.
#[derive(Debug, Parser)]
#[command(
    name = "idbridge",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success (converged, nothing to do, stopped on request); 1 failed; \
                  2 changes pending (plan); 3 partly failed (some targets converged, others \
                  failed or could not be reached); 64 usage error."
)]
struct Cli {
    /// Log line format on stderr. Filter with RUST_LOG (default: warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the registered adapters and their capabilities.
    Adapters(commands::adapters::Args),
    /// Validate a configuration, connect to every system and show its capabilities.
    Check(commands::check::Args),
    /// Inspect users of a configured system.
    #[command(subcommand)]
    Users(commands::inspect::UsersCommand),
    /// Inspect groups of a configured system.
    #[command(subcommand)]
    Groups(commands::inspect::GroupsCommand),
    /// Inspect sessions of a configured system.
    #[command(subcommand)]
    Sessions(commands::inspect::SessionsCommand),
    /// Run a vendor emulator on loopback until interrupted.
    Emulate(commands::emulate::Args),
    /// Show what a sync would change (exit 0: nothing, 2: changes, 3: a target could not be
    /// read, 1: error).
    Plan(commands::plan::Args),
    /// Apply a saved plan exactly, or plan, confirm and apply.
    Apply(commands::apply::Args),
    /// Approve a saved plan made by another user (for `require_approval = true`).
    Approve(commands::approve::Args),
    /// Plan, guard and apply without asking, once or on an interval.
    Sync(commands::sync::Args),
    /// Serve SCIM 2.0 to identity providers and fan out what they send to every target.
    Serve(commands::serve::Args),
    /// Disable one person everywhere and revoke their sessions.
    Offboard(commands::offboard::Args),
    /// Show what runs changed.
    Journal(commands::journal::Args),
    /// Manage the state: copy a SQLite state file into PostgreSQL.
    #[command(subcommand)]
    State(commands::state::StateCommand),
    /// The whole story against in-process emulators, in seconds, with no configuration.
    Demo(commands::demo::Args),
}

fn init_logging(format: LogFormat) {
    use tracing::Level;
    use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, fmt};

    let wanted = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Transport crates log protocol frames at trace level, and the cookie store logs every
    // cookie it keeps (`inserting Set-Cookie 'JSESSIONID=...'`) at debug level. They are
    // capped at info whatever RUST_LOG says, so that no header or cookie (which may carry
    // a credential or a live session) is ever logged; idbridge's own `http` spans already
    // say which request went where. Behind the caps, every line is cleaned of every known
    // secret value on its way out (`output::LogWriter`).
    let ceiling = Targets::new()
        .with_default(Level::TRACE)
        .with_target("h2", Level::INFO)
        .with_target("hyper", Level::INFO)
        .with_target("hyper_util", Level::INFO)
        .with_target("rustls", Level::INFO)
        .with_target("reqwest", Level::INFO)
        .with_target("cookie_store", Level::INFO)
        .with_target("cookie", Level::INFO);
    let filter = wanted.and(ceiling);
    // Colour codes only help a person at a terminal; in a file or a pipe they are noise
    // (and NO_COLOR, https://no-color.org, turns them off there too).
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let installed = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(output::LogWriter)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .json()
                    .with_ansi(false)
                    .with_writer(output::LogWriter)
                    .with_filter(filter),
            )
            .try_init(),
    };
    if let Err(e) = installed {
        output::errln!("warning: logging not set up: {e}");
    }
}

/// Runs the `idbridge` command line: parses the process arguments, sets up logging, runs
/// the subcommand on a multi-threaded tokio runtime and returns its exit code.
///
/// Errors are printed to stderr and become exit code 1 (64 for a usage error); nothing
/// panics on bad input. Adapters are found in the registry, so every adapter crate linked
/// into the calling binary (see the crate documentation) is available by name.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(&e),
    };
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::errln!("error: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Adapters(args) => commands::adapters::run(args),
            Command::Check(args) => commands::check::run(args).await,
            Command::Users(cmd) => commands::inspect::users(cmd).await,
            Command::Groups(cmd) => commands::inspect::groups(cmd).await,
            Command::Sessions(cmd) => commands::inspect::sessions(cmd).await,
            Command::Emulate(args) => commands::emulate::run(args).await,
            Command::Plan(args) => commands::plan::run(args).await,
            Command::Apply(args) => commands::apply::run(args).await,
            Command::Approve(args) => commands::approve::run(args).await,
            Command::Sync(args) => commands::sync::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Offboard(args) => commands::offboard::run(args).await,
            Command::Journal(args) => commands::journal::run(args).await,
            Command::State(cmd) => commands::state::run(cmd).await,
            Command::Demo(args) => commands::demo::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            output::errln!("error: {e}");
            exit::FAILED
        }
    }
}
