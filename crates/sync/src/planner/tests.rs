use super::*;
use crate::plan::Op;
use crate::table::Members;
use chrono::Utc;
use idbridge_core::User;
use serde_json::json;

fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.into(),
        email: Some(format!("{login}@example.com")),
        display_name: Some(format!("Name {login}")),
        enabled: true,
        attributes: BTreeMap::new(),
    }
}

fn group(id: &str, name: &str) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        description: None,
    }
}

fn full_caps() -> Capabilities {
    Capabilities {
        users_list: true,
        users_create: true,
        users_update: true,
        users_set_enabled: true,
        users_delete: true,
        groups_list: true,
        groups_create: true,
        groups_update: true,
        groups_description: true,
        groups_delete: true,
        members_list: true,
        members_add: true,
        members_remove: true,
        members_nested: true,
        roles_list: true,
        grants_list: true,
        grants_grant: true,
        grants_revoke: true,
        grants_global: true,
        grants_project: true,
        grants_to_groups: true,
        grants_global_to_groups: true,
        sessions_list: true,
        sessions_revoke: true,
        sessions_revoke_user: true,
        ..Capabilities::default()
    }
}

fn link(kind: idbridge_store::LinkKind, source: &str, target: &str, fp: &str) -> Link {
    Link {
        target: "t".into(),
        kind,
        source_id: source.into(),
        target_id: target.into(),
        fingerprint: fp.into(),
        updated: Utc::now(),
    }
}

/// The source as records, built into the engine's tables when planning.
#[derive(Default)]
struct RawSource {
    users: Vec<User>,
    groups: Option<Vec<Group>>,
    members: HashMap<String, Vec<Principal>>,
    members_listed: bool,
    roles: Option<Vec<Role>>,
    grants: Vec<Grant>,
}

impl RawSource {
    fn build(&self) -> SourceState {
        let users = UserTable::from_users(self.users.clone()).expect("users");
        let members = Members::from_principals(self.members.clone(), &users);
        SourceState {
            users,
            groups: self.groups.clone(),
            members,
            members_listed: self.members_listed,
            roles: self.roles.clone(),
            grants: self.grants.clone(),
        }
    }
}

/// A target's state as records.
#[derive(Default)]
struct RawTarget {
    users: Vec<User>,
    groups: Vec<Group>,
    members: HashMap<String, Vec<Principal>>,
    roles: Vec<Role>,
    grants: Vec<Grant>,
    sessions: Option<Vec<idbridge_core::Session>>,
}

impl RawTarget {
    fn build(&self) -> TargetState {
        let users = UserTable::from_users(self.users.clone()).expect("users");
        let members = Members::from_principals(self.members.clone(), &users);
        TargetState {
            users,
            groups: self.groups.clone(),
            members,
            roles: self.roles.clone(),
            grants: self.grants.clone(),
            sessions: self.sessions.clone(),
        }
    }
}

struct Case {
    source: RawSource,
    target: RawTarget,
    caps: Capabilities,
    settings: TargetSettings,
    protected: Protected,
    user_links: Vec<Link>,
    group_links: Vec<Link>,
    holds: Vec<idbridge_store::Hold>,
    own_creates: HashSet<String>,
}

impl Case {
    fn new(source_users: Vec<User>, target_users: Vec<User>) -> Case {
        Case {
            source: RawSource {
                users: source_users,
                groups: Some(Vec::new()),
                members_listed: true,
                roles: Some(Vec::new()),
                ..Default::default()
            },
            target: RawTarget {
                users: target_users,
                ..Default::default()
            },
            caps: full_caps(),
            settings: TargetSettings::defaults("t"),
            protected: Protected::default(),
            user_links: Vec::new(),
            group_links: Vec::new(),
            holds: Vec::new(),
            own_creates: HashSet::new(),
        }
    }

