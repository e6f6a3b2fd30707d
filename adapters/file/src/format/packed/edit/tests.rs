//! Changed users read back as written, and the buffers stay bounded however many changes
//! they take (counted in bytes, not timed).

use std::collections::BTreeMap;

use super::super::PackedUsers;
use crate::format::DirUser;

fn user(i: usize) -> DirUser {
    DirUser {
        id: format!("u-{i}"),
        login: format!("user.{i}"),
        email: Some(format!("user.{i}@example.com")),
        display_name: Some(format!("User {i}")),
        enabled: true,
        groups: vec!["all".into()],
        attributes: BTreeMap::new(),
    }
}

fn packed(n: usize) -> PackedUsers {
    let mut users = PackedUsers::new();
    for i in 0..n {
        users.push(user(i)).expect("packs");
    }
    users.make_writable();
    users
}

/// What the buffers hold, in bytes.
fn bytes(users: &PackedUsers) -> usize {
    users.text.len() + users.groups.len() * 4
}

#[test]
fn a_replaced_user_reads_back_as_written_and_keeps_unchanged_fields() {
    let mut users = packed(3);
    let text_before = users.text.len();
    let mut changed = user(1);
    changed.enabled = false;
    changed.groups.push("staff".into());
    changed.attributes.insert("department".into(), "R&D".into());
    let was = users.replace(1, &changed).expect("replaced");
    assert_eq!(users.dir_user(1), Some(changed.clone()));
    assert_eq!(
        users.text.len(),
        text_before,
        "no string changed: no text appended"
    );
    changed.email = None;
    changed.login = "ada".into();
    users.replace(1, &changed).expect("replaced");
    assert_eq!(users.dir_user(1), Some(changed));
    // The row kept for an undo still reads as the user was.
    users.set_row(1, was);
    assert_eq!(users.dir_user(1), Some(user(1)));
    assert_eq!(users.dir_user(0), Some(user(0)));
    assert_eq!(users.dir_user(2), Some(user(2)));
}

#[test]
fn many_changes_leave_the_buffers_bounded_once_compacted() {
    let n = 2_000;
    let mut users = packed(n);
    let fresh = bytes(&users);
    let staff = users.group_number("staff").expect("numbered");
    let all = users.group_number("all").expect("numbered");
    for round in 0..20 {
        for i in 0..n {
            let numbers: &[u32] = if round % 2 == 0 {
                &[all, staff]
            } else {
                &[all]
            };
            users.set_group_numbers(i, numbers).expect("set");
            let mut u = users.dir_user(i).expect("held");
            u.display_name = Some(format!("User {i}, round {round}"));
            users.replace(i, &u).expect("replaced");
        }
        users.compact();
        assert!(
            bytes(&users) < 4 * fresh,
            "round {round}: {} bytes against {fresh}",
            bytes(&users)
        );
    }
    for i in 0..n {
        let u = users.dir_user(i).expect("held");
        assert_eq!(u.groups, ["all"], "{i}");
        assert_eq!(
            u.display_name.as_deref(),
            Some(format!("User {i}, round 19").as_str())
        );
        assert_eq!(u.id, format!("u-{i}"));
    }
}

#[test]
fn lists_that_grow_one_group_at_a_time_are_rebuilt_alone() {
    let n = 2_000;
    let mut users = packed(n);
    let text = users.text.len();
    let names: Vec<u32> = (0..5)
        .map(|g| users.group_number(&format!("g{g}")).expect("numbered"))
        .collect();
    let all = users.group_number("all").expect("numbered");
    for round in 0..names.len() {
        for i in 0..n {
            let mut numbers = vec![all];
            numbers.extend_from_slice(&names[..=round]);
            users.set_group_numbers(i, &numbers).expect("set");
        }
        users.compact();
        let live = n * (round + 2);
        assert!(
            users.groups.len() * 2 <= live * 3,
            "round {round}: {} list entries for {live} live",
            users.groups.len()
        );
        assert_eq!(
            users.text.len(),
            text,
            "round {round}: the text is left as it was"
        );
    }
    for i in 0..n {
        let u = users.dir_user(i).expect("held");
        assert_eq!(u.groups, ["all", "g0", "g1", "g2", "g3", "g4"], "{i}");
        assert_eq!(
            u,
            DirUser {
                groups: u.groups.clone(),
                ..user(i)
            }
        );
    }
}
