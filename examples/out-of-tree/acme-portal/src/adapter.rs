//! [`Portal`]: the adapter, implementing the five concept traits over the [`Store`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, Error, Grant, GrantFilter, Group, GroupChanges, Groups,
    Membership, Memberships, NewGroup, NewUser, Page, PageRequest, Principal, Protected, Result,
    Role, Roles, Sessions, User, UserChanges, Users, async_trait,
};
use serde::Deserialize;

use crate::store::{ADMIN_GROUP_ID, ADMIN_USER_ID, Store};

/// Records per page when the caller does not ask for a size.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The keys of a `portal` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortalConfig {
    /// The store file, relative to the configuration file.
    path: PathBuf,
    /// Start an empty portal when the file does not exist (written on the first change).
    #[serde(default)]
    create: bool,
}

/// The portal adapter: the store in memory, written back to its file after every change.
///
/// One process at a time should use a store: each keeps its own copy from connect time.
#[derive(Debug)]
pub struct Portal {
    path: PathBuf,
    store: Mutex<Store>,
}

impl Portal {
    /// What the portal can do. Everything here is implemented below, and nothing else is:
    /// the portal keeps no passwords, no login activity and no sessions, and its roles
    /// are global.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            users_create: true,
            users_update: true,
            users_set_enabled: true,
            users_delete: true,
            groups_list: true,
            groups_get: true,
            groups_create: true,
            groups_update: true,
            groups_description: true,
            groups_delete: true,
            members_list: true,
            members_add: true,
            members_remove: true,
            members_list_all: true,
            members_nested: true,
            roles_list: true,
            grants_list: true,
            grants_grant: true,
            grants_revoke: true,
            grants_global: true,
            grants_to_groups: true,
            grants_global_to_groups: true,
            ..Capabilities::default()
        }
    }

    /// Opens the store a `portal` section names (the registry's constructor).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key for a bad section, or a missing
    /// store without `create = true`; the errors of [`Store::load`] for a bad store.
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        let parsed: PortalConfig = config.parse()?;
        let path = config.resolve_path(&parsed.path);
        let store = if path.exists() {
            Store::load(&path)?
        } else if parsed.create {
            Store::new_portal()
        } else {
            return Err(config.error(
                "path",
                format!(
                    "the portal store {} does not exist; set `create = true` to start a new one",
                    path.display()
                ),
            ));
        };
        Ok(Arc::new(Portal {
            path,
            store: Mutex::new(store),
        }))
    }

    /// Runs `read` on the store.
    fn read<T>(&self, read: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let store = self
            .store
            .lock()
            .map_err(|_| Error::unavailable("the portal store was left half-changed"))?;
        read(&store)
    }

    /// Runs `change` on a copy of the store, saves the copy and only then makes it the
    /// store: a change that fails, or cannot be saved, leaves memory and file as they were.
    ///
    /// The file is written synchronously: a store is small and local, and the lock must
    /// not be held across an await.
    fn write<T>(&self, change: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| Error::unavailable("the portal store was left half-changed"))?;
        let mut next = store.clone();
        let out = change(&mut next)?;
        if next != *store {
            next.save(&self.path)?;
            *store = next;
        }
        Ok(out)
    }
}

fn user_not_found(id: &str) -> Error {
    Error::not_found(format!("no user with id `{id}`"))
}

fn group_not_found(id: &str) -> Error {
    Error::not_found(format!("no group with id `{id}`"))
}

fn missing(principal: &Principal) -> Error {
    Error::not_found(format!("no {principal}"))
}

/// Logins and group names are unique regardless of case.
fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn user_mut<'a>(store: &'a mut Store, id: &str) -> Result<&'a mut User> {
    store
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| user_not_found(id))
}

fn group_mut<'a>(store: &'a mut Store, id: &str) -> Result<&'a mut Group> {
    store
        .groups
        .iter_mut()
        .find(|g| g.id == id)
        .ok_or_else(|| group_not_found(id))
}

/// Forgets every membership and grant of a principal that is being deleted.
fn forget(store: &mut Store, principal: &Principal) {
    store
        .members
        .retain(|m| &m.member != principal && Principal::Group(m.group.clone()) != *principal);
    store.grants.retain(|g| &g.principal != principal);
}

#[async_trait]
impl Adapter for Portal {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Portal::declared_capabilities()
    }

    /// The built-in administrator and administrators group are never touched, and nobody
    /// is added to the administrators group.
    fn protected(&self) -> Protected {
        Protected {
            user_ids: [ADMIN_USER_ID.to_string()].into(),
            group_ids: [ADMIN_GROUP_ID.to_string()].into(),
            privileged_group_ids: [ADMIN_GROUP_ID.to_string()].into(),
        }
    }
}