    fn plan(&self) -> Result<TargetPlan> {
        let source = self.source.build();
        let target = self.target.build();
        let user_links = LinkTable::from_links(&self.user_links).expect("links");
        let holds = crate::holds::HoldIndex::new(self.holds.clone());
        let idx = SourceIndex::new(&source).with_holds(&holds);
        let input = TargetInput {
            name: "t",
            adapter: "test",
            caps: self.caps,
            protected: &self.protected,
            settings: &self.settings,
            state: &target,
            user_links: &user_links,
            group_links: &self.group_links,
            own_creates: &self.own_creates,
        };
        let mut notes = Vec::new();
        let eff = Effective::compute(&self.settings, &self.caps, &source, &mut notes);
        let plan = plan_target(&idx, &input, &eff)?;
        plan.check_structure()?;
        Ok(plan)
    }

    /// Links every source user to the target account with the same id suffix, with the
    /// fingerprint the planner would write, by running a plan and keeping its links.
    fn link_as_applied(&mut self) {
        let plan = self.plan().expect("plan");
        for op in &plan.ops {
            match &op.action {
                Action::LinkUser {
                    source_id,
                    id,
                    fingerprint,
                    ..
                }
                | Action::UpdateUser {
                    source_id,
                    id,
                    fingerprint,
                    ..
                } => {
                    self.user_links.push(link(
                        idbridge_store::LinkKind::User,
                        source_id,
                        id,
                        fingerprint,
                    ));
                }
                Action::LinkGroup {
                    source_id,
                    id,
                    fingerprint,
                    ..
                } => {
                    self.group_links.push(link(
                        idbridge_store::LinkKind::Group,
                        source_id,
                        id,
                        fingerprint,
                    ));
                }
                _ => {}
            }
        }
    }
}

fn names(plan: &TargetPlan) -> Vec<String> {
    plan.ops
        .iter()
        .map(|o| format!("{} {}", o.action.name(), o.action.resource()))
        .collect()
}

fn find<'a>(plan: &'a TargetPlan, name: &str) -> Vec<&'a Op> {
    plan.ops
        .iter()
        .filter(|o| o.action.name() == name)
        .collect()
}

#[test]
fn new_users_are_created() {
    let c = Case::new(vec![user("s1", "ada"), user("s2", "bob")], vec![]);
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["create_user ada", "create_user bob"]);
    let Action::CreateUser {
        user, source_id, ..
    } = &plan.ops[0].action
    else {
        panic!("not a create")
    };
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
    let Action::LinkUser { adopted_by, .. } = &plan.ops[0].action else {
        panic!()
    };
    assert_eq!(adopted_by.as_deref(), Some("email"));
    let Action::UpdateUser { changes, .. } = &plan.ops[1].action else {
        panic!()
    };
    assert_eq!(changes.login, None);
    // Configured to rename: the login is updated (a rename).
    c.settings.adopt_renames_login = true;
    let plan = c.plan().expect("plan");
    let Action::UpdateUser { changes, .. } = &plan.ops[1].action else {
        panic!()
    };
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
    let Action::UpdateUser { changes, id, .. } = &plan.ops[0].action else {
        panic!()
    };
    assert_eq!(id, "T1");
    assert_eq!(changes.login.as_deref(), Some("ada.king"));
    assert_eq!(changes.display_name, Some(Some("Ada King".into())));
    assert_eq!(changes.email, None, "unchanged fields are not sent");
}

