//! `idbridge sync`: plan, guard and apply without asking, once or on an interval.

use crate::output::{errln, out};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use idbridge_core::Result;
use idbridge_sync::{ApplyOptions, Engine, RunReport, Stop, report};

use super::apply::{finish, progress, stop_on_signals, with_spinner};

/// Arguments of `idbridge sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Run again every DURATION (`90s`, `15m`, `1h30m`, `1d`) until SIGINT/SIGTERM.
    #[arg(long, value_parser = parse_duration)]
    interval: Option<Duration>,
    /// Sync only this target.
    #[arg(long)]
    target: Option<String>,
    /// Let up to N disables and deletes through the deletion guard (each run).
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    /// Print each run report as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses `90s`, `15m`, `1h30m`, `2h`, `1d` or a plain number of seconds.
pub(crate) fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{text}`: unknown unit `{c}` (use s, m, h or d)")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}`: a number must come before `{c}`"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("`{text}`: the last number has no unit"));
    }
    if total == 0 {
        return Err(format!("`{text}`: the interval must be positive"));
    }
    Ok(Duration::from_secs(total))
}

/// One locked run: plan, guard, apply.
async fn once(engine: &Engine, args: &Args, stop: &Stop) -> Result<RunReport> {
    let lock = engine.lock("sync")?;
    let plan = with_spinner("reading the source and the targets", engine.plan()).await?;
    let violations = engine.guard(&plan, args.allow_deletions);
    if !args.json {
        out!(
            "{}",
            report::render_plan_limited(&plan, &violations, Some(50))
        );
    }
    let options = ApplyOptions {
        allow_deletions: args.allow_deletions,
        stop: stop.clone(),
        progress: progress(&plan),
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &options).await?;
    Ok(report)
}

/// Syncs once (exit 0 when everything converged, 1 otherwise), or forever on an interval.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = args.config.clone();
    let target = args.target.clone();
    super::connected::with_engine(&config, target.as_deref(), |engine| sync(engine, args)).await
}

async fn sync(engine: Engine, args: Args) -> Result<ExitCode> {
    let stop = stop_on_signals();
    let Some(interval) = args.interval else {
        let report = once(&engine, &args, &stop).await?;
        return Ok(finish(&report, args.json));
    };
    let mut last;
    loop {
        last = match once(&engine, &args, &stop).await {
            Ok(report) => finish(&report, args.json),
            Err(e) => {
                // A failed run (unreadable source, held lock) waits for the next tick.
                errln!("error: {e}");
                ExitCode::FAILURE
            }
        };
        if stop.is_stopped() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stop.stopped() => break,
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("1h30").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
