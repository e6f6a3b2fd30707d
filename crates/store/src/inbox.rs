//! The SCIM inbox: the users and groups an identity provider pushed to `idbridge serve`,
//! kept until (and after) the fan-out applies them to the targets.
//!
//! Every write is one durable transaction (the same `synchronous = FULL` /
//! `synchronous_commit = on` guarantee as [`Store::commit`]), so a resource the server
//! answered 2xx for survives a crash right after the answer. Each write takes the next
//! number of a change sequence; the fan-out records the last number it finished applying
//! ([`Store::inbox_set_applied`]), so a restart knows whether changes are still pending.

use idbridge_core::{Error, ErrorKind, Result};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Store, corrupt};

/// What an inbox resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    /// A SCIM User.
    User,
    /// A SCIM Group.
    Group,
}

impl InboxKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::User => "user",
            InboxKind::Group => "group",
        }
    }
}

/// One stored resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// User or group.
    pub kind: InboxKind,
    /// The resource's id (unique per kind).
    pub id: String,
    /// The number of the change that last wrote it: it grows with every write and is never
    /// reused, even by a resource created again with the same id (an ETag can rest on it).
    pub version: i64,
    /// The resource as the server stored it.
    pub resource: Value,
}

/// One change applied by [`Store::inbox_write`].
#[derive(Debug, Clone, PartialEq)]
pub enum InboxWrite {
    /// Create or replace a resource.
    Put {
        /// User or group.
        kind: InboxKind,
        /// The resource's id.
        id: String,
        /// The resource to store.
        resource: Value,
        /// When set, the write happens only if the stored version is this one; `Some(0)`
        /// means the resource must not exist yet.
        if_version: Option<i64>,
    },
    /// Remove a resource.
    Delete {
        /// User or group.
        kind: InboxKind,
        /// The resource's id.
        id: String,
        /// When set, the delete happens only if the stored version is this one.
        if_version: Option<i64>,
    },
}

impl InboxWrite {
    pub(crate) fn parts(&self) -> (InboxKind, &str, Option<i64>) {
        match self {
            InboxWrite::Put {
                kind,
                id,
                if_version,
                ..
            }
            | InboxWrite::Delete {
                kind,
                id,
                if_version,
            } => (*kind, id, *if_version),
        }
    }
}

/// The error of a write whose `if_version` did not match ([`ErrorKind::Conflict`]).
pub(crate) fn stale(kind: InboxKind, id: &str, want: i64, have: Option<i64>) -> Error {
    let have = have.map_or_else(|| "none (absent)".to_string(), |v| v.to_string());
    Error::new(
        ErrorKind::Conflict,
        format!(
            "inbox {} `{id}`: expected version {want}, the stored version is {have}",
            kind.as_str()
        ),
    )
}

/// The error of a delete of a resource that does not exist ([`ErrorKind::NotFound`]).
pub(crate) fn absent(kind: InboxKind, id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("inbox {} `{id}` does not exist", kind.as_str()),
    )
}

/// Checks `if_version` against the stored version.
pub(crate) fn check_version(
    kind: InboxKind,
    id: &str,
    if_version: Option<i64>,
    have: Option<i64>,
) -> Result<()> {
    match if_version {
        None => Ok(()),
        Some(0) if have.is_none() => Ok(()),
        Some(want) if Some(want) == have => Ok(()),
        Some(want) => Err(stale(kind, id, want, have)),
    }
}

fn parse_resource(kind: InboxKind, id: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("inbox {} `{id}`: {e}", kind.as_str())))
}

