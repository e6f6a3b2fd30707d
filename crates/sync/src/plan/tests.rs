//! Plans: JSON round trips, structure checks, dropped operations, shared references.

use super::*;
use idbridge_core::{NewUser, User};

#[test]
fn plan_round_trips_through_json_and_checks_structure() {
    let mut t = TargetPlan::new("bi", "file");
    let create = t.push(
        Action::CreateUser(crate::plan::CreateUser::new(
            "u1",
            &NewUser::new("ada"),
            "f",
        )),
        vec![],
    );
    t.push(
        Action::AddMember {
            group: std::sync::Arc::new(GroupRef {
                at: Ref::Id("g1".into()),
                name: "eng".into(),
            }),
            member: std::sync::Arc::new(PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Created(create),
                name: "ada".into(),
            }),
        },
        vec![create],
    );
    // An operation whose own fields include the record's `id`.
    t.push(
        Action::DisableUser(Box::new(DisableUser {
            source_id: Some("u9".into()),
            id: "T9".into(),
            before: User {
                id: "T9".into(),
                login: "bob".into(),
                email: None,
                display_name: None,
                enabled: true,
                attributes: Default::default(),
            },
            reason: Reason::Left,
            fingerprint: None,
        })),
        vec![],
    );
    let mut plan = Plan::new();
    plan.targets.push(t);
    let text = plan.to_json();
    assert!(text.contains("\"op\":\"create_user\""), "{text}");
    let back = Plan::from_json(&text).expect("parses");
    assert_eq!(back, plan);
    assert_eq!(back.op_count(), 3);
    assert!(!back.is_empty());
    let streamed = Plan::from_reader(text.as_bytes()).expect("parses");
    assert_eq!(streamed, plan);
}

#[test]
fn operations_stay_small_and_a_read_plan_shares_its_references() {
    // A first sync of a million users plans 18 million operations: every byte here
    // is 18 MB there.
    assert_eq!(std::mem::size_of::<Action>(), 24);
    assert_eq!(std::mem::size_of::<Op>(), 32);
    let mut t = TargetPlan::new("bi", "file");
    let group = |g: &str| {
        std::sync::Arc::new(GroupRef {
            at: Ref::Id(g.into()),
            name: g.into(),
        })
    };
    let ada = std::sync::Arc::new(PrincipalRef {
        kind: PrincipalKind::User,
        at: Ref::Id("T1".into()),
        name: "ada".into(),
    });
    for g in ["g1", "g2", "g1"] {
        t.push(
            Action::AddMember {
                group: group(g),
                member: ada.clone(),
            },
            vec![],
        );
    }
    let mut plan = Plan::new();
    plan.targets.push(t);
    let mut saved = Vec::new();
    plan.write_json(&mut saved).expect("written");
    let back = Plan::from_reader(saved.as_slice()).expect("parses");
    assert_eq!(back, plan);
    let refs: Vec<_> = back.targets[0]
        .ops
        .iter()
        .filter_map(|o| o.action.membership())
        .collect();
    assert!(std::sync::Arc::ptr_eq(refs[0].1, refs[1].1));
    assert!(std::sync::Arc::ptr_eq(refs[1].1, refs[2].1));
    assert!(std::sync::Arc::ptr_eq(refs[0].0, refs[2].0));
    assert!(!std::sync::Arc::ptr_eq(refs[0].0, refs[1].0));
    // Targets alike share their references too, and their account creations.
    let mut twins = plan.clone();
    twins.targets[0].push(
        Action::CreateUser(crate::plan::CreateUser::new(
            "s1",
            &NewUser::new("ada"),
            "00ff00ff00ff00fe",
        )),
        vec![],
    );
    let mut other = twins.targets[0].clone();
    other.target = "other".into();
    twins.targets.push(other);
    let mut saved_twins = Vec::new();
    twins.write_json(&mut saved_twins).expect("written");
    let back = Plan::from_reader(saved_twins.as_slice()).expect("parses");
    let first = back.targets[0].ops[0]
        .action
        .membership()
        .expect("a membership");
    let second = back.targets[1].ops[0]
        .action
        .membership()
        .expect("a membership");
    assert!(std::sync::Arc::ptr_eq(first.1, second.1));
    assert!(std::sync::Arc::ptr_eq(first.0, second.0));
    let create = |t: usize| match &back.targets[t].ops[3].action {
        Action::CreateUser(c) => c.clone(),
        other => panic!("not a creation: {other:?}"),
    };
    assert!(create(0).shares_with(&create(1)));
    assert_eq!(back, twins);
    // Trailing text is no plan.
    saved.extend_from_slice(b" {}");
    assert!(Plan::from_reader(saved.as_slice()).is_err());
}

