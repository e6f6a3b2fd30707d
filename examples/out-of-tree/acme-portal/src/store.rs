//! The portal's store: every record in one JSON document, loaded and saved whole.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;

use idbridge_core::{Error, Grant, Group, Membership, Principal, Result, Role, Scope, User};
use serde::{Deserialize, Serialize};

/// The built-in administrator account of a new store. Never modified by idbridge.
pub const ADMIN_USER_ID: &str = "u-admin";

/// The built-in administrators group of a new store: protected and privileged (idbridge
/// never changes it nor adds members to it).
pub const ADMIN_GROUP_ID: &str = "g-administrators";

/// The largest store file read, so that a wrong path cannot exhaust memory.
const MAX_STORE_BYTES: u64 = 256 * 1024 * 1024;

/// Everything the portal knows, as saved in its JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// User accounts, in creation order.
    #[serde(default)]
    pub users: Vec<User>,
    /// Groups, in creation order.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Direct memberships (users or groups in groups).
    #[serde(default)]
    pub members: Vec<Membership>,
    /// The portal's roles; fixed by the portal (idbridge only grants them).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Who holds which role (global scope only).
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The number in the next id handed out.
    #[serde(default = "one")]
    pub next_id: u64,
}

fn one() -> u64 {
    1
}

impl Store {
    /// A new portal: its administrator account and group, and its three roles.
    pub fn new_portal() -> Self {
        let admin = User {
            id: ADMIN_USER_ID.to_string(),
            login: "portal-admin".to_string(),
            email: None,
            display_name: Some("Portal administrator".to_string()),
            enabled: true,
            attributes: Default::default(),
        };
        let role = |id: &str, name: &str| Role {
            id: id.to_string(),
            name: name.to_string(),
            scope: Scope::Global,
            privileges: Vec::new(),
        };
        Store {
            users: vec![admin],
            groups: vec![Group {
                id: ADMIN_GROUP_ID.to_string(),
                name: "administrators".to_string(),
                description: Some("Administer the portal".to_string()),
            }],
            members: vec![Membership {
                group: ADMIN_GROUP_ID.to_string(),
                member: Principal::User(ADMIN_USER_ID.to_string()),
            }],
            roles: vec![
                role("r-viewer", "viewer"),
                role("r-editor", "editor"),
                role("r-administrator", "administrator"),
            ],
            grants: vec![Grant {
                role: "r-administrator".to_string(),
                principal: Principal::Group(ADMIN_GROUP_ID.to_string()),
                scope: Scope::Global,
            }],
            next_id: 1,
        }
    }

