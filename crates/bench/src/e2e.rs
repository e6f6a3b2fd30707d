//! End to end: the real `idbridge` commands, each a child process, on generated files.
//!
//! Per size: a JSON directory of N users as the source, and three file targets, either
//! empty (the initial case: the first sync) or already holding the same people with the
//! links a completed sync leaves in the state file (the steady case: the nightly run with
//! nothing to do). Measured: `plan` with text output, `--json` and `--out` in both cases,
//! `apply` of the saved initial plan, and `users list --system source --json`; for each,
//! wall time, peak resident memory (see [`crate::child`]) and the share of each stage the
//! command logs under `idbridge::timing`.

use std::path::{Path, PathBuf};

use idbridge_core::{Error, Result};
use idbridge_file::{Directory, FileAdapter, Format};
use idbridge_store::{Link, LinkKind, Store, Write};
use idbridge_sync::TargetSettings;
use idbridge_sync::planner::{group_link_fingerprint, user_link_fingerprint};
use serde_json::json;

use crate::child::{self, Limits, Run};
use crate::data::{self, Shape};
use crate::growth;

/// The file targets' names.
const TARGETS: [&str; 3] = ["t1", "t2", "t3"];

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Source user counts.
    pub sizes: Vec<usize>,
    /// Groups.
    pub groups: usize,
    /// Direct memberships per user.
    pub per_user: usize,
    /// The `idbridge` binary.
    pub idbridge: PathBuf,
    /// Where the files go (a temporary directory, removed afterwards, when `None`).
    pub dir: Option<PathBuf>,
    /// Each command is killed past these.
    pub limits: Limits,
    /// Skip `apply` above this many users.
    pub apply_up_to: usize,
}

/// A measured command: which, and what it is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `plan` against targets in sync: < 10 s and < 2 GB.
    PlanSteady,
    /// `plan` against empty targets: < 30 s and < 2 GB.
    PlanInitial,
    /// `apply` of the saved initial plan.
    Apply,
    /// `users list --system source --json`.
    UsersList,
}

impl Kind {
    /// The wall time and peak memory targets (seconds, bytes), if any.
    fn target(self) -> Option<(f64, f64)> {
        match self {
            Kind::PlanSteady => Some((10.0, 2e9)),
            Kind::PlanInitial => Some((30.0, 2e9)),
            Kind::Apply | Kind::UsersList => None,
        }
    }

    /// The exit code a successful run has (`plan`: 2 with changes, 0 without).
    fn expected_code(self) -> i32 {
        match self {
            Kind::PlanInitial => 2,
            Kind::PlanSteady | Kind::Apply | Kind::UsersList => 0,
        }
    }

    /// The stages shown, in order, each as named figures from the run's timings.
    fn shares(self, run: &Run) -> Vec<(&'static str, Option<f64>)> {
        let sum = |names: &[&str]| -> Option<f64> {
            names
                .iter()
                .filter_map(|n| run.stage_ms(n))
                .reduce(|a, b| a + b)
        };
        match self {
            Kind::PlanSteady | Kind::PlanInitial => {
                // The source and the targets are connected (their files parsed) and read
                // concurrently: each is its own total, and the two overlap.
                let source = sum(&["source_connect", "source_read"]);
                let targets = match (
                    run.stage_max_ms("target_connect"),
                    run.stage_max_ms("target_read"),
                ) {
                    (Some(c), Some(r)) => Some(c + r + run.stage_ms("members_read").unwrap_or(0.0)),
                    _ => None,
                };
                vec![
                    ("source read", source),
                    ("target reads", targets),
                    ("plan", run.stage_ms("plan")),
                    ("output", run.stage_ms("output")),
                    ("save", run.stage_ms("save")),
                    (
                        "other",
                        other(run, &["connect", "read", "plan", "output", "save"]),
                    ),
                ]
            }
            Kind::Apply => vec![
                ("plan read", run.stage_ms("plan_read")),
                ("connect", run.stage_ms("connect")),
                ("check", run.stage_ms("check")),
                ("apply", run.stage_ms("apply")),
                ("output", run.stage_ms("output")),
                (
                    "other",
                    other(run, &["plan_read", "connect", "check", "apply", "output"]),
                ),
            ],
            Kind::UsersList => vec![
                ("read", run.stage_ms("read")),
                ("sort", run.stage_ms("sort")),
                ("output", run.stage_ms("output")),
                ("other", other(run, &["read", "sort", "output"])),
            ],
        }
    }
}

