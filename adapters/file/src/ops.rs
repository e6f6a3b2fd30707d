//! Directory mutations, each leaving a valid document or failing without change: what
//! every write of the file adapter does to the document held (through the [`Draft`], which
//! records how to undo it) before the document is validated and saved. Records are found through the [`Draft`]'s indexes, so a write
//! costs O(1) however large the directory (a removal or a group rename excepted: they
//! touch every record that may refer to the removed or renamed one).

use idbridge_core::{
    Error, Grant, Group, GroupChanges, GroupWrite, NewGroup, NewUser, Principal, Result, Scope,
    User, UserChanges, UserWrite,
};

use crate::draft::Draft;
use crate::format::{DirGrant, DirGroup, DirUser, Directory, is_valid_email};

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

/// Refuses `name` when `holder`, the record that has it ignoring case, is not `except`:
/// `holder` is its id and name, `what` starts the message (`a user with login`).
fn check_unique(
    what: &str,
    holder: Option<(&str, &str)>,
    name: &str,
    except: Option<&str>,
) -> Result<()> {
    match holder {
        Some((id, other)) if Some(id) != except => Err(Error::already_exists(format!(
            "{what} `{other}` already exists (id {id})"
        ))
        .with_resource(name.to_string())),
        _ => Ok(()),
    }
}

/// The user whose login is `login` ignoring case, as its id and login.
fn login_holder<'a>(d: &'a Draft, login: &str) -> Option<(&'a str, &'a str)> {
    d.user_with_login(login)
        .map(|i| (d.users().id(i), d.users().login(i)))
}

/// The group whose name is `name` ignoring case, as its id and name.
fn name_holder<'a>(d: &'a Draft, name: &str) -> Option<(&'a str, &'a str)> {
    d.group_named(name)
        .map(|g| (g.id.as_str(), g.name.as_str()))
}

/// The position of the user with id `id`.
fn user_index(d: &Draft, id: &str) -> Result<usize> {
    d.user_at(id).ok_or_else(|| user_not_found(id))
}