    /// Reads and checks the store at `path`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the file cannot be read, and
    /// [`idbridge_core::ErrorKind::Config`] when it is too large, is not a store (naming
    /// the line and column) or is inconsistent (naming the record).
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display();
        let file = std::fs::File::open(path).map_err(|e| {
            Error::unavailable(format!("cannot open the portal store {shown}: {e}"))
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_STORE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Error::unavailable(format!("cannot read the portal store {shown}: {e}"))
            })?;
        if bytes.len() as u64 > MAX_STORE_BYTES {
            return Err(Error::config(format!(
                "the portal store {shown} is larger than {} MiB; is it the right file?",
                MAX_STORE_BYTES / (1024 * 1024)
            )));
        }
        let store: Store = serde_json::from_slice(&bytes).map_err(|e| {
            Error::config(format!(
                "the portal store {shown} is not a portal store: {e}"
            ))
        })?;
        store
            .validate()
            .map_err(|problem| Error::config(format!("the portal store {shown}: {problem}")))?;
        Ok(store)
    }

    /// Writes the store to `path` atomically: a temporary file next to it, then a rename,
    /// so that a crash leaves either the old store or the new one.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] naming the file when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let fail = |e: std::io::Error| {
            Error::unavailable(format!(
                "cannot write the portal store {}: {e}",
                path.display()
            ))
        };
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::protocol(format!("cannot encode the portal store: {e}")))?;
        text.push(b'\n');
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = std::path::PathBuf::from(temp);
        let mut file = std::fs::File::create(&temp).map_err(fail)?;
        file.write_all(&text).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&temp, path).map_err(fail)
    }

    /// A new id with `prefix` (`u`, `g`), unique in this store.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}-{}", self.next_id);
            self.next_id += 1;
            if !self.users.iter().any(|u| u.id == id) && !self.groups.iter().any(|g| g.id == id) {
                return id;
            }
        }
    }

    /// Whether `principal` exists.
    pub fn has(&self, principal: &Principal) -> bool {
        match principal {
            Principal::User(id) => self.users.iter().any(|u| &u.id == id),
            Principal::Group(id) => self.groups.iter().any(|g| &g.id == id),
        }
    }

    /// Whether `inner` is `outer` or (transitively) one of its members: adding `outer`
    /// to `inner` would then close a cycle.
    pub fn contains_group(&self, outer: &str, inner: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![outer.to_string()];
        while let Some(g) = todo.pop() {
            if g == inner {
                return true;
            }
            if seen.insert(g.clone()) {
                todo.extend(
                    self.members
                        .iter()
                        .filter(|m| m.group == g)
                        .filter_map(|m| match &m.member {
                            Principal::Group(id) => Some(id.clone()),
                            Principal::User(_) => None,
                        }),
                );
            }
        }
        false
    }

    /// Checks what a hand-edited store could get wrong: duplicate ids, logins or names,
    /// and memberships or grants naming records that do not exist.
    fn validate(&self) -> std::result::Result<(), String> {
        let mut ids = BTreeSet::new();
        let mut logins = BTreeSet::new();
        for u in &self.users {
            if !ids.insert(u.id.as_str()) {
                return Err(format!("id `{}` is used twice", u.id));
            }
            if !logins.insert(u.login.to_lowercase()) {
                return Err(format!("login `{}` is used twice", u.login));
            }
        }
        let mut names = BTreeSet::new();
        for g in &self.groups {
            if !ids.insert(g.id.as_str()) {
                return Err(format!("id `{}` is used twice", g.id));
            }
            if !names.insert(g.name.to_lowercase()) {
                return Err(format!("group name `{}` is used twice", g.name));
            }
        }
        let mut role_ids = BTreeSet::new();
        for r in &self.roles {
            if !role_ids.insert(r.id.as_str()) {
                return Err(format!("role id `{}` is used twice", r.id));
            }
            if !r.scope.is_global() {
                return Err(format!("role `{}`: the portal has global roles only", r.id));
            }
        }
        for m in &self.members {
            if !self.has(&Principal::Group(m.group.clone())) || !self.has(&m.member) {
                return Err(format!(
                    "membership of {} in group {} names a missing record",
                    m.member, m.group
                ));
            }
        }
        for g in &self.grants {
            if !role_ids.contains(g.role.as_str()) || !self.has(&g.principal) {
                return Err(format!(
                    "grant of role {} to {} names a missing record",
                    g.role, g.principal
                ));
            }
            if !g.scope.is_global() {
                return Err(format!(
                    "grant of role {} to {}: the portal has global grants only",
                    g.role, g.principal
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_portal_is_valid_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("portal.json");
        let store = Store::new_portal();
        store.save(&path).expect("save");
        assert_eq!(Store::load(&path).expect("load"), store);
    }

    #[test]
    fn a_dangling_membership_is_refused_with_its_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("portal.json");
        let mut store = Store::new_portal();
        store.members.push(Membership {
            group: ADMIN_GROUP_ID.to_string(),
            member: Principal::User("u-nobody".to_string()),
        });
        store.save(&path).expect("save");
        let err = Store::load(&path).expect_err("refused");
        assert_eq!(err.kind(), idbridge_core::ErrorKind::Config);
        assert!(err.message().contains("u-nobody"), "{err}");
        assert!(err.message().contains("portal.json"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_with_its_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("portal.json");
        std::fs::write(&path, "{\"users\": [{\"login\": 3}]}").expect("write");
        let err = Store::load(&path).expect_err("refused");
        assert_eq!(err.kind(), idbridge_core::ErrorKind::Config);
        assert!(err.message().contains("line 1"), "{err}");
    }

    #[test]
    fn nesting_a_group_into_its_own_member_is_a_cycle() {
        let mut store = Store::new_portal();
        let (a, b) = (store.new_id("g"), store.new_id("g"));
        for id in [&a, &b] {
            store.groups.push(Group {
                id: id.clone(),
                name: id.clone(),
                description: None,
            });
        }
        store.members.push(Membership {
            group: a.clone(),
            member: Principal::Group(b.clone()),
        });
        assert!(store.contains_group(&a, &b));
        assert!(store.contains_group(&a, &a));
        assert!(!store.contains_group(&b, &a));
    }
}
