//! Offboarding holds in planning and in the journal.
//!
//! `idbridge offboard` records a hold ([`idbridge_store::Hold`]) on the person it disables;
//! every later plan keeps that person disabled in every target, whatever the source says,
//! until `idbridge offboard --lift` ends the hold. The planner finds held people through a
//! [`HoldIndex`]; placing and lifting a hold are journaled here.

use hashbrown::HashMap;
use idbridge_core::{Error, Result};
use idbridge_store::{
    Hold, JsonText, NewJournalEntry, Outcome, RunLock, RunOutcome, Store, Write, os_user,
};
use serde_json::json;

use crate::table::UserRef;
use crate::util::norm;

/// The journal's target name for a hold, which applies to every target.
pub const ALL_TARGETS: &str = "(all targets)";

/// The holds in force, indexed by source id and by normalised login and email.
#[derive(Debug, Clone, Default)]
pub struct HoldIndex {
    holds: Vec<Hold>,
    by_source_id: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
}

impl HoldIndex {
    /// Indexes `holds` (the ones in force; see [`Store::holds`]).
    pub fn new(holds: Vec<Hold>) -> HoldIndex {
        let mut by_source_id = HashMap::new();
        let mut by_key = HashMap::new();
        for (i, h) in holds.iter().enumerate() {
            if let Some(s) = &h.source_id {
                by_source_id.entry(s.clone()).or_insert(i);
            }
            for k in h.keys.iter().chain(std::iter::once(&h.person)) {
                by_key.entry(norm(k)).or_insert(i);
            }
        }
        HoldIndex {
            holds,
            by_source_id,
            by_key,
        }
    }

    /// Whether no hold is in force.
    pub fn is_empty(&self) -> bool {
        self.holds.is_empty()
    }

    fn by_login_or_email(&self, u: UserRef<'_>) -> Option<&Hold> {
        self.by_key
            .get(&norm(u.login))
            .or_else(|| u.email.and_then(|e| self.by_key.get(&norm(e))))
            .map(|&i| &self.holds[i])
    }

    /// The hold on a source user: by its id, else by its login or email.
    pub fn source_user(&self, u: UserRef<'_>) -> Option<&Hold> {
        if self.holds.is_empty() {
            return None;
        }
        match self.by_source_id.get(u.id) {
            Some(&i) => Some(&self.holds[i]),
            None => self.by_login_or_email(u),
        }
    }

    /// The hold on a target account no source user claims: by its login or email.
    pub fn account(&self, u: UserRef<'_>) -> Option<&Hold> {
        if self.holds.is_empty() {
            return None;
        }
        self.by_login_or_email(u)
    }
}

fn journal_row(run: i64, operation: &str, hold: &Hold, after: serde_json::Value) -> Write {
    Write::Journal(NewJournalEntry {
        run,
        target: ALL_TARGETS.to_string(),
        operation: operation.to_string(),
        resource: hold.person.clone(),
        before: JsonText::of(hold),
        after: Some(JsonText::from(&after)),
        outcome: Outcome::Ok,
        error: None,
    })
}

/// Journals a hold placed by an offboarding, in that offboarding's run.
///
/// # Errors
/// When the state file cannot be written.
pub fn journal_placed(store: &Store, run: i64, hold: &Hold) -> Result<()> {
    store.commit(&[journal_row(
        run,
        "place_hold",
        hold,
        json!({"held": true, "by": hold.created_by}),
    )])
}

/// What `idbridge offboard --lift` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifted {
    /// The run that journaled it.
    pub run: i64,
    /// The holds it ended, as they were.
    pub holds: Vec<Hold>,
}

/// Lifts the holds in force that `who` names, as a run of its own (the command the lock
/// was taken with, `offboard --lift`) with a journal row per hold, so that the journal
/// shows who ended a hold and when. The next plan no longer keeps the person disabled.
///
/// # Errors
/// [`idbridge_core::ErrorKind::NotFound`] when no hold in force names `who` (nothing is
/// recorded then); state file errors.
pub fn lift(store: &Store, lock: &RunLock, who: &str) -> Result<Lifted> {
    if !store.holds()?.iter().any(|h| h.names(who)) {
        return Err(Error::not_found(format!(
            "no hold in force names `{who}` (by login, email or source id); \
             `idbridge offboard --list` shows the holds"
        )));
    }
    let run = store.begin_run(&lock.holder().command)?;
    let by = os_user();
    let holds = store.lift_holds(who, &by)?;
    let rows: Vec<Write> = holds
        .iter()
        .map(|h| journal_row(run, "lift_hold", h, json!({"held": false, "by": by})))
        .collect();
    store.commit(&rows)?;
    store.finish_run(run, RunOutcome::Succeeded, &json!({"lifted": holds.len()}))?;
    Ok(Lifted { run, holds })
}
