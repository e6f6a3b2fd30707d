//! `idbridge plan`: what a sync would change, as a readable diff or JSON; optionally saved
//! for `idbridge apply PLAN`.

use crate::output::errln;
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::{Error, Result};
use idbridge_sync::{Engine, report};

use super::apply::with_spinner;

/// Arguments of `idbridge plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Plan only this target.
    #[arg(long)]
    target: Option<String>,
    /// Print the plan (and any guard refusals) as JSON.
    #[arg(long)]
    json: bool,
    /// Save the plan to this file, for `idbridge apply -c FILE PLAN`. A file there is
    /// replaced only once the new plan is written whole.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
    /// Check the deletion guard as `apply --allow-deletions N` would.
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    #[command(flatten)]
    guard: super::guard_flags::GuardFlags,
}

/// Plans. Exit code 0 when nothing would change, 2 when changes are planned, 3 when some
/// targets could not be reached or read (the others are planned and shown), 1 on error
/// or when no target could be read.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = args.config.clone();
    let target = args.target.clone();
    super::connected::with_engine(&config, target.as_deref(), |engine| plan(engine, args)).await
}

async fn plan(engine: Engine, args: Args) -> Result<ExitCode> {
    let mut plan = with_spinner("reading the source and the targets", engine.plan()).await?;
    let violations = engine.guard_with(&plan, &args.guard.allowances(args.allow_deletions));
    let printing = std::time::Instant::now();
    if args.json {
        /// `{"plan": .., "refused": ..}`, the plan as its `serde_json::Value` prints.
        #[derive(serde::Serialize)]
        struct Printed<P: serde::Serialize> {
            plan: P,
            refused: serde_json::Value,
        }
        // The refusals are few (one per target at most per rule): as a `Value`, sorted.
        let refused = serde_json::to_value(&violations)
            .map_err(|e| Error::invalid_input(format!("cannot print the guard's refusals: {e}")))?;
        // An outline down to the lists of a target (`{"plan": {"targets": [{"ops": [`):
        // each operation on a line of its own, half the bytes of pretty JSON.
        crate::output::json_outline(
            &Printed {
                plan: plan.as_value_form(),
                refused,
            },
            5,
        );
    } else {
        // Written as it is rendered: the text of a large plan is never held whole.
        let mut text = crate::output::TextOut::stdout();
        // A closed stdout stops the rendering; the plan is still saved and the exit code
        // is the same.
        let _ = report::write_plan(&mut text, &plan, &violations, None);
        text.finish();
    }
    crate::timing::done("output", printing);
    if let Some(path) = &args.out {
        let saving = std::time::Instant::now();
        // Sealed, so that `apply` takes it only unaltered, with this configuration and
        // this state file.
        let sealer = engine.sealer_for(&mut plan)?;
        let digest = save(&sealer, &mut plan, path).map_err(|e| {
            Error::unavailable(format!(
                "cannot write the plan to `{}`: {e}",
                path.display()
            ))
        })?;
        crate::timing::done("save", saving);
        errln!(
            "plan saved to {} (SHA-256 {}); apply it with: idbridge apply -c {} {}",
            path.display(),
            digest,
            args.config.display(),
            path.display()
        );
    }
    let down = plan.unavailable().count();
    Ok(if down > 0 && down == plan.targets.len() {
        crate::exit::FAILED
    } else if down > 0 {
        crate::exit::code(crate::exit::PARTLY_FAILED)
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        crate::exit::code(crate::exit::CHANGES_PENDING)
    })
}

/// Writes the saved form of `plan` to `path` as it is serialized (see
/// [`idbridge_sync::Plan::write_json`]); returns its digest.
///
/// A regular file (or a new one) is replaced atomically: the plan is written to a
/// temporary file beside it, fsynced and renamed over it, so that a save cut short (a
/// full disk, an interrupt) leaves the plan that was there, perhaps the one awaiting
/// approval, instead of a truncated one. Through a symbolic link, the file it points to is
/// replaced. Anything else (`/dev/null`, a pipe) is written to directly.
fn save(
    sealer: &idbridge_sync::seal::Sealer,
    plan: &mut idbridge_sync::Plan,
    path: &std::path::Path,
) -> std::io::Result<String> {
    use std::io::Write;
    // What cannot be resolved (a new file, `/dev/stdout` on a pipe) is taken as given.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let digest = sealer.write_sealed(plan, &mut out)?;
        out.flush()?;
        return Ok(digest);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "plan".into(), |n| n.to_string_lossy());
    // Opened as `File::create` opens a file, so that the plan's mode follows the umask
    // (another user may have to read it to approve it).
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .make_in(dir, |p| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
        })?;
    let mut out = std::io::BufWriter::new(tmp.as_file());
    let digest = sealer.write_sealed(plan, &mut out)?;
    out.flush()?;
    drop(out);
    tmp.as_file().sync_all()?;
    // A failure up to here removes the temporary file (dropped) and leaves `path` as it was.
    tmp.persist(&path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(digest)
}

/// The largest saved plan `idbridge apply` and `idbridge approve` read: 16 GiB. A first
/// sync of a million users into three empty targets is about 18 million operations, some
/// 200 bytes each as saved (3.5 GiB; 7.5 GiB as earlier builds saved them, indented); the
/// bound only stops a wrong path (`/dev/zero`, a log that keeps growing) from exhausting
/// memory.
pub const MAX_PLAN_BYTES: u64 = 16 << 30;

/// Reads a plan saved with `idbridge plan --out`: a regular file of at most
/// [`MAX_PLAN_BYTES`], parsed as it is read (a plan of millions of operations is never
/// held as one text as well).
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] naming the file when it is not a regular
/// file, too large, unreadable, not UTF-8 or not a plan.
pub(crate) fn read_saved(path: &std::path::Path) -> Result<idbridge_sync::Plan> {
    let cannot = |e: std::io::Error| {
        Error::invalid_input(format!("cannot read plan `{}`: {e}", path.display()))
    };
    let not_regular = |t: std::fs::FileType| {
        Error::invalid_input(format!(
            "cannot read plan `{}`: it is {}, not a regular file",
            path.display(),
            idbridge_core::files::kind_of(t)
        ))
    };
    // Looked at before it is opened: opening a pipe would wait for a writer.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > MAX_PLAN_BYTES {
        return Err(Error::invalid_input(format!(
            "cannot read plan `{}`: it is larger than {}, the largest plan idbridge reads; is it the right file?",
            path.display(),
            idbridge_core::files::ByteSize(MAX_PLAN_BYTES)
        )));
    }
    let file = std::fs::File::open(path).map_err(cannot)?;
    // The path may have been replaced between the two looks.
    let opened = file.metadata().map_err(cannot)?;
    if !opened.is_file() {
        return Err(not_regular(opened.file_type()));
    }
    // The bound holds even for a file that grows while it is read.
    let reader =
        std::io::BufReader::with_capacity(1 << 16, std::io::Read::take(file, MAX_PLAN_BYTES));
    idbridge_sync::Plan::from_reader(reader)
        .map_err(|e| Error::invalid_input(format!("plan `{}`: {e}", path.display())))
}
