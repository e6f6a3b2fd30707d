//! The indexes stay equal to the document through every kind of change, and a write folds
//! a bounded number of names however large the directory (counted, not timed): so applying
//! N writes cannot drift back to costing N times the directory's size.

use idbridge_core::{
    ErrorKind, Grant, GroupChanges, NewGroup, NewUser, Principal, Scope, UserChanges,
};

use super::Draft;
use crate::format::{Directory, folds};
use crate::ops;

fn new_user(login: &str) -> NewUser {
    NewUser {
        login: login.to_string(),
        email: None,
        display_name: None,
        enabled: true,
        attributes: Default::default(),
        password: None,
    }
}

fn new_group(name: &str) -> NewGroup {
    NewGroup {
        name: name.to_string(),
        description: None,
    }
}

#[test]
fn creates_fold_each_name_a_bounded_number_of_times() {
    let start = folds();
    let mut d = Draft::new(Directory::new()).expect("packs");
    let n: u64 = 5_000;
    for i in 0..n {
        ops::create_user(&mut d, &new_user(&format!("user.{i}"))).expect("created");
    }
    for i in 0..n / 10 {
        ops::create_group(&mut d, &new_group(&format!("group-{i}"))).expect("created");
    }
    // Two folds per create (the check, the index entry). A search of every login per
    // create would fold n²/2 = 12.5 million names here.
    assert_eq!(folds() - start, 2 * (n + n / 10));
    assert!(d.consistent());

    // Indexing a directory of n users (its first write) folds each name once at most:
    // a login that is its own key (lower-case ASCII, as here) is not folded at all.
    let start = folds();
    let _again = Draft::new(d.to_directory()).expect("packs");
    assert!(folds() - start <= n + n / 10, "{}", folds() - start);
}

/// Creates a user with login `login` in `d`; returns its id.
fn add_user(d: &mut Draft, login: &str) -> String {
    ops::create_user(d, &new_user(login)).expect("created").id
}

/// Creates a group named `name` in `d`; returns its id.
fn add_group(d: &mut Draft, name: &str) -> String {
    ops::create_group(d, &new_group(name)).expect("created").id
}

/// A draft of `n` users created with the logins `login(i)`, and their ids.
fn with_users(n: usize, login: impl Fn(usize) -> String) -> (Draft, Vec<String>) {
    let mut d = Draft::new(Directory::new()).expect("packs");
    let ids = (0..n)
        .map(|i| {
            ops::create_user(&mut d, &new_user(&login(i)))
                .expect("created")
                .id
        })
        .collect();
    (d, ids)
}

#[test]
fn memberships_fold_nothing() {
    let (mut d, users) = with_users(200, |i| format!("u{i}"));
    let group = add_group(&mut d, "staff");
    let before = folds();
    for id in &users {
        ops::add_member(&mut d, &group, &Principal::User(id.clone())).expect("added");
    }
    for id in users.iter().take(50) {
        ops::remove_member(&mut d, &group, &Principal::User(id.clone())).expect("removed");
    }
    assert_eq!(folds(), before);
    let members = d
        .to_directory()
        .users
        .iter()
        .filter(|u| u.groups == ["staff"])
        .count();
    assert_eq!(members, 150);
}