#[test]
fn leavers_are_disabled_with_session_revocation_and_rejoiners_re_enabled() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.link_as_applied();
    c.target.sessions = Some(vec![idbridge_core::Session {
        id: "sess-1".into(),
        user: "T2".into(),
        login: None,
        started: None,
        last_activity: None,
        client: None,
        node: None,
    }]);
    let leaver = c.source.users.remove(1);
    let plan = c.plan().expect("plan");
    assert_eq!(
        names(&plan),
        vec!["disable_user bob", "revoke_sessions bob"]
    );
    assert_eq!(plan.ops[1].depends_on, vec![0]);
    let Action::DisableUser {
        reason,
        before,
        source_id,
        ..
    } = &plan.ops[0].action
    else {
        panic!()
    };
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
    c.target.sessions = Some(vec![idbridge_core::Session {
        id: "sess-1".into(),
        user: "T2".into(),
        login: None,
        started: None,
        last_activity: None,
        client: None,
        node: None,
    }]);
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
        del.depends_on.contains(&rev.id),
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
    assert!(create.depends_on.contains(&update.id), "{:?}", plan.ops);
}

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
    assert!(add_bob.depends_on.contains(&create_bob.id));

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
    let removes: Vec<String> = find(&plan, "remove_member")
        .iter()
        .map(|o| o.action.resource())
        .collect();
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
    c.settings = TargetSettings::from_json(
        "t",
        json!({"groups": {"include": ["bi-*"], "exclude": ["*-old"], "rename": {"bi-users": "BI Users"}}}),
    )
    .expect("settings");
    let plan = c.plan().expect("plan");
    let groups: Vec<String> = find(&plan, "create_group")
        .iter()
        .map(|o| o.action.resource())
        .collect();
    assert_eq!(groups, vec!["BI Users"]);
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
    c.settings = TargetSettings::from_json(
        "t",
        json!({"fields": {"login": "{email|lower}", "display_name": "{display_name} ({attr.department})"}, "attributes": "all"}),
    )
    .expect("settings");
    let plan = c.plan().expect("plan");
    let Action::CreateUser { user, .. } = &plan.ops[0].action else {
        panic!()
    };
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
    let Action::CreateUser { fingerprint, .. } = &plan.ops[0].action else {
        panic!()
    };
    // The target kept the login but not the display name.
    c.target.users.push(User {
        display_name: None,
        ..user("T1", "ada")
    });
    c.user_links.push(link(
        idbridge_store::LinkKind::User,
        "s1",
        "T1",
        fingerprint,
    ));
    assert!(c.plan().expect("plan").ops.is_empty());
    // A real change in the target (drift) is corrected.
    c.target.users[0].email = Some("wrong@example.com".into());
    assert_eq!(names(&c.plan().expect("plan")), vec!["update_user ada"]);
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
    let Action::DisableUser {
        reason,
        fingerprint,
        ..
    } = &plan.ops[1].action
    else {
        panic!()
    };
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

