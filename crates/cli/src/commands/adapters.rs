//! `idbridge adapters`: the registered adapters and their capabilities.

use crate::output::outln;
use std::process::ExitCode;

use idbridge_core::Result;
use serde_json::json;

/// Arguments of `idbridge adapters`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also print each adapter's example configuration.
    #[arg(long)]
    examples: bool,
}

/// Prints every registered adapter.
pub fn run(args: Args) -> Result<ExitCode> {
    let _ = crate::shipped::adapters();
    let all = idbridge_core::registry::all();
    if args.json {
        let list: Vec<_> = all
            .iter()
            .map(|d| {
                json!({
                    "name": d.name,
                    "description": d.description,
                    "capabilities": (d.capabilities)(),
                    "example_config": d.example_config,
                    "secret_keys": d.secret_keys,
                })
            })
            .collect();
        crate::output::json_line(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    for d in all {
        let caps = (d.capabilities)();
        outln!("{}  {}", d.name, d.description);
        let ops: Vec<&str> = caps.supported().iter().map(|o| o.as_str()).collect();
        outln!("  supports: {}", ops.join(", "));
        let missing: Vec<&str> = caps.unsupported().iter().map(|o| o.as_str()).collect();
        if !missing.is_empty() {
            outln!("  does not support: {}", missing.join(", "));
        }
        let mut notes = Vec::new();
        if caps.members_nested {
            notes.push("nested groups".to_string());
        }
        if let Some(max) = caps.users_batch_max {
            notes.push(format!("batches of up to {max} user writes"));
        }
        if let Some(max) = caps.groups_batch_max {
            notes.push(format!("batches of up to {max} group writes"));
        }
        if !notes.is_empty() {
            outln!("  notes: {}", notes.join("; "));
        }
        if args.examples {
            outln!("  example:");
            outln!("    adapter = \"{}\"", d.name);
            for line in d.example_config.lines() {
                outln!("    {line}");
            }
        }
        outln!();
    }
    Ok(ExitCode::SUCCESS)
}
