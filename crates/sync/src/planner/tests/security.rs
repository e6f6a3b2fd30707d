//! Look-alike and unsafe names, adoption of existing accounts, privileged groups and the guard.

use super::*;

#[test]
fn logins_differing_only_in_unicode_form_or_case_are_a_collision_named_by_record() {
    // `zoë` precomposed, `zoe` + combining diaeresis, and upper case: one login three times.
    let c = Case::new(
        vec![
            user("s1", "zo\u{00EB}"),
            user("s2", "zoe\u{0308}"),
            user("s3", "ZO\u{00CB}"),
            user("s4", "ada"),
        ],
        vec![],
    );
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user ada"]);
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
    let conflict = &plan.conflicts[0];
    assert_eq!(conflict.sources.len(), 3, "{conflict:?}");
    for id in ["s1", "s2", "s3"] {
        assert!(
            conflict.sources.iter().any(|s| s.starts_with(id)),
            "{conflict:?}"
        );
    }
    assert!(conflict.reason.contains("U+0308"), "{}", conflict.reason);
    assert!(conflict.reason.contains("U+00EB"), "{}", conflict.reason);

    // One of them already has its account: the newcomer does not get a look-alike one,
    // and the linked account is left as it is until the source tells them apart.
    let mut c = Case::new(vec![user("s1", "zo\u{00EB}")], vec![]);
    let plan = c.plan().expect("plan");
    assert_eq!(find(&plan, "create_user").len(), 1);
    c.target.users.push(user("T1", "zo\u{00EB}"));
    c.link_as_applied();
    c.source.users.push(user("s2", "zoe\u{0308}"));
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "create_user").is_empty(), "{:?}", names(&plan));
    assert!(find(&plan, "disable_user").is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
}

#[test]
fn logins_with_invisible_control_or_bidirectional_characters_are_refused() {
    let c = Case::new(
        vec![
            user("s1", "ada\u{200B}"),
            user("s2", "\u{202E}nimda.ops"),
            user("s3", "bob\u{1b}[2K"),
            user("s4", "ada"),
        ],
        vec![],
    );
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user ada"]);
    assert_eq!(plan.conflicts.len(), 3, "{:?}", plan.conflicts);
    for (conflict, (id, point)) in
        plan.conflicts
            .iter()
            .zip([("s1", "U+200B"), ("s2", "U+202E"), ("s3", "U+001B")])
    {
        assert_eq!(conflict.sources.len(), 1);
        assert!(conflict.sources[0].starts_with(id), "{conflict:?}");
        assert!(conflict.reason.contains(point), "{}", conflict.reason);
        assert!(
            !conflict.reason.chars().any(idbridge_core::text::is_unsafe),
            "the reason shows the login escaped: {:?}",
            conflict.reason
        );
    }
}

/// A source user whose email matches an unmanaged administrator account in the target.
fn mallory_case() -> Case {
    let mut mallory = user("s-m", "mallory");
    mallory.email = Some("ops@example.com".into());
    let mut admin = user("T-ops", "ops.admin");
    admin.email = Some("ops@example.com".into());
    let mut c = Case::new(
        vec![user("s1", "ada"), mallory],
        vec![user("T1", "ada"), admin],
    );
    c.target.groups = vec![group("G-adm", "administrators"), group("G-eng", "eng")];
    c.target
        .members
        .insert("G-adm".into(), vec![Principal::User("T-ops".into())]);
    c.protected.privileged_group_ids.insert("G-adm".into());
    c
}