#[test]
fn roles_map_to_target_roles_and_unknown_roles_are_config_errors() {
    let mut c = Case::new(
        vec![user("s1", "ada"), user("s2", "bob")],
        vec![user("T1", "ada"), user("T2", "bob")],
    );
    c.source.groups = Some(vec![group("g-bi", "bi-users")]);
    c.source
        .members
        .insert("g-bi".into(), vec![Principal::User("s1".into())]);
    c.source.roles = Some(vec![Role {
        id: "r-an".into(),
        name: "analyst".into(),
        scope: Scope::Global,
        privileges: vec![],
    }]);
    c.source.grants = vec![Grant {
        role: "r-an".into(),
        principal: Principal::Group("g-bi".into()),
        scope: Scope::Project("Sales".into()),
    }];
    c.target.roles = vec![
        Role {
            id: "TR1".into(),
            name: "Normal Users".into(),
            scope: Scope::Global,
            privileges: vec![],
        },
        Role {
            id: "TR2".into(),
            name: "Old".into(),
            scope: Scope::Global,
            privileges: vec![],
        },
    ];
    // bob holds the mapped role without a reason: revoked.
    c.target.grants = vec![Grant {
        role: "TR1".into(),
        principal: Principal::User("T2".into()),
        scope: Scope::Project("Sales".into()),
    }];
    c.settings =
        TargetSettings::from_json("t", json!({"roles": {"analyst": {"role": "Normal Users"}}}))
            .expect("settings");
    c.caps.grants_to_groups = false;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = find(&plan, "grant")
        .iter()
        .map(|o| o.action.resource())
        .collect();
    assert_eq!(
        grants,
        vec!["Normal Users (project Sales) -> ada"],
        "flattened to the group's users"
    );
    let revokes: Vec<String> = find(&plan, "revoke")
        .iter()
        .map(|o| o.action.resource())
        .collect();
    assert_eq!(revokes, vec!["Normal Users (project Sales) -> bob"]);

    // To groups where the target can.
    c.caps.grants_to_groups = true;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = find(&plan, "grant")
        .iter()
        .map(|o| o.action.resource())
        .collect();
    assert_eq!(grants, vec!["Normal Users (project Sales) -> bi-users"]);

    c.settings = TargetSettings::from_json("t", json!({"roles": {"analyst": {"role": "Nope"}}}))
        .expect("settings");
    let err = c.plan().expect_err("unknown role");
    assert_eq!(err.kind(), idbridge_core::ErrorKind::Config);
    assert!(
        err.to_string().contains("targets.t.roles.analyst.role"),
        "{err}"
    );
    assert!(
        err.to_string().contains("Normal Users"),
        "lists the known roles: {err}"
    );

    c.settings = TargetSettings::from_json("t", json!({"roles": {"analsyt": {"role": "Old"}}}))
        .expect("settings");
    let err = c.plan().expect_err("unknown source role");
    assert!(err.to_string().contains("targets.t.roles.analsyt"), "{err}");

    c.settings =
        TargetSettings::from_json("t", json!({"group_roles": {"nobody": {"role": "Old"}}}))
            .expect("settings");
    let err = c.plan().expect_err("unknown group");
    assert!(
        err.to_string().contains("targets.t.group_roles.nobody"),
        "{err}"
    );
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
fn login_follows_the_email_where_the_target_says_so() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![]);
    c.caps.users_login_is_email = true;
    let plan = c.plan().expect("plan");
    let Action::CreateUser { user, .. } = &plan.ops[0].action else {
        panic!()
    };
    assert_eq!(user.login, "ada@example.com");
    // An explicit template wins.
    c.settings =
        TargetSettings::from_json("t", json!({"fields": {"login": "{login}"}})).expect("settings");
    let plan = c.plan().expect("plan");
    let Action::CreateUser { user, .. } = &plan.ops[0].action else {
        panic!()
    };
    assert_eq!(user.login, "ada");
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
    let Action::CreateGroup { group: g, .. } = &find(&plan, "create_group")[0].action else {
        panic!()
    };
    assert_eq!(g.description, None);
    c.target.groups = vec![group("TG1", "eng")];
    let plan = c.plan().expect("plan");
    assert!(find(&plan, "update_group").is_empty(), "{:?}", names(&plan));
}

