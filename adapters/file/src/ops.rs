//! Directory mutations, each leaving a valid document or failing without change: what
//! every write of the file adapter does to its copy of the document before the copy is
//! validated and saved.

use idbridge_core::{
    Error, Grant, Group, GroupChanges, NewGroup, NewUser, Principal, Result, Scope, User,
    UserChanges, UserWrite,
};

use crate::format::{DirGrant, DirGroup, DirUser, Directory, fold, is_valid_email};

/// A fresh id `<prefix>-<uuid>` that `taken` does not already hold.
fn new_id(prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        if !taken(&id) {
            return id;
        }
    }
}

/// The error for an unknown user id.
pub(crate) fn user_not_found(id: &str) -> Error {
    Error::not_found(format!("no user with id `{id}`")).with_resource(id)
}

/// The error for an unknown group id.
pub(crate) fn group_not_found(id: &str) -> Error {
    Error::not_found(format!("no group with id `{id}`")).with_resource(id)
}

fn check_email(email: Option<&String>) -> Result<()> {
    match email {
        Some(e) if !is_valid_email(e) => {
            Err(Error::invalid_input(format!("malformed email `{e}`")))
        }
        _ => Ok(()),
    }
}

/// Refuses `name` when a record other than `except` already has it (names compare
/// folded): `records` yields each record's id and name, `what` starts the message
/// (`a user with login`).
fn check_unique<'a>(
    what: &str,
    mut records: impl Iterator<Item = (&'a str, &'a str)>,
    name: &str,
    except: Option<&str>,
) -> Result<()> {
    let key = fold(name);
    match records.find(|(id, other)| Some(*id) != except && fold(other) == key) {
        Some((id, other)) => Err(Error::already_exists(format!(
            "{what} `{other}` already exists (id {id})"
        ))
        .with_resource(name.to_string())),
        None => Ok(()),
    }
}

/// The position of the user with id `id`.
fn user_index(dir: &Directory, id: &str) -> Result<usize> {
    dir.users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| user_not_found(id))
}

/// The position of the group with id `id`.
fn group_index(dir: &Directory, id: &str) -> Result<usize> {
    dir.groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| group_not_found(id))
}

/// The users' ids and logins.
fn logins(dir: &Directory) -> impl Iterator<Item = (&str, &str)> {
    dir.users.iter().map(|u| (u.id.as_str(), u.login.as_str()))
}

/// The groups' ids and names.
fn group_names(dir: &Directory) -> impl Iterator<Item = (&str, &str)> {
    dir.groups.iter().map(|g| (g.id.as_str(), g.name.as_str()))
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input(format!(
            "the {what} must not be empty"
        )));
    }
    if name.trim() != name {
        return Err(Error::invalid_input(format!(
            "the {what} `{name}` has leading or trailing spaces"
        )));
    }
    Ok(())
}

pub(crate) fn create_user(dir: &mut Directory, new: &NewUser) -> Result<User> {
    check_name("login", &new.login)?;
    check_email(new.email.as_ref())?;
    check_unique("a user with login", logins(dir), &new.login, None)?;
    let user = DirUser {
        id: new_id("u", |id| dir.user(id).is_some()),
        login: new.login.clone(),
        email: new.email.clone(),
        display_name: new.display_name.clone(),
        enabled: new.enabled,
        groups: Vec::new(),
        attributes: new.attributes.clone(),
    };
    let out = user.to_user();
    dir.users.push(user);
    Ok(out)
}

pub(crate) fn update_user(dir: &mut Directory, id: &str, changes: &UserChanges) -> Result<User> {
    let index = user_index(dir, id)?;
    if let Some(Some(email)) = &changes.email {
        check_email(Some(email))?;
    }
    if let Some(login) = &changes.login {
        check_name("login", login)?;
        check_unique("a user with login", logins(dir), login, Some(id))?;
        let old = dir.users[index].login.clone();
        if &old != login {
            for g in &mut dir.grants {
                if g.user.as_deref() == Some(old.as_str()) {
                    g.user = Some(login.clone());
                }
            }
        }
    }
    let mut user = dir.users[index].to_user();
    changes.apply_to(&mut user);
    let record = &mut dir.users[index];
    record.login = user.login.clone();
    record.email = user.email.clone();
    record.display_name = user.display_name.clone();
    record.attributes = user.attributes.clone();
    Ok(user)
}

