//! The inbox held in memory, so that a list, a lookup or a uniqueness check does not read
//! and parse every stored resource again.
//!
//! The copy is tied to the inbox's change sequence: a reader compares it with the
//! store's (one cheap query) and reloads when another writer moved it. The server's own
//! writes update the copy in place (each takes the next change number), so a burst of
//! creates, such as an identity provider's first import, costs one load, not one per
//! create.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use idbridge_store::{InboxEntry, InboxKind, InboxWrite, Store};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The inbox at one change number.
#[derive(Clone, Default)]
pub(crate) struct Snapshot {
    seq: i64,
    users: Vec<Arc<InboxEntry>>,
    groups: Vec<Arc<InboxEntry>>,
    /// Lower-cased `userName` → user id.
    names: HashMap<String, String>,
    /// Id → position in `users` / `groups`.
    user_pos: HashMap<String, usize>,
    group_pos: HashMap<String, usize>,
}

fn positions(list: &[Arc<InboxEntry>]) -> HashMap<String, usize> {
    list.iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect()
}

/// The key `userName`s are unique by.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn user_name(e: &InboxEntry) -> Option<&str> {
    e.resource.get("userName").and_then(Value::as_str)
}

impl Snapshot {
    fn load(store: &Store, seq: i64) -> ApiResult<Snapshot> {
        let err = |e: idbridge_core::Error| ApiError::from_store(&e);
        let users: Vec<Arc<InboxEntry>> = store
            .inbox_list(InboxKind::User)
            .map_err(err)?
            .into_iter()
            .map(Arc::new)
            .collect();
        let groups: Vec<Arc<InboxEntry>> = store
            .inbox_list(InboxKind::Group)
            .map_err(err)?
            .into_iter()
            .map(Arc::new)
            .collect();
        let names = users
            .iter()
            .filter_map(|u| Some((name_key(user_name(u)?), u.id.clone())))
            .collect();
        Ok(Snapshot {
            seq,
            user_pos: positions(&users),
            group_pos: positions(&groups),
            users,
            groups,
            names,
        })
    }

    /// The resources of `kind`, in creation order.
    pub(crate) fn of(&self, kind: InboxKind) -> &[Arc<InboxEntry>] {
        match kind {
            InboxKind::User => &self.users,
            InboxKind::Group => &self.groups,
        }
    }

    /// The resource of `kind` with `id`.
    pub(crate) fn get(&self, kind: InboxKind, id: &str) -> Option<&Arc<InboxEntry>> {
        let (list, pos) = match kind {
            InboxKind::User => (&self.users, &self.user_pos),
            InboxKind::Group => (&self.groups, &self.group_pos),
        };
        pos.get(id)
            .and_then(|&i| list.get(i))
            .filter(|e| e.id == id)
    }

    /// The id of the user whose `userName` is `name` in any case.
    pub(crate) fn user_named(&self, name: &str) -> Option<&str> {
        self.names.get(&name_key(name)).map(String::as_str)
    }

    fn apply(&mut self, writes: &[InboxWrite], versions: &[i64]) {
        for (w, v) in writes.iter().zip(versions) {
            let (kind, id) = match w {
                InboxWrite::Put { kind, id, .. } | InboxWrite::Delete { kind, id, .. } => {
                    (*kind, id)
                }
            };
            let (list, pos) = match kind {
                InboxKind::User => (&mut self.users, &mut self.user_pos),
                InboxKind::Group => (&mut self.groups, &mut self.group_pos),
            };
            let at = pos.get(id).copied();
            if kind == InboxKind::User {
                // The user's old name is free again (a rename, or a delete).
                if let Some(old) = at.and_then(|i| list.get(i)).and_then(|e| user_name(e)) {
                    let key = name_key(old);
                    if self.names.get(&key) == Some(id) {
                        self.names.remove(&key);
                    }
                }
            }
            match w {
                InboxWrite::Put { resource, .. } => {
                    let entry = Arc::new(InboxEntry {
                        kind,
                        id: id.clone(),
                        version: *v,
                        resource: resource.clone(),
                    });
                    if kind == InboxKind::User {
                        if let Some(n) = user_name(&entry) {
                            self.names.insert(name_key(n), id.clone());
                        }
                    }
                    match at.and_then(|i| list.get_mut(i)) {
                        Some(slot) => *slot = entry,
                        None => {
                            pos.insert(id.clone(), list.len());
                            list.push(entry);
                        }
                    }
                }
                InboxWrite::Delete { .. } => {
                    if let Some(i) = at.filter(|i| *i < list.len()) {
                        list.remove(i);
                        pos.remove(id);
                        for (j, e) in list.iter().enumerate().skip(i) {
                            pos.insert(e.id.clone(), j);
                        }
                    }
                }
            }
        }
        self.seq += writes.len() as i64;
    }
}

/// The shared copy.
#[derive(Default)]
pub(crate) struct Cache(Mutex<Option<Arc<Snapshot>>>);

impl Cache {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Snapshot>>> {
        // A panic cannot leave the copy half-changed: it is replaced whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The inbox as it is now in the store.
    pub(crate) fn snapshot(&self, store: &Store) -> ApiResult<Arc<Snapshot>> {
        let seq = store
            .inbox_sequence()
            .map_err(|e| ApiError::from_store(&e))?;
        if let Some(s) = self.slot().as_ref().filter(|s| s.seq == seq) {
            return Ok(s.clone());
        }
        let fresh = Arc::new(Snapshot::load(store, seq)?);
        *self.slot() = Some(fresh.clone());
        Ok(fresh)
    }

    /// Records writes this server made, which moved the sequence from `before` to
    /// `after`: applied to the copy when it was at `before` and nothing else was written
    /// meanwhile, else the copy is dropped (the next reader reloads).
    pub(crate) fn wrote(&self, before: i64, after: i64, writes: &[InboxWrite], versions: &[i64]) {
        let mut slot = self.slot();
        match slot.as_mut() {
            Some(s) if s.seq == before && after == before + writes.len() as i64 => {
                Arc::make_mut(s).apply(writes, versions);
            }
            _ => *slot = None,
        }
    }
}