#[test]
fn dropping_an_operation_drops_its_dependants_and_renumbers_the_rest() {
    let mut t = TargetPlan::new("bi", "file");
    let create = |id: &str, login: &str| {
        Action::CreateUser(crate::plan::CreateUser::new(id, &NewUser::new(login), "f"))
    };
    let member = |n: usize, login: &str| Action::AddMember {
        group: std::sync::Arc::new(GroupRef {
            at: Ref::Id("g1".into()),
            name: "eng".into(),
        }),
        member: std::sync::Arc::new(PrincipalRef {
            kind: PrincipalKind::User,
            at: Ref::Created(n),
            name: login.into(),
        }),
    };
    let bob = t.push(create("u1", "bob"), vec![]);
    let ada = t.push(create("u2", "ada"), vec![]);
    t.push(member(bob, "bob"), vec![bob]);
    t.push(member(ada, "ada"), vec![ada]);
    let removed = t.drop_ops(&[bob].into_iter().collect());
    assert_eq!(removed, vec![0, 2]);
    assert_eq!(t.ops.len(), 2);
    t.check_structure().expect("consistent");
    assert_eq!(t.ops.depends_on(1), [0]);
    assert!(matches!(
        &t.ops[1].action,
        Action::AddMember { member, .. } if member.at == Ref::Created(0)
    ));
}

#[test]
fn longer_dependency_lists_survive_saving_reading_and_dropping() {
    let mut t = TargetPlan::new("bi", "file");
    let revoke = |n: usize| {
        Action::RevokeSessions(Box::new(RevokeSessions {
            id: format!("T{n}"),
            login: format!("user{n}"),
            sessions: Vec::new(),
        }))
    };
    let first: Vec<usize> = (0..4).map(|n| t.push(revoke(n), vec![])).collect();
    let all = t.push(revoke(4), vec![3, 2, 1, 0, 2]);
    let some = t.push(revoke(5), vec![1, 3, 2]);
    let two = t.push(revoke(6), vec![some, all]);
    t.check_structure().expect("consistent");
    let mut plan = Plan::new();
    plan.targets.push(t);
    for back in [
        Plan::from_json(&plan.to_json()).expect("parses"),
        Plan::from_reader(plan.to_json().as_bytes()).expect("parses"),
    ] {
        let ops = &back.targets[0].ops;
        assert_eq!(ops.depends_on(all), [0, 1, 2, 3]);
        assert_eq!(ops.depends_on(some), [1, 2, 3]);
        assert_eq!(ops.depends_on(two), [4, 5]);
        assert_eq!(back, plan);
    }
    // Dropping the first takes the operation that needs it, and renumbers the rest.
    let t = &mut plan.targets[0];
    let removed = t.drop_ops(&[first[0]].into_iter().collect());
    assert_eq!(removed, vec![0, all, two]);
    t.check_structure().expect("consistent");
    assert_eq!(t.ops.len(), 4);
    assert_eq!(t.ops.depends_on(3), [0, 1, 2]);
}

#[test]
fn inconsistent_plans_are_rejected() {
    let mut t = TargetPlan::new("bi", "file");
    t.push(
        Action::AddMember {
            group: std::sync::Arc::new(GroupRef {
                at: Ref::Id("g1".into()),
                name: "eng".into(),
            }),
            member: std::sync::Arc::new(PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Created(0),
                name: "ada".into(),
            }),
        },
        vec![],
    );
    let err = t.check_structure().expect_err("self reference");
    assert!(err.to_string().contains("operation 0"), "{err}");

    let mut plan = Plan::new();
    plan.format = 99;
    let err = Plan::from_json(&plan.to_json()).expect_err("format");
    assert!(err.to_string().contains("format 99"), "{err}");
    assert!(Plan::from_json("{\"x\":1}").is_err());
}
