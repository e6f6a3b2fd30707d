//! Leavers, users disabled in the source, offboarding holds, and accounts a target cannot disable.

use super::*;

#[test]
fn leavers_are_disabled_with_session_revocation_and_rejoiners_re_enabled() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.link_as_applied();
    c.target.sessions = Some(vec![session("sess-1", "T2")]);
    let leaver = c.source.users.remove(1);
    let plan = c.plan().expect("plan");
    assert_eq!(
        names(&plan),
        vec!["disable_user bob", "revoke_sessions bob"]
    );
    assert_eq!(plan.ops.depends_on(1), [0]);
    let Action::DisableUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let reason = &x_.reason;
    let before = &x_.before;
    let source_id = &x_.source_id;
    assert_eq!(*reason, Reason::Left);
    assert!(before.enabled);
    assert_eq!(source_id.as_deref(), Some("s2"));
    assert_eq!(plan.managed_users, 2);
    assert_eq!(plan.deletions(), 1);

    // Disabled and sessions gone: nothing more to do.
    c.target.users[1].enabled = false;
    c.target.sessions = Some(vec![]);
    assert!(c.plan().expect("plan").ops.is_empty());

    // Returns: re-enabled, not re-created.
    c.source.users.push(leaver);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["enable_user bob"]);
}

#[test]
fn sessions_left_live_by_an_interrupted_run_are_revoked() {
    let mut c = Case::new(
        vec![user("s1", "ada")],
        vec![
            user("T1", "ada"),
            User {
                enabled: false,
                ..user("T2", "bob")
            },
        ],
    );
    c.user_links
        .push(link(idbridge_store::LinkKind::User, "gone", "T2", "x"));
    c.link_as_applied();
    c.target.sessions = Some(vec![session("sess-1", "T2")]);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["revoke_sessions bob"]);
}

#[test]
fn deletion_policies() {
    let base = || {
        let mut c = Case::new(
            vec![user("s1", "ada")],
            vec![user("T1", "ada"), user("T2", "bob")],
        );
        c.user_links
            .push(link(idbridge_store::LinkKind::User, "gone", "T2", "x"));
        c
    };
    let mut c = base();
    c.settings.deletion = crate::settings::DeletionPolicy::Delete;
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(
        n.contains(&"revoke_sessions bob".to_string())
            && n.contains(&"delete_user bob".to_string()),
        "{n:?}"
    );
    let del = find(&plan, "delete_user")[0];
    let rev = find(&plan, "revoke_sessions")[0];
    assert!(
        depends(&plan, del, rev),
        "sessions are revoked before the delete"
    );

    let mut c = base();
    c.settings.deletion = crate::settings::DeletionPolicy::Ignore;
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "disable_user").is_empty() && find(&plan, "delete_user").is_empty());

    // A target that cannot disable: listed as able to sign in (it has no memberships,
    // grants or live sessions to remove here).
    let mut c = base();
    c.caps.users_set_enabled = false;
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "disable_user").is_empty());
    assert!(
        !names(&plan).iter().any(|n| n.ends_with("bob")),
        "{:?}",
        names(&plan)
    );
    assert_eq!(plan.can_sign_in.len(), 1);
    assert_eq!(plan.can_sign_in[0].login, "bob");
    assert!(
        plan.can_sign_in[0]
            .why
            .contains("the account can still sign in")
    );
}

#[test]
fn disabled_source_users_are_not_provisioned_but_linked_ones_are_disabled() {
    let mut c = Case::new(
        vec![
            User {
                enabled: false,
                ..user("s1", "ada")
            },
            User {
                enabled: false,
                ..user("s2", "bob")
            },
        ],
        vec![user("T2", "bob")],
    );
    let plan = c.plan().expect("plan");
    // The unlinked account is adopted (shown and counted), then disabled.
    assert_eq!(
        names(&plan),
        vec!["link_user bob", "disable_user bob", "revoke_sessions bob"]
    );
    assert!(plan.ops[0].action.is_adoption());
    let Action::DisableUser(x_) = &plan.ops[1].action else {
        panic!()
    };
    let reason = &x_.reason;
    let fingerprint = &x_.fingerprint;
    assert_eq!(*reason, Reason::DisabledInSource);
    assert!(fingerprint.is_some());
    // Once disabled (and linked), nothing more.
    c.user_links.push(link(
        idbridge_store::LinkKind::User,
        "s2",
        "T2",
        fingerprint.as_deref().unwrap_or_default(),
    ));
    c.target.users[0].enabled = false;
    assert!(
        c.plan().expect("plan").ops.is_empty(),
        "{:?}",
        names(&c.plan().expect("plan"))
    );
}