/// The wall time outside the named sequential stages (start-up, configuration, guards,
/// freeing at exit), or `None` when a stage is missing.
fn other(run: &Run, sequential: &[&str]) -> Option<f64> {
    let mut total = 0.0;
    for s in sequential {
        // `save` only exists with `--out`.
        match run.stage_ms(s) {
            Some(ms) => total += ms,
            None if *s == "save" => {}
            None => return None,
        }
    }
    Some((run.wall_ms - total).max(0.0))
}

/// `42%` of `whole`.
fn share(part: Option<f64>, whole: f64) -> String {
    match part {
        Some(p) if whole > 0.0 => format!("{:.0}%", 100.0 * p / whole),
        _ => "-".to_string(),
    }
}

/// One command line of the benchmark and its figures.
struct Measured {
    users: usize,
    label: String,
    kind: Kind,
    command: String,
    run: Run,
}

impl Measured {
    /// `met`, `missed (...)` or `-` against the kind's target.
    fn verdict(&self) -> String {
        let r = &self.run;
        if let Some(why) = &r.stopped {
            return format!("not finished: {why}");
        }
        if r.code != Some(self.kind.expected_code()) {
            return format!(
                "failed: exit {}",
                r.code.map_or("signal".to_string(), |c| c.to_string())
            );
        }
        let Some((secs, bytes)) = self.kind.target() else {
            return "-".to_string();
        };
        let wall = r.wall_ms / 1e3;
        let peak = r.peak_mib.map(|m| m * 1024.0 * 1024.0);
        let mut missed = Vec::new();
        if wall >= secs {
            missed.push(format!("time {:.1}x", wall / secs));
        }
        match peak {
            Some(p) if p >= bytes => missed.push(format!("memory {:.1}x", p / bytes)),
            Some(_) => {}
            None => missed.push("memory not measured".to_string()),
        }
        if missed.is_empty() {
            "met".to_string()
        } else {
            format!("missed ({})", missed.join(", "))
        }
    }

