//! The adapter: read snapshots of the SCIM directory, cut into pages, and the read traits.
//!
//! A listing's first page reads users and groups (with their members) in one go, and
//! checks that no SCIM write landed in between (the directory's change sequence is the same
//! before and after); later pages are cut from the snapshot their cursor names. So a sync
//! that lists users, groups and members sees one consistent directory, and a write arriving
//! mid-listing neither skips nor repeats a record (the next sync picks it up).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, Error, Group, Groups, Membership, Memberships, Page,
    PageRequest, Principal, Result, Roles, Sessions, User, Users,
};
use idbridge_scim::mapping;
use idbridge_scim::wire::{GroupResource, UserResource};
use idbridge_store::Store;
use idbridge_store::{InboxEntry, InboxKind};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};

use crate::config::InboxConfig;

/// Records per listing page unless the caller asks for another size.
pub const DEFAULT_LIST_PAGE: usize = 1000;

/// Snapshots kept for listings still paging through them.
const KEPT_SNAPSHOTS: usize = 4;

/// Reads retried when SCIM writes keep landing between the two halves of a read.
const READ_ATTEMPTS: usize = 20;

/// One consistent read of the directory, at a change sequence.
#[derive(Debug)]
struct Snapshot {
    sequence: i64,
    users: Vec<User>,
    groups: Vec<Group>,
    members: Vec<Membership>,
}

/// The `scim-inbox` adapter: a read-only source.
pub struct InboxAdapter {
    config: InboxConfig,
    /// Built only to be checked: the state database is not created when missing.
    read_only: bool,
    store: OnceCell<Store>,
    snapshots: Mutex<VecDeque<Arc<Snapshot>>>,
}

impl InboxAdapter {
    /// What the adapter implements: reads only.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            groups_list: true,
            groups_get: true,
            members_list: true,
            members_list_all: true,
            members_nested: true,
            ..Capabilities::default()
        }
    }

    /// Builds the adapter from its section. The state database is opened on the first
    /// read, so building creates nothing.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for an invalid section (see
    /// [`InboxConfig::from_adapter_config`]).
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        let mut adapter = Self::new(InboxConfig::from_adapter_config(&config)?);
        adapter.read_only = config.read_only;
        Ok(Arc::new(adapter))
    }

    /// An adapter over a validated configuration.
    pub fn new(config: InboxConfig) -> Self {
        InboxAdapter {
            config,
            read_only: false,
            store: OnceCell::new(),
            snapshots: Mutex::new(VecDeque::new()),
        }
    }

    /// The state database; `None` when the adapter is built to be checked and the
    /// database does not exist yet (a check creates nothing, and an absent directory is an
    /// empty one: `idbridge serve` or the first sync creates it).
    async fn store(&self) -> Result<Option<Store>> {
        let path = self.config.state.clone();
        if self.read_only && !idbridge_core::config::is_postgres_state(&path) && !path.exists() {
            return Ok(None);
        }
        self.store
            .get_or_try_init(|| async move { blocking(move || Store::open(&path)).await })
            .await
            .cloned()
            .map(Some)
    }

    /// The snapshot at the directory's current change sequence: the last one kept when no
    /// write came since, else a new read.
    async fn fresh(&self) -> Result<Arc<Snapshot>> {
        let Some(store) = self.store().await? else {
            return Ok(Arc::new(snapshot(
                0,
                &[],
                &[],
                &self.config.attribute_paths,
            )?));
        };
        let mut kept = self.snapshots.lock().await;
        let now = {
            let store = store.clone();
            blocking(move || store.inbox_sequence()).await?
        };
        if let Some(s) = kept.back()
            && s.sequence == now
        {
            return Ok(s.clone());
        }
        let paths = self.config.attribute_paths.clone();
        let snapshot = Arc::new(blocking(move || read(&store, &paths)).await?);
        kept.push_back(snapshot.clone());
        while kept.len() > KEPT_SNAPSHOTS {
            kept.pop_front();
        }
        Ok(snapshot)
    }

    /// One page of `pick(snapshot)`: the first page from a fresh snapshot, the next ones
    /// from the snapshot the cursor names (`<sequence>:<offset>`).
    async fn page<T: Clone>(
        &self,
        req: &PageRequest,
        pick: impl Fn(&Snapshot) -> &[T],
    ) -> Result<Page<T>> {
        let (snapshot, offset) = match req.snapshot_cursor::<i64>()? {
            None => (self.fresh().await?, 0),
            Some((sequence, offset)) => {
                let kept = self.snapshots.lock().await;
                let Some(s) = kept.iter().find(|s| s.sequence == sequence) else {
                    return Err(Error::conflict(format!(
                        "page cursor `{}` belongs to a directory read no longer kept; \
                         start the listing again",
                        req.cursor.as_deref().unwrap_or_default()
                    )));
                };
                (s.clone(), offset)
            }
        };
        Ok(Page::slice_snapshot(
            pick(&snapshot),
            snapshot.sequence,
            offset,
            req,
            DEFAULT_LIST_PAGE,
        ))
    }

    async fn entry(&self, kind: InboxKind, id: &str) -> Result<Option<InboxEntry>> {
        let Some(store) = self.store().await? else {
            return Ok(None);
        };
        let id = id.to_string();
        blocking(move || store.inbox_get(kind, &id)).await
    }
}

