//! `idbridge-bench`: measures idbridge and prints the figures (it asserts nothing about
//! time). Build it optimised: `cargo run --release -p idbridge-bench -- <benchmark>`.
//! docs/performance.md lists every figure with the command that produced it.

mod child;
mod data;
mod e2e;
mod emulated;
mod growth;
mod large_group;
mod ldap;
mod noop;
mod planning;
mod provision;
mod rss;
mod scim_peer;
mod serve_latency;

use std::process::ExitCode;
use std::time::Duration;

/// The shipped binary's allocator (`idbridge::Allocator`): in-process memory and time
/// figures are then those of the program users run.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};
use idbridge_core::Result;

use crate::data::Shape;
use crate::planning::Scenario;

/// idbridge benchmarks. Each prints its figures; none asserts anything about time.
#[derive(Debug, Parser)]
#[command(name = "idbridge-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn parse_count(text: &str) -> std::result::Result<usize, String> {
    match parse_list(text)?.as_slice() {
        [n] => Ok(*n),
        _ => Err(format!("`{text}` is not one count")),
    }
}

fn parse_list(text: &str) -> std::result::Result<Vec<usize>, String> {
    text.split(',')
        .map(|s| {
            let s = s.trim().replace('_', "");
            let (num, mult) = match s.strip_suffix(['k', 'K']) {
                Some(n) => (n.to_string(), 1_000),
                None => match s.strip_suffix(['m', 'M']) {
                    Some(n) => (n.to_string(), 1_000_000),
                    None => (s.clone(), 1),
                },
            };
            num.parse::<usize>()
                .map(|n| n * mult)
                .map_err(|_| format!("`{s}` is not a count (such as 10000, 100k or 1m)"))
        })
        .collect()
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark 1: planning cost at 10k, 100k and 1M users against in-memory targets (one
    /// per shipped emulator): time, peak resident memory (each size in a fresh process),
    /// growth ratios.
    Plan {
        /// Source user counts (`10k,100k,1m`).
        #[arg(long, value_parser = parse_list, default_value = "10k,100k,1m")]
        sizes: std::vec::Vec<usize>,
        /// Groups.
        #[arg(long, default_value_t = 2000)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// The targets' current state: already in sync (`steady`, the nightly run),
        /// empty (`initial`), or both.
        #[arg(long, value_enum)]
        scenario: Option<Scenario>,
        /// Plan only the first N targets of the list printed (default: all of them).
        #[arg(long)]
        targets: Option<usize>,
    },
    /// End to end: the real `idbridge` commands (`plan` in the initial and steady cases
    /// with text, `--json` and `--out`; `apply` of the saved plan; `users list --json`),
    /// each a child process on generated files: wall time, peak memory, stage shares,
    /// growth per x10 users, and a Markdown table of the figures.
    E2e {
        /// Source user counts (`10k,100k,1m`).
        #[arg(long, value_parser = parse_list, default_value = "10k,100k,1m")]
        sizes: std::vec::Vec<usize>,
        /// Groups.
        #[arg(long, default_value_t = 2000)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// The `idbridge` program (default: `idbridge` next to this program, such as
        /// target/release/idbridge).
        #[arg(long)]
        idbridge: Option<std::path::PathBuf>,
        /// Where the generated files go (default: a temporary directory, removed after).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// A command still running after this many seconds is stopped and reported so.
        #[arg(long, default_value_t = 1800)]
        timeout: u64,
        /// A command whose resident memory passes this many MiB is stopped and reported
        /// so (keeps a shared machine usable).
        #[arg(long, default_value_t = 8192.0)]
        max_rss_mib: f64,
        /// Run `apply` only up to this many users (it writes the whole target file per
        /// batch of operations).
        #[arg(long, value_parser = parse_count, default_value = "1m")]
        apply_up_to: usize,
    },
    /// One planning measurement in this process (what `plan` runs per size).
    #[command(hide = true)]
    PlanChild {
        #[arg(long)]
        users: usize,
        #[arg(long)]
        groups: usize,
        #[arg(long)]
        per_user: usize,
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[arg(long)]
        targets: Option<usize>,
    },
    /// Benchmarks 2 and 3: initial provisioning into every shipped emulator at once with
    /// latency, then the no-op re-sync of the same source.
    Provision {
        /// Users (scaled by --scale).
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Groups (scaled by --scale).
        #[arg(long, default_value_t = 500)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Latency each emulator adds to every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// Operations in flight per target.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Multiplies users and groups (0.1 = a tenth).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// The no-op run at scale: every shipped emulator seeded with the same people as the
    /// source, a first sync that links them, then the measured one: writes (should be 0),
    /// reads against the listing pages, wall time and peak memory.
    Noop {
        /// Users (`1m`, `100k`, ...).
        #[arg(long, value_parser = parse_count, default_value = "1m")]
        users: usize,
        /// Groups.
        #[arg(long, default_value_t = 2000)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Latency each emulator adds to every request, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Operations in flight per target.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Only the emulator of this vendor (repeatable; default: every one). Four
        /// emulators holding a million users each need more memory than one at a time.
        #[arg(long = "target")]
        targets: Vec<String>,
        /// An adapter key for one vendor's target, as `VENDOR.KEY=VALUE` (repeatable), such
        /// as `strategy.list_details_concurrency=32`; the value is read as JSON when it is.
        #[arg(long = "set")]
        settings: Vec<emulated::AdapterSetting>,
    },
    /// Initial provisioning into scim2-server (started from the Python environment on a
    /// free loopback port) through the `scim` adapter, every write on its own and then
    /// with `/Bulk`: requests against the minimum, wall time against the bound.
    ScimPeer {
        /// Users.
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Groups.
        #[arg(long, default_value_t = 500)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Operations in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// The Python interpreter with scim2-server installed. Default: `IDBRIDGE_PYTHON`,
        /// else `python3`.
        #[arg(long)]
        python: Option<std::path::PathBuf>,
        /// User creates, one after another, that measure the round trip.
        #[arg(long, default_value_t = 200)]
        probes: usize,
    },
    /// Benchmark 4: one member added to a large group: write count and plan time per
    /// group size.
    LargeGroup {
        /// Users in the directory (the group holds some of them).
        #[arg(long, default_value_t = 50_000)]
        users: usize,
        /// Group sizes.
        #[arg(long, value_parser = parse_list, default_value = "5k,50k")]
        sizes: std::vec::Vec<usize>,
        /// Latency each emulator adds to every request, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Operations in flight per target.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Benchmark 5: the provisioning at concurrency 1 (one request after another) and at
    /// `--concurrency`, each into fresh emulators, with the speed-up.
    Compare {
        /// Users (scaled by --scale).
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Groups (scaled by --scale).
        #[arg(long, default_value_t = 500)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Latency each emulator adds to every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// The concurrency compared with 1.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Multiplies users and groups; at 1.0 the concurrency-1 run takes over an hour.
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
    },
    /// `idbridge serve`: the latency from the SCIM answer of a deactivation to the last
    /// write on every shipped emulator, over rounds, with the debounce it includes.
    ServeLatency {
        /// People provisioned over SCIM before the rounds.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Rounds: one deactivation each.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// The `[serve]` debounce in seconds (the shipped default is 3).
        #[arg(long, default_value_t = 3.0)]
        debounce_secs: f64,
        /// Latency each emulator adds to every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// The `idbridge` program (default: `idbridge` next to this program).
        #[arg(long)]
        idbridge: Option<std::path::PathBuf>,
    },
    /// An LDAP directory as the source: a private slapd loaded with slapadd, read through
    /// the ldap adapter, and a first sync planned into in-memory targets.
    Ldap {
        /// Users.
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Groups.
        #[arg(long, default_value_t = 2000)]
        groups: usize,
        /// Direct memberships per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Entries per page of the paged searches.
        #[arg(long, default_value_t = 1000)]
        page_size: usize,
    },
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn run(cli: Cli) -> Result<()> {
    let rt = || {
        runtime().map_err(|e| {
            idbridge_core::Error::unavailable(format!("cannot start the async runtime: {e}"))
        })
    };
    match cli.command {
        Command::Plan {
            sizes,
            groups,
            per_user,
            scenario,
            targets,
        } => {
            let scenarios = match scenario {
                Some(s) => vec![s],
                None => vec![Scenario::Steady, Scenario::Initial],
            };
            planning::run(&sizes, groups, per_user, &scenarios, targets)
        }
        Command::E2e {
            sizes,
            groups,
            per_user,
            idbridge,
            dir,
            timeout,
            max_rss_mib,
            apply_up_to,
        } => {
            let idbridge = idbridge_program(idbridge)?;
            e2e::run(&e2e::Options {
                sizes,
                groups,
                per_user,
                idbridge,
                dir,
                limits: child::Limits {
                    time: Duration::from_secs(timeout),
                    rss_mib: max_rss_mib,
                },
                apply_up_to,
            })
        }
        Command::PlanChild {
            users,
            groups,
            per_user,
            scenario,
            targets,
        } => {
            let shape = Shape {
                users,
                groups,
                per_user,
            };
            let m = planning::measure(shape, scenario, targets)?;
            println!("{}", serde_json::to_string(&m).unwrap_or_default());
            Ok(())
        }
        Command::Provision {
            users,
            groups,
            per_user,
            latency_ms,
            concurrency,
            scale,
        } => {
            let shape = provision::scaled(users, groups, per_user, scale);
            rt()?.block_on(provision::provision(
                shape,
                Duration::from_millis(latency_ms),
                concurrency,
            ))
        }
        Command::Noop {
            users,
            groups,
            per_user,
            latency_ms,
            concurrency,
            targets,
            settings,
        } => {
            let shape = Shape {
                users,
                groups,
                per_user,
            };
            rt()?.block_on(noop::noop(
                shape,
                Duration::from_millis(latency_ms),
                concurrency,
                &targets,
                &settings,
            ))
        }
        Command::ScimPeer {
            users,
            groups,
            per_user,
            concurrency,
            python,
            probes,
        } => rt()?.block_on(scim_peer::run(
            Shape {
                users,
                groups,
                per_user,
            },
            concurrency,
            python,
            probes,
        )),
        Command::LargeGroup {
            users,
            sizes,
            latency_ms,
            concurrency,
        } => rt()?.block_on(large_group::run(
            users,
            &sizes,
            Duration::from_millis(latency_ms),
            concurrency,
        )),
        Command::Compare {
            users,
            groups,
            per_user,
            latency_ms,
            concurrency,
            scale,
        } => {
            let shape = provision::scaled(users, groups, per_user, scale);
            rt()?.block_on(provision::compare(
                shape,
                Duration::from_millis(latency_ms),
                concurrency,
            ))
        }
        Command::ServeLatency {
            users,
            rounds,
            debounce_secs,
            latency_ms,
            idbridge,
        } => {
            let options = serve_latency::Options {
                users,
                rounds,
                debounce_secs,
                latency: Duration::from_millis(latency_ms),
                idbridge: idbridge_program(idbridge)?,
            };
            rt()?.block_on(serve_latency::run(&options))
        }
        Command::Ldap {
            users,
            groups,
            per_user,
            page_size,
        } => {
            let shape = Shape {
                users,
                groups,
                per_user,
            };
            rt()?.block_on(ldap::run(shape, page_size))
        }
    }
}

/// `--idbridge`, else `idbridge` next to this program (such as target/release/idbridge).
fn idbridge_program(given: Option<std::path::PathBuf>) -> Result<std::path::PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => Ok(std::env::current_exe()
            .map_err(|e| {
                idbridge_core::Error::unavailable(format!("cannot find this program: {e}"))
            })?
            .with_file_name("idbridge")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
