//! `idbridge state migrate`: copy a SQLite state file into a tenant of a PostgreSQL state.

use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::config::{DEFAULT_TENANT, check_tenant, is_postgres_state, postgres_locator};
use idbridge_core::{Error, Result, Secret};
use idbridge_store::Store;

use crate::output::outln;

/// `idbridge state ...`.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Copy a SQLite state file (links, journal, runs, holds, the plan key) into a tenant of
    /// a PostgreSQL state, in one transaction. Stop every run on the file first.
    Migrate(MigrateArgs),
}

/// Arguments of `idbridge state migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The SQLite state file to copy (left unchanged).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The PostgreSQL state: `postgres://user@host:port/db` (no password in it).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The tenant to copy into (the `tenant` of the configuration that will use it).
    #[arg(long, default_value = DEFAULT_TENANT)]
    tenant: String,
    /// A file holding the database password (else `PGPASSWORD`).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Delete the tenant's state in the destination first, when it has some (refused
    /// otherwise).
    #[arg(long)]
    replace: bool,
    /// Print what was copied as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `idbridge state ...`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] for a bad URL, tenant or password file;
/// [`idbridge_core::ErrorKind::NotFound`] when the source file does not exist;
/// [`idbridge_core::ErrorKind::Conflict`] when the tenant already has state and
/// `--replace` was not given; whatever the store returns.
pub async fn run(cmd: StateCommand) -> Result<ExitCode> {
    let StateCommand::Migrate(args) = cmd;
    // Opening and copying block on files and the database: off the async workers.
    tokio::task::spawn_blocking(move || migrate(&args))
        .await
        .map_err(|e| Error::unavailable(format!("the copy stopped: {e}")))?
}

fn migrate(args: &MigrateArgs) -> Result<ExitCode> {
    if !args.from.is_file() {
        return Err(Error::not_found(format!(
            "no state file at `{}`",
            args.from.display()
        )));
    }
    check_tenant(&args.tenant).map_err(Error::config)?;
    if !is_postgres_state(std::path::Path::new(&args.to)) {
        return Err(Error::config(format!(
            "--to `{}` is not a PostgreSQL URL (postgres://user@host:port/db)",
            args.to
        )));
    }
    let locator = postgres_locator(&args.to, &args.tenant)
        .map_err(|e| Error::config(format!("--to: {e}")))?;
    let password = match &args.password_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::config(format!("password file `{}`: {e}", file.display())))?;
            Some(Secret::configured(text.trim_end_matches(['\r', '\n'])))
        }
        None => None,
    };
    let source = Store::open(&args.from)?;
    let dest = Store::open_postgres(&locator, password)?;
    let counts = source.copy_into(&dest, args.replace)?;
    if args.json {
        crate::output::json(&counts);
    } else {
        outln!(
            "copied {} links, {} runs, {} journal rows and {} holds{} from {} into tenant `{}` of {}",
            counts.links,
            counts.runs,
            counts.journal,
            counts.holds,
            if counts.plan_key {
                " and the plan key"
            } else {
                ""
            },
            args.from.display(),
            args.tenant,
            args.to
        );
    }
    Ok(ExitCode::SUCCESS)
}
