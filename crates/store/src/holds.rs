//! Offboarding holds: a person `idbridge offboard` disabled, kept disabled in every target
//! by every later plan (whatever the source says) until the hold is lifted.
//!
//! A hold names the person by the keys a plan can recognise them by: the source user's id
//! when the source knows them, and logins and email addresses (kept lowercased and
//! trimmed, as the planner compares them). Lifting a hold keeps its row, with who lifted
//! it and when, so that the state file tells the whole story.

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::{Store, corrupt, now_text, parse_time};

/// A hold to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHold {
    /// The person as the administrator named them (a login or an email).
    pub person: String,
    /// The source user's id, when the source has the person.
    pub source_id: Option<String>,
    /// Logins and email addresses of the person (in the source and in the targets);
    /// normalised ([`idbridge_core::compare::fold`]) when stored. `person` is always one of them.
    pub keys: Vec<String>,
    /// Who placed it (the operating-system user).
    pub by: String,
    /// Why: the command, and the reason given, if any.
    pub reason: String,
}

/// A hold as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Its id (increasing).
    pub id: i64,
    /// The person as the administrator named them.
    pub person: String,
    /// The source user's id, when known.
    pub source_id: Option<String>,
    /// Normalised logins and email addresses of the person.
    pub keys: Vec<String>,
    /// When it was placed.
    pub created: DateTime<Utc>,
    /// Who placed it (the operating-system user).
    pub created_by: String,
    /// Why.
    pub reason: String,
    /// When it was lifted, if it was.
    pub lifted: Option<DateTime<Utc>>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
}

fn norm(key: &str) -> String {
    idbridge_core::compare::fold(key)
}

impl Hold {
    /// Whether `who` names this hold's person: the name given, one of its keys, or its
    /// source id (compared as [`idbridge_core::compare::fold`] does: case folded, Unicode NFC, ignoring
    /// surrounding spaces).
    pub fn names(&self, who: &str) -> bool {
        let who = norm(who);
        norm(&self.person) == who
            || self.keys.contains(&who)
            || self.source_id.as_deref().is_some_and(|s| norm(s) == who)
    }
}

