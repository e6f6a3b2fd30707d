//! What the engine reads: the source's records and each target's current state.
//!
//! Reading is the only I/O before planning; the planner works on these snapshots alone.
//! Users and members are kept in the compact tables of [`crate::table`], converted as
//! each listing arrives.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use idbridge_core::{
    AdapterHandle, Capabilities, Error, Grant, GrantFilter, Group, Principal, Result, Role,
    Session, for_each_page,
};

use crate::settings::{Concept, TargetSettings};
use crate::table::{MemberList, Members, UserTable};

/// The source's records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    /// Every user.
    pub users: UserTable,
    /// Every group, or `None` when the source does not list groups.
    pub groups: Option<Vec<Group>>,
    /// Direct members of each group, by group id (users resolved against `users`).
    pub members: Members,
    /// Whether `members` was read (the source lists group members). Without it, target
    /// memberships are not synced: empty groups would otherwise look intended.
    pub members_listed: bool,
    /// Every role, or `None` when the source does not list roles.
    pub roles: Option<Vec<Role>>,
    /// Every grant (empty without roles).
    pub grants: Vec<Grant>,
}

/// A target's current state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetState {
    /// Every user.
    pub users: UserTable,
    /// Every group (empty when groups are not synced to this target).
    pub groups: Vec<Group>,
    /// Direct members of the groups the plan needs, by group id (users resolved against
    /// `users`).
    pub members: Members,
    /// Every role (empty when roles are not synced).
    pub roles: Vec<Role>,
    /// Every grant (empty when roles are not synced).
    pub grants: Vec<Grant>,
    /// Every live session, where the target lists them.
    pub sessions: Option<Vec<Session>>,
}

/// Which concepts are synced to one target: what its settings select, narrowed to what
/// the target and the source can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    /// Groups are created, renamed and linked.
    pub groups: bool,
    /// Memberships of synced groups are kept.
    pub memberships: bool,
    /// Role grants are kept.
    pub roles: bool,
    /// Roles and grants are read: where grants are kept, and on a target that cannot
    /// disable accounts, where an account that should lose access loses every grant.
    pub grants: bool,
    /// Sessions can be listed (for revocations left over by an interrupted run).
    pub sessions_list: bool,
    /// Sessions can be revoked, one way or another.
    pub sessions_revoke: bool,
}

impl Effective {
    /// Computes what is synced, with a note for each selected concept that cannot be.
    pub fn compute(
        settings: &TargetSettings,
        caps: &Capabilities,
        source: &SourceState,
        notes: &mut Vec<String>,
    ) -> Effective {
        let explicit = settings.concepts.is_some();
        let mapped = !settings.roles.is_empty() || !settings.group_roles.is_empty();
        if settings.wants(Concept::Roles) && explicit && !mapped {
            notes.push(
                "roles are not synced: no `roles` or `group_roles` mapping is configured"
                    .to_string(),
            );
        }
        let mut note = |wanted: bool, ok: bool, why: &str| {
            if wanted && !ok && explicit {
                notes.push(why.to_string());
            }
            wanted && ok
        };
        let groups = note(
            settings.wants(Concept::Groups),
            caps.groups_list && source.groups.is_some(),
            if source.groups.is_none() {
                "groups are not synced: the source does not list groups"
            } else {
                "groups are not synced: the target cannot list groups"
            },
        );
        let memberships = note(
            settings.wants(Concept::Memberships) && groups,
            caps.members_list && (caps.members_add || caps.members_remove) && source.members_listed,
            if source.members_listed {
                "memberships are not synced: the target cannot list or change group members"
            } else {
                "memberships are not synced: the source does not list group members"
            },
        );
        let roles = note(
            settings.wants(Concept::Roles) && mapped,
            caps.roles_list
                && caps.grants_list
                && (caps.grants_grant || caps.grants_revoke)
                && source.roles.is_some(),
            "roles are not synced: the target cannot list roles and grants, or the source has no roles",
        );
        let grants = roles
            || (!caps.users_set_enabled
                && caps.roles_list
                && caps.grants_list
                && caps.grants_revoke);
        Effective {
            groups,
            memberships,
            roles,
            grants,
            sessions_list: caps.sessions_list,
            sessions_revoke: caps.sessions_revoke_user
                || (caps.sessions_list && caps.sessions_revoke),
        }
    }
}

