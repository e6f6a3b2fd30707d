//! Runs a real `idbridge` command as a child process and measures it: wall time, peak
//! resident memory, the bytes it printed, its exit code, and the stage timings it logs
//! under the `idbridge::timing` target.
//!
//! Peak memory is the child's `VmHWM` (the kernel's high-water mark of its resident set)
//! read from `/proc/<pid>/status` every 5 ms while it runs. The mark never falls, so the
//! last reading is the peak, short of whatever the child adds in its last 5 ms before it
//! exits (freeing, printing the last lines). The workspace forbids `unsafe`, which rules
//! out `wait4` through `libc` for the exact `ru_maxrss`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::{Error, Result};
use serde_json::Value;

/// How often the child's memory is read.
const POLL: Duration = Duration::from_millis(5);

/// One stage a command reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The stage's name (`connect`, `source_read`, `plan`, `output`, ...).
    pub stage: String,
    /// The system it concerns (a target's name, `source`), empty for the whole command.
    pub system: String,
    /// Its elapsed time, in milliseconds.
    pub ms: f64,
}

/// What one run of a command measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// From start to exit, in milliseconds.
    pub wall_ms: f64,
    /// Peak resident memory, MiB (`None` where `/proc` is unavailable).
    pub peak_mib: Option<f64>,
    /// Exit code (`None` when killed).
    pub code: Option<i32>,
    /// Why the run was stopped early, if it was (time or memory limit).
    pub stopped: Option<String>,
    /// Bytes written to stdout.
    pub stdout_bytes: u64,
    /// The stages the command logged.
    pub stages: Vec<Stage>,
    /// Stderr lines that were not stage timings (messages, errors), at most 20.
    pub messages: Vec<String>,
}

impl Run {
    /// The total of the stages named `stage` (all systems), or `None` when none was logged.
    pub fn stage_ms(&self, stage: &str) -> Option<f64> {
        let mut found = None;
        for s in self.stages.iter().filter(|s| s.stage == stage) {
            *found.get_or_insert(0.0) += s.ms;
        }
        found
    }

    /// The longest of the stages named `stage` over systems (concurrent stages, such as
    /// the target reads, take as long as their slowest).
    pub fn stage_max_ms(&self, stage: &str) -> Option<f64> {
        self.stages
            .iter()
            .filter(|s| s.stage == stage)
            .map(|s| s.ms)
            .reduce(f64::max)
    }
}

/// Limits a run is stopped at.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time.
    pub time: Duration,
    /// Resident memory, MiB.
    pub rss_mib: f64,
}

/// Parses the stage timings out of a command's stderr, written with `--log-format json`:
/// lines whose `target` is `idbridge::timing`, with `fields.stage`, `fields.ms` and
/// `fields.system`. Returns the stages and the other lines.
pub fn parse_stages(stderr: &str) -> (Vec<Stage>, Vec<String>) {
    let mut stages = Vec::new();
    let mut others = Vec::new();
    for line in stderr.lines() {
        let parsed = serde_json::from_str::<Value>(line).ok().and_then(|v| {
            if v.get("target")?.as_str()? != "idbridge::timing" {
                return None;
            }
            let fields = v.get("fields")?;
            Some(Stage {
                stage: fields.get("stage")?.as_str()?.to_string(),
                system: fields
                    .get("system")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                ms: fields.get("ms")?.as_f64()?,
            })
        });
        match parsed {
            Some(s) => stages.push(s),
            None if !line.trim().is_empty() => others.push(line.to_string()),
            None => {}
        }
    }
    (stages, others)
}

/// A `VmHWM:  1234 kB` line of a `/proc/<pid>/status` text, in MiB.
pub fn parse_hwm_mib(status: &str) -> Option<f64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let kb: f64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb / 1024.0)
    })
}