#[test]
fn global_grants_to_groups_are_flattened_where_only_project_grants_go_to_groups() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.source.groups = Some(vec![group("g-bi", "bi-users")]);
    c.source
        .members
        .insert("g-bi".into(), vec![Principal::User("s1".into())]);
    c.source.roles = Some(vec![Role {
        id: "r".into(),
        name: "viewer".into(),
        scope: Scope::Global,
        privileges: vec![],
    }]);
    c.source.grants = vec![Grant {
        role: "r".into(),
        principal: Principal::Group("g-bi".into()),
        scope: Scope::Global,
    }];
    c.target.roles = vec![Role {
        id: "TR".into(),
        name: "reader".into(),
        scope: Scope::Global,
        privileges: vec![],
    }];
    c.settings = TargetSettings::from_json("t", json!({"roles": {"viewer": {"role": "reader"}}}))
        .expect("settings");
    c.caps.grants_global_to_groups = false;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = find(&plan, "grant")
        .iter()
        .map(|o| o.action.resource())
        .collect();
    assert_eq!(grants, vec!["reader (global) -> ada"]);
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
    let Action::UpdateUser {
        changes,
        fingerprint,
        ..
    } = &plan.ops[0].action
    else {
        panic!()
    };
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
    c.settings =
        TargetSettings::from_json("t", json!({"protected": ["admins"]})).expect("settings");
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
    c.source.roles = Some(vec![Role {
        id: "r1".into(),
        name: "viewer".into(),
        scope: Scope::Global,
        privileges: vec![],
    }]);
    c.source.grants = vec![Grant {
        role: "r1".into(),
        principal: Principal::User("s1".into()),
        scope: Scope::Global,
    }];
    c.target.roles = vec![Role {
        id: "TR".into(),
        name: "reader".into(),
        scope: Scope::Global,
        privileges: vec![],
    }];
    c.target.grants = vec![Grant {
        role: "TR".into(),
        principal: Principal::User("T2".into()),
        scope: Scope::Global,
    }];
    c.settings = TargetSettings::from_json("t", json!({"roles": {"viewer": {"role": "reader"}}}))
        .expect("settings");
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
    c.source.roles = Some(vec![Role {
        id: "r1".into(),
        name: "viewer".into(),
        scope: Scope::Global,
        privileges: vec![],
    }]);
    c.target.roles = vec![Role {
        id: "TR".into(),
        name: "reader".into(),
        scope: Scope::Global,
        privileges: vec![],
    }];
    c.target.grants = vec![Grant {
        role: "TR".into(),
        principal: Principal::User("T2".into()),
        scope: Scope::Global,
    }];
    c.settings = TargetSettings::from_json("t", json!({"roles": {"viewer": {"role": "reader"}}}))
        .expect("settings");
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
    assert_eq!(plan.ops[3].depends_on, vec![0, 1, 2]);
    assert_eq!(plan.ops[4].depends_on, vec![3]);
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
    let Action::LinkUser { fingerprint, .. } = &plan.ops[4].action else {
        panic!()
    };
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
    c.source.grants = vec![Grant {
        role: "r1".into(),
        principal: Principal::User("s2".into()),
        scope: Scope::Global,
    }];
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
    c.target.roles.push(Role {
        id: "TLOW".into(),
        name: "nobody".into(),
        scope: Scope::Global,
        privileges: vec![],
    });
    let plan = c.plan().expect("plan");
    let n = names(&plan);
    assert!(
        n.contains(&"grant nobody (global) -> bob".to_string()),
        "{n:?}"
    );
    assert!(!n.iter().any(|x| x.starts_with("revoke ")), "{n:?}");
    // Holding the least already: nothing to do about roles.
    c.target.grants = vec![Grant {
        role: "TLOW".into(),
        principal: Principal::User("T2".into()),
        scope: Scope::Global,
    }];
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
    let Action::LinkUser { fingerprint, .. } = &plan.ops[0].action else {
        panic!()
    };
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
    let Action::DisableUser { reason, .. } = &find(&plan, "disable_user")[0].action else {
        panic!()
    };
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
            Action::UpdateUser { changes, .. } => changes.login.is_none(),
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
    let Action::LinkUser {
        adopted_by,
        login,
        fingerprint,
        ..
    } = &plan.ops[0].action
    else {
        panic!("{:?}", names(&plan))
    };
    assert_eq!(
        (adopted_by.as_deref(), login.as_str()),
        (Some("email"), "m.old")
    );
    assert!(
        fingerprint.ends_with(crate::table::KEEPS_LOGIN),
        "{fingerprint}"
    );
    for op in &plan.ops {
        if let Action::UpdateUser { changes, .. } = &op.action {
            assert_eq!(changes.login, None, "never renamed");
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
    let Action::UpdateUser { changes, .. } = &plan.ops[0].action else {
        panic!()
    };
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

#[test]
fn an_account_an_interrupted_run_created_is_linked_not_adopted() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    assert_eq!(c.plan().expect("plan").adoptions(), 1);
    c.own_creates.insert("ada".into());
    let plan = c.plan().expect("plan");
    assert_eq!(names(&plan), vec!["link_user ada"]);
    assert_eq!(plan.adoptions(), 0);
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
