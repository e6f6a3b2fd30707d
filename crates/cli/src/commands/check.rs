//! `idbridge check`: validate the configuration and connect to every system.

use crate::output::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::Result;

/// Arguments of `idbridge check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
}

/// Builds every system, checks its connection, prints its capabilities. Exit code 1 when
/// any system fails.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let mut failed = 0;
    let mut systems = 0;
    for section in config.systems() {
        systems += 1;
        let label = format!("{} ({})", section.name, section.adapter);
        let handle = match super::connect(&config, section).await {
            Ok(h) => h,
            Err(e) => {
                failed += 1;
                outln!("{label}: FAILED to build: {e}");
                continue;
            }
        };
        match handle.check().await {
            Ok(()) => {
                outln!("{label}: ok");
                let ops: Vec<&str> = handle
                    .capabilities()
                    .supported()
                    .iter()
                    .map(|o| o.as_str())
                    .collect();
                outln!("  supports: {}", ops.join(", "));
            }
            Err(e) => {
                failed += 1;
                outln!("{label}: FAILED: {e}");
            }
        }
        if let Err(e) = handle.close().await {
            tracing::warn!(system = %section.name, error = %e, "closing the connection failed");
        }
    }
    if failed > 0 {
        outln!("{failed} of {systems} system(s) failed");
        Ok(ExitCode::FAILURE)
    } else {
        outln!(
            "configuration {} is valid and all {systems} system(s) answered",
            args.config.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
