//! `idbridge sync --interval` keeps one connected adapter for the life of the process:
//! every run must still see the tenant as it is then. Each test connects once, reads,
//! changes the emulator behind the adapter's back, and reads and writes again through the
//! same adapter.

use idbridge_core::{AdapterExt, Grant, GrantFilter, NewUser, Principal, Roles, Scope, Users};
use idbridge_squirro::SquirroAdapter;
use idbridge_squirro::emulator::state::Caller;
use idbridge_squirro::emulator::{
    ADMIN_ID, ADMIN_SESSION_ID, DEFAULT_PROJECT, PROJECT_ID, State, start_with_state,
};
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::{Map, Value};

/// Deletes project `id` and creates another under the same title, as an administrator
/// would in Squirro itself; returns the new project's id.
fn recreate_project(state: &State, id: &str) -> String {
    let admin = Caller {
        user_id: ADMIN_ID.into(),
        session_id: ADMIN_SESSION_ID.into(),
        role: "admin".into(),
    };
    state.delete_project(&admin, id).expect("deleted");
    let mut fields = Map::new();
    fields.insert("title".into(), Value::from(DEFAULT_PROJECT));
    let created = state.create_project(&admin, &fields).expect("created");
    created["id"].as_str().expect("an id").to_string()
}

fn member_of_the_project(user: &str) -> Grant {
    Grant {
        role: format!("member@{DEFAULT_PROJECT}"),
        principal: Principal::User(user.to_string()),
        scope: Scope::Project(DEFAULT_PROJECT.into()),
    }
}

async fn grants_of(sq: &SquirroAdapter, user: &str, scoped: bool) -> Vec<Grant> {
    sq.all_grants(&GrantFilter {
        principal: Some(Principal::User(user.to_string())),
        scope: scoped.then(|| Scope::Project(DEFAULT_PROJECT.into())),
        ..GrantFilter::default()
    })
    .await
    .expect("grants")
    .into_iter()
    .filter(|g| !g.scope.is_global())
    .collect()
}

#[tokio::test]
async fn a_project_deleted_and_created_again_under_its_name_is_the_new_one() {
    let (emu, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let sq = SquirroAdapter::connect(&emu.adapter_config("sq"))
        .await
        .expect("connects");
    let user = sq
        .create_user(&NewUser::new("lin@example.com"))
        .await
        .expect("created")
        .id;

    // First run: the project is read and the user made a member.
    sq.grant(&member_of_the_project(&user))
        .await
        .expect("granted");
    assert_eq!(
        grants_of(&sq, &user, true).await,
        vec![member_of_the_project(&user)]
    );

    let new_id = recreate_project(&state, PROJECT_ID);

    // Next run: the name is the new project, which the user is not a member of yet.
    assert!(grants_of(&sq, &user, true).await.is_empty());
    assert!(grants_of(&sq, &user, false).await.is_empty());

    let again = recreate_project(&state, &new_id);
    // A write under the name finds the project as it is now, even without a listing
    // in between.
    sq.grant(&member_of_the_project(&user))
        .await
        .expect("granted in the project created again");
    assert_eq!(
        grants_of(&sq, &user, true).await,
        vec![member_of_the_project(&user)]
    );
    let third = recreate_project(&state, &again);
    assert_ne!(third, again);
    sq.revoke(&member_of_the_project(&user))
        .await
        .expect("nothing held in the new project: nothing to revoke");
    sq.grant(&member_of_the_project(&user))
        .await
        .expect("granted");
    recreate_project(&state, &third);
    sq.grant(&member_of_the_project(&user))
        .await
        .expect("granted");
    sq.revoke(&member_of_the_project(&user))
        .await
        .expect("revoked");
    assert!(grants_of(&sq, &user, true).await.is_empty());
}
