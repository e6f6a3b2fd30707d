//! Links: which target account (or group) belongs to which source record, with a
//! fingerprint of what idbridge last wrote there.

use chrono::{DateTime, Utc};
use idbridge_core::Result;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{Store, parse_time};

/// What a link connects: a user account or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A user account.
    User,
    /// A group.
    Group,
}

impl LinkKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::User => "user",
            LinkKind::Group => "group",
        }
    }
}

/// A source record's counterpart in one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The target's name (the `targets.<name>` table).
    pub target: String,
    /// User or group.
    pub kind: LinkKind,
    /// The source record's stable id.
    pub source_id: String,
    /// The target record's stable id.
    pub target_id: String,
    /// A fingerprint of the desired state idbridge last wrote (or confirmed) in the target.
    pub fingerprint: String,
    /// When the link was last written.
    pub updated: DateTime<Utc>,
}

impl Store {
    /// Every link of one target and kind.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn links(&self, target: &str, kind: LinkKind) -> Result<Vec<Link>> {
        if let Some(pg) = self.pg() {
            return pg.links(target, kind);
        }
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT source_id, target_id, fingerprint, updated FROM links
                 WHERE target = ?1 AND kind = ?2 ORDER BY source_id",
            )
            .map_err(|e| self.error("cannot read links", &e))?;
        let rows = stmt
            .query_map(params![target, kind.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.error("cannot read links", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (source_id, target_id, fingerprint, updated) =
                row.map_err(|e| self.error("cannot read links", &e))?;
            out.push(Link {
                target: target.to_string(),
                kind,
                source_id,
                target_id,
                fingerprint,
                updated: parse_time(&updated)?,
            });
        }
        Ok(out)
    }

    /// How many links of one kind one target has.
    ///
    /// # Errors
    /// As [`Store::links`].
    pub fn link_count(&self, target: &str, kind: LinkKind) -> Result<usize> {
        if let Some(pg) = self.pg() {
            return pg.link_count(target, kind);
        }
        let conn = self.conn()?;
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM links WHERE target = ?1 AND kind = ?2",
                params![target, kind.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| self.error("cannot count links", &e))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Calls `each` with the source id, target id and fingerprint of every link of one
    /// target and kind, in source id order, without building a [`Link`] for each: a
    /// million links as records hold about 250 MB more than what the caller keeps of them.
    /// Stops at the first error `each` returns.
    ///
    /// # Errors
    /// As [`Store::links`]; the error of `each`.
    pub fn for_each_link(
        &self,
        target: &str,
        kind: LinkKind,
        mut each: impl FnMut(&str, &str, &str) -> Result<()>,
    ) -> Result<()> {
        if let Some(pg) = self.pg() {
            for l in pg.links(target, kind)? {
                each(&l.source_id, &l.target_id, &l.fingerprint)?;
            }
            return Ok(());
        }
        let failed = |e: &rusqlite::Error| self.error("cannot read links", e);
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT source_id, target_id, fingerprint FROM links
                 WHERE target = ?1 AND kind = ?2 ORDER BY source_id",
            )
            .map_err(|e| failed(&e))?;
        let mut rows = stmt
            .query(params![target, kind.as_str()])
            .map_err(|e| failed(&e))?;
        while let Some(r) = rows.next().map_err(|e| failed(&e))? {
            let field = |i: usize| {
                r.get_ref(i)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(|e| failed(&e))
            };
            each(field(0)?, field(1)?, field(2)?)?;
        }
        Ok(())
    }

    /// The link of one source record in one target, if any.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read.
    pub fn link(&self, target: &str, kind: LinkKind, source_id: &str) -> Result<Option<Link>> {
        if let Some(pg) = self.pg() {
            return pg.link(target, kind, source_id);
        }
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT target_id, fingerprint, updated FROM links
                 WHERE target = ?1 AND kind = ?2 AND source_id = ?3",
                params![target, kind.as_str(), source_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.error("cannot read a link", &e))?;
        row.map(|(target_id, fingerprint, updated)| {
            Ok(Link {
                target: target.to_string(),
                kind,
                source_id: source_id.to_string(),
                target_id,
                fingerprint,
                updated: parse_time(&updated)?,
            })
        })
        .transpose()
    }
}
