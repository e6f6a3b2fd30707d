//! Synthetic directories: users, groups and memberships generated from a few numbers, the
//! same way every time, so that two runs of a benchmark measure the same work.

use std::collections::BTreeMap;

use idbridge_core::{Error, Group, Result, User};
use idbridge_file::{DirGroup, DirUser, Directory};
use idbridge_sync::state::SourceState;
use idbridge_sync::table::{MemberList, Members, UserTable};

/// The shape of a synthetic directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Users.
    pub users: usize,
    /// Groups.
    pub groups: usize,
    /// Direct group memberships per user (at most `groups`).
    pub per_user: usize,
}

impl Shape {
    /// The groups user `i` is a direct member of: `per_user` distinct groups spread over
    /// all groups, so that every group gets about `users * per_user / groups` members.
    pub fn groups_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let groups = self.groups.max(1);
        let k = self.per_user.min(groups);
        // Stepping by a stride coprime with the group count visits `k` distinct groups.
        let stride = coprime_stride(groups);
        (0..k).map(move |j| (i + j * stride) % groups)
    }

    /// Memberships in total.
    pub fn memberships(&self) -> usize {
        self.users * self.per_user.min(self.groups.max(1))
    }
}

/// A stride near `n / 3` that shares no factor with `n` (1 for tiny `n`).
fn coprime_stride(n: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    if n <= 2 {
        return 1;
    }
    let mut s = (n / 3).max(1);
    while gcd(s, n) != 1 {
        s += 1;
    }
    s
}

/// The source id of user `i`.
pub fn user_id(i: usize) -> String {
    format!("u{i:07}")
}

/// The login of user `i`.
pub fn login(i: usize) -> String {
    format!("user.{i:07}")
}

/// The email of user `i`.
pub fn email(i: usize) -> String {
    format!("user.{i:07}@example.com")
}

/// The source id of group `g`.
pub fn group_id(g: usize) -> String {
    format!("g{g:05}")
}

/// The name of group `g`.
pub fn group_name(g: usize) -> String {
    format!("group-{g:05}")
}

/// User `i` as a neutral record.
pub fn user(i: usize) -> User {
    User {
        id: user_id(i),
        login: login(i),
        email: Some(email(i)),
        display_name: Some(format!("User {i}")),
        enabled: true,
        attributes: BTreeMap::new(),
    }
}

/// The source as the engine holds it after reading.
///
/// # Errors
/// Only when the users' text passes the table's 4 GiB limit.
pub fn source_state(shape: Shape) -> Result<SourceState> {
    let mut users = UserTable::new();
    for i in 0..shape.users {
        users.push(user(i))?;
    }
    users.shrink_to_fit();
    let groups: Vec<Group> = (0..shape.groups)
        .map(|g| Group {
            id: group_id(g),
            name: group_name(g),
            description: None,
        })
        .collect();
    Ok(SourceState {
        users,
        groups: Some(groups),
        members: members_by_position(shape, group_id)?,
        members_listed: true,
        roles: None,
        grants: Vec::new(),
    })
}

/// The memberships of `shape` with user `i` at position `i` of its state's users, under
/// the group ids `group_id` gives.
///
/// # Errors
/// When a position does not fit the table's 32-bit positions.
pub fn members_by_position(shape: Shape, group_id: impl Fn(usize) -> String) -> Result<Members> {
    let mut lists = vec![MemberList::default(); shape.groups];
    for i in 0..shape.users {
        let position = u32::try_from(i)
            .map_err(|_| Error::invalid_input("more users than 32-bit positions"))?;
        for g in shape.groups_of(i) {
            lists[g].users.push(position);
        }
    }
    let mut members = Members::new();
    for (g, list) in lists.into_iter().enumerate() {
        members.insert_list(group_id(g), list);
    }
    Ok(members)
}

/// The source as a directory file (for the file adapter).
pub fn directory(shape: Shape) -> Directory {
    let users = (0..shape.users)
        .map(|i| DirUser {
            id: user_id(i),
            login: login(i),
            email: Some(email(i)),
            display_name: Some(format!("User {i}")),
            enabled: true,
            groups: shape.groups_of(i).map(group_name).collect(),
            attributes: BTreeMap::new(),
        })
        .collect();
    let groups = (0..shape.groups)
        .map(|g| DirGroup {
            id: group_id(g),
            name: group_name(g),
            description: None,
            groups: Vec::new(),
        })
        .collect();
    Directory {
        users,
        groups,
        roles: Vec::new(),
        grants: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_user_gets_distinct_groups_and_groups_fill_evenly() {
        for (groups, per_user) in [(2000, 5), (500, 5), (7, 3), (1, 5)] {
            let shape = Shape {
                users: 1000,
                groups,
                per_user,
            };
            let mut count = vec![0usize; groups];
            for i in 0..shape.users {
                let gs: Vec<usize> = shape.groups_of(i).collect();
                let distinct: HashSet<usize> = gs.iter().copied().collect();
                assert_eq!(distinct.len(), per_user.min(groups), "{groups}/{per_user}");
                for g in gs {
                    count[g] += 1;
                }
            }
            assert_eq!(count.iter().sum::<usize>(), shape.memberships());
            let (min, max) = (
                count.iter().min().copied().unwrap_or(0),
                count.iter().max().copied().unwrap_or(0),
            );
            assert!(max <= min * 2 + 8, "{groups}/{per_user}: {min}..{max}");
        }
    }

    #[test]
    fn source_and_directory_agree() {
        let shape = Shape {
            users: 50,
            groups: 7,
            per_user: 3,
        };
        let src = source_state(shape).expect("source");
        let dir = directory(shape);
        dir.validate().expect("a valid directory");
        assert_eq!(dir.neutral_users(), src.users.to_users());
        assert_eq!(src.members.memberships(), dir.neutral_memberships().len());
    }
}