/// Reads the whole source.
///
/// # Errors
/// Any read error (the run must stop: a source that cannot be read is never taken as
/// "everyone left").
pub async fn read_source(source: &AdapterHandle) -> Result<SourceState> {
    let caps = source.capabilities();
    if !caps.users_list {
        return Err(Error::config(format!(
            "the source `{}` ({}) cannot list users, so it cannot be a source",
            source.name(),
            source.kind()
        )));
    }
    let users = users_table(source);
    let groups = async {
        if caps.groups_list {
            source.all_groups().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let roles = async {
        if caps.roles_list && caps.grants_list {
            let all = GrantFilter::default();
            let (roles, grants) = futures::try_join!(source.all_roles(), source.all_grants(&all))?;
            Ok::<_, Error>(Some((roles, grants)))
        } else {
            Ok(None)
        }
    };
    let before = listing_version(source).await;
    let (users, groups, roles) = futures::try_join!(users, groups, roles)?;
    let listed = listed_version(source, before).await;
    let members = match (&groups, caps.members_list) {
        (Some(groups), true) => {
            let ids = groups.iter().map(|g| g.id.clone()).collect();
            read_member_table(source, ids, 8, &users, listed).await?
        }
        _ => Members::new(),
    };
    let (roles, grants) = match roles {
        Some((r, g)) => (Some(r), g),
        None => (None, Vec::new()),
    };
    Ok(SourceState {
        users,
        members_listed: groups.is_some() && caps.members_list,
        groups,
        members,
        roles,
        grants,
    })
}

/// Reads a target's users, groups, roles, grants and sessions (members come later, for
/// the groups the plan needs: see [`read_members`]).
///
/// # Errors
/// Any read error.
pub async fn read_target(target: &AdapterHandle, effective: &Effective) -> Result<TargetState> {
    let caps = target.capabilities();
    if !caps.users_list {
        return Err(Error::config(format!(
            "target `{}` ({}) cannot list users, so idbridge cannot keep it in sync",
            target.name(),
            target.kind()
        )));
    }
    let users = users_table(target);
    let groups = async {
        if effective.groups {
            target.all_groups().await
        } else {
            Ok(Vec::new())
        }
    };
    let roles = async {
        if effective.grants {
            let all = GrantFilter::default();
            futures::try_join!(target.all_roles(), target.all_grants(&all))
        } else {
            Ok((Vec::new(), Vec::new()))
        }
    };
    let sessions = async {
        if effective.sessions_list {
            target.all_sessions(None).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (users, groups, (roles, grants), sessions) =
        futures::try_join!(users, groups, roles, sessions)?;
    Ok(TargetState {
        users,
        groups,
        members: Members::new(),
        roles,
        grants,
        sessions,
    })
}

/// Every user of `system`, each page appended to the table as it arrives (a million
/// users as neutral records would hold about 250 MB more than the table), its spare
/// capacity released at the end.
///
/// # Errors
/// As [`for_each_page`]: the first page error; [`idbridge_core::ErrorKind::Protocol`]
/// when the system repeats a cursor or does not end after
/// [`MAX_PAGES`](idbridge_core::MAX_PAGES) pages.
pub async fn users_table(system: &AdapterHandle) -> Result<UserTable> {
    let mut table = UserTable::new();
    for_each_page(
        |page| system.list_users(page),
        |users| table.extend(users).map(|_| ()),
    )
    .await?;
    table.shrink_to_fit();
    Ok(table)
}

/// The version of the directory `system` serves its listings from now, where it gives
/// members by position (`members_by_position`); `None` otherwise, or when it cannot say.
pub(crate) async fn listing_version(system: &AdapterHandle) -> Option<u64> {
    if !system.capabilities().members_by_position {
        return None;
    }
    match system.listing_version().await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(system = %system.name(), error = %e, "no listing version; members are read by id");
            None
        }
    }
}

/// The version a listing read after [`listing_version`] gave `before` was read from: the
/// same version then as now, or `None` (the directory changed meanwhile, so the listing
/// may mix versions, and members are read by id).
pub(crate) async fn listed_version(system: &AdapterHandle, before: Option<u64>) -> Option<u64> {
    let before = before?;
    (listing_version(system).await == Some(before)).then_some(before)
}

/// [`read_members`] into a [`Members`] table, each group's list converted (its users
/// resolved against `users`) as soon as it is read, so that the neutral lists of every
/// group are never held at once.
///
/// With `listed`, the version `users` was listed from (the same
/// [`AdapterHandle::listing_version`] before its first page and after its last), the
/// members are taken as positions in `users` (`members_by_position`), with no id to
/// resolve; read by id as above when the system no longer holds that version.
///
/// # Errors
/// The first read error; [`idbridge_core::ErrorKind::Protocol`] for a position past the
/// end of `users`.
pub async fn read_member_table(
    system: &AdapterHandle,
    groups: Vec<String>,
    concurrency: usize,
    users: &UserTable,
    listed: Option<u64>,
) -> Result<Members> {
    if let Some(version) = listed {
        match members_by_position(system, &groups, version, users).await? {
            Some(table) => return Ok(table),
            None => tracing::debug!(
                system = %system.name(),
                "the directory changed since its users were listed; members are read by id"
            ),
        }
    }
    if groups.is_empty() || system.capabilities().members_list_all {
        let read = read_members(system, groups, concurrency).await?;
        return Ok(Members::from_principals(read, users));
    }
    futures::stream::iter(groups)
        .map(|g| async move {
            let members = system.all_members(&g).await?;
            Ok::<_, Error>((g, members))
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(Members::new(), |mut table, (g, members)| async move {
            table.insert(g, members, users);
            Ok(table)
        })
        .await
}

/// The members of `groups` as positions in `users`, the listing of version `version`;
/// `None` when the system no longer holds that version.
///
/// # Errors
/// The first read error; [`idbridge_core::ErrorKind::Protocol`] for a position past the
/// end of the listing.
async fn members_by_position(
    system: &AdapterHandle,
    groups: &[String],
    version: u64,
    users: &UserTable,
) -> Result<Option<Members>> {
    let mut table = Members::new();
    for g in groups {
        let Some(read) = system.members_by_position(g, version).await? else {
            return Ok(None);
        };
        if let Some(&p) = read.users.iter().find(|&&p| p as usize >= users.len()) {
            return Err(Error::protocol(format!(
                "`{}` gives position {p} among the members of group `{g}`, past the {} users \
                 it listed",
                system.name(),
                users.len()
            )));
        }
        let list = MemberList {
            users: read.users,
            others: read.others,
        };
        table.insert_list(g.clone(), list);
    }
    Ok(Some(table))
}

/// Reads the direct members of `groups`, `concurrency` groups at a time, or all of them
/// in one [`idbridge_core::Memberships::list_all_members`] call where the system declares
/// `members_list_all` (it then costs fewer requests than one listing per group). Every
/// group asked for gets an entry, empty when it has no members.
///
/// # Errors
/// The first read error.
pub async fn read_members(
    system: &AdapterHandle,
    groups: Vec<String>,
    concurrency: usize,
) -> Result<HashMap<String, Vec<Principal>>> {
    if groups.is_empty() {
        return Ok(HashMap::new());
    }
    if system.capabilities().members_list_all {
        let mut out: HashMap<String, Vec<Principal>> =
            groups.into_iter().map(|g| (g, Vec::new())).collect();
        let mut seen = HashSet::new();
        for m in system.list_all_members().await? {
            // Groups nobody asked about (or that no longer exist) are left out.
            if let Some(members) = out.get_mut(&m.group) {
                if seen.insert((m.group, m.member.clone())) {
                    members.push(m.member);
                }
            }
        }
        return Ok(out);
    }
    futures::stream::iter(groups)
        .map(|g| async move {
            let members = system.all_members(&g).await?;
            Ok::<_, Error>((g, members))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}
