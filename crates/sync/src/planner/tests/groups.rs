//! Groups and memberships: nesting, renames, descriptions, orphans and protected groups.

use super::*;

#[test]
fn groups_memberships_and_nesting() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada")],
    );
    c.source.groups = Some(vec![
        group("g-all", "all-staff"),
        group("g-eng", "engineering"),
    ]);
    c.source
        .members
        .insert("g-all".into(), vec![Principal::Group("g-eng".into())]);
    c.source.members.insert(
        "g-eng".into(),
        vec![Principal::User("s1".into()), Principal::User("s2".into())],
    );
    c.target.groups = vec![group("TG1", "Engineering")];
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T1".into())]);
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(n.contains(&"create_group all-staff".to_string()), "{n:?}");
    assert!(n.contains(&"link_group Engineering".to_string()), "{n:?}");
    assert!(
        n.contains(&"add_member Engineering <- bob".to_string()),
        "{n:?}"
    );
    assert!(
        n.contains(&"add_member all-staff <- Engineering".to_string()),
        "{n:?}"
    );
    assert!(
        !n.contains(&"add_member Engineering <- ada".to_string()),
        "already a member: {n:?}"
    );
    // The add of bob depends on bob's creation.
    let add_bob = plan
        .ops
        .iter()
        .find(|o| o.action.resource() == "Engineering <- bob")
        .expect("add");
    let create_bob = find(&plan, "create_user")[0];
    assert!(depends(&plan, add_bob, create_bob));

    // Without nesting the target gets all-staff's users directly.
    c.caps.members_nested = false;
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(
        n.contains(&"add_member all-staff <- ada".to_string()),
        "{n:?}"
    );
    assert!(
        n.contains(&"add_member all-staff <- bob".to_string()),
        "{n:?}"
    );
    assert!(
        !n.iter().any(|x| x == "add_member all-staff <- Engineering"),
        "{n:?}"
    );
}

#[test]
fn only_managed_members_are_removed() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob"), user("T3", "local")],
    );
    c.source.groups = Some(vec![group("g-eng", "engineering")]);
    c.source
        .members
        .insert("g-eng".into(), vec![Principal::User("s1".into())]);
    c.target.groups = vec![group("TG1", "engineering")];
    c.target.members.insert(
        "TG1".into(),
        vec![
            Principal::User("T1".into()),
            Principal::User("T2".into()),
            Principal::User("T3".into()),
        ],
    );
    let plan = c.plan().expect("plan");
    let removes: Vec<String> = resources(&plan, "remove_member");
    assert_eq!(
        removes,
        vec!["engineering <- bob"],
        "the unmanaged `local` stays"
    );
}

#[test]
fn group_include_exclude_and_rename() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    c.source.groups = Some(vec![
        group("g1", "bi-users"),
        group("g2", "bi-old"),
        group("g3", "sales"),
    ]);
    c.set(json!({"groups": {"include": ["bi-*"], "exclude": ["*-old"], "rename": {"bi-users": "BI Users"}}}));
    let plan = c.plan().expect("plan");
    let groups: Vec<String> = resources(&plan, "create_group");
    assert_eq!(groups, vec!["BI Users"]);
}

#[test]
fn orphaned_groups_follow_the_deletion_policy() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.target.groups = vec![group("TG1", "old-team")];
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T1".into())]);
    c.group_links
        .push(link(idbridge_store::LinkKind::Group, "g-gone", "TG1", "x"));
    c.link_as_applied();
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["remove_member old-team <- ada"]);
    c.settings.deletion = crate::settings::DeletionPolicy::Delete;
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["delete_group old-team"]);
}

#[test]
fn groups_needing_members_lists_matched_groups_only() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    c.source.groups = Some(vec![group("g1", "eng"), group("g2", "new")]);
    c.target.groups = vec![group("TG1", "eng"), group("TG9", "unrelated")];
    let source = c.source.build();
    let target = c.target.build();
    let user_links = LinkTable::from_links(&c.user_links).expect("links");
    let idx = SourceIndex::new(&source);
    let input = TargetInput {
        name: "t",
        adapter: "test",
        caps: c.caps,
        protected: &c.protected,
        settings: &c.settings,
        state: &target,
        user_links: &user_links,
        group_links: &c.group_links,
        own_creates: &HashSet::new(),
    };
    let mut notes = Vec::new();
    let eff = Effective::compute(&c.settings, &c.caps, &source, &mut notes);
    assert_eq!(
        groups_needing_members(&idx, &input, &eff),
        vec!["TG1".to_string()]
    );
}

#[test]
fn descriptions_are_left_alone_where_groups_have_none() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    c.source.groups = Some(vec![Group {
        description: Some("Engineering".into()),
        ..group("g1", "eng")
    }]);
    c.caps.groups_description = false;
    let plan = c.plan().expect("plan");
    let Action::CreateGroup(x_) = &find(&plan, "create_group")[0].action else {
        panic!()
    };
    let g = &x_.group;
    assert_eq!(g.description, None);
    c.target.groups = vec![group("TG1", "eng")];
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "update_group").is_empty(), "{:?}", names(&plan));
}