impl Store {
    /// Records a hold and returns it as stored.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] when the person is empty;
    /// [`idbridge_core::ErrorKind::Unavailable`] when the file cannot be written.
    pub fn add_hold(&self, hold: &NewHold) -> Result<Hold> {
        if hold.person.trim().is_empty() {
            return Err(Error::invalid_input(
                "a hold needs the person's login or email",
            ));
        }
        let mut keys: Vec<String> = std::iter::once(hold.person.as_str())
            .chain(hold.keys.iter().map(String::as_str))
            .map(norm)
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        if let Some(pg) = self.pg() {
            return pg.add_hold(
                hold.person.trim().to_string(),
                hold.source_id.clone(),
                keys,
                hold.by.clone(),
                hold.reason.clone(),
            );
        }
        let keys_text = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".to_string());
        let id = {
            let conn = self.conn()?;
            conn.execute(
                "INSERT INTO holds (person, source_id, keys, created, created_by, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    hold.person.trim(),
                    hold.source_id,
                    keys_text,
                    now_text(),
                    hold.by,
                    hold.reason
                ],
            )
            .map_err(|e| self.error("cannot record the hold", &e))?;
            conn.last_insert_rowid()
        };
        self.query_holds("SELECT id, person, source_id, keys, created, created_by, reason, lifted, lifted_by FROM holds WHERE id = ?1", params![id])?
            .into_iter()
            .next()
            .ok_or_else(|| corrupt(format!("hold {id} is gone right after it was written")))
    }

    /// The holds in force (not lifted), oldest first.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the file cannot be read.
    pub fn holds(&self) -> Result<Vec<Hold>> {
        if let Some(pg) = self.pg() {
            return pg.holds();
        }
        self.query_holds(
            "SELECT id, person, source_id, keys, created, created_by, reason, lifted, lifted_by
             FROM holds WHERE lifted IS NULL ORDER BY id",
            params![],
        )
    }

    /// Lifts every hold in force that `who` names ([`Hold::names`]) and returns them as
    /// they were; empty when none does.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the file cannot be read or written.
    pub fn lift_holds(&self, who: &str, by: &str) -> Result<Vec<Hold>> {
        let lifted: Vec<Hold> = self.holds()?.into_iter().filter(|h| h.names(who)).collect();
        if let Some(pg) = self.pg() {
            pg.lift_holds(lifted.iter().map(|h| h.id).collect(), by.to_string())?;
            return Ok(lifted);
        }
        let now = now_text();
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(|e| self.error("cannot lift the hold", &e))?;
        for h in &lifted {
            tx.execute(
                "UPDATE holds SET lifted = ?2, lifted_by = ?3 WHERE id = ?1",
                params![h.id, now, by],
            )
            .map_err(|e| self.error("cannot lift the hold", &e))?;
        }
        tx.commit()
            .map_err(|e| self.error("cannot lift the hold", &e))?;
        Ok(lifted)
    }

    fn query_holds(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Hold>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.error("cannot read holds", &e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })
            .map_err(|e| self.error("cannot read holds", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, person, source_id, keys, created, created_by, reason, lifted, lifted_by) =
                row.map_err(|e| self.error("cannot read holds", &e))?;
            let keys: Vec<String> = serde_json::from_str(&keys)
                .map_err(|e| corrupt(format!("keys of hold {id}: {e}")))?;
            out.push(Hold {
                id,
                person,
                source_id,
                keys,
                created: parse_time(&created)?,
                created_by,
                reason,
                lifted: lifted.as_deref().map(parse_time).transpose()?,
                lifted_by,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_named_whatever_the_unicode_form_or_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db")).expect("opens");
        let h = store
            .add_hold(&NewHold {
                person: "zo\u{00EB}".into(),
                source_id: None,
                keys: vec!["Zo\u{00EB}@example.com".into()],
                by: "alice".into(),
                reason: "offboard".into(),
            })
            .expect("added");
        assert!(h.names("zoe\u{0308}"), "{h:?}");
        assert!(h.names("ZOE\u{0308}@EXAMPLE.COM"), "{h:?}");
        assert!(!h.names("zoe"), "{h:?}");
    }

    #[test]
    fn holds_are_recorded_listed_and_lifted_with_their_history() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db")).expect("opens");
        assert!(store.holds().expect("holds").is_empty());
        let h = store
            .add_hold(&NewHold {
                person: " Ada@Example.com ".into(),
                source_id: Some("u-1".into()),
                keys: vec!["ada".into(), "ADA@example.com".into()],
                by: "alice".into(),
                reason: "offboard: compromised".into(),
            })
            .expect("added");
        assert_eq!(h.person, "Ada@Example.com");
        assert_eq!(h.keys, vec!["ada", "ada@example.com"]);
        assert_eq!(h.created_by, "alice");
        assert!(h.names("ADA") && h.names("u-1") && !h.names("bob"));
        assert_eq!(store.holds().expect("holds"), vec![h.clone()]);

        assert!(store.lift_holds("bob", "carol").expect("lift").is_empty());
        let lifted = store.lift_holds("ada", "carol").expect("lift");
        assert_eq!(lifted, vec![h]);
        assert!(store.holds().expect("holds").is_empty());
        let row: (Option<String>, Option<String>) = store
            .conn()
            .expect("sqlite")
            .query_row("SELECT lifted, lifted_by FROM holds", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row kept");
        assert!(row.0.is_some());
        assert_eq!(row.1.as_deref(), Some("carol"));
        assert_eq!(
            store
                .add_hold(&NewHold {
                    person: " ".into(),
                    source_id: None,
                    keys: vec![],
                    by: "alice".into(),
                    reason: "offboard".into(),
                })
                .expect_err("empty")
                .kind(),
            idbridge_core::ErrorKind::InvalidInput
        );
    }
}
