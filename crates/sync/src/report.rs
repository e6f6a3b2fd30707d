//! Readable renderings of plans and run reports (JSON is the serde form of each).
//!
//! Plans read like a diff: `+` creates, grants and additions, `~` updates with each
//! field's old and new value, `-` disables, deletes, removals and revocations, `!` session
//! revocations, `=` links recorded without a write.
//!
//! Every value that comes from data (logins, names, e-mails, role names, notes and errors
//! quoting them) goes through [`idbridge_core::text::Escaped`], so that a control character
//! in a name can neither act on the reviewer's terminal nor forge a line of the plan.

use std::fmt::Write as _;

use idbridge_core::text::Escaped;

use crate::apply::OpOutcome;
use crate::engine::RunReport;

mod plan;

pub use plan::{counts, op_lines, render_plan, render_plan_limited, write_op, write_plan};

/// A value from data, escaped for showing.
fn e(s: &str) -> Escaped<'_> {
    Escaped(s)
}

/// The accounts of a target that can still sign in, one line each.
fn can_sign_in_lines(out: &mut String, t: &crate::apply::TargetReport) {
    for c in &t.can_sign_in {
        let _ = writeln!(
            out,
            "  still able to sign in: {} ({}): {}",
            e(&c.login),
            c.reason.as_str(),
            e(&c.why)
        );
    }
}

/// A run report as text.
pub fn render_run(report: &RunReport) -> String {
    let mut out = String::new();
    for t in &report.targets {
        let _ = write!(out, "target {} ({}): ", e(&t.target), t.adapter);
        if let Some(why) = &t.unavailable {
            let _ = writeln!(out, "UNAVAILABLE, not changed: {}", e(why));
            continue;
        }
        if let Some(why) = &t.refused {
            let _ = writeln!(out, "not changed: {}", e(why));
            continue;
        }
        if t.planned == 0 {
            let _ = writeln!(out, "nothing to do");
            can_sign_in_lines(&mut out, t);
            continue;
        }
        let _ = write!(out, "{} of {} done", t.ok, t.planned);
        if t.failed > 0 {
            let _ = write!(out, ", {} failed", t.failed);
        }
        if t.skipped > 0 {
            let _ = write!(out, ", {} skipped (depend on a failure)", t.skipped);
        }
        if t.not_started > 0 {
            let _ = write!(out, ", {} not started (stopped)", t.not_started);
        }
        out.push('\n');
        if !t.done.is_empty() {
            let parts: Vec<String> = t
                .done
                .iter()
                .map(|(n, k)| format!("{} {k}", e(n)))
                .collect();
            let _ = writeln!(out, "  done: {}", parts.join(", "));
        }
        if let Some(f) = &t.fatal {
            let _ = writeln!(out, "  STOPPED: {}", e(f));
        }
        for p in t.problems.iter().filter(|p| p.outcome == OpOutcome::Failed) {
            let _ = writeln!(
                out,
                "  failed: {} {}: {}",
                e(&p.operation),
                e(&p.resource),
                e(&p.error)
            );
        }
        let skipped = t
            .problems
            .iter()
            .filter(|p| p.outcome == OpOutcome::Skipped)
            .count();
        if skipped > 0 {
            let _ = writeln!(
                out,
                "  skipped: {skipped} operation(s) that depend on the failures above"
            );
        }
        can_sign_in_lines(&mut out, t);
    }
    let stuck: usize = report.targets.iter().map(|t| t.can_sign_in.len()).sum();
    let only_stuck = stuck > 0
        && report.targets.iter().all(|t| {
            t.refused.is_none() && t.fatal.is_none() && t.unavailable.is_none() && t.ok == t.planned
        });
    let _ = writeln!(
        out,
        "run {}: {}",
        report.run,
        match report.outcome {
            idbridge_store::RunOutcome::Succeeded => "every target converged",
            idbridge_store::RunOutcome::Stopped =>
                "stopped on request; the next run finishes the job",
            idbridge_store::RunOutcome::Failed if only_stuck =>
                "not converged: accounts that should have no access can still sign in (see above); \
                 deletion = \"delete\" removes them",
            idbridge_store::RunOutcome::Failed if report.targets.iter().any(|t| t.converged()) =>
                "partly failed: some targets converged, others did not (see above); the next run retries them",
            idbridge_store::RunOutcome::Failed =>
                "some changes were not made (see above); the next run retries them",
            idbridge_store::RunOutcome::Running | idbridge_store::RunOutcome::Interrupted =>
                "did not finish",
        }
    );
    out
}

#[cfg(test)]
pub(crate) mod tests;