    fn shares_text(&self) -> String {
        self.kind
            .shares(&self.run)
            .iter()
            .map(|(name, ms)| format!("{name} {}", share(*ms, self.run.wall_ms)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writes `dir` as a JSON directory file.
fn write_dir(path: &Path, dir: &Directory) -> Result<()> {
    let text = dir.to_text(Format::Json)?;
    std::fs::write(path, text)
        .map_err(|e| Error::unavailable(format!("cannot write `{}`: {e}", path.display())))
}

/// Waits until every file under `dir` is on disk, so that the commands measured next do
/// not share the disk (and the processor time the kernel spends writing back) with the
/// files written before them: the 1M case's files, about 1.5 GB, and a saved plan.
fn flush_files(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::unavailable(format!("cannot list `{}`: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::unavailable(format!("cannot list `{}`: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            flush_files(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| {
                    Error::unavailable(format!("cannot flush `{}`: {e}", path.display()))
                })?;
        }
    }
    Ok(())
}

/// A configuration: the source file, the state file and three file targets in `case`.
fn write_config(case: &Path, source: &Path) -> Result<PathBuf> {
    let q = |p: &Path| json!(p.display().to_string()).to_string();
    let mut text = format!(
        "state = {}\n\n[source]\nadapter = \"file\"\npath = {}\n",
        q(&case.join("state.db")),
        q(source)
    );
    for t in TARGETS {
        text.push_str(&format!(
            "\n[targets.{t}]\nadapter = \"file\"\npath = {}\n",
            q(&case.join(format!("{t}.json")))
        ));
    }
    let path = case.join("config.toml");
    std::fs::write(&path, text)
        .map_err(|e| Error::unavailable(format!("cannot write `{}`: {e}", path.display())))?;
    Ok(path)
}

/// The initial case: three empty targets and no state file.
fn initial_case(case: &Path, source: &Path) -> Result<PathBuf> {
    for t in TARGETS {
        write_dir(&case.join(format!("{t}.json")), &Directory::new())?;
    }
    write_config(case, source)
}

/// The steady case: every target holds the source's people under its own ids, and the
/// state file the links (with fingerprints) a completed sync would have stored.
fn steady_case(case: &Path, source: &Path, shape: Shape) -> Result<PathBuf> {
    let mut target = data::directory(shape);
    for u in &mut target.users {
        u.id = format!("t-{}", u.id);
    }
    for g in &mut target.groups {
        g.id = format!("tg-{}", g.id);
    }
    for t in TARGETS {
        write_dir(&case.join(format!("{t}.json")), &target)?;
    }
    drop(target);
    let state = data::source_state(shape)?;
    let store = Store::open(&case.join("state.db"))?;
    let caps = FileAdapter::declared_capabilities();
    let now = chrono::Utc::now();
    for t in TARGETS {
        let settings = TargetSettings::from_json(t, json!({}))?;
        let link = |kind, source_id: &str, target_id: String, fingerprint: Option<String>| {
            Write::UpsertLink(Link {
                target: t.to_string(),
                kind,
                source_id: source_id.to_string(),
                target_id,
                fingerprint: fingerprint.unwrap_or_default(),
                updated: now,
            })
        };
        let mut writes: Vec<Write> = Vec::with_capacity(10_000);
        for u in state.users.iter() {
            let fp = user_link_fingerprint(u, &settings, &caps);
            writes.push(link(LinkKind::User, u.id, format!("t-{}", u.id), fp));
            if writes.len() == 10_000 {
                store.commit(&writes)?;
                writes.clear();
            }
        }
        for g in state.groups.iter().flatten() {
            let fp = group_link_fingerprint(g, &settings, &caps);
            writes.push(link(LinkKind::Group, &g.id, format!("tg-{}", g.id), fp));
        }
        store.commit(&writes)?;
    }
    write_config(case, source)
}

/// The shell form of a command, for the figures' table, with the files' directory
/// written `$DIR`.
fn shell(args: &[String], base: &Path) -> String {
    let base = base.display().to_string();
    let mut words = vec!["idbridge".to_string()];
    words.extend(args.iter().map(|a| a.replace(&base, "$DIR")));
    words.join(" ")
}

/// Runs every size and prints the figures, the growth and a Markdown table.
///
/// # Errors
/// When the files cannot be written or a command cannot be started.
pub fn run(opts: &Options) -> Result<()> {
    if !opts.idbridge.is_file() {
        return Err(Error::invalid_input(format!(
            "`{}` is not the idbridge program; build it with `cargo build --release -p \
             idbridge` or name it with --idbridge",
            opts.idbridge.display()
        )));
    }
    let temp;
    let base = match &opts.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().map_err(|e| {
                Error::unavailable(format!("cannot create a temporary directory: {e}"))
            })?;
            temp.path().to_path_buf()
        }
    };
    println!(
        "end to end: `{}`, a JSON directory source of N users, {} groups, {} memberships per user; three file targets ({})",
        opts.idbridge.display(),
        opts.groups,
        opts.per_user,
        TARGETS.join(", ")
    );
    println!(
        "each command a child process; stdout drained through a pipe; peak = the child's VmHWM polled every 5 ms; stopped past {} s or {:.0} MiB",
        opts.limits.time.as_secs(),
        opts.limits.rss_mib
    );
    let mut all: Vec<Measured> = Vec::new();
    for &users in &opts.sizes {
        let shape = Shape {
            users,
            groups: opts.groups,
            per_user: opts.per_user,
        };
        let root = base.join(format!("{users}"));
        let (initial, steady) = (root.join("initial"), root.join("steady"));
        for d in [&initial, &steady] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d)
                .map_err(|e| Error::unavailable(format!("cannot create `{}`: {e}", d.display())))?;
        }
        let source = root.join("source.json");
        let t0 = std::time::Instant::now();
        write_dir(&source, &data::directory(shape))?;
        let initial_config = initial_case(&initial, &source)?;
        let steady_config = steady_case(&steady, &source, shape)?;
        let written = t0.elapsed();
        flush_files(&root)?;
        println!(
            "\n{users} users: files written in {:.1} s, on disk {:.1} s later (source {:.0} MiB) under {}",
            written.as_secs_f64(),
            (t0.elapsed() - written).as_secs_f64(),
            file_mib(&source),
            root.display()
        );
        let c = |p: &Path| p.display().to_string();
        let plan_out = initial.join("plan.json");
        let mut commands: Vec<(&str, Kind, Vec<String>)> = Vec::new();
        for (case, kind, config) in [
            ("initial", Kind::PlanInitial, &initial_config),
            ("steady", Kind::PlanSteady, &steady_config),
        ] {
            let base_args = vec!["plan".to_string(), "-c".to_string(), c(config)];
            let out_file = config.with_file_name("plan.json");
            commands.push((
                if case == "initial" {
                    "plan initial, text"
                } else {
                    "plan steady, text"
                },
                kind,
                base_args.clone(),
            ));
            let mut json_args = base_args.clone();
            json_args.push("--json".into());
            commands.push((
                if case == "initial" {
                    "plan initial, --json"
                } else {
                    "plan steady, --json"
                },
                kind,
                json_args,
            ));
            let mut out_args = base_args;
            out_args.extend(["--out".to_string(), c(&out_file)]);
            commands.push((
                if case == "initial" {
                    "plan initial, --out"
                } else {
                    "plan steady, --out"
                },
                kind,
                out_args,
            ));
        }
        commands.push((
            "users list --json",
            Kind::UsersList,
            vec![
                "users".into(),
                "list".into(),
                "-c".into(),
                c(&initial_config),
                "--system".into(),
                "source".into(),
                "--json".into(),
            ],
        ));
        if users <= opts.apply_up_to {
            commands.push((
                "apply initial plan",
                Kind::Apply,
                vec![
                    "apply".into(),
                    "-c".into(),
                    c(&initial_config),
                    "--yes".into(),
                    c(&plan_out),
                ],
            ));
        }
        for (label, kind, args) in commands {
            let mut full = vec!["--log-format".to_string(), "json".to_string()];
            full.extend(args.iter().cloned());
            let run = child::run(&opts.idbridge, &full, opts.limits)?;
            let m = Measured {
                users,
                label: label.to_string(),
                kind,
                command: shell(&args, &base),
                run,
            };
            print_run(&m);
            if label == "apply initial plan" || label == "plan initial, --out" {
                println!("  saved plan: {:.0} MiB", file_mib(&plan_out));
            }
            all.push(m);
            // What a command wrote (a saved plan of 3.4 GiB at 1M, the targets an apply
            // filled) reaches the disk before the next command is timed, not during it.
            flush_files(&root)?;
        }
        // The saved plans are the largest files; later sizes need the room.
        let _ = std::fs::remove_file(&plan_out);
        let _ = std::fs::remove_file(steady.join("plan.json"));
    }
    print_growth(&all);
    print_markdown(&all);
    Ok(())
}