#[test]
fn correlation_never_takes_over_an_administrator_account() {
    let mut c = mallory_case();
    let plan = c.plan().expect("plan");
    let touched: Vec<&Op> = plan
        .ops
        .iter()
        .filter(|o| o.action.resource().contains("ops.admin") || o.action.resource() == "mallory")
        .collect();
    assert!(touched.is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.refused.len(), 1, "{:?}", plan.refused);
    let r = &plan.refused[0];
    assert_eq!(r.op, "adopt_user");
    assert!(r.resource.contains("ops.admin"), "{r:?}");
    assert!(
        r.reason.contains("privileged group `administrators`"),
        "{r:?}"
    );
    assert!(r.reason.contains("targets.t.adopt_privileged"), "{r:?}");
    let text = crate::report::render_plan(
        &crate::plan::Plan {
            targets: vec![plan.clone()],
            ..crate::plan::Plan::new()
        },
        &[],
    );
    assert!(text.contains("x refused: adopt user ops.admin"), "{text}");

    // The same account named by the target's configuration: adopted, login kept.
    c.settings.adopt_privileged = vec!["OPS.ADMIN".into()];
    let plan = c.plan().expect("plan");
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    assert!(
        plan.ops
            .iter()
            .any(|o| o.action.is_adoption() && o.action.resource() == "ops.admin"),
        "{:?}",
        names(&plan)
    );
    assert!(
        plan.ops.iter().all(|o| match &o.action {
            Action::UpdateUser(u) => u.changes.login.is_none(),
            _ => true,
        }),
        "{:?}",
        names(&plan)
    );

    // A privileged group named only by the configuration is enforced the same way.
    let mut c = mallory_case();
    c.protected = Protected::default();
    c.settings.privileged_groups = vec!["Administrators".into()];
    let plan = c.plan().expect("plan");
    assert_eq!(plan.refused.len(), 1, "{:?}", names(&plan));
}

#[test]
fn an_ordinary_adoption_is_shown_as_such_and_keeps_the_login() {
    let mut s = user("s1", "mallory");
    s.email = Some("m@example.com".into());
    let mut t = user("T1", "m.old");
    t.email = Some("m@example.com".into());
    let mut c = Case::new(vec![s], vec![t]);
    let plan = c.plan().expect("plan");
    assert!(plan.refused.is_empty());
    assert_eq!(plan.adoptions(), 1);
    let Action::LinkUser(x_) = &plan.ops[0].action else {
        panic!("{:?}", names(&plan))
    };
    let adopted_by = &x_.adopted_by;
    let login = &x_.login;
    let fingerprint = &x_.fingerprint;
    assert_eq!(
        (adopted_by.as_deref(), login.as_str()),
        (Some("email"), "m.old")
    );
    assert!(
        fingerprint.ends_with(crate::table::KEEPS_LOGIN),
        "{fingerprint}"
    );
    for op in &plan.ops {
        if let Action::UpdateUser(u) = &op.action {
            assert_eq!(u.changes.login, None, "never renamed");
        }
    }
    let text = crate::report::render_plan(
        &crate::plan::Plan {
            targets: vec![plan.clone()],
            ..crate::plan::Plan::new()
        },
        &[],
    );
    assert!(
        text.contains("= adopt user m.old (matched by email"),
        "{text}"
    );
    // Once applied, later runs never rename it either, even when the source changes.
    c.link_as_applied();
    c.source.users[0].display_name = Some("Someone Else".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["update_user m.old"]);
    let Action::UpdateUser(x_) = &plan.ops[0].action else {
        panic!()
    };
    let changes = &x_.changes;
    assert_eq!(changes.login, None);
    assert_eq!(plan.adoptions(), 0, "a linked account is no adoption");
}

#[test]
fn additions_to_a_privileged_group_are_never_planned_and_are_listed() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.link_as_applied();
    c.source.groups = Some(vec![group("sg-adm", "System Administrators")]);
    c.source.members.insert(
        "sg-adm".into(),
        vec![Principal::User("s1".into()), Principal::User("s2".into())],
    );
    c.target.groups = vec![group("G-adm", "System Administrators")];
    c.target
        .members
        .insert("G-adm".into(), vec![Principal::User("T1".into())]);
    c.protected.privileged_group_ids.insert("G-adm".into());
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "add_member").is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.refused.len(), 1, "{:?}", plan.refused);
    assert_eq!(plan.refused[0].op, "add_member");
    assert_eq!(plan.refused[0].resource, "System Administrators <- bob");
    // Named by the configuration only: the same.
    c.protected = Protected::default();
    c.settings.privileged_groups = vec!["system administrators".into()];
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "add_member").is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.refused.len(), 1, "{:?}", plan.refused);
}

