//! A whole directory at one moment, as neutral records: what emulators are seeded with
//! and what tests build, independent of any adapter's file format.
//!
//! References are by id (a membership names a group id and a member id, a grant a role id
//! and a principal id), as the adapters' own records do. The file adapter reads and writes
//! it (its `Directory::to_snapshot` and `Directory::from_snapshot`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::model::{Grant, Group, Membership, Principal, Role, User};

/// Users, groups, direct memberships, roles and grants, each in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every user.
    #[serde(default)]
    pub users: Vec<User>,
    /// Every group.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Every direct membership (users in groups, then groups in groups), by id.
    #[serde(default)]
    pub memberships: Vec<Membership>,
    /// Every role.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Every grant, by id, with its effective scope.
    #[serde(default)]
    pub grants: Vec<Grant>,
}

impl Snapshot {
    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The role with this id.
    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The groups `member` is a direct member of, in membership order (unknown group ids
    /// skipped).
    pub fn groups_of(&self, member: &Principal) -> Vec<&Group> {
        self.memberships
            .iter()
            .filter(|m| &m.member == member)
            .filter_map(|m| self.group(&m.group))
            .collect()
    }

    /// The groups `member` belongs to directly or through nesting, each once, nearest
    /// first.
    pub fn groups_above(&self, member: &Principal) -> Vec<&Group> {
        let mut out: Vec<&Group> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&Group> = self.groups_of(member);
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

    /// The direct members of the group with id `group`, in membership order.
    pub fn members_of(&self, group: &str) -> Vec<&Principal> {
        self.memberships
            .iter()
            .filter(|m| m.group == group)
            .map(|m| &m.member)
            .collect()
    }

    /// The grants held by `principal`, each with its role (grants of unknown roles
    /// skipped).
    pub fn grants_of(&self, principal: &Principal) -> Vec<(&Grant, &Role)> {
        self.grants
            .iter()
            .filter(|g| &g.principal == principal)
            .filter_map(|g| self.role(&g.role).map(|r| (g, r)))
            .collect()
    }

    /// Whether the snapshot holds nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.groups.is_empty()
            && self.memberships.is_empty()
            && self.roles.is_empty()
            && self.grants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str) -> Group {
        Group {
            id: id.into(),
            name: id.into(),
            description: None,
        }
    }

    fn member(group: &str, member: Principal) -> Membership {
        Membership {
            group: group.into(),
            member,
        }
    }

    #[test]
    fn groups_above_follow_nesting_once_nearest_first() {
        let u = Principal::User("u1".into());
        let s = Snapshot {
            groups: vec![group("a"), group("b"), group("c")],
            memberships: vec![
                member("a", u.clone()),
                member("b", Principal::Group("a".into())),
                member("c", Principal::Group("b".into())),
                // A cycle back to `a` is followed once.
                member("a", Principal::Group("c".into())),
            ],
            ..Snapshot::default()
        };
        let above: Vec<&str> = s.groups_above(&u).iter().map(|g| g.id.as_str()).collect();
        assert_eq!(above, ["a", "b", "c"]);
        assert_eq!(s.members_of("b"), [&Principal::Group("a".into())]);
        assert_eq!(s.groups_of(&u).len(), 1);
    }
}