#[test]
fn indexes_follow_renames_deletes_and_reloads() {
    let mut d = Draft::new(Directory::new()).expect("packs");
    let ada = add_user(&mut d, "ada");
    let bob = add_user(&mut d, "bob");
    let cy = add_user(&mut d, "cy");
    let eng = add_group(&mut d, "eng");
    let ops_g = add_group(&mut d, "ops");
    ops::add_member(&mut d, &eng, &Principal::User(cy.clone())).expect("added");
    ops::add_member(&mut d, &eng, &Principal::Group(ops_g.clone())).expect("nested");

    // A rename frees the old login (in any case) and takes the new one.
    let rename = |login: &str| UserChanges {
        login: Some(login.to_string()),
        ..Default::default()
    };
    ops::update_user(&mut d, &ada, &rename("Ada.L")).expect("renamed");
    assert!(d.consistent());
    ops::create_user(&mut d, &new_user("ADA")).expect("the old login is free");
    let taken = ops::create_user(&mut d, &new_user("ada.l")).expect_err("taken, ignoring case");
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
    assert!(taken.to_string().contains("Ada.L"), "{taken}");
    // A change of case only is the user's own login, not a clash.
    ops::update_user(&mut d, &ada, &rename("ada.l")).expect("case changed");
    assert!(d.consistent());

    // A delete moves the later records up: each is still found at its new position.
    ops::delete_user(&mut d, &bob).expect("deleted");
    assert!(d.consistent());
    ops::add_member(&mut d, &eng, &Principal::User(ada.clone())).expect("found after delete");
    let missing =
        ops::add_member(&mut d, &eng, &Principal::User(bob.clone())).expect_err("deleted user");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    ops::create_user(&mut d, &new_user("Bob")).expect("a deleted login is free");

    let rename_group = GroupChanges {
        name: Some("Engineering".into()),
        ..Default::default()
    };
    ops::update_group(&mut d, &eng, &rename_group).expect("renamed");
    assert!(d.consistent());
    ops::create_group(&mut d, &new_group("eng")).expect("the old name is free");
    let clash = ops::create_group(&mut d, &new_group("ENGINEERING")).expect_err("taken");
    assert_eq!(clash.kind(), ErrorKind::AlreadyExists);
    ops::delete_group(&mut d, &eng).expect("deleted");
    assert!(d.consistent());
    ops::add_member(&mut d, &ops_g, &Principal::User(cy.clone())).expect("found after delete");
    d.to_directory().validate().expect("still a valid document");

    // What a reload builds from the saved document equals what the writes kept up.
    let text = serde_json::to_string(&d.to_directory()).expect("serializes");
    let reloaded: Directory = serde_json::from_str(&text).expect("parses");
    let fresh = Draft::new(reloaded).expect("packs");
    assert!(fresh.consistent());
    assert_eq!(fresh.user_at(&cy), d.user_at(&cy));
    assert_eq!(fresh.group_at(&ops_g), d.group_at(&ops_g));
}

/// A draft of three users, two groups (one nested in the other), a role granted to a user
/// and to a group, its changes committed; returns it and the ids of ada, bob, eng, ops.
fn committed() -> (Draft, [String; 4]) {
    let mut dir = Directory::new();
    dir.roles.push(crate::format::DirRole {
        id: "r-analyst".into(),
        name: "analyst".into(),
        scope: Scope::Global,
        privileges: Vec::new(),
    });
    let mut d = Draft::new(dir).expect("packs");
    let ada = add_user(&mut d, "ada");
    let bob = add_user(&mut d, "bob");
    ops::create_user(&mut d, &new_user("cy")).expect("created");
    let eng = add_group(&mut d, "eng");
    let ops_g = add_group(&mut d, "ops");
    ops::add_member(&mut d, &eng, &Principal::User(ada.clone())).expect("added");
    ops::add_member(&mut d, &eng, &Principal::Group(ops_g.clone())).expect("nested");
    ops::add_member(&mut d, &ops_g, &Principal::User(bob.clone())).expect("added");
    for principal in [Principal::User(ada.clone()), Principal::Group(eng.clone())] {
        let grant = Grant {
            role: "r-analyst".into(),
            principal,
            scope: Scope::Global,
        };
        ops::grant(&mut d, &grant).expect("granted");
    }
    d.to_directory().validate().expect("valid");
    d.commit();
    (d, [ada, bob, eng, ops_g])
}