fn with_email(mut u: User, email: &str) -> User {
    u.email = Some(email.into());
    u
}

#[test]
fn emails_differing_only_in_unicode_form_or_case_are_a_collision_named_by_record() {
    let c = Case::new(
        vec![
            with_email(user("s1", "zoe1"), "zo\u{00EB}@example.com"),
            with_email(user("s2", "zoe2"), "ZOE\u{0308}@example.com"),
            user("s3", "ada"),
        ],
        vec![],
    );
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user ada"]);
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
    let conflict = &plan.conflicts[0];
    assert_eq!(conflict.kind, "user");
    assert_eq!(conflict.sources.len(), 2, "{conflict:?}");
    assert!(conflict.sources[0].starts_with("s1"), "{conflict:?}");
    assert!(conflict.sources[1].starts_with("s2"), "{conflict:?}");
    assert!(conflict.reason.contains("e-mail"), "{}", conflict.reason);
    assert!(conflict.reason.contains("U+0308"), "{}", conflict.reason);
    assert!(conflict.reason.contains("U+00EB"), "{}", conflict.reason);

    // One of them already has its account: the newcomer gets no second account with a
    // look-alike address, and the linked one is left as it is.
    let mut c = Case::new(
        vec![with_email(user("s1", "zoe1"), "zo\u{00EB}@example.com")],
        vec![],
    );
    c.target
        .users
        .push(with_email(user("T1", "zoe1"), "zo\u{00EB}@example.com"));
    c.link_as_applied();
    c.source
        .users
        .push(with_email(user("s2", "zoe2"), "zoe\u{0308}@example.com"));
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "create_user").is_empty(), "{:?}", names(&plan));
    assert!(find(&plan, "disable_user").is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
}

#[test]
fn emails_with_invisible_control_or_bidirectional_characters_are_refused() {
    let c = Case::new(
        vec![
            with_email(user("s1", "ada"), "ada\u{200B}@example.com"),
            with_email(user("s2", "bob"), "bob@exa\u{202E}moc.elpm"),
            user("s3", "cy"),
        ],
        vec![],
    );
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user cy"]);
    assert_eq!(plan.conflicts.len(), 2, "{:?}", plan.conflicts);
    for (conflict, (id, point)) in plan
        .conflicts
        .iter()
        .zip([("s1", "U+200B"), ("s2", "U+202E")])
    {
        assert_eq!(conflict.sources.len(), 1);
        assert!(conflict.sources[0].starts_with(id), "{conflict:?}");
        assert!(conflict.reason.contains("e-mail"), "{}", conflict.reason);
        assert!(conflict.reason.contains(point), "{}", conflict.reason);
        assert!(
            !conflict.reason.chars().any(idbridge_core::text::is_unsafe),
            "the reason shows the address escaped: {:?}",
            conflict.reason
        );
    }
}

#[test]
fn group_names_differing_only_in_unicode_form_or_case_are_a_collision_named_by_record() {
    let mut c = Case::new(vec![], vec![]);
    c.source.groups = Some(vec![
        group("g1", "\u{00C9}quipe"),
        group("g2", "e\u{0301}quipe"),
        group("g3", "ops"),
    ]);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_group ops"]);
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
    let conflict = &plan.conflicts[0];
    assert_eq!(conflict.kind, "group");
    assert_eq!(conflict.sources.len(), 2, "{conflict:?}");
    assert!(conflict.sources[0].starts_with("g1"), "{conflict:?}");
    assert!(conflict.sources[1].starts_with("g2"), "{conflict:?}");
    assert!(conflict.reason.contains("U+00C9"), "{}", conflict.reason);
    assert!(conflict.reason.contains("U+0301"), "{}", conflict.reason);

    // One of them is linked already: the look-alike newcomer does not take its name, and
    // the linked group is left as it is until the source tells them apart.
    let mut c = Case::new(vec![], vec![]);
    c.source.groups = Some(vec![group("g1", "\u{00C9}quipe")]);
    c.target.groups.push(group("G1", "\u{00C9}quipe"));
    c.link_as_applied();
    assert_eq!(c.group_links.len(), 1);
    c.source
        .groups
        .as_mut()
        .expect("groups")
        .push(group("g2", "\u{00E9}QUIPE"));
    let plan = c.plan().expect("plan");
    assert!(plan.ops.is_empty(), "{:?}", names(&plan));
    assert_eq!(plan.conflicts.len(), 1, "{:?}", plan.conflicts);
    assert_eq!(plan.conflicts[0].sources.len(), 2, "{:?}", plan.conflicts);
}

