//! The indexes stay equal to the document through every kind of change, and a write folds
//! a bounded number of names however large the directory (counted, not timed): so applying
//! N writes cannot drift back to costing N times the directory's size.

use idbridge_core::{ErrorKind, GroupChanges, NewGroup, NewUser, Principal, UserChanges};

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
    let mut d = Draft::new(Directory::new());
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

    // Reindexing a directory of n users (what each rewrite does) folds each name once.
    let start = folds();
    let _again = Draft::new(d.into_dir());
    assert_eq!(folds() - start, n + n / 10);
}

#[test]
fn memberships_fold_nothing() {
    let mut d = Draft::new(Directory::new());
    let users: Vec<String> = (0..200)
        .map(|i| {
            ops::create_user(&mut d, &new_user(&format!("u{i}")))
                .expect("created")
                .id
        })
        .collect();
    let group = ops::create_group(&mut d, &new_group("staff"))
        .expect("created")
        .id;
    let before = folds();
    for id in &users {
        ops::add_member(&mut d, &group, &Principal::User(id.clone())).expect("added");
    }
    for id in users.iter().take(50) {
        ops::remove_member(&mut d, &group, &Principal::User(id.clone())).expect("removed");
    }
    assert_eq!(folds(), before);
    let members = d.dir.users.iter().filter(|u| u.groups == ["staff"]).count();
    assert_eq!(members, 150);
}

#[test]
fn indexes_follow_renames_deletes_and_reloads() {
    let mut d = Draft::new(Directory::new());
    let ada = ops::create_user(&mut d, &new_user("ada"))
        .expect("created")
        .id;
    let bob = ops::create_user(&mut d, &new_user("bob"))
        .expect("created")
        .id;
    let cy = ops::create_user(&mut d, &new_user("cy"))
        .expect("created")
        .id;
    let eng = ops::create_group(&mut d, &new_group("eng"))
        .expect("created")
        .id;
    let ops_g = ops::create_group(&mut d, &new_group("ops"))
        .expect("created")
        .id;
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
    d.dir.validate().expect("still a valid document");

    // What a reload builds from the saved document equals what the writes kept up.
    let text = serde_json::to_string(&d.dir).expect("serializes");
    let reloaded: Directory = serde_json::from_str(&text).expect("parses");
    let fresh = Draft::new(reloaded);
    assert!(fresh.consistent());
    assert_eq!(fresh.user_at(&cy), d.user_at(&cy));
    assert_eq!(fresh.group_at(&ops_g), d.group_at(&ops_g));
}