/// Runs `program args` with stage timings on (`RUST_LOG` lets the `idbridge::timing`
/// target through; `args` should hold `--log-format json`), its stdout drained through a pipe (and counted), and
/// measures it. A run past `limits` is killed and reported as stopped.
///
/// # Errors
/// When the program cannot be started or waited for.
pub fn run(program: &Path, args: &[String], limits: Limits) -> Result<Run> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("RUST_LOG", "warn,idbridge::timing=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::unavailable(format!("cannot start `{}`: {e}", program.display())))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Drained on their own threads, so that a full pipe never stalls the child.
    let out_thread = std::thread::spawn(move || {
        let mut n = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        if let Some(s) = stdout.as_mut() {
            while let Ok(k) = s.read(&mut buf) {
                if k == 0 {
                    break;
                }
                n += k as u64;
            }
        }
        n
    });
    let err_thread = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let mut peak: Option<f64> = None;
    let mut stopped = None;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::unavailable(format!("cannot wait for the command: {e}")))?
        {
            break status;
        }
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(parse_hwm_mib)
        {
            peak = Some(peak.map_or(hwm, |p: f64| p.max(hwm)));
        }
        let over_time = started.elapsed() > limits.time;
        let over_rss = peak.is_some_and(|p| p > limits.rss_mib);
        if stopped.is_none() && (over_time || over_rss) {
            stopped = Some(if over_time {
                format!("stopped after {} s", limits.time.as_secs())
            } else {
                format!("stopped above {:.0} MiB", limits.rss_mib)
            });
            // Our own child, by its handle: SIGKILL.
            let _ = child.kill();
        }
        std::thread::sleep(POLL);
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    // A child that exited on its own just as a limit was reached finished its work.
    if status.code().is_some() {
        stopped = None;
    }
    let stdout_bytes = out_thread.join().unwrap_or(0);
    let stderr_text = err_thread.join().unwrap_or_default();
    let (stages, mut messages) = parse_stages(&stderr_text);
    messages.truncate(20);
    Ok(Run {
        wall_ms,
        peak_mib: peak,
        code: status.code(),
        stopped,
        stdout_bytes,
        stages,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_read_from_json_log_lines_and_the_rest_kept() {
        let stderr = concat!(
            r#"{"timestamp":"t","level":"INFO","fields":{"message":"stage done","stage":"source_connect","system":"source","ms":812.5},"target":"idbridge::timing"}"#,
            "\n",
            r#"{"timestamp":"t","level":"INFO","fields":{"message":"stage done","stage":"plan","system":"","ms":40}}"#,
            "\n",
            r#"{"timestamp":"t","level":"WARN","fields":{"message":"slow"},"target":"idbridge_sync::engine"}"#,
            "\n",
            "plan saved to p.json\n",
            "\n",
            r#"{"timestamp":"t","level":"INFO","fields":{"message":"stage done","stage":"target_read","system":"b","ms":3.25},"target":"idbridge::timing"}"#,
            "\n",
            r#"{"timestamp":"t","level":"INFO","fields":{"message":"stage done","stage":"target_read","system":"a","ms":7.0},"target":"idbridge::timing"}"#,
        );
        let (stages, others) = parse_stages(stderr);
        assert_eq!(
            stages[0],
            Stage {
                stage: "source_connect".into(),
                system: "source".into(),
                ms: 812.5
            }
        );
        // The line without the timing target is a message, not a stage.
        assert_eq!(stages.len(), 3);
        assert_eq!(others.len(), 3, "{others:?}");
        assert_eq!(others[2], "plan saved to p.json");
        let run = Run {
            wall_ms: 1.0,
            peak_mib: None,
            code: Some(0),
            stopped: None,
            stdout_bytes: 0,
            stages,
            messages: others,
        };
        assert_eq!(run.stage_ms("target_read"), Some(10.25));
        assert_eq!(run.stage_max_ms("target_read"), Some(7.0));
        assert_eq!(run.stage_ms("plan"), None);
    }

    #[test]
    fn the_high_water_mark_is_read_in_mib() {
        let status = "Name:\tidbridge\nVmPeak:\t  4096 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_hwm_mib(status), Some(2.0));
        assert_eq!(parse_hwm_mib("Name:\tx\nState:\tZ (zombie)\n"), None);
        assert_eq!(parse_hwm_mib("VmHWM:\tlots kB\n"), None);
    }

    #[test]
    fn a_real_child_is_measured() {
        // `sh` stands in for idbridge: it prints, logs one stage and exits 2 (as a plan
        // with changes does).
        let sh = Path::new("/bin/sh");
        if !sh.exists() || !Path::new("/proc/self/status").exists() {
            return;
        }
        let script = r#"printf 'hello'; echo '{"fields":{"stage":"plan","system":"","ms":5},"target":"idbridge::timing"}' >&2; exit 2"#;
        let limits = Limits {
            time: Duration::from_secs(60),
            rss_mib: 1e9,
        };
        let run = run(sh, &["-c".into(), script.into()], limits).expect("run");
        assert_eq!(run.code, Some(2));
        assert_eq!(run.stdout_bytes, 5);
        assert_eq!(run.stage_ms("plan"), Some(5.0));
        assert!(run.stopped.is_none());
        assert!(run.wall_ms > 0.0);
    }

    #[test]
    fn a_child_past_its_time_is_stopped() {
        let sh = Path::new("/bin/sh");
        if !sh.exists() {
            return;
        }
        let limits = Limits {
            time: Duration::from_millis(200),
            rss_mib: 1e9,
        };
        let run = run(sh, &["-c".into(), "exec sleep 30".into()], limits).expect("run");
        assert!(run.stopped.is_some());
        assert_eq!(run.code, None);
    }
}