#[test]
fn group_names_with_invisible_control_or_bidirectional_characters_are_refused() {
    let mut c = Case::new(vec![], vec![]);
    c.source.groups = Some(vec![
        group("g1", "admins\u{200B}"),
        group("g2", "\u{202E}snimda"),
        group("g3", "ops"),
    ]);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_group ops"]);
    assert_eq!(plan.conflicts.len(), 2, "{:?}", plan.conflicts);
    for (conflict, (id, point)) in plan
        .conflicts
        .iter()
        .zip([("g1", "U+200B"), ("g2", "U+202E")])
    {
        assert_eq!(conflict.kind, "group");
        assert_eq!(conflict.sources.len(), 1);
        assert!(conflict.sources[0].starts_with(id), "{conflict:?}");
        assert!(conflict.reason.contains(point), "{}", conflict.reason);
        assert!(
            !conflict.reason.chars().any(idbridge_core::text::is_unsafe),
            "the reason shows the name escaped: {:?}",
            conflict.reason
        );
        assert!(
            !conflict.sources[0]
                .chars()
                .any(idbridge_core::text::is_unsafe),
            "the source group is shown escaped: {:?}",
            conflict.sources
        );
    }
}

#[test]
fn dropping_every_membership_of_50_users_is_refused_by_the_guard() {
    let n = 50;
    let src: Vec<User> = (0..n)
        .map(|i| user(&format!("s{i}"), &format!("u{i}")))
        .collect();
    let tgt: Vec<User> = (0..n)
        .map(|i| user(&format!("T{i}"), &format!("u{i}")))
        .collect();
    let mut c = Case::new(src, tgt);
    c.link_as_applied();
    c.source.groups = Some(vec![group("sg1", "eng"), group("sg2", "ops")]);
    c.target.groups = vec![group("G1", "eng"), group("G2", "ops")];
    for (sg, tg) in [("sg1", "G1"), ("sg2", "G2")] {
        c.target.members.insert(
            tg.into(),
            (0..n).map(|i| Principal::User(format!("T{i}"))).collect(),
        );
        // Still in the source: nothing to do.
        c.source.members.insert(
            sg.into(),
            (0..n).map(|i| Principal::User(format!("s{i}"))).collect(),
        );
    }
    let guard = |c: &Case| {
        let plan = c.plan().expect("plan");
        let v = crate::guard::check_all(&plan, &c.settings, &crate::guard::Allowances::default());
        (plan, v)
    };
    let (plan, v) = guard(&c);
    assert!(
        find(&plan, "remove_member").is_empty() && find(&plan, "add_member").is_empty(),
        "{:?}",
        names(&plan)
    );
    assert_eq!(plan.managed_memberships, 100);
    assert!(v.is_none());
    // A few leave the groups: within the limits.
    for sg in ["sg1", "sg2"] {
        c.source.members.get_mut(sg).expect("group").truncate(n - 5);
    }
    let (plan, v) = guard(&c);
    assert_eq!(find(&plan, "remove_member").len(), 10);
    assert!(v.is_none(), "{v:?}");
    // Every membership dropped from the source: refused, with the numbers.
    c.source.members.clear();
    let (plan, v) = guard(&c);
    assert_eq!(find(&plan, "remove_member").len(), 100);
    let v = v.expect("refused");
    assert!(
        v.message
            .contains("removes 100 of 100 memberships of managed groups"),
        "{}",
        v.message
    );
    assert!(v.message.contains("--allow-removals 100"), "{}", v.message);
}
