//! Users: correlation, creation, renames and the changes a target can or cannot make.

use super::*;

#[test]
fn new_users_are_created() {
    let c = Case::new(vec![user("s1", "ada"), user("s2", "bob")], vec![]);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user ada", "create_user bob"]);
    let Action::CreateUser(x_) = &plan.ops[0].action else {
        panic!("not a create")
    };
    let user = x_.user();
    let source_id = x_.source_id();
    assert_eq!(source_id, "s1");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.password, None);
}

#[test]
fn matching_accounts_are_linked_without_writes_then_nothing_is_planned() {
    let mut c = Case::new(
        vec![user("s1", "Ada"), user("s2", "bob")],
        // Same people, different case and stray space in the target.
        vec![user("T1", "ada "), user("T2", "BOB")],
    );
    c.target.users[0].email = Some("ADA@example.com".into());
    c.target.users[0].display_name = Some("Name Ada".into());
    c.target.users[1].display_name = Some("Name bob".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["link_user ada ", "link_user BOB"]);
    assert!(plan.ops.iter().all(|o| !o.action.writes_target()));
    c.link_as_applied();
    assert!(c.plan().expect("plan").ops.is_empty());
}

#[test]
fn email_correlates_when_login_differs_and_unicode_forms_match() {
    let mut s = user("s1", "zoe\u{0308}.martin");
    s.email = Some("Zoe.Martin@Example.com".into());
    let mut t = user("T1", "zmartin");
    t.email = Some(" zoe.martin@example.com".into());
    let mut c = Case::new(vec![s], vec![t]);
    let plan = c.plan().expect("plan");
    // Matched by email: adopted, never a new account; the login is kept by default.
    assert_eq!(
        names(&plan),
        vec!["link_user zmartin", "update_user zmartin"]
    );
    let Action::LinkUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let adopted_by = &x_.adopted_by;
    assert_eq!(adopted_by.as_deref(), Some("email"));
    let Action::UpdateUser(x_) = &plan.ops[1].action else {
        panic!()
    };
    let changes = &x_.changes;
    assert_eq!(changes.login, None);
    // Configured to rename: the login is updated (a rename).
    c.settings.adopt_renames_login = true;
    let plan = c.plan().expect("plan");
    let Action::UpdateUser(x_) = &plan.ops[1].action else {
        panic!()
    };
    let changes = &x_.changes;
    assert_eq!(changes.login.as_deref(), Some("zoe\u{0308}.martin"));

    // Unicode NFC: composed and decomposed forms are one login.
    let c = Case::new(
        vec![user("s1", "zo\u{00EB}")],
        vec![User {
            email: None,
            ..user("T1", "ZOE\u{0308}")
        }],
    );
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "create_user").is_empty(), "{:?}", names(&plan));
}

#[test]
fn a_rename_in_the_source_is_an_update_of_the_linked_account() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.link_as_applied();
    c.source.users[0].login = "ada.king".into();
    c.source.users[0].display_name = Some("Ada King".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["update_user ada"]);
    let Action::UpdateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let changes = &x_.changes;
    let id = &x_.id;
    assert_eq!(id, "T1");
    assert_eq!(changes.login.as_deref(), Some("ada.king"));
    assert_eq!(changes.display_name, Some(Some("Ada King".into())));
    assert_eq!(changes.email, None, "unchanged fields are not sent");
}

#[test]
fn unmanaged_accounts_are_left_alone_unless_adopt_all() {
    let mut c = Case::new(
        vec![user("s1", "ada")],
        vec![user("T1", "ada"), user("T9", "local.admin")],
    );
    let plan = c.plan().expect("plan");
    assert_eq!(plan.unmanaged.len(), 1);
    assert_eq!(plan.unmanaged[0].login, "local.admin");
    assert!(find(&plan, "disable_user").is_empty());
    assert_eq!(plan.managed_users, 1);

    c.settings.adopt = crate::settings::Adopt::All;
    let plan = c.plan().expect("plan");
    assert!(plan.unmanaged.is_empty());
    assert_eq!(find(&plan, "disable_user").len(), 1);
    assert_eq!(plan.managed_users, 2);
}