pub(crate) fn set_enabled(dir: &mut Directory, id: &str, enabled: bool) -> Result<User> {
    let user = dir
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| user_not_found(id))?;
    user.enabled = enabled;
    Ok(user.to_user())
}

pub(crate) fn delete_user(dir: &mut Directory, id: &str) -> Result<()> {
    let index = user_index(dir, id)?;
    let removed = dir.users.remove(index);
    dir.grants
        .retain(|g| g.user.as_deref() != Some(removed.login.as_str()));
    Ok(())
}

pub(crate) fn apply(dir: &mut Directory, write: &UserWrite) -> Result<Option<User>> {
    match write {
        UserWrite::Create { user } => create_user(dir, user).map(Some),
        UserWrite::Update { id, changes } => update_user(dir, id, changes).map(Some),
        UserWrite::SetEnabled { id, enabled } => set_enabled(dir, id, *enabled).map(Some),
        UserWrite::Delete { id } => delete_user(dir, id).map(|()| None),
    }
}

pub(crate) fn create_group(dir: &mut Directory, new: &NewGroup) -> Result<Group> {
    check_name("group name", &new.name)?;
    check_unique("a group named", group_names(dir), &new.name, None)?;
    let group = DirGroup {
        id: new_id("g", |id| dir.group(id).is_some()),
        name: new.name.clone(),
        description: new.description.clone(),
        groups: Vec::new(),
    };
    let out = group.to_group();
    dir.groups.push(group);
    Ok(out)
}

/// Replaces every reference to group name `old` by `new`.
fn rename_group_refs(dir: &mut Directory, old: &str, new: &str) {
    let rename = |names: &mut Vec<String>| {
        for n in names.iter_mut().filter(|n| n.as_str() == old) {
            *n = new.to_string();
        }
    };
    for u in &mut dir.users {
        rename(&mut u.groups);
    }
    for g in &mut dir.groups {
        rename(&mut g.groups);
    }
    for g in &mut dir.grants {
        if g.group.as_deref() == Some(old) {
            g.group = Some(new.to_string());
        }
    }
}

pub(crate) fn update_group(dir: &mut Directory, id: &str, changes: &GroupChanges) -> Result<Group> {
    let index = group_index(dir, id)?;
    if let Some(name) = &changes.name {
        check_name("group name", name)?;
        check_unique("a group named", group_names(dir), name, Some(id))?;
        let old = dir.groups[index].name.clone();
        if &old != name {
            rename_group_refs(dir, &old, name);
        }
    }
    let mut group = dir.groups[index].to_group();
    changes.apply_to(&mut group);
    let record = &mut dir.groups[index];
    record.name = group.name.clone();
    record.description = group.description.clone();
    Ok(group)
}

pub(crate) fn delete_group(dir: &mut Directory, id: &str) -> Result<()> {
    let index = group_index(dir, id)?;
    let removed = dir.groups.remove(index);
    let name = removed.name.as_str();
    for u in &mut dir.users {
        u.groups.retain(|n| n != name);
    }
    for g in &mut dir.groups {
        g.groups.retain(|n| n != name);
    }
    dir.grants.retain(|g| g.group.as_deref() != Some(name));
    Ok(())
}

