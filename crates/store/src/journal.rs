//! The journal: every operation a run performed on a target, with the record's state
//! before and after, the outcome and the error.

use chrono::{DateTime, Utc};
use idbridge_core::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{JsonText, Store, corrupt, parse_json, parse_time};

/// How a journaled operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// About to be attempted: written before a disable or delete, with the record's last
    /// state, so that it is kept even if the process dies during the operation. A later row
    /// of the same run and resource gives the outcome.
    Started,
    /// The target accepted the operation.
    Ok,
    /// The target refused it or could not be reached.
    Failed,
    /// Not attempted because an operation it depends on failed, or the run was stopped.
    Skipped,
}

impl Outcome {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "started" => Ok(Outcome::Started),
            "ok" => Ok(Outcome::Ok),
            "failed" => Ok(Outcome::Failed),
            "skipped" => Ok(Outcome::Skipped),
            other => Err(corrupt(format!("unknown journal outcome `{other}`"))),
        }
    }
}

/// One journal row to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJournalEntry {
    /// The run it belongs to.
    pub run: i64,
    /// The target's name.
    pub target: String,
    /// The operation (`create_user`, `disable_user`, `add_member`, ...).
    pub operation: String,
    /// What it addressed, readably (a login, a group name, `group <- login`).
    pub resource: String,
    /// The record's state before the operation, when there was one.
    pub before: Option<JsonText>,
    /// The record's state after it, as the target reported it.
    pub after: Option<JsonText>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error, for failed and skipped operations.
    pub error: Option<String>,
}

/// One journal row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The row id (increasing).
    pub id: i64,
    /// The run it belongs to.
    pub run: i64,
    /// When it was written.
    pub time: DateTime<Utc>,
    /// The target's name.
    pub target: String,
    /// The operation.
    pub operation: String,
    /// What it addressed.
    pub resource: String,
    /// The record's state before.
    pub before: Option<Value>,
    /// The record's state after.
    pub after: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error, if any.
    pub error: Option<String>,
}

impl Store {
    /// Journal rows in write order: of one run, or of every run.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn journal(&self, run: Option<i64>) -> Result<Vec<JournalEntry>> {
        if let Some(pg) = self.pg() {
            return pg.journal(run);
        }
        let conn = self.conn()?;
        let sql = "SELECT id, run, time, target, operation, resource, state_before, state_after, outcome, error
                   FROM journal WHERE (?1 IS NULL OR run = ?1) ORDER BY id";
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.error("cannot read the journal", &e))?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.error("cannot read the journal", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, run, time, target, operation, resource, before, after, outcome, error) =
                row.map_err(|e| self.error("cannot read the journal", &e))?;
            out.push(JournalEntry {
                id,
                run,
                time: parse_time(&time)?,
                target,
                operation,
                resource,
                before: parse_json(before)?,
                after: parse_json(after)?,
                outcome: Outcome::parse(&outcome)?,
                error,
            });
        }
        Ok(out)
    }
}