#[test]
fn protected_accounts_are_never_touched() {
    let mut c = Case::new(
        vec![
            User {
                display_name: Some("Changed".into()),
                ..user("s1", "administrator")
            },
            user("s2", "ops"),
        ],
        vec![
            user("T0", "administrator"),
            user("T5", "ops"),
            user("T6", "svc"),
        ],
    );
    c.protected.user_ids.insert("T0".into());
    c.settings.protected = vec!["OPS@example.com".into(), "svc".into()];
    c.settings.adopt = crate::settings::Adopt::All;
    let plan = c.plan().expect("plan");
    assert!(plan.ops.is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.protected.len(), 2);
}

#[test]
fn two_source_users_claiming_one_account_is_a_conflict_and_neither_is_applied() {
    let mut a = user("s1", "ada");
    a.email = Some("shared@example.com".into());
    let mut b = user("s2", "ada.l");
    b.email = Some("shared@example.com".into());
    let mut t = user("T1", "someone");
    t.email = Some("shared@example.com".into());
    let mut c = Case::new(vec![a, b], vec![t]);
    c.settings.correlate = vec![CorrelationKey::Email];
    let plan = c.plan().expect("plan");
    assert!(plan.ops.is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].sources.len(), 2);
}

#[test]
fn login_taken_by_an_unmanaged_account_is_a_conflict_not_a_duplicate() {
    let mut c = Case::new(
        vec![user("s1", "ada")],
        vec![User {
            email: Some("other@x.com".into()),
            ..user("T1", "ada")
        }],
    );
    c.settings.correlate = vec![CorrelationKey::Email];
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "create_user").is_empty());
    assert_eq!(plan.conflicts.len(), 1);
}

#[test]
fn a_login_freed_by_a_rename_is_created_after_the_rename() {
    // ada is linked to T1 (login "ada") and renamed to "ada.old"; a new source user takes
    // the login "ada".
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.link_as_applied();
    c.source.users[0].login = "ada.old".into();
    c.source.users.push(user("s2", "ada"));
    c.source.users[1].email = Some("new.ada@example.com".into());
    let plan = c.plan().expect("plan");
    let update = find(&plan, "update_user")[0];
    let create = find(&plan, "create_user")[0];
    assert!(depends(&plan, create, update), "{:?}", plan.ops);
}

#[test]
fn field_templates_and_attributes() {
    let mut c = Case::new(
        vec![User {
            attributes: [("department".to_string(), "R&D".to_string())].into(),
            ..user("s1", "Ada")
        }],
        vec![],
    );
    c.source.users[0].email = Some("Ada.Lovelace@Example.COM".into());
    c.set(json!({"fields": {"login": "{email|lower}", "display_name": "{display_name} ({attr.department})"}, "attributes": "all"}));
    let plan = c.plan().expect("plan");
    let Action::CreateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let user = x_.user();
    assert_eq!(user.login, "ada.lovelace@example.com");
    assert_eq!(user.display_name.as_deref(), Some("Name Ada (R&D)"));
    assert_eq!(
        user.attributes.get("department").map(String::as_str),
        Some("R&D")
    );
}

#[test]
fn a_field_the_target_does_not_keep_is_not_rewritten_every_run() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    let plan = c.plan().expect("plan");
    let Action::CreateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let fingerprint = x_.fingerprint();
    // The target kept the login but not the display name.
    c.target.users.push(User {
        display_name: None,
        ..user("T1", "ada")
    });
    c.user_links.push(link(
        idbridge_store::LinkKind::User,
        "s1",
        "T1",
        &fingerprint,
    ));
    assert!(c.plan().expect("plan").ops.is_empty());
    // A real change in the target (drift) is corrected.
    c.target.users[0].email = Some("wrong@example.com".into());
    assert_eq!(names(&c.plan().expect("plan")), vec!["update_user ada"]);
}

