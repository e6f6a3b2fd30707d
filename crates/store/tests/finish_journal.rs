//! A write journaled as started before it is sent, then completed in place by its outcome.

use idbridge_store::{NewJournalEntry, Outcome, Store, Write};
use serde_json::json;

fn row(run: i64, op: &str, resource: &str, outcome: Outcome) -> NewJournalEntry {
    NewJournalEntry {
        run,
        target: "bi".into(),
        operation: op.into(),
        resource: resource.into(),
        before: None,
        after: None,
        outcome,
        error: None,
    }
}

fn store() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state.db")).expect("open");
    let run = store.begin_run("sync").expect("run");
    (dir, store, run)
}

#[test]
fn an_outcome_completes_the_started_row_of_its_operation() {
    let (_dir, store, run) = store();
    let mut started = row(run, "update_user", "ada", Outcome::Started);
    started.before = Some((&json!({"login": "ada"})).into());
    store
        .commit(&[
            Write::Journal(started),
            Write::Journal(row(run, "update_user", "grace", Outcome::Started)),
        ])
        .expect("started");
    let mut done = row(run, "update_user", "ada", Outcome::Ok);
    done.after = Some((&json!({"login": "ada.l"})).into());
    store
        .commit(&[Write::FinishJournal(done)])
        .expect("finished");

    let rows = store.journal(Some(run)).expect("journal");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ada = &rows[0];
    assert_eq!(
        (ada.resource.as_str(), ada.outcome),
        ("ada", Outcome::Ok),
        "the first row, completed in place"
    );
    assert_eq!(
        ada.before,
        Some(json!({"login": "ada"})),
        "the state before is kept"
    );
    assert_eq!(ada.after, Some(json!({"login": "ada.l"})));
    assert_eq!(
        rows[1].outcome,
        Outcome::Started,
        "grace is still in flight"
    );
}

#[test]
fn each_attempt_completes_its_own_row_and_an_outcome_without_a_started_row_is_appended() {
    let (_dir, store, run) = store();
    store
        .commit(&[Write::Journal(row(
            run,
            "create_user",
            "ada",
            Outcome::Started,
        ))])
        .expect("first attempt");
    let mut failed = row(run, "create_user", "ada", Outcome::Failed);
    failed.error = Some("unavailable".into());
    store
        .commit(&[Write::FinishJournal(failed)])
        .expect("first attempt failed");
    store
        .commit(&[Write::Journal(row(
            run,
            "create_user",
            "ada",
            Outcome::Started,
        ))])
        .expect("second attempt");
    store
        .commit(&[Write::FinishJournal(row(
            run,
            "create_user",
            "ada",
            Outcome::Ok,
        ))])
        .expect("second attempt done");
    // No started row: the outcome is a row of its own; another run's started row is not
    // touched.
    let other = store.begin_run("sync").expect("another run");
    store
        .commit(&[Write::Journal(row(
            other,
            "create_user",
            "bob",
            Outcome::Started,
        ))])
        .expect("other run");
    store
        .commit(&[Write::FinishJournal(row(
            run,
            "create_user",
            "bob",
            Outcome::Ok,
        ))])
        .expect("appended");

    let rows = store.journal(Some(run)).expect("journal");
    let outcomes: Vec<(&str, Outcome)> = rows
        .iter()
        .map(|r| (r.resource.as_str(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("ada", Outcome::Failed),
            ("ada", Outcome::Ok),
            ("bob", Outcome::Ok)
        ]
    );
    assert_eq!(rows[0].error.as_deref(), Some("unavailable"));
    assert_eq!(
        store.journal(Some(other)).expect("journal")[0].outcome,
        Outcome::Started
    );
}