/// ada stays, bob left the source; the target cannot disable accounts, cannot list
/// sessions but can revoke a user's sessions. bob is in a synced group, in a group only
/// the target has, and holds a mapped role.
fn leaver_on_a_target_that_cannot_disable() -> Case {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.caps.users_set_enabled = false;
    c.caps.sessions_list = false;
    c.caps.sessions_revoke = false;
    c.source.groups = Some(vec![group("g1", "eng")]);
    c.source.members.insert(
        "g1".into(),
        vec![Principal::User("s1".into()), Principal::User("s2".into())],
    );
    c.target.groups = vec![group("TG1", "eng"), group("TG2", "ops")];
    c.target.members.insert(
        "TG1".into(),
        vec![Principal::User("T1".into()), Principal::User("T2".into())],
    );
    c.target
        .members
        .insert("TG2".into(), vec![Principal::User("T2".into())]);
    c.map_viewer_to_reader("r1");
    c.target.grants = vec![role_grant(
        "TR",
        Principal::User("T2".into()),
        Scope::Global,
    )];
    c.link_as_applied();
    c.source.users.retain(|u| u.id != "s2");
    c.source
        .members
        .insert("g1".into(), vec![Principal::User("s1".into())]);
    c
}

#[test]
fn a_leaver_the_target_cannot_disable_is_stripped_and_listed_as_able_to_sign_in() {
    let mut c = leaver_on_a_target_that_cannot_disable();
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert_eq!(
        n,
        vec![
            "remove_member eng <- bob",
            "remove_member ops <- bob",
            "revoke reader (global) -> bob",
            "revoke_sessions bob",
            "link_user bob",
        ],
        "{n:?}"
    );
    // The revocation follows the removals; the link records it after the revocation.
    assert_eq!(plan.ops.depends_on(3), [0, 1, 2]);
    assert_eq!(plan.ops.depends_on(4), [3]);
    assert_eq!(plan.can_sign_in.len(), 1, "{:?}", plan.can_sign_in);
    let c0 = &plan.can_sign_in[0];
    assert_eq!((c0.login.as_str(), c0.reason), ("bob", Reason::Left));
    assert_eq!(
        c0.why,
        "cannot disable on this platform: memberships and roles removed, sessions revoked; \
         the account can still sign in"
    );
    assert!(c0.stripped_now);
    // Counted by the deletion guard like a disable.
    assert_eq!(plan.deletions(), 1);
    assert!(
        !plan.notes.iter().any(|n| n.contains("cannot disable them")),
        "{:?}",
        plan.notes
    );

    // Applied: the removals are done and the link records it. Nothing is planned again,
    // yet the account is still listed.
    let Action::LinkUser(x_) = &plan.ops[4].action else {
        panic!()
    };
    let fingerprint = &x_.fingerprint;
    c.user_links
        .iter_mut()
        .filter(|l| l.source_id == "s2")
        .for_each(|l| l.fingerprint = fingerprint.clone());
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T1".into())]);
    c.target.members.insert("TG2".into(), vec![]);
    c.target.grants.clear();
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "disable_user").is_empty());
    assert!(
        !names(&plan).iter().any(|n| n.ends_with("bob")),
        "{:?}",
        names(&plan)
    );
    assert_eq!(plan.can_sign_in.len(), 1);
    assert!(!plan.can_sign_in[0].stripped_now);
    assert_eq!(plan.deletions(), 0);

    // Someone adds bob to a group again: removed again, sessions revoked again.
    c.target
        .members
        .insert("TG2".into(), vec![Principal::User("T2".into())]);
    let plan = c.plan().expect("plan");
    assert_eq!(
        names(&plan),
        vec!["remove_member ops <- bob", "revoke_sessions bob"]
    );
}

#[test]
fn deletion_delete_still_deletes_on_a_target_that_cannot_disable() {
    let mut c = leaver_on_a_target_that_cannot_disable();
    c.settings.deletion = DeletionPolicy::Delete;
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(n.contains(&"delete_user bob".to_string()), "{n:?}");
    assert!(plan.can_sign_in.is_empty());
}

