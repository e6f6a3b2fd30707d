//! The one seeding path of the emulators: [`seed`] walks a [`Snapshot`] in a fixed order
//! (users, groups, memberships, roles, grants), resolves every reference to the ids the
//! emulator gave, and turns refusals into one kind of error; the emulator only says how to
//! add each record ([`SeedTarget`]).

use std::collections::{HashMap, HashSet};

use idbridge_core::{Error, Grant, Group, Principal, Result, Role, Snapshot, User};

/// What one seeding step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeded<T> {
    /// The record is in the emulator, under this handle (its id, login or name there).
    Added(T),
    /// The emulated platform cannot hold it; the reason is logged as a warning and the
    /// records that refer to it are skipped too.
    Skipped(String),
}

/// The answer of one seeding step: `Err` with the emulator's refusal (a duplicate, a
/// cycle) fails the whole seed.
pub type SeedStep<T> = std::result::Result<Seeded<T>, String>;

/// How the emulated platform holds a group inside a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// As it is: each nesting is added as a membership of a group in a group.
    Keep,
    /// Flattened: groups cannot nest, so each user joins every group above it.
    Flatten,
    /// Dropped: groups hold users only; a user joins its direct groups.
    Drop,
}

/// A member of a group or the holder of a grant, by the handle the emulator gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMember<'a> {
    /// A user.
    User(&'a str),
    /// A group.
    Group(&'a str),
}

impl<'a> SeedMember<'a> {
    /// The handle, whatever the kind.
    pub fn handle(self) -> &'a str {
        match self {
            SeedMember::User(h) | SeedMember::Group(h) => h,
        }
    }
}

/// One grant to add, with its role and holder resolved.
#[derive(Debug, Clone, Copy)]
pub struct SeedGrant<'a> {
    /// The grant as the snapshot has it (its scope in particular).
    pub grant: &'a Grant,
    /// Its role in the snapshot.
    pub role: &'a Role,
    /// The handle the emulator gave the role.
    pub role_handle: &'a str,
    /// Who holds it.
    pub holder: SeedMember<'a>,
}

/// An emulator's state as [`seed`] fills it. Each method adds one record and answers its
/// handle ([`Seeded::Added`]), that the platform cannot hold it ([`Seeded::Skipped`]),
/// or the emulator's refusal (`Err`).
pub trait SeedTarget {
    /// How groups nest on this platform. Default [`Nesting::Keep`].
    fn nesting(&self) -> Nesting {
        Nesting::Keep
    }

    /// Adds a user (the snapshot is there for what the platform stores on the account
    /// itself, such as a role).
    fn add_user(&mut self, snapshot: &Snapshot, user: &User) -> SeedStep<String>;

    /// Adds a group.
    fn add_group(&mut self, snapshot: &Snapshot, group: &Group) -> SeedStep<String>;

    /// Makes `member` a member of the group with handle `group`.
    fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()>;

    /// Adds a role (or finds the platform's own role of that name).
    fn add_role(&mut self, snapshot: &Snapshot, role: &Role) -> SeedStep<String>;

    /// Adds a grant.
    fn add_grant(&mut self, grant: SeedGrant<'_>) -> SeedStep<()>;
}

/// Loads `snapshot` into `target`: users, groups, memberships (nesting as
/// [`SeedTarget::nesting`] says), roles, grants, each in snapshot order. The snapshot's
/// own ids are not kept: the emulator gives its own.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] naming the record when the emulator refuses
/// it, or when a membership or grant names a user, group or role the snapshot lacks.
pub fn seed(snapshot: &Snapshot, target: &mut dyn SeedTarget) -> Result<()> {
    let index = Index::new(snapshot);
    let mut users = HashMap::new();
    for u in &snapshot.users {
        let what = format!("user `{}`", u.login);
        if let Some(h) = step(&what, target.add_user(snapshot, u))? {
            users.insert(u.id.as_str(), h);
        }
    }
    let mut groups = HashMap::new();
    for g in &snapshot.groups {
        let what = format!("group `{}`", g.name);
        if let Some(h) = step(&what, target.add_group(snapshot, g))? {
            groups.insert(g.id.as_str(), h);
        }
    }
    let ids = Handles {
        snapshot,
        index,
        users,
        groups,
    };
    seed_members(&ids, target)?;
    let mut roles = HashMap::new();
    for r in &snapshot.roles {
        let what = format!("role `{}`", r.name);
        if let Some(h) = step(&what, target.add_role(snapshot, r))? {
            roles.insert(r.id.as_str(), h);
        }
    }
    for g in &snapshot.grants {
        let role = ids
            .index
            .roles
            .get(g.role.as_str())
            .copied()
            .ok_or_else(|| unknown("role", &g.role))?;
        let Some(role_handle) = roles.get(g.role.as_str()) else {
            continue;
        };
        let Some(holder) = ids.member(&g.principal)? else {
            continue;
        };
        let what = format!("grant of role `{}`", role.name);
        let grant = SeedGrant {
            grant: g,
            role,
            role_handle,
            holder,
        };
        step(&what, target.add_grant(grant))?;
    }
    Ok(())
}

/// The snapshot's records by id and its memberships by member, so that each seeding step
/// finds what it refers to without scanning the snapshot (the first record wins for a
/// repeated id, as a scan would find it).
struct Index<'a> {
    users: HashMap<&'a str, &'a User>,
    groups: HashMap<&'a str, &'a Group>,
    roles: HashMap<&'a str, &'a Role>,
    /// The groups each principal is a direct member of, in membership order.
    parents: HashMap<&'a Principal, Vec<&'a str>>,
}

