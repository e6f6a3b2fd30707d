//! Stage timings of a command, for benchmarks: each stage logs one event under the
//! `idbridge::timing` target with its elapsed milliseconds. They are off by default (the
//! default filter is `warn`); `RUST_LOG=idbridge::timing=info` turns them on, and
//! `--log-format json` makes them one JSON object per line on stderr, which
//! `idbridge-bench e2e` reads. Normal output is the same either way.

use std::time::Instant;

/// Logs that `stage` took the time since `since`.
pub(crate) fn done(stage: &str, since: Instant) {
    let ms = since.elapsed().as_secs_f64() * 1e3;
    tracing::info!(target: "idbridge::timing", stage, system = "", ms, "stage done");
}