#[test]
fn a_user_disabled_in_the_source_is_stripped_where_the_target_cannot_disable() {
    let mut c = leaver_on_a_target_that_cannot_disable();
    // bob is back in the source, disabled.
    let mut bob = user("s2", "bob");
    bob.enabled = false;
    c.source.users.push(bob);
    c.source.members.insert(
        "g1".into(),
        vec![Principal::User("s1".into()), Principal::User("s2".into())],
    );
    c.source.grants = vec![role_grant(
        "r1",
        Principal::User("s2".into()),
        Scope::Global,
    )];
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    // Not added back anywhere, stripped of what it has.
    assert!(
        !n.iter()
            .any(|x| x.starts_with("add_member") || x.starts_with("grant ")),
        "{n:?}"
    );
    assert!(n.contains(&"remove_member eng <- bob".to_string()), "{n:?}");
    assert!(
        n.contains(&"revoke reader (global) -> bob".to_string()),
        "{n:?}"
    );
    assert_eq!(plan.can_sign_in.len(), 1);
    assert_eq!(plan.can_sign_in[0].reason, Reason::DisabledInSource);
}

#[test]
fn where_every_user_holds_one_global_role_a_stripped_account_gets_the_least() {
    let mut c = leaver_on_a_target_that_cannot_disable();
    c.caps.grants_global_floor = Some("TLOW");
    c.target.roles.push(global_role("TLOW", "nobody"));
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(
        n.contains(&"grant nobody (global) -> bob".to_string()),
        "{n:?}"
    );
    assert!(!n.iter().any(|x| x.starts_with("revoke ")), "{n:?}");
    // Holding the least already: nothing to do about roles.
    c.target.grants = vec![role_grant(
        "TLOW",
        Principal::User("T2".into()),
        Scope::Global,
    )];
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(!n.iter().any(|x| x.contains("(global)")), "{n:?}");
}

fn hold(person: &str, source_id: Option<&str>) -> idbridge_store::Hold {
    idbridge_store::Hold {
        id: 1,
        person: person.into(),
        source_id: source_id.map(str::to_string),
        keys: vec![person.to_lowercase()],
        created: Utc::now(),
        created_by: "alice".into(),
        reason: "offboard".into(),
        lifted: None,
        lifted_by: None,
    }
}

#[test]
fn a_held_person_stays_disabled_whatever_the_source_says_until_the_hold_is_lifted() {
    // bob is enabled in the source, but held; his account was disabled by the offboard.
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.link_as_applied();
    c.target.users[1].enabled = false;
    c.holds = vec![hold("bob", Some("s2"))];
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(!n.iter().any(|x| x.starts_with("enable_user")), "{n:?}");
    assert_eq!(plan.held.len(), 1, "{:?}", plan.held);
    assert_eq!(plan.held[0].login, "bob");
    assert_eq!(plan.held[0].by, "alice");
    // Recorded once as held (a link write only), then nothing.
    assert_eq!(n, vec!["link_user bob"]);
    let Action::LinkUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let fingerprint = &x_.fingerprint;
    c.user_links
        .iter_mut()
        .filter(|l| l.source_id == "s2")
        .for_each(|l| l.fingerprint = fingerprint.clone());
    let plan = c.plan().expect("plan");
    assert!(plan.ops.is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.held.len(), 1);

    // Someone enables it on the platform: disabled again, as held.
    c.target.users[1].enabled = true;
    let plan = c.plan().expect("plan");
    let Action::DisableUser(x_) = &find(&plan, "disable_user")[0].action else {
        panic!()
    };
    let reason = &x_.reason;
    assert_eq!(*reason, Reason::Held);

    // Lifted: the source rules again.
    c.target.users[1].enabled = false;
    c.holds.clear();
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["enable_user bob"]);
    assert!(plan.held.is_empty());
}

#[test]
fn a_held_person_is_not_created_and_a_held_unmanaged_account_is_kept_disabled() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T9", "eve")],
    );
    // bob by his login (no source id known), eve only in the target.
    c.holds = vec![hold("bob", None), hold("eve@example.com", None)];
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(!n.contains(&"create_user bob".to_string()), "{n:?}");
    assert!(n.contains(&"disable_user eve".to_string()), "{n:?}");
    assert!(plan.unmanaged.is_empty(), "{:?}", plan.unmanaged);
}