/// Runs a call into the state database off the async workers (SQLite blocks).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::unavailable(format!("reading the SCIM directory stopped: {e}")))?
}

/// Reads users and groups with no write in between.
fn read(store: &Store, paths: &std::collections::BTreeMap<String, String>) -> Result<Snapshot> {
    for _ in 0..READ_ATTEMPTS {
        let before = store.inbox_sequence()?;
        let users = store.inbox_list(InboxKind::User)?;
        let groups = store.inbox_list(InboxKind::Group)?;
        if store.inbox_sequence()? == before {
            return snapshot(before, &users, &groups, paths);
        }
    }
    Err(Error::conflict(format!(
        "the SCIM directory changed during each of {READ_ATTEMPTS} reads; try again"
    )))
}

fn snapshot(
    sequence: i64,
    users: &[InboxEntry],
    groups: &[InboxEntry],
    paths: &std::collections::BTreeMap<String, String>,
) -> Result<Snapshot> {
    let mut users: Vec<User> = users
        .iter()
        .map(|e| user_of(e, paths))
        .collect::<Result<_>>()?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut resources: Vec<(Group, GroupResource)> =
        groups.iter().map(group_of).collect::<Result<_>>()?;
    resources.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let user_ids: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let group_ids: BTreeSet<&str> = resources.iter().map(|(g, _)| g.id.as_str()).collect();
    let mut members = Vec::new();
    for (group, resource) in &resources {
        let mut seen = BTreeSet::new();
        for m in resource.members.iter().flatten() {
            // The type an identity provider sends is advisory: the id says what it is. A
            // member whose resource is gone is no member.
            let member = if group_ids.contains(m.value.as_str()) {
                Principal::Group(m.value.clone())
            } else if user_ids.contains(m.value.as_str()) && !m.is_group() {
                Principal::User(m.value.clone())
            } else {
                continue;
            };
            if seen.insert(member.clone()) {
                members.push(Membership {
                    group: group.id.clone(),
                    member,
                });
            }
        }
    }
    Ok(Snapshot {
        sequence,
        users,
        groups: resources.into_iter().map(|(g, _)| g).collect(),
        members,
    })
}

/// A stored resource's JSON with the booleans an identity provider may have sent as text
/// (`"False"`) made booleans, so that the wire model reads them.
fn normalized(resource: &Value) -> Value {
    let mut v = resource.clone();
    if let Some(active) = v.get_mut("active")
        && let Value::String(s) = active
    {
        match s.to_ascii_lowercase().as_str() {
            "true" => *active = Value::Bool(true),
            "false" => *active = Value::Bool(false),
            _ => {}
        }
    }
    v
}

fn user_of(e: &InboxEntry, paths: &std::collections::BTreeMap<String, String>) -> Result<User> {
    let r: UserResource = serde_json::from_value(normalized(&e.resource)).map_err(|err| {
        Error::protocol(format!(
            "the stored SCIM user `{}` is not a User resource: {err}",
            e.id
        ))
    })?;
    let mut user = mapping::user_from_scim(&r, paths);
    user.id = e.id.clone();
    Ok(user)
}

fn group_of(e: &InboxEntry) -> Result<(Group, GroupResource)> {
    let r: GroupResource = serde_json::from_value(e.resource.clone()).map_err(|err| {
        Error::protocol(format!(
            "the stored SCIM group `{}` is not a Group resource: {err}",
            e.id
        ))
    })?;
    let mut group = mapping::group_from_scim(&r);
    group.id = e.id.clone();
    Ok((group, r))
}

