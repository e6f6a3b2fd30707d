//! Runs: when each run started and ended, who ran it, what it counted, how it ended, the
//! plan it applied; and approvals of saved plans, recorded as runs of command `approve`.

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pg::ops::RunArg;
use crate::{Store, corrupt, lock, now_text, parse_json, parse_time};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Still running (or the process died and no later run has noticed yet).
    Running,
    /// Every planned operation succeeded (or nothing needed to change).
    Succeeded,
    /// Some operations failed or a target was refused by a guard.
    Failed,
    /// Stopped on request (SIGINT/SIGTERM) after finishing the operations in flight.
    Stopped,
    /// The process ended without finishing the run (crash, `kill -9`); set by the next run.
    Interrupted,
}

impl RunOutcome {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Stopped => "stopped",
            RunOutcome::Interrupted => "interrupted",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(RunOutcome::Running),
            "succeeded" => Ok(RunOutcome::Succeeded),
            "failed" => Ok(RunOutcome::Failed),
            "stopped" => Ok(RunOutcome::Stopped),
            "interrupted" => Ok(RunOutcome::Interrupted),
            other => Err(corrupt(format!("unknown run outcome `{other}`"))),
        }
    }
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id (increasing).
    pub id: i64,
    /// The command that started it (`apply`, `sync`, `offboard`).
    pub command: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended, if it did.
    pub ended: Option<DateTime<Utc>>,
    /// The process id that ran it.
    pub pid: u32,
    /// The host it ran on.
    pub host: String,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Counts per target and operation, as the engine reported them.
    pub counts: Option<Value>,
    /// The operating-system user who ran it (`None` for runs recorded before idbridge
    /// kept it).
    #[serde(default)]
    pub os_user: Option<String>,
    /// The SHA-256 digest (hex) of the plan it applied, when it applied one.
    #[serde(default)]
    pub plan_digest: Option<String>,
}

impl Store {
    /// Records the start of a run and returns its id. Call it while holding the
    /// [`RunLock`](crate::RunLock).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be written.
    pub fn begin_run(&self, command: &str) -> Result<i64> {
        self.begin_run_with_plan(command, None)
    }

    /// Like [`Store::begin_run`], also recording the digest of the plan the run applies
    /// (see `Plan::digest` in the sync engine). Both record the operating-system user
    /// running this process.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be written.
    pub fn begin_run_with_plan(&self, command: &str, plan_digest: Option<&str>) -> Result<i64> {
        if let Some(pg) = self.pg() {
            return pg.begin_run(command, plan_digest, None);
        }
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO runs (command, started, pid, host, outcome, os_user, plan_digest)
             VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6)",
            params![
                command,
                now_text(),
                std::process::id(),
                lock::host_name(),
                lock::os_user(),
                plan_digest
            ],
        )
        .map_err(|e| self.error("cannot record the run", &e))?;
        Ok(conn.last_insert_rowid())
    }

    /// Records the end of a run with its outcome and counts.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be written; [`ErrorKind::NotFound`](idbridge_core::ErrorKind::NotFound)
    /// when there is no such run.
    pub fn finish_run(&self, run: i64, outcome: RunOutcome, counts: &Value) -> Result<()> {
        if let Some(pg) = self.pg() {
            return pg.finish_run(run, outcome, counts);
        }
        let n = self
            .conn()?
            .execute(
                "UPDATE runs SET ended = ?2, outcome = ?3, counts = ?4 WHERE id = ?1",
                params![run, now_text(), outcome.as_str(), counts.to_string()],
            )
            .map_err(|e| self.error("cannot record the end of the run", &e))?;
        if n == 0 {
            return Err(Error::not_found(format!("no run {run} in the state file")));
        }
        Ok(())
    }

    /// The most recent runs, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if let Some(pg) = self.pg() {
            return pg.runs_where("ORDER BY id DESC LIMIT $2", Some(RunArg::Int(limit)));
        }
        self.query_runs(
            "SELECT id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest
             FROM runs ORDER BY id DESC LIMIT ?1",
            params![limit],
        )
    }

    /// One run by id.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        if let Some(pg) = self.pg() {
            return Ok(pg
                .runs_where("AND id = $2", Some(RunArg::Int(id)))?
                .into_iter()
                .next());
        }
        Ok(self
            .query_runs(
                "SELECT id, command, started, ended, pid, host, outcome, counts, os_user,
                 plan_digest FROM runs WHERE id = ?1",
                params![id],
            )?
            .into_iter()
            .next())
    }

    /// The earliest run that applied the plan with this digest (see
    /// [`Store::begin_run_with_plan`]), if any.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn run_of_plan(&self, plan_digest: &str) -> Result<Option<RunRecord>> {
        if let Some(pg) = self.pg() {
            return Ok(pg
                .runs_where(
                    "AND plan_digest = $2 AND command != 'approve' ORDER BY id LIMIT 1",
                    Some(RunArg::Text(plan_digest.to_string())),
                )?
                .into_iter()
                .next());
        }
        Ok(self
            .query_runs(
                "SELECT id, command, started, ended, pid, host, outcome, counts, os_user,
                 plan_digest FROM runs WHERE plan_digest = ?1 AND command != 'approve'
                 ORDER BY id LIMIT 1",
                params![plan_digest],
            )?
            .into_iter()
            .next())
    }

    /// Records that the operating-system user running this process approved the plan
    /// with this digest: a finished run of command `approve` (so the journal lists it with
    /// who and when), its counts naming the plan's maker. Returns the run's id.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be written.
    pub fn record_approval(&self, plan_digest: &str, made_by: Option<&str>) -> Result<i64> {
        let counts = serde_json::json!({ "approved": plan_digest, "made_by": made_by });
        if let Some(pg) = self.pg() {
            return pg.begin_run("approve", Some(plan_digest), Some(counts));
        }
        let conn = self.conn()?;
        let now = now_text();
        conn.execute(
            "INSERT INTO runs (command, started, ended, pid, host, outcome, counts, os_user,
                               plan_digest)
             VALUES ('approve', ?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now,
                std::process::id(),
                lock::host_name(),
                RunOutcome::Succeeded.as_str(),
                counts.to_string(),
                lock::os_user(),
                plan_digest
            ],
        )
        .map_err(|e| self.error("cannot record the approval", &e))?;
        Ok(conn.last_insert_rowid())
    }

    /// The approvals of the plan with this digest (see [`Store::record_approval`]),
    /// oldest first.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn approvals(&self, plan_digest: &str) -> Result<Vec<RunRecord>> {
        if let Some(pg) = self.pg() {
            return pg.runs_where(
                "AND plan_digest = $2 AND command = 'approve' ORDER BY id",
                Some(RunArg::Text(plan_digest.to_string())),
            );
        }
        self.query_runs(
            "SELECT id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest
             FROM runs WHERE plan_digest = ?1 AND command = 'approve' ORDER BY id",
            params![plan_digest],
        )
    }

    fn query_runs(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.error("cannot read runs", &e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.error("cannot read runs", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest) =
                row.map_err(|e| self.error("cannot read runs", &e))?;
            out.push(RunRecord {
                id,
                command,
                started: parse_time(&started)?,
                ended: ended.as_deref().map(parse_time).transpose()?,
                pid,
                host,
                outcome: RunOutcome::parse(&outcome)?,
                counts: parse_json(counts)?,
                os_user,
                plan_digest,
            });
        }
        Ok(out)
    }
}
