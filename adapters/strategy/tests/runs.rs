//! `idbridge sync --interval` keeps one connected adapter for the life of the process:
//! every run must still see the server as it is then, not as it was at connect time.
//! Each test connects once, reads, changes the emulator behind the adapter's back, and
//! reads again through the same adapter.

use idbridge_core::{
    AdapterHandle, ErrorKind, Grant, GrantFilter, NewUser, Principal, Scope, registry,
};
use idbridge_strategy::emulator::{
    self, EmulatorState, ProjectRec, TUTORIAL_PROJECT_ID, TUTORIAL_PROJECT_NAME, new_object_id,
};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::{Value, json};

const RENAMED: &str = "Tutorial (archived)";
const CREATED: &str = "Finance";

/// Starts an emulator and connects to it, with the configured `project` (or none).
async fn connected(
    project: Option<&str>,
) -> (
    RunningEmulator,
    std::sync::Arc<EmulatorState>,
    AdapterHandle,
) {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut cfg = running.adapter_config("bi");
    match project {
        Some(p) => cfg.settings.insert("project".into(), Value::from(p)),
        None => cfg.settings.remove("project"),
    };
    let h = registry::build_adapter("strategy", cfg)
        .await
        .expect("connects");
    (running, state, h)
}

/// Renames the Tutorial project and creates another one, as an administrator would in the
/// server's own tools.
fn rename_and_create_projects(state: &EmulatorState) {
    let mut i = state.lock();
    for p in &mut i.projects {
        if p.id == TUTORIAL_PROJECT_ID {
            p.name = RENAMED.to_string();
        }
    }
    i.projects.push(ProjectRec {
        id: new_object_id(),
        name: CREATED.to_string(),
        description: String::new(),
    });
}

fn project_reads(running: &RunningEmulator, since: usize) -> usize {
    running.server.log().entries()[since..]
        .iter()
        .filter(|e| e.method == "GET" && e.path.ends_with("/api/projects"))
        .count()
}

/// A grant of `role` to `user` in the project called `project`.
fn grant(role: &str, user: &str, project: &str) -> Grant {
    Grant {
        role: role.to_string(),
        principal: Principal::User(user.to_string()),
        scope: Scope::Project(project.to_string()),
    }
}

/// One run's target read, as the sync engine does it: roles and grants together.
async fn read_roles_and_grants(h: &AdapterHandle) -> (Vec<idbridge_core::Role>, Vec<Grant>) {
    let all = GrantFilter::default();
    futures::try_join!(h.all_roles(), h.all_grants(&all)).expect("roles and grants")
}

