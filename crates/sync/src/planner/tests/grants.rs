//! Role mappings and grants.

use super::*;

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
    c.source.roles = Some(vec![global_role("r-an", "analyst")]);
    c.source.grants = vec![role_grant(
        "r-an",
        Principal::Group("g-bi".into()),
        Scope::Project("Sales".into()),
    )];
    c.target.roles = vec![
        global_role("TR1", "Normal Users"),
        global_role("TR2", "Old"),
    ];
    // bob holds the mapped role without a reason: revoked.
    c.target.grants = vec![role_grant(
        "TR1",
        Principal::User("T2".into()),
        Scope::Project("Sales".into()),
    )];
    c.set(json!({"roles": {"analyst": {"role": "Normal Users"}}}));
    c.caps.grants_to_groups = false;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = resources(&plan, "grant");
    assert_eq!(
        grants,
        vec!["Normal Users (project Sales) -> ada"],
        "flattened to the group's users"
    );
    let revokes: Vec<String> = resources(&plan, "revoke");
    assert_eq!(revokes, vec!["Normal Users (project Sales) -> bob"]);

    // To groups where the target can.
    c.caps.grants_to_groups = true;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = resources(&plan, "grant");
    assert_eq!(grants, vec!["Normal Users (project Sales) -> bi-users"]);

    c.set(json!({"roles": {"analyst": {"role": "Nope"}}}));
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

    c.set(json!({"roles": {"analsyt": {"role": "Old"}}}));
    let err = c.plan().expect_err("unknown source role");
    assert!(err.to_string().contains("targets.t.roles.analsyt"), "{err}");

    c.set(json!({"group_roles": {"nobody": {"role": "Old"}}}));
    let err = c.plan().expect_err("unknown group");
    assert!(
        err.to_string().contains("targets.t.group_roles.nobody"),
        "{err}"
    );
}

#[test]
fn global_grants_to_groups_are_flattened_where_only_project_grants_go_to_groups() {
    let mut c = Case::new(vec![user("s1", "ada")], vec![user("T1", "ada")]);
    c.source.groups = Some(vec![group("g-bi", "bi-users")]);
    c.source
        .members
        .insert("g-bi".into(), vec![Principal::User("s1".into())]);
    c.map_viewer_to_reader("r");
    c.source.grants = vec![role_grant(
        "r",
        Principal::Group("g-bi".into()),
        Scope::Global,
    )];
    c.caps.grants_global_to_groups = false;
    let plan = c.plan().expect("plan");
    let grants: Vec<String> = resources(&plan, "grant");
    assert_eq!(grants, vec!["reader (global) -> ada"]);
}