#[async_trait]
impl Users for Portal {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.read(|s| Page::slice(s.users.clone(), &page, DEFAULT_PAGE_SIZE))
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.read(|s| {
            s.users
                .iter()
                .find(|u| u.id == id)
                .cloned()
                .ok_or_else(|| user_not_found(id))
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        if user.password.is_some() {
            // The portal signs its users in elsewhere; it has nowhere to keep a password.
            return Err(Error::unsupported(
                crate::ADAPTER_NAME,
                "users_create_password",
            ));
        }
        self.write(|s| {
            if s.users.iter().any(|u| same_name(&u.login, &user.login)) {
                return Err(Error::already_exists(format!(
                    "login `{}` is taken",
                    user.login
                )));
            }
            let created = User {
                id: s.new_id("u"),
                login: user.login.clone(),
                email: user.email.clone(),
                display_name: user.display_name.clone(),
                enabled: user.enabled,
                attributes: user.attributes.clone(),
            };
            s.users.push(created.clone());
            Ok(created)
        })
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.write(|s| {
            if let Some(login) = &changes.login
                && s.users
                    .iter()
                    .any(|u| u.id != id && same_name(&u.login, login))
            {
                return Err(Error::already_exists(format!("login `{login}` is taken")));
            }
            let user = user_mut(s, id)?;
            changes.apply_to(user);
            Ok(user.clone())
        })
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.write(|s| {
            let user = user_mut(s, id)?;
            user.enabled = enabled;
            Ok(user.clone())
        })
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        self.write(|s| {
            let before = s.users.len();
            s.users.retain(|u| u.id != id);
            if s.users.len() == before {
                return Err(user_not_found(id));
            }
            forget(s, &Principal::User(id.to_string()));
            Ok(())
        })
    }
}

#[async_trait]
impl Groups for Portal {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.read(|s| Page::slice(s.groups.clone(), &page, DEFAULT_PAGE_SIZE))
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        self.read(|s| {
            s.groups
                .iter()
                .find(|g| g.id == id)
                .cloned()
                .ok_or_else(|| group_not_found(id))
        })
    }

    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.write(|s| {
            if s.groups.iter().any(|g| same_name(&g.name, &group.name)) {
                return Err(Error::already_exists(format!(
                    "group name `{}` is taken",
                    group.name
                )));
            }
            let created = Group {
                id: s.new_id("g"),
                name: group.name.clone(),
                description: group.description.clone(),
            };
            s.groups.push(created.clone());
            Ok(created)
        })
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        self.write(|s| {
            if let Some(name) = &changes.name
                && s.groups
                    .iter()
                    .any(|g| g.id != id && same_name(&g.name, name))
            {
                return Err(Error::already_exists(format!(
                    "group name `{name}` is taken"
                )));
            }
            let group = group_mut(s, id)?;
            changes.apply_to(group);
            Ok(group.clone())
        })
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.write(|s| {
            let before = s.groups.len();
            s.groups.retain(|g| g.id != id);
            if s.groups.len() == before {
                return Err(group_not_found(id));
            }
            forget(s, &Principal::Group(id.to_string()));
            Ok(())
        })
    }
}

#[async_trait]
impl Memberships for Portal {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.read(|s| {
            if !s.has(&Principal::Group(group.to_string())) {
                return Err(group_not_found(group));
            }
            let members = s
                .members
                .iter()
                .filter(|m| m.group == group)
                .map(|m| m.member.clone())
                .collect();
            Page::slice(members, &page, DEFAULT_PAGE_SIZE)
        })
    }

    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.write(|s| {
            if !s.has(&Principal::Group(group.to_string())) {
                return Err(group_not_found(group));
            }
            if !s.has(member) {
                return Err(missing(member));
            }
            if let Principal::Group(inner) = member
                && s.contains_group(inner, group)
            {
                return Err(Error::invalid_input(format!(
                    "adding {member} to group {group} would put the group inside itself"
                )));
            }
            let membership = Membership {
                group: group.to_string(),
                member: member.clone(),
            };
            if !s.members.contains(&membership) {
                s.members.push(membership);
            }
            Ok(())
        })
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.write(|s| {
            if !s.has(&Principal::Group(group.to_string())) {
                return Err(group_not_found(group));
            }
            s.members
                .retain(|m| !(m.group == group && &m.member == member));
            Ok(())
        })
    }

    /// The store holds every membership, so all of them cost one read.
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        self.read(|s| Ok(s.members.clone()))
    }
}

#[async_trait]
impl Roles for Portal {
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.read(|s| Page::slice(s.roles.clone(), &page, DEFAULT_PAGE_SIZE))
    }

    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        self.read(|s| {
            let grants = s
                .grants
                .iter()
                .filter(|g| filter.matches(g))
                .cloned()
                .collect();
            Page::slice(grants, &page, DEFAULT_PAGE_SIZE)
        })
    }

    async fn grant(&self, grant: &Grant) -> Result<()> {
        if !grant.scope.is_global() {
            return Err(Error::unsupported(crate::ADAPTER_NAME, "grants_project"));
        }
        self.write(|s| {
            if !s.roles.iter().any(|r| r.id == grant.role) {
                return Err(Error::not_found(format!(
                    "no role with id `{}`",
                    grant.role
                )));
            }
            if !s.has(&grant.principal) {
                return Err(missing(&grant.principal));
            }
            if !s.grants.contains(grant) {
                s.grants.push(grant.clone());
            }
            Ok(())
        })
    }

    /// Succeeds without change when the grant is not held, whatever it names.
    async fn revoke(&self, grant: &Grant) -> Result<()> {
        if !grant.scope.is_global() {
            return Err(Error::unsupported(crate::ADAPTER_NAME, "grants_project"));
        }
        self.write(|s| {
            s.grants.retain(|g| g != grant);
            Ok(())
        })
    }
}

/// The portal has no sessions idbridge could see: every method keeps its default
/// (`Unsupported`), matching the undeclared `sessions_*` capabilities.
impl Sessions for Portal {}