/// The position of the group with id `id`.
fn group_index(d: &Draft, id: &str) -> Result<usize> {
    d.group_at(id).ok_or_else(|| group_not_found(id))
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

pub(crate) fn create_user(d: &mut Draft, new: &NewUser) -> Result<User> {
    check_name("login", &new.login)?;
    check_email(new.email.as_ref())?;
    check_unique(
        "a user with login",
        login_holder(d, &new.login),
        &new.login,
        None,
    )?;
    let user = DirUser {
        id: new_id("u", |id| d.has_user_id(id)),
        login: new.login.clone(),
        email: new.email.clone(),
        display_name: new.display_name.clone(),
        enabled: new.enabled,
        groups: Vec::new(),
        attributes: new.attributes.clone(),
    };
    let out = user.to_user();
    d.push_user(user)?;
    Ok(out)
}

pub(crate) fn update_user(d: &mut Draft, id: &str, changes: &UserChanges) -> Result<User> {
    let index = user_index(d, id)?;
    if let Some(Some(email)) = &changes.email {
        check_email(Some(email))?;
    }
    if let Some(login) = &changes.login {
        check_name("login", login)?;
        check_unique("a user with login", login_holder(d, login), login, Some(id))?;
        let old = d.users().login(index).to_string();
        if &old != login {
            d.change_grants(|grants| {
                for g in grants {
                    if g.user.as_deref() == Some(old.as_str()) {
                        g.user = Some(login.clone());
                    }
                }
            });
        }
    }
    let mut user = d.users().user(index).ok_or_else(|| user_not_found(id))?;
    changes.apply_to(&mut user);
    d.change_user(index, |record| {
        record.login = user.login.clone();
        record.email = user.email.clone();
        record.display_name = user.display_name.clone();
        record.attributes = user.attributes.clone();
    })?;
    Ok(user)
}

pub(crate) fn set_enabled(d: &mut Draft, id: &str, enabled: bool) -> Result<User> {
    let index = user_index(d, id)?;
    d.change_user(index, |user| {
        user.enabled = enabled;
        user.to_user()
    })
}

pub(crate) fn delete_user(d: &mut Draft, id: &str) -> Result<()> {
    let index = user_index(d, id)?;
    let removed = d.remove_user(index).ok_or_else(|| user_not_found(id))?;
    d.change_grants(|grants| grants.retain(|g| g.user.as_deref() != Some(removed.login.as_str())));
    Ok(())
}

pub(crate) fn apply(d: &mut Draft, write: &UserWrite) -> Result<Option<User>> {
    match write {
        UserWrite::Create { user } => create_user(d, user).map(Some),
        UserWrite::Update { id, changes } => update_user(d, id, changes).map(Some),
        UserWrite::SetEnabled { id, enabled } => set_enabled(d, id, *enabled).map(Some),
        UserWrite::Delete { id } => delete_user(d, id).map(|()| None),
    }
}

pub(crate) fn create_group(d: &mut Draft, new: &NewGroup) -> Result<Group> {
    check_name("group name", &new.name)?;
    check_unique("a group named", name_holder(d, &new.name), &new.name, None)?;
    let group = DirGroup {
        id: new_id("g", |id| d.has_group_id(id)),
        name: new.name.clone(),
        description: new.description.clone(),
        groups: Vec::new(),
    };
    let out = group.to_group();
    d.push_group(group);
    Ok(out)
}

/// Replaces every reference to group name `old` by `new`.
fn rename_group_refs(d: &mut Draft, old: &str, new: &str) -> Result<()> {
    let rename = |names: &mut Vec<String>| {
        for n in names.iter_mut().filter(|n| n.as_str() == old) {
            *n = new.to_string();
        }
    };
    let refers = |names: &[String]| names.iter().any(|n| n == old);
    let (from, to) = (d.group_number(old)?, d.group_number(new)?);
    for i in 0..d.users().len() {
        let numbers = d.users().group_numbers(i);
        if numbers.contains(&from) {
            let renamed: Vec<u32> = numbers
                .iter()
                .map(|&n| if n == from { to } else { n })
                .collect();
            d.set_user_groups(i, &renamed)?;
        }
    }
    for i in 0..d.rest().groups.len() {
        if refers(&d.rest().groups[i].groups) {
            d.change_group(i, |g| rename(&mut g.groups));
        }
    }
    d.change_grants(|grants| {
        for g in grants {
            if g.group.as_deref() == Some(old) {
                g.group = Some(new.to_string());
            }
        }
    });
    Ok(())
}

pub(crate) fn update_group(d: &mut Draft, id: &str, changes: &GroupChanges) -> Result<Group> {
    let index = group_index(d, id)?;
    if let Some(name) = &changes.name {
        check_name("group name", name)?;
        check_unique("a group named", name_holder(d, name), name, Some(id))?;
        let old = d.rest().groups[index].name.clone();
        if &old != name {
            rename_group_refs(d, &old, name)?;
        }
    }
    let mut group = d.rest().groups[index].to_group();
    changes.apply_to(&mut group);
    d.change_group(index, |record| {
        record.name = group.name.clone();
        record.description = group.description.clone();
    });
    Ok(group)
}

pub(crate) fn delete_group(d: &mut Draft, id: &str) -> Result<()> {
    let index = group_index(d, id)?;
    let removed = d.remove_group(index);
    let name = removed.name.as_str();
    let refers = |names: &[String]| names.iter().any(|n| n == name);
    let gone = d.group_number(name)?;
    for i in 0..d.users().len() {
        let numbers = d.users().group_numbers(i);
        if numbers.contains(&gone) {
            let kept: Vec<u32> = numbers.iter().copied().filter(|&n| n != gone).collect();
            d.set_user_groups(i, &kept)?;
        }
    }
    for i in 0..d.rest().groups.len() {
        if refers(&d.rest().groups[i].groups) {
            d.change_group(i, |g| g.groups.retain(|n| n != name));
        }
    }
    d.change_grants(|grants| grants.retain(|g| g.group.as_deref() != Some(name)));
    Ok(())
}

pub(crate) fn apply_group(d: &mut Draft, write: &GroupWrite) -> Result<Option<Group>> {
    match write {
        GroupWrite::Create { group } => create_group(d, group).map(Some),
        GroupWrite::Update { id, changes } => update_group(d, id, changes).map(Some),
        GroupWrite::Delete { id } => delete_group(d, id).map(|()| None),
    }
}

pub(crate) fn add_member(d: &mut Draft, group: &str, member: &Principal) -> Result<()> {
    let name = d.rest().groups[group_index(d, group)?].name.clone();
    match member {
        Principal::User(uid) => {
            let at = user_index(d, uid)?;
            let number = d.group_number(&name)?;
            let numbers = d.users().group_numbers(at);
            if !numbers.contains(&number) {
                let mut added = numbers.to_vec();
                added.push(number);
                d.set_user_groups(at, &added)?;
            }
        }
        Principal::Group(gid) => {
            let at = group_index(d, gid)?;
            let child = &d.rest().groups[at];
            if child.groups.contains(&name) {
                return Ok(());
            }
            let child_name = child.name.clone();
            if d.rest().would_cycle(&child_name, &name) {
                return Err(Error::invalid_input(format!(
                    "adding group `{child_name}` to group `{name}` would make a nesting cycle"
                )));
            }
            d.change_group(at, |g| g.groups.push(name));
        }
    }
    Ok(())
}

pub(crate) fn remove_member(d: &mut Draft, group: &str, member: &Principal) -> Result<()> {
    let name = d.rest().groups[group_index(d, group)?].name.clone();
    match member {
        Principal::User(uid) => {
            if let Some(i) = d.user_at(uid) {
                let number = d.group_number(&name)?;
                let numbers = d.users().group_numbers(i);
                if numbers.contains(&number) {
                    let kept: Vec<u32> = numbers.iter().copied().filter(|&n| n != number).collect();
                    d.set_user_groups(i, &kept)?;
                }
            }
        }
        Principal::Group(gid) => {
            if let Some(i) = d.group_at(gid)
                && d.rest().groups[i].groups.contains(&name)
            {
                d.change_group(i, |g| g.groups.retain(|n| n != &name));
            }
        }
    }
    Ok(())
}

/// The file-format grant for a neutral one, checking every reference.
fn to_dir_grant(d: &Draft, grant: &Grant) -> Result<DirGrant> {
    let dir = d.rest();
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
        Principal::User(id) => (Some(d.users().login(user_index(d, id)?).to_string()), None),
        Principal::Group(id) => (None, Some(dir.groups[group_index(d, id)?].name.clone())),
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

pub(crate) fn grant(d: &mut Draft, grant: &Grant) -> Result<()> {
    let wanted = to_dir_grant(d, grant)?;
    let dir = d.rest();
    if !dir.grants.iter().any(|g| same(dir, g, &wanted)) {
        d.change_grants(|grants| grants.push(wanted));
    }
    Ok(())
}

pub(crate) fn revoke(d: &mut Draft, grant: &Grant) -> Result<()> {
    let wanted = match to_dir_grant(d, grant) {
        Ok(g) => g,
        // A project role cannot be held outside its project, so there is nothing to revoke.
        Err(e) if e.kind() == idbridge_core::ErrorKind::InvalidInput => return Ok(()),
        Err(e) => return Err(e),
    };
    let dir = d.rest();
    let keep: Vec<DirGrant> = dir
        .grants
        .iter()
        .filter(|g| !same(dir, g, &wanted))
        .cloned()
        .collect();
    d.change_grants(|grants| *grants = keep);
    Ok(())
}