impl Store {
    /// The stored resource of `kind` with `id`, if any.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the state cannot be read.
    pub fn inbox_get(&self, kind: InboxKind, id: &str) -> Result<Option<InboxEntry>> {
        if let Some(pg) = self.pg() {
            return pg.inbox_get(kind, id);
        }
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT version, resource FROM inbox WHERE kind = ?1 AND id = ?2",
                params![kind.as_str(), id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(|e| self.error("cannot read the inbox", &e))?;
        row.map(|(version, text)| {
            Ok(InboxEntry {
                kind,
                id: id.to_string(),
                version,
                resource: parse_resource(kind, id, &text)?,
            })
        })
        .transpose()
    }

    /// Every stored resource of `kind`, in the order they were created (stable across
    /// updates, so paging over it is stable).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the state cannot be read.
    pub fn inbox_list(&self, kind: InboxKind) -> Result<Vec<InboxEntry>> {
        if let Some(pg) = self.pg() {
            return pg.inbox_list(kind);
        }
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached("SELECT id, version, resource FROM inbox WHERE kind = ?1 ORDER BY pos")
            .map_err(|e| self.error("cannot read the inbox", &e))?;
        let rows = stmt
            .query_map(params![kind.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.error("cannot read the inbox", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, version, text) = row.map_err(|e| self.error("cannot read the inbox", &e))?;
            let resource = parse_resource(kind, &id, &text)?;
            out.push(InboxEntry {
                kind,
                id,
                version,
                resource,
            });
        }
        Ok(out)
    }

    /// Applies `writes` in one transaction, durable when this returns, and returns each
    /// write's new version (0 for a delete). Each write takes the next change number.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] when a write's `if_version` does not match the stored version;
    /// [`ErrorKind::NotFound`] when a delete names a resource that does not exist;
    /// [`ErrorKind::Unavailable`] when the transaction cannot be committed. In every case
    /// none of the writes took effect.
    pub fn inbox_write(&self, writes: &[InboxWrite]) -> Result<Vec<i64>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(pg) = self.pg() {
            return pg.inbox_write(writes);
        }
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error("cannot begin a transaction", &e))?;
        let err = |e: rusqlite::Error| self.error("cannot write the inbox", &e);
        let mut seq: i64 = tx
            .query_row("SELECT sequence FROM inbox_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(err)?;
        let mut versions = Vec::with_capacity(writes.len());
        for write in writes {
            let (kind, id, if_version) = write.parts();
            let have: Option<i64> = tx
                .query_row(
                    "SELECT version FROM inbox WHERE kind = ?1 AND id = ?2",
                    params![kind.as_str(), id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            check_version(kind, id, if_version, have)?;
            seq += 1;
            match write {
                InboxWrite::Put { resource, .. } => {
                    tx.prepare_cached(
                        "INSERT INTO inbox (kind, id, version, resource) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (kind, id) DO UPDATE SET
                           version = excluded.version, resource = excluded.resource",
                    )
                    .and_then(|mut s| {
                        s.execute(params![kind.as_str(), id, seq, resource.to_string()])
                    })
                    .map_err(err)?;
                    versions.push(seq);
                }
                InboxWrite::Delete { .. } => {
                    if have.is_none() {
                        return Err(absent(kind, id));
                    }
                    tx.prepare_cached("DELETE FROM inbox WHERE kind = ?1 AND id = ?2")
                        .and_then(|mut s| s.execute(params![kind.as_str(), id]))
                        .map_err(err)?;
                    versions.push(0);
                }
            }
        }
        tx.execute(
            "UPDATE inbox_state SET sequence = ?1 WHERE id = 1",
            params![seq],
        )
        .map_err(err)?;
        tx.commit().map_err(|e| self.error("cannot commit", &e))?;
        Ok(versions)
    }

    /// The number of the last change written to the inbox (0 before the first).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the state cannot be read.
    pub fn inbox_sequence(&self) -> Result<i64> {
        self.inbox_state_column("sequence")
    }

    /// The number of the last change the fan-out finished applying (0 before the first).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the state cannot be read.
    pub fn inbox_applied(&self) -> Result<i64> {
        self.inbox_state_column("applied")
    }

    /// Records that the fan-out finished applying every change up to `seq`, durably.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the state cannot be written.
    pub fn inbox_set_applied(&self, seq: i64) -> Result<()> {
        if let Some(pg) = self.pg() {
            return pg.inbox_set_applied(seq);
        }
        self.conn()?
            .execute(
                "UPDATE inbox_state SET applied = ?1 WHERE id = 1",
                params![seq],
            )
            .map(|_| ())
            .map_err(|e| self.error("cannot record the applied change", &e))
    }

    fn inbox_state_column(&self, column: &'static str) -> Result<i64> {
        if let Some(pg) = self.pg() {
            return pg.inbox_state_column(column);
        }
        self.conn()?
            .query_row(
                &format!("SELECT {column} FROM inbox_state WHERE id = 1"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.error("cannot read the inbox state", &e))
    }
}
