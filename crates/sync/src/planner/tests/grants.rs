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