#[test]
fn configured_protected_groups_are_never_changed() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.source.groups = Some(vec![Group {
        description: Some("New".into()),
        ..group("g1", "admins")
    }]);
    c.source
        .members
        .insert("g1".into(), vec![Principal::User("s1".into())]);
    c.target.groups = vec![group("TG1", "Admins")];
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T2".into())]);
    c.set(json!({"protected": ["admins"]}));
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(
        !n.iter()
            .any(|x| x.contains("Admins") && !x.starts_with("link_user")),
        "{n:?}"
    );
}

#[test]
fn memberships_are_left_alone_when_the_source_cannot_list_members() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.source.groups = Some(vec![group("g1", "eng")]);
    c.source.members_listed = false;
    c.target.groups = vec![group("TG1", "eng")];
    c.target
        .members
        .insert("TG1".into(), vec![Principal::User("T1".into())]);
    let plan = c.plan().expect("plan");
    assert!(
        find(&plan, "remove_member").is_empty(),
        "{:?}",
        names(&plan)
    );
}

#[test]
fn group_descriptions_a_target_cannot_keep_are_noted() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.source.groups = Some(vec![Group {
        description: Some("The engineers".into()),
        ..group("g1", "eng")
    }]);
    c.target.groups = vec![group("TG1", "eng")];
    c.caps.groups_description = false;
    let plan = c.plan().expect("plan");
    assert!(
        plan.notes.iter().any(|n| n
            == "1 group description(s) are not synced: the platform has no group descriptions"),
        "{:?}",
        plan.notes
    );
    assert!(find(&plan, "update_group").is_empty());
}

#[test]
fn targets_planned_from_one_source_share_each_login() {
    let mut c = Case::new(vec![user("s1", "ada"), user("s2", "bob")], vec![]);
    c.source.groups = Some(vec![group("g-eng", "engineering")]);
    c.source.members.insert(
        "g-eng".into(),
        vec![Principal::User("s1".into()), Principal::User("s2".into())],
    );
    // Planned from the shared index's source, with another login template.
    let mut upper = Case::new(vec![], vec![]);
    upper.set(json!({"fields": {"login": "{login|upper}"}}));
    let source = c.source.build();
    let idx = SourceIndex::new(&source);
    let members = |plan: &TargetPlan| -> Vec<std::sync::Arc<str>> {
        plan.ops
            .iter()
            .filter_map(|o| o.action.membership())
            .map(|(_, m)| m.name.clone())
            .collect()
    };
    let one = members(&c.plan_in(&idx).expect("plan"));
    let two = members(&c.plan_in(&idx).expect("plan"));
    let other = members(&upper.plan_in(&idx).expect("plan"));
    assert_eq!(one.len(), 2);
    for (a, b) in one.iter().zip(&two) {
        assert!(std::sync::Arc::ptr_eq(a, b), "{a} is kept once");
    }
    let refs = |plan: &TargetPlan| -> Vec<std::sync::Arc<PrincipalRef>> {
        plan.ops
            .iter()
            .filter_map(|o| o.action.membership())
            .map(|(_, m)| m.clone())
            .collect()
    };
    let (a, b) = (
        refs(&c.plan_in(&idx).expect("plan")),
        refs(&c.plan_in(&idx).expect("plan")),
    );
    assert!(
        std::sync::Arc::ptr_eq(&a[0], &b[0]),
        "alike targets share references"
    );
    assert_eq!(other.len(), 2);
    assert!(other.iter().all(|l| l.chars().all(|c| !c.is_lowercase())));
    assert!(!std::sync::Arc::ptr_eq(&one[0], &other[0]));
    // Each account to create is kept once for alike targets, and apart where it differs.
    let creates = |plan: &TargetPlan| -> Vec<crate::plan::CreateUser> {
        plan.ops
            .iter()
            .filter_map(|o| match &o.action {
                Action::CreateUser(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    };
    let (a, b, shouted) = (
        creates(&c.plan_in(&idx).expect("plan")),
        creates(&c.plan_in(&idx).expect("plan")),
        creates(&upper.plan_in(&idx).expect("plan")),
    );
    assert_eq!((a.len(), shouted.len()), (2, 2));
    for ((a, b), shouted) in a.iter().zip(&b).zip(&shouted) {
        assert!(a.shares_with(b), "{a:?} is kept once");
        assert_eq!(shouted.login(), a.login().to_uppercase());
        assert!(!a.shares_with(shouted));
    }
    // Planning again beside a plan already held (a saved plan being checked) shares
    // that plan's creations, where they are the same.
    let mut held = crate::plan::Plan::new();
    held.targets.push(upper.plan_in(&idx).expect("plan"));
    let again = SourceIndex::new(&source);
    again.share_creates(&held);
    let held = creates(&held.targets[0]);
    let fresh = creates(&upper.plan_in(&again).expect("plan"));
    let unlike = creates(&c.plan_in(&again).expect("plan"));
    assert_eq!((held.len(), fresh.len(), unlike.len()), (2, 2, 2));
    for ((held, fresh), unlike) in held.iter().zip(&fresh).zip(&unlike) {
        assert!(fresh.shares_with(held));
        assert!(!unlike.shares_with(held));
    }
}