impl<'a> Index<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        let mut index = Index {
            users: HashMap::new(),
            groups: HashMap::new(),
            roles: HashMap::new(),
            parents: HashMap::new(),
        };
        for u in &snapshot.users {
            index.users.entry(u.id.as_str()).or_insert(u);
        }
        for g in &snapshot.groups {
            index.groups.entry(g.id.as_str()).or_insert(g);
        }
        for r in &snapshot.roles {
            index.roles.entry(r.id.as_str()).or_insert(r);
        }
        for m in &snapshot.memberships {
            index
                .parents
                .entry(&m.member)
                .or_default()
                .push(m.group.as_str());
        }
        index
    }

    /// The groups `member` is a direct member of, in membership order (unknown group ids
    /// skipped), as [`Snapshot::groups_of`] answers them.
    fn groups_of(&self, member: &Principal) -> Vec<&'a Group> {
        self.parents
            .get(member)
            .into_iter()
            .flatten()
            .filter_map(|g| self.groups.get(g).copied())
            .collect()
    }

    /// The groups `member` belongs to directly or through nesting, each once, nearest
    /// first, as [`Snapshot::groups_above`] answers them.
    fn groups_above(&self, member: &Principal) -> Vec<&'a Group> {
        let mut out: Vec<&Group> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo = self.groups_of(member);
        todo.reverse();
        while let Some(g) = todo.pop() {
            if !seen.insert(g.id.as_str()) {
                continue;
            }
            out.push(g);
            let mut parents = self.groups_of(&Principal::Group(g.id.clone()));
            parents.reverse();
            todo.extend(parents);
        }
        out
    }
}

/// The handles the emulator gave the snapshot's users and groups.
struct Handles<'a> {
    snapshot: &'a Snapshot,
    index: Index<'a>,
    users: HashMap<&'a str, String>,
    groups: HashMap<&'a str, String>,
}

impl Handles<'_> {
    /// The handle of `principal`: `None` when the emulator skipped it.
    ///
    /// # Errors
    /// `InvalidInput` when the snapshot has no such user or group.
    fn member(&self, principal: &Principal) -> Result<Option<SeedMember<'_>>> {
        Ok(match principal {
            Principal::User(id) => {
                if !self.index.users.contains_key(id.as_str()) {
                    return Err(unknown("user", id));
                }
                self.users.get(id.as_str()).map(|h| SeedMember::User(h))
            }
            Principal::Group(id) => self.group(id)?.map(SeedMember::Group),
        })
    }

    fn group(&self, id: &str) -> Result<Option<&str>> {
        if !self.index.groups.contains_key(id) {
            return Err(unknown("group", id));
        }
        Ok(self.groups.get(id).map(String::as_str))
    }
}

/// Memberships: nestings first (when the platform keeps them), then users in their groups
/// in snapshot order (every group above them, when the platform flattens).
fn seed_members(ids: &Handles<'_>, target: &mut dyn SeedTarget) -> Result<()> {
    let snapshot = ids.snapshot;
    let nesting = target.nesting();
    if nesting == Nesting::Keep {
        for g in &snapshot.groups {
            let Some(child) = ids.group(&g.id)? else {
                continue;
            };
            for parent in ids.index.groups_of(&Principal::Group(g.id.clone())) {
                let Some(parent) = ids.group(&parent.id)? else {
                    continue;
                };
                let what = format!("nesting of group `{}`", g.name);
                step(&what, target.add_member(parent, SeedMember::Group(child)))?;
            }
        }
    }
    if nesting == Nesting::Flatten {
        for u in &snapshot.users {
            let Some(user) = ids.users.get(u.id.as_str()) else {
                continue;
            };
            for g in ids.index.groups_above(&Principal::User(u.id.clone())) {
                let Some(group) = ids.group(&g.id)? else {
                    continue;
                };
                let what = format!("membership of user `{}`", u.login);
                step(&what, target.add_member(group, SeedMember::User(user)))?;
            }
        }
    }
    for m in &snapshot.memberships {
        let group = ids.group(&m.group)?;
        let member = ids.member(&m.member)?;
        let (Some(group), Some(SeedMember::User(user))) = (group, member) else {
            continue;
        };
        if nesting == Nesting::Flatten {
            continue;
        }
        let login = ids
            .index
            .users
            .get(m.member.id())
            .map_or("", |u| u.login.as_str());
        let what = format!("membership of user `{login}`");
        step(&what, target.add_member(group, SeedMember::User(user)))?;
    }
    Ok(())
}