#[tokio::test]
async fn projects_created_or_renamed_after_connect_are_seen_by_the_next_run() {
    // The configured project by id, so that its rename does not unconfigure it.
    let (running, state, h) = connected(Some(TUTORIAL_PROJECT_ID)).await;
    let grace = h
        .create_user(&NewUser::new("grace.hopper"))
        .await
        .expect("created")
        .id;

    // First run.
    let (roles, _) = read_roles_and_grants(&h).await;
    let role = roles
        .iter()
        .find(|r| r.name == "Normal Users")
        .expect("a built-in role")
        .id
        .clone();
    assert!(
        roles
            .iter()
            .all(|r| r.scope == Scope::Project(TUTORIAL_PROJECT_NAME.into())),
        "{roles:?}"
    );
    h.grant(&grant(&role, &grace, TUTORIAL_PROJECT_NAME))
        .await
        .expect("granted");

    rename_and_create_projects(&state);

    // Second run, through the same adapter.
    let before = running.server.log().entries().len();
    let (roles, grants) = read_roles_and_grants(&h).await;
    assert!(
        roles
            .iter()
            .all(|r| r.scope == Scope::Project(RENAMED.into())),
        "the roles' scope is the project's current name: {roles:?}"
    );
    assert!(
        grants.contains(&grant(&role, &grace, RENAMED)),
        "{grants:?}"
    );
    h.grant(&grant(&role, &grace, CREATED))
        .await
        .expect("a project created after connect takes grants");
    assert_eq!(
        project_reads(&running, before),
        1,
        "a run reads the projects once, when it lists the roles"
    );
    let err = h
        .grant(&grant(&role, &grace, TUTORIAL_PROJECT_NAME))
        .await
        .expect_err("the old name is no project any more");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains(RENAMED), "{}", err.message());

    let held: Vec<Grant> = h
        .all_grants(&GrantFilter {
            principal: Some(Principal::User(grace.clone())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    assert_eq!(
        held,
        vec![grant(&role, &grace, CREATED), grant(&role, &grace, RENAMED)]
    );
    // A listing scoped by the new names finds each project's grants.
    for name in [CREATED, RENAMED] {
        let scoped = h
            .all_grants(&GrantFilter {
                scope: Some(Scope::Project(name.into())),
                principal: Some(Principal::User(grace.clone())),
                ..GrantFilter::default()
            })
            .await
            .expect("grants");
        assert_eq!(scoped, vec![grant(&role, &grace, name)]);
    }
}

#[tokio::test]
async fn without_a_configured_project_grants_go_to_the_projects_as_they_are_now() {
    let (_running, state, h) = connected(None).await;
    let grace = h
        .create_user(&NewUser::new("grace.hopper"))
        .await
        .expect("created")
        .id;
    let (roles, _) = read_roles_and_grants(&h).await;
    let role = roles
        .iter()
        .find(|r| r.name == "Normal Users")
        .expect("a built-in role")
        .id
        .clone();
    h.grant(&grant(&role, &grace, TUTORIAL_PROJECT_NAME))
        .await
        .expect("granted");

    rename_and_create_projects(&state);

    let _ = read_roles_and_grants(&h).await;
    // The projects read in the first run said the old name was the Tutorial: a grant under
    // that name now must not land in the renamed project.
    let err = h
        .revoke(&grant(&role, &grace, TUTORIAL_PROJECT_NAME))
        .await
        .expect_err("the old name is no project any more");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    h.revoke(&grant(&role, &grace, RENAMED))
        .await
        .expect("revoked under the current name");
    h.grant(&grant(&role, &grace, CREATED))
        .await
        .expect("granted in the new project");
    let held = h
        .all_grants(&GrantFilter {
            principal: Some(Principal::User(grace.clone())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    assert_eq!(held, vec![grant(&role, &grace, CREATED)]);
}

/// Every connection of `login` in a listing, with the user it was attributed to.
async fn users_of_connections(h: &AdapterHandle, login: &str) -> Vec<String> {
    h.all_sessions(None)
        .await
        .expect("sessions")
        .into_iter()
        .filter(|s| s.login.as_deref() == Some(login))
        .map(|s| s.user)
        .collect()
}

#[tokio::test]
async fn a_login_given_to_a_new_user_is_that_users_in_the_next_run() {
    const LOGIN: &str = "ada.leaver";
    let (running, state, h) = connected(Some(TUTORIAL_PROJECT_NAME)).await;
    let old = h
        .create_user(&NewUser::new(LOGIN))
        .await
        .expect("created")
        .id;
    emulator::sign_in_as(&running, LOGIN)
        .await
        .expect("signs in");
    assert_eq!(users_of_connections(&h, LOGIN).await, vec![old.clone()]);

    // The account is deleted and the login given to a new one, outside idbridge.
    let new = {
        let mut i = state.lock();
        i.delete_user(&old).expect("deleted");
        i.create_user(&json!({"username": LOGIN, "fullName": "Ada Newcomer"}))
            .expect("created again")
    };
    assert_ne!(new, old);
    emulator::sign_in_as(&running, LOGIN)
        .await
        .expect("signs in");

    let users = users_of_connections(&h, LOGIN).await;
    assert_eq!(users, vec![new.clone()], "the connection is the new user's");

    // Revoking the new user's sessions ends its connection; the old id names nobody.
    let err = h
        .revoke_user_sessions(&old)
        .await
        .expect_err("the old user is gone");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(h.revoke_user_sessions(&new).await.expect("revoked"), 1);
    assert!(users_of_connections(&h, LOGIN).await.is_empty());
}