#[test]
fn login_follows_the_email_where_the_target_says_so() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    c.caps.users_login_is_email = true;
    let plan = c.plan().expect("plan");
    let Action::CreateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let user = x_.user();
    assert_eq!(user.login, "ada@example.com");
    // An explicit template wins.
    c.set(json!({"fields": {"login": "{login}"}}));
    let plan = c.plan().expect("plan");
    let Action::CreateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let user = x_.user();
    assert_eq!(user.login, "ada");
}

#[test]
fn an_immutable_login_is_kept_on_rename() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.caps.users_login_immutable = true;
    c.link_as_applied();
    c.source.users[0].login = "ada.king".into();
    c.source.users[0].display_name = Some("Ada King".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["update_user ada"]);
    let Action::UpdateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let changes = &x_.changes;
    let fingerprint = &x_.fingerprint;
    assert_eq!(changes.login, None);
    assert_eq!(changes.display_name, Some(Some("Ada King".into())));
    let note = "login stays `ada` on t: the platform cannot change logins (the source renamed it to `ada.king`)";
    assert!(plan.notes.iter().any(|n| n == note), "{:?}", plan.notes);
    // Once the other fields are applied, the login still differs: still said.
    c.user_links[0].fingerprint = fingerprint.clone();
    c.target.users[0].display_name = Some("Ada King".into());
    let plan = c.plan().expect("plan");
    assert!(plan.ops.is_empty(), "{:?}", names(&plan));
    assert!(plan.notes.iter().any(|n| n == note), "{:?}", plan.notes);
}

#[test]
fn changes_a_target_cannot_make_are_noted_not_dropped() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob"), user("T3", "eve")],
    );
    c.source.groups = Some(vec![group("g1", "eng")]);
    c.source
        .members
        .insert("g1".into(), vec![Principal::User("s1".into())]);
    c.target.groups = vec![group("TG1", "eng")];
    // bob is a member the source does not want; ada is missing.
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T2".into())]);
    c.map_viewer_to_reader("r1");
    c.source.grants = vec![role_grant(
        "r1",
        Principal::User("s1".into()),
        Scope::Global,
    )];
    c.target.grants = vec![role_grant(
        "TR",
        Principal::User("T2".into()),
        Scope::Global,
    )];
    c.caps.members_add = false;
    c.caps.grants_grant = false;
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(n.contains(&"remove_member eng <- bob".to_string()), "{n:?}");
    assert!(
        n.contains(&"revoke reader (global) -> bob".to_string()),
        "{n:?}"
    );
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains("1 member(s) should be added to groups but the target cannot add members"),
        "{notes}"
    );
    assert!(
        notes.contains("1 role grant(s) are wanted but the target cannot grant roles"),
        "{notes}"
    );

    c.caps.members_add = true;
    c.caps.grants_grant = true;
    c.caps.members_remove = false;
    c.caps.grants_revoke = false;
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(n.contains(&"add_member eng <- ada".to_string()), "{n:?}");
    assert!(
        n.contains(&"grant reader (global) -> ada".to_string()),
        "{n:?}"
    );
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains(
            "1 member(s) should be removed from groups but the target cannot remove members"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("1 role grant(s) should be revoked but the target cannot revoke roles"),
        "{notes}"
    );
}

#[test]
fn a_rename_the_platform_cannot_make_is_shown_in_the_rendered_plan() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.caps.users_login_immutable = true;
    c.link_as_applied();
    c.source.users[0].login = "ada.king".into();
    let tp = c.plan().expect("plan");
    let mut plan = crate::plan::Plan::new();
    plan.targets.push(tp);
    let text = crate::report::render_plan(&plan, &[]);
    assert!(
        text.contains(
            "  note: login stays `ada` on t: the platform cannot change logins (the source renamed it to `ada.king`)\n"
        ),
        "{text}"
    );
}

#[test]
fn an_account_an_interrupted_run_created_is_linked_not_adopted() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    assert_eq!(c.plan().expect("plan").adoptions(), 1);
    c.own_creates.insert("ada".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["link_user ada"]);
    assert_eq!(plan.adoptions(), 0);
}
