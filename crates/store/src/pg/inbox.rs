//! The SCIM inbox on PostgreSQL: the same reads and writes as on SQLite, scoped by tenant.
//! A write locks the tenant's state row first, so that writers in several processes take
//! change numbers one after the other.

use idbridge_core::Result;
use serde_json::Value;

use super::Pg;
use crate::inbox::{InboxEntry, InboxKind, InboxWrite, absent, check_version};

impl Pg {
    pub(crate) fn inbox_get(&self, kind: InboxKind, id: &str) -> Result<Option<InboxEntry>> {
        let id = id.to_string();
        self.with(move |c, tenant, t| {
            let row = c
                .query_opt(
                    "SELECT version, resource FROM idbridge_inbox
                     WHERE tenant = $1 AND kind = $2 AND id = $3",
                    &[&tenant, &kind.as_str(), &id],
                )
                .map_err(|e| t.error("cannot read the inbox", &e))?;
            row.map(|r| {
                let version: i64 = r
                    .try_get(0)
                    .map_err(|e| t.error("cannot read the inbox", &e))?;
                let resource: Value = r
                    .try_get(1)
                    .map_err(|e| t.error("cannot read the inbox", &e))?;
                Ok(InboxEntry {
                    kind,
                    id: id.clone(),
                    version,
                    resource,
                })
            })
            .transpose()
        })
    }

    pub(crate) fn inbox_list(&self, kind: InboxKind) -> Result<Vec<InboxEntry>> {
        self.with(move |c, tenant, t| {
            let rows = c
                .query(
                    "SELECT id, version, resource FROM idbridge_inbox
                     WHERE tenant = $1 AND kind = $2 ORDER BY pos",
                    &[&tenant, &kind.as_str()],
                )
                .map_err(|e| t.error("cannot read the inbox", &e))?;
            rows.iter()
                .map(|r| {
                    let get = || -> std::result::Result<_, postgres::Error> {
                        Ok(InboxEntry {
                            kind,
                            id: r.try_get(0)?,
                            version: r.try_get(1)?,
                            resource: r.try_get(2)?,
                        })
                    };
                    get().map_err(|e| t.error("cannot read the inbox", &e))
                })
                .collect()
        })
    }

    pub(crate) fn inbox_write(&self, writes: &[InboxWrite]) -> Result<Vec<i64>> {
        let writes = writes.to_vec();
        self.with(move |c, tenant, t| {
            let err = |e: postgres::Error| t.error("cannot write the inbox", &e);
            let mut tx = c
                .transaction()
                .map_err(|e| t.error("cannot begin a transaction", &e))?;
            tx.execute(
                "INSERT INTO idbridge_inbox_state (tenant, sequence, applied) VALUES ($1, 0, 0)
                 ON CONFLICT (tenant) DO NOTHING",
                &[&tenant],
            )
            .map_err(err)?;
            let mut seq: i64 = tx
                .query_one(
                    "SELECT sequence FROM idbridge_inbox_state WHERE tenant = $1 FOR UPDATE",
                    &[&tenant],
                )
                .and_then(|r| r.try_get(0))
                .map_err(err)?;
            let mut versions = Vec::with_capacity(writes.len());
            for write in &writes {
                let (kind, id, if_version) = write.parts();
                let have: Option<i64> = tx
                    .query_opt(
                        "SELECT version FROM idbridge_inbox
                         WHERE tenant = $1 AND kind = $2 AND id = $3",
                        &[&tenant, &kind.as_str(), &id],
                    )
                    .and_then(|r| r.map(|r| r.try_get(0)).transpose())
                    .map_err(err)?;
                check_version(kind, id, if_version, have)?;
                seq += 1;
                match write {
                    InboxWrite::Put { resource, .. } => {
                        tx.execute(
                            "INSERT INTO idbridge_inbox (tenant, kind, id, version, resource)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (tenant, kind, id) DO UPDATE SET
                               version = excluded.version, resource = excluded.resource",
                            &[&tenant, &kind.as_str(), &id, &seq, resource],
                        )
                        .map_err(err)?;
                        versions.push(seq);
                    }
                    InboxWrite::Delete { .. } => {
                        if have.is_none() {
                            return Err(absent(kind, id));
                        }
                        tx.execute(
                            "DELETE FROM idbridge_inbox WHERE tenant = $1 AND kind = $2 AND id = $3",
                            &[&tenant, &kind.as_str(), &id],
                        )
                        .map_err(err)?;
                        versions.push(0);
                    }
                }
            }
            tx.execute(
                "UPDATE idbridge_inbox_state SET sequence = $2 WHERE tenant = $1",
                &[&tenant, &seq],
            )
            .map_err(err)?;
            tx.commit().map_err(|e| t.error("cannot commit", &e))?;
            Ok(versions)
        })
    }

    pub(crate) fn inbox_set_applied(&self, seq: i64) -> Result<()> {
        self.with(move |c, tenant, t| {
            c.execute(
                "INSERT INTO idbridge_inbox_state (tenant, sequence, applied) VALUES ($1, 0, $2)
                 ON CONFLICT (tenant) DO UPDATE SET applied = excluded.applied",
                &[&tenant, &seq],
            )
            .map(|_| ())
            .map_err(|e| t.error("cannot record the applied change", &e))
        })
    }

    pub(crate) fn inbox_state_column(&self, column: &'static str) -> Result<i64> {
        self.with(move |c, tenant, t| {
            let row = c
                .query_opt(
                    &format!("SELECT {column} FROM idbridge_inbox_state WHERE tenant = $1"),
                    &[&tenant],
                )
                .map_err(|e| t.error("cannot read the inbox state", &e))?;
            row.map(|r| r.try_get(0))
                .transpose()
                .map(|v| v.unwrap_or(0))
                .map_err(|e| t.error("cannot read the inbox state", &e))
        })
    }
}