fn file_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64 / (1 << 20) as f64)
}

fn print_run(m: &Measured) {
    let r = &m.run;
    println!(
        "  {:<22} {:>8.2} s {:>7.0} MiB peak  stdout {:>7.1} MiB  exit {:<3} {}",
        m.label,
        r.wall_ms / 1e3,
        r.peak_mib.unwrap_or(f64::NAN),
        r.stdout_bytes as f64 / (1 << 20) as f64,
        r.code.map_or("-".to_string(), |c| c.to_string()),
        m.verdict()
    );
    println!("      shares: {}", m.shares_text());
    let detail: Vec<String> = r
        .stages
        .iter()
        .map(|s| {
            if s.system.is_empty() {
                format!("{} {:.0}", s.stage, s.ms)
            } else {
                format!("{}[{}] {:.0}", s.stage, s.system, s.ms)
            }
        })
        .collect();
    println!("      stages (ms): {}", detail.join(", "));
    if r.code != Some(m.kind.expected_code()) {
        for line in &r.messages {
            println!("      stderr: {line}");
        }
    }
}

/// Growth per x10 users of each command's wall time, peak and stages.
fn print_growth(all: &[Measured]) {
    let mut labels: Vec<&str> = Vec::new();
    for m in all {
        if !labels.contains(&m.label.as_str()) {
            labels.push(&m.label);
        }
    }
    println!();
    for label in labels {
        let runs: Vec<&Measured> = all.iter().filter(|m| m.label == label).collect();
        let Some(first) = runs.first() else { continue };
        let stage_names: Vec<&str> = first.kind.shares(&first.run).iter().map(|s| s.0).collect();
        let mut names = vec!["wall", "peak"];
        names.extend(stage_names.iter().copied());
        let rows: Vec<(usize, Vec<f64>)> = runs
            .iter()
            .map(|m| {
                let mut v = vec![m.run.wall_ms, m.run.peak_mib.unwrap_or(f64::NAN)];
                v.extend(
                    m.kind
                        .shares(&m.run)
                        .iter()
                        .map(|s| s.1.unwrap_or(f64::NAN)),
                );
                (m.users, v)
            })
            .collect();
        growth::print_table(&format!("[{label}]"), &names, &rows);
    }
}

/// The figures as a Markdown table, for docs/performance.md.
fn print_markdown(all: &[Measured]) {
    println!("\n| users | command | wall | peak | stage shares | target | verdict |");
    println!("|---:|---|---:|---:|---|---|---|");
    for m in all {
        let target = match m.kind.target() {
            Some((s, b)) => format!("< {s:.0} s, < {:.0} GB", b / 1e9),
            None => "-".to_string(),
        };
        println!(
            "| {} | {} (`{}`) | {:.2} s | {:.0} MiB | {} | {} | {} |",
            m.users,
            m.label,
            m.command.replace('|', "\\|"),
            m.run.wall_ms / 1e3,
            m.run.peak_mib.unwrap_or(f64::NAN),
            m.shares_text(),
            target,
            m.verdict()
        );
    }
}