#[async_trait]
impl Adapter for InboxAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Self::declared_capabilities()
    }

    /// Opens the state database and reads its change sequence: it proves the database
    /// can be read, without reading it whole. A check of a database not created yet
    /// passes (and creates nothing).
    async fn check(&self) -> Result<()> {
        match self.store().await? {
            Some(store) => blocking(move || store.inbox_sequence()).await.map(|_| ()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Users for InboxAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.page(&page, |s| &s.users).await
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        match self.entry(InboxKind::User, id).await? {
            Some(e) => user_of(&e, &self.config.attribute_paths),
            None => Err(Error::not_found(format!("no SCIM user with id `{id}`"))),
        }
    }
}

#[async_trait]
impl Groups for InboxAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.page(&page, |s| &s.groups).await
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        match self.entry(InboxKind::Group, id).await? {
            Some(e) => group_of(&e).map(|(g, _)| g),
            None => Err(Error::not_found(format!("no SCIM group with id `{id}`"))),
        }
    }
}

#[async_trait]
impl Memberships for InboxAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        let snapshot = self.fresh().await?;
        if !snapshot.groups.iter().any(|g| g.id == group) {
            return Err(Error::not_found(format!("no SCIM group with id `{group}`")));
        }
        let members: Vec<Principal> = snapshot
            .members
            .iter()
            .filter(|m| m.group == group)
            .map(|m| m.member.clone())
            .collect();
        Page::slice(members, &page, DEFAULT_LIST_PAGE)
    }

    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        Ok(self.fresh().await?.members.clone())
    }
}

impl Roles for InboxAdapter {}
impl Sessions for InboxAdapter {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(kind: InboxKind, id: &str, resource: Value) -> InboxEntry {
        InboxEntry {
            kind,
            id: id.into(),
            version: 1,
            resource,
        }
    }

    #[test]
    fn users_map_as_the_scim_adapter_maps_them_and_text_booleans_are_read() {
        let paths = [("externalId".to_string(), "externalId".to_string())].into();
        let users = [
            entry(
                InboxKind::User,
                "u1",
                json!({"userName": "ada", "externalId": "x-1", "active": "False",
                       "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
                       "name": {"formatted": "Ada L"}}),
            ),
            entry(InboxKind::User, "u0", json!({"userName": "bob"})),
        ];
        let groups = [
            entry(
                InboxKind::Group,
                "g1",
                json!({"displayName": "Eng", "members": [
                    {"value": "u1"}, {"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"},
                    {"value": "gone"}]}),
            ),
            entry(InboxKind::Group, "g2", json!({"displayName": "Ops"})),
        ];
        let s = snapshot(7, &users, &groups, &paths).expect("reads");
        assert_eq!(s.users[0].id, "u0", "sorted by id");
        assert!(s.users[0].enabled, "absent active is active");
        let ada = &s.users[1];
        assert_eq!(ada.login, "ada");
        assert!(!ada.enabled, "\"False\" is inactive");
        assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
        assert_eq!(ada.display_name.as_deref(), Some("Ada L"));
        assert_eq!(ada.attributes["externalId"], "x-1");
        assert_eq!(
            s.members,
            vec![
                Membership {
                    group: "g1".into(),
                    member: Principal::User("u1".into())
                },
                Membership {
                    group: "g1".into(),
                    member: Principal::Group("g2".into())
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_check_of_a_database_not_created_yet_creates_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state.db");
        let mut cfg = AdapterConfig::new("source", json!({"state": "state.db"}));
        cfg.origin = idbridge_core::ConfigOrigin::in_memory(dir.path());
        cfg.read_only = true;
        let adapter = InboxAdapter::build(cfg).await.expect("builds");
        adapter.check().await.expect("passes");
        let users = adapter
            .list_users(PageRequest::default())
            .await
            .expect("lists");
        assert!(users.items.is_empty());
        assert!(!state.exists(), "nothing was created");
    }

    #[test]
    fn a_stored_record_that_is_no_resource_fails_naming_it() {
        let users = [entry(InboxKind::User, "u9", json!({"userName": 5}))];
        let e = snapshot(1, &users, &[], &Default::default()).expect_err("bad");
        assert!(e.to_string().contains("u9"), "{e}");
    }
}