pub(crate) fn add_member(dir: &mut Directory, group: &str, member: &Principal) -> Result<()> {
    let name = dir.groups[group_index(dir, group)?].name.clone();
    match member {
        Principal::User(uid) => {
            let user = dir
                .users
                .iter_mut()
                .find(|u| &u.id == uid)
                .ok_or_else(|| user_not_found(uid))?;
            if !user.groups.contains(&name) {
                user.groups.push(name);
            }
        }
        Principal::Group(gid) => {
            let child = dir.group(gid).ok_or_else(|| group_not_found(gid))?;
            if child.groups.contains(&name) {
                return Ok(());
            }
            let child_name = child.name.clone();
            if dir.would_cycle(&child_name, &name) {
                return Err(Error::invalid_input(format!(
                    "adding group `{child_name}` to group `{name}` would make a nesting cycle"
                )));
            }
            if let Some(child) = dir.groups.iter_mut().find(|g| &g.id == gid) {
                child.groups.push(name);
            }
        }
    }
    Ok(())
}

pub(crate) fn remove_member(dir: &mut Directory, group: &str, member: &Principal) -> Result<()> {
    let name = dir.groups[group_index(dir, group)?].name.clone();
    match member {
        Principal::User(uid) => {
            if let Some(user) = dir.users.iter_mut().find(|u| &u.id == uid) {
                user.groups.retain(|n| n != &name);
            }
        }
        Principal::Group(gid) => {
            if let Some(child) = dir.groups.iter_mut().find(|g| &g.id == gid) {
                child.groups.retain(|n| n != &name);
            }
        }
    }
    Ok(())
}

/// The file-format grant for a neutral one, checking every reference.
fn to_dir_grant(dir: &Directory, grant: &Grant) -> Result<DirGrant> {
    let role = dir.role(&grant.role).ok_or_else(|| {
        Error::not_found(format!("no role with id `{}`", grant.role))
            .with_resource(grant.role.clone())
    })?;
    if let Scope::Project(own) = &role.scope
        && grant.scope != role.scope
    {
        return Err(Error::invalid_input(format!(
            "role `{}` belongs to project `{own}` and cannot be granted in {}",
            role.name, grant.scope
        )));
    }
    if let Scope::Project(p) = &grant.scope
        && p.trim().is_empty()
    {
        return Err(Error::invalid_input("the project name must not be empty"));
    }
    let (user, group) = match &grant.principal {
        Principal::User(id) => (
            Some(
                dir.user(id)
                    .ok_or_else(|| user_not_found(id))?
                    .login
                    .clone(),
            ),
            None,
        ),
        Principal::Group(id) => (
            None,
            Some(
                dir.group(id)
                    .ok_or_else(|| group_not_found(id))?
                    .name
                    .clone(),
            ),
        ),
    };
    Ok(DirGrant {
        role: role.name.clone(),
        user,
        group,
        scope: (grant.scope != role.scope).then(|| grant.scope.clone()),
    })
}

fn same(dir: &Directory, a: &DirGrant, b: &DirGrant) -> bool {
    let scope = |g: &DirGrant| {
        dir.role_by_name(&g.role)
            .map(|r| g.effective_scope(&r.scope))
    };
    a.role == b.role && a.user == b.user && a.group == b.group && scope(a) == scope(b)
}

pub(crate) fn grant(dir: &mut Directory, grant: &Grant) -> Result<()> {
    let wanted = to_dir_grant(dir, grant)?;
    if !dir.grants.iter().any(|g| same(dir, g, &wanted)) {
        dir.grants.push(wanted);
    }
    Ok(())
}

pub(crate) fn revoke(dir: &mut Directory, grant: &Grant) -> Result<()> {
    let wanted = match to_dir_grant(dir, grant) {
        Ok(g) => g,
        // A project role cannot be held outside its project, so there is nothing to revoke.
        Err(e) if e.kind() == idbridge_core::ErrorKind::InvalidInput => return Ok(()),
        Err(e) => return Err(e),
    };
    let keep: Vec<DirGrant> = dir
        .grants
        .iter()
        .filter(|g| !same(dir, g, &wanted))
        .cloned()
        .collect();
    dir.grants = keep;
    Ok(())
}