/// The handle of an added record; `None` (after a warning) for a skipped one.
fn step<T>(what: &str, result: SeedStep<T>) -> Result<Option<T>> {
    match result {
        Ok(Seeded::Added(h)) => Ok(Some(h)),
        Ok(Seeded::Skipped(reason)) => {
            tracing::warn!(record = %what, %reason, "seed: skipped");
            Ok(None)
        }
        Err(refusal) => Err(Error::invalid_input(format!("seed: {what}: {refusal}"))),
    }
}

fn unknown(kind: &str, id: &str) -> Error {
    Error::invalid_input(format!("seed: unknown {kind} id `{id}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::{Membership, Scope};

    /// Records every call as a line.
    #[derive(Default)]
    struct Log {
        nesting: Option<Nesting>,
        lines: Vec<String>,
        refuse: Option<&'static str>,
    }

    impl Log {
        fn add(&mut self, line: String, handle: String) -> SeedStep<String> {
            if self.refuse.is_some_and(|r| line.contains(r)) {
                return Err("refused".into());
            }
            if line.contains("skip") {
                return Ok(Seeded::Skipped("cannot".into()));
            }
            self.lines.push(line);
            Ok(Seeded::Added(handle))
        }
    }

    impl SeedTarget for Log {
        fn nesting(&self) -> Nesting {
            self.nesting.unwrap_or(Nesting::Keep)
        }
        fn add_user(&mut self, _: &Snapshot, user: &User) -> SeedStep<String> {
            self.add(format!("user {}", user.login), format!("U{}", user.id))
        }
        fn add_group(&mut self, _: &Snapshot, group: &Group) -> SeedStep<String> {
            self.add(format!("group {}", group.name), format!("G{}", group.id))
        }
        fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()> {
            self.lines.push(format!("member {group} {member:?}"));
            Ok(Seeded::Added(()))
        }
        fn add_role(&mut self, _: &Snapshot, role: &Role) -> SeedStep<String> {
            self.add(format!("role {}", role.name), format!("R{}", role.id))
        }
        fn add_grant(&mut self, g: SeedGrant<'_>) -> SeedStep<()> {
            self.lines
                .push(format!("grant {} {:?}", g.role_handle, g.holder));
            Ok(Seeded::Added(()))
        }
    }

    fn snapshot() -> Snapshot {
        let user = |id: &str, login: &str| User {
            id: id.into(),
            login: login.into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: Default::default(),
        };
        let group = |id: &str| Group {
            id: id.into(),
            name: id.into(),
            description: None,
        };
        Snapshot {
            users: vec![user("1", "ada"), user("2", "skip-bob")],
            groups: vec![group("inner"), group("outer")],
            memberships: vec![
                Membership {
                    group: "inner".into(),
                    member: Principal::User("1".into()),
                },
                Membership {
                    group: "inner".into(),
                    member: Principal::User("2".into()),
                },
                Membership {
                    group: "outer".into(),
                    member: Principal::Group("inner".into()),
                },
            ],
            roles: vec![Role {
                id: "r".into(),
                name: "reader".into(),
                scope: Scope::Global,
                privileges: Vec::new(),
            }],
            grants: vec![
                Grant {
                    role: "r".into(),
                    principal: Principal::User("1".into()),
                    scope: Scope::Global,
                },
                Grant {
                    role: "r".into(),
                    principal: Principal::User("2".into()),
                    scope: Scope::Global,
                },
            ],
        }
    }

    #[test]
    fn records_come_in_one_order_with_the_emulators_handles() {
        let mut log = Log::default();
        seed(&snapshot(), &mut log).expect("seeded");
        assert_eq!(
            log.lines,
            [
                "user ada",
                "group inner",
                "group outer",
                "member Gouter Group(\"Ginner\")",
                "member Ginner User(\"U1\")",
                "role reader",
                "grant Rr User(\"U1\")",
            ]
        );
    }

    #[test]
    fn flattened_nesting_puts_users_in_every_group_above() {
        let mut log = Log {
            nesting: Some(Nesting::Flatten),
            ..Log::default()
        };
        seed(&snapshot(), &mut log).expect("seeded");
        let members: Vec<_> = log
            .lines
            .iter()
            .filter(|l| l.starts_with("member"))
            .collect();
        assert_eq!(
            members,
            ["member Ginner User(\"U1\")", "member Gouter User(\"U1\")"]
        );
    }

    #[test]
    fn a_refusal_names_the_record_and_an_unknown_reference_its_id() {
        let mut log = Log {
            refuse: Some("group outer"),
            ..Log::default()
        };
        let err = seed(&snapshot(), &mut log).expect_err("refused");
        assert!(
            err.to_string().contains("seed: group `outer`: refused"),
            "{err}"
        );
        let mut broken = snapshot();
        broken.grants[0].role = "nope".into();
        let err = seed(&broken, &mut Log::default()).expect_err("unknown role");
        assert!(err.to_string().contains("unknown role id `nope`"), "{err}");
    }
}