#[test]
fn a_rollback_puts_back_every_kind_of_change_and_the_indexes() {
    let (mut d, [ada, bob, eng, ops_g]) = committed();
    let before = d.to_directory().clone();
    let mark = d.mark();
    assert!(!d.changed_since(mark));

    ops::create_user(&mut d, &new_user("dee")).expect("created");
    let rename = UserChanges {
        login: Some("Ada.L".into()),
        display_name: Some(Some("Ada".into())),
        ..Default::default()
    };
    ops::update_user(&mut d, &ada, &rename).expect("renamed, its grant too");
    ops::set_enabled(&mut d, &bob, false).expect("disabled");
    ops::remove_member(&mut d, &ops_g, &Principal::User(bob.clone())).expect("removed");
    let rename_group = GroupChanges {
        name: Some("Engineering".into()),
        ..Default::default()
    };
    ops::update_group(&mut d, &eng, &rename_group).expect("renamed, references too");
    ops::create_group(&mut d, &new_group("eng")).expect("the old name is free");
    ops::delete_group(&mut d, &ops_g).expect("deleted, with its nesting");
    ops::delete_user(&mut d, &bob).expect("deleted");
    let revoke = Grant {
        role: "r-analyst".into(),
        principal: Principal::Group(eng.clone()),
        scope: Scope::Global,
    };
    ops::revoke(&mut d, &revoke).expect("revoked");
    assert!(d.changed_since(mark));
    assert_ne!(d.to_directory(), before);
    assert!(d.consistent());

    d.rollback_to(mark);
    assert_eq!(d.to_directory(), before);
    assert!(d.consistent());
    assert!(!d.changed_since(mark));
    // Found where they were, by id and by name.
    assert_eq!(d.user_at(&ada), Some(0));
    assert_eq!(d.user_with_login("ADA"), Some(0));
    assert!(d.user_with_login("dee").is_none() && d.user_with_login("ada.l").is_none());
    assert_eq!(
        d.group_named("eng").map(|g| g.id.as_str()),
        Some(eng.as_str())
    );
    assert!(d.group_named("engineering").is_none());
    assert_eq!(d.user_at(&bob), Some(1));
    assert_eq!(d.group_at(&ops_g), Some(1));
}

#[test]
fn a_rollback_to_a_mark_keeps_the_changes_before_it() {
    let (mut d, [ada, bob, eng, _]) = committed();
    ops::set_enabled(&mut d, &ada, false).expect("disabled");
    let kept = d.to_directory().clone();
    let mark = d.mark();
    ops::delete_user(&mut d, &bob).expect("deleted");
    ops::add_member(&mut d, &eng, &Principal::User(ada.clone())).expect("already one");
    d.rollback_to(mark);
    assert_eq!(d.to_directory(), kept);
    assert!(d.consistent());
    d.rollback_to(0);
    assert!(
        d.to_directory().users[0].enabled,
        "the earlier change is undone too"
    );
}

#[test]
fn a_write_that_changes_nothing_records_nothing() {
    let (mut d, [ada, bob, eng, ops_g]) = committed();
    let mark = d.mark();
    ops::add_member(&mut d, &eng, &Principal::User(ada.clone())).expect("already a member");
    ops::remove_member(&mut d, &eng, &Principal::User(bob.clone())).expect("not a member");
    ops::add_member(&mut d, &eng, &Principal::Group(ops_g)).expect("already nested");
    ops::set_enabled(&mut d, &ada, true).expect("already enabled");
    let same = UserChanges {
        login: Some("ada".into()),
        ..Default::default()
    };
    ops::update_user(&mut d, &ada, &same).expect("the same login");
    assert!(!d.changed_since(mark), "nothing to undo: nothing to save");
    // After a commit, the changes are the document: a rollback keeps them.
    ops::set_enabled(&mut d, &ada, false).expect("disabled");
    d.commit();
    d.rollback_to(0);
    assert!(!d.to_directory().users[0].enabled);
}

/// Logins changed and rolled back over and over: the index tables fill with removed
/// entries and rehash themselves, from the rows' logins, while changes and undos move
/// entries; every user is still found by its login.
#[test]
fn logins_renamed_and_rolled_back_again_and_again_stay_found() {
    let (mut d, ids) = with_users(1_000, |i| format!("user.{i}"));
    d.commit();
    for round in 0..30 {
        let mark = d.mark();
        for (i, id) in ids.iter().enumerate() {
            let rename = UserChanges {
                login: Some(format!("renamed.{round}.{i}")),
                ..Default::default()
            };
            ops::update_user(&mut d, id, &rename).expect("renamed");
        }
        if round % 3 == 2 {
            d.commit();
        } else {
            d.rollback_to(mark);
        }
    }
    assert!(d.consistent());
    for (i, id) in ids.iter().enumerate() {
        // Round 29 was committed; rounds 27 and 28 were undone.
        let login = format!("RENAMED.29.{i}");
        assert_eq!(d.user_with_login(&login), d.user_at(id), "{login}");
        assert!(d.user_with_login(&format!("renamed.28.{i}")).is_none());
    }
}
