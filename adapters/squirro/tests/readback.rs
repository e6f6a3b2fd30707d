//! User-data writes are read back. Server roles, e-mail addresses and display names are
//! changed through the user-data update, which no official client or vendor page shows
//! changing them. Against an emulator that keeps `role` as free-form data (the
//! `user_data_role` option), a grant or revoke of a server role must fail naming the user
//! and the field, never report success while the role stays; likewise a display name or
//! e-mail address that a server answers but does not keep.

use std::sync::Arc;

use idbridge_core::{
    AdapterConfig, ErrorKind, Grant, NewUser, Principal, Roles, Scope, UserChanges, Users,
};
use idbridge_squirro::SquirroAdapter;
use idbridge_squirro::emulator::state::role_updates::RoleUpdates;
use idbridge_squirro::emulator::{State, start_with_state};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn emulator(user_data_role: &str) -> (RunningEmulator, Arc<State>) {
    let mut options = EmulatorOptions::default();
    options
        .extra
        .insert("user_data_role".into(), user_data_role.into());
    start_with_state(options).await.expect("emulator starts")
}

async fn adapter(emu: &RunningEmulator) -> SquirroAdapter {
    SquirroAdapter::connect(&emu.adapter_config("sq"))
        .await
        .expect("connects")
}

fn server_role(user: &str, role: &str) -> Grant {
    Grant {
        role: role.into(),
        principal: Principal::User(user.into()),
        scope: Scope::Global,
    }
}

async fn the_role_change_fails_and_names_user_and_field(mode: &str, shown_in_reads: bool) {
    let (emu, state) = emulator(mode).await;
    let sq = adapter(&emu).await;
    let mut new = NewUser::new("kept@example.com");
    new.display_name = Some("Kept Role".into());
    let uid = sq.create_user(&new).await.expect("created and named").id;

    let err = sq
        .grant(&server_role(&uid, "admin"))
        .await
        .expect_err("the role did not change");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(!err.is_retryable(), "{err}");
    let msg = err.message();
    assert!(
        msg.contains("accepted the change of role")
            && msg.contains("did not apply it")
            && msg.contains(&format!("user `{uid}`"))
            && msg.contains("`role`"),
        "{msg}"
    );
    if shown_in_reads {
        assert!(msg.contains("role_permissions"), "{msg}");
    }
    // The emulator really kept the role: before the read-back, this grant reported success.
    assert_eq!(state.server_role_of(&uid).as_deref(), Some("user"));

    // A revoke replaces the role with the fallback through the same call, and fails alike.
    // (A server that echoes the stored value shows `admin` from now on, so there the
    // user seems not to hold `user` and the revoke has nothing to do.)
    if !shown_in_reads {
        let err = sq
            .revoke(&server_role(&uid, "user"))
            .await
            .expect_err("the fallback role did not apply");
        assert!(err.message().contains("did not apply it"), "{err}");
        assert_eq!(state.server_role_of(&uid).as_deref(), Some("user"));
    }

    // The other fields of the same call still apply and are checked the same way.
    let user = sq.get_user(&uid).await.expect("read");
    assert_eq!(user.display_name.as_deref(), Some("Kept Role"));
}

#[tokio::test]
async fn a_server_that_stores_role_as_hidden_user_data_fails_the_grant() {
    the_role_change_fails_and_names_user_and_field("stored", false).await;
}

#[tokio::test]
async fn a_server_that_echoes_role_as_user_data_fails_the_grant_by_its_permissions() {
    the_role_change_fails_and_names_user_and_field("echoed", true).await;
}

#[tokio::test]
async fn a_server_that_applies_the_role_passes_the_read_back() {
    let (emu, state) = emulator("applied").await;
    assert_eq!(state.role_updates(), RoleUpdates::Applied);
    let sq = adapter(&emu).await;
    let uid = sq
        .create_user(&NewUser::new("promoted@example.com"))
        .await
        .expect("created")
        .id;
    let before = emu.server.log().counts();
    sq.grant(&server_role(&uid, "admin"))
        .await
        .expect("granted");
    assert_eq!(state.server_role_of(&uid).as_deref(), Some("admin"));
    // The read of the current role, the write, and the read-back.
    assert_eq!(emu.server.log().counts().since(&before).total(), 3);
}

#[tokio::test]
async fn an_unknown_user_data_role_mode_is_refused_naming_the_option() {
    let mut options = EmulatorOptions::default();
    options
        .extra
        .insert("user_data_role".into(), "sometimes".into());
    let err = start_with_state(options).await.expect_err("not a mode");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("user_data_role") && err.message().contains("sometimes"),
        "{err}"
    );
}

#[tokio::test]
async fn a_display_name_and_email_answered_but_not_kept_fail_the_update() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1", "refresh_token": "rt-1", "tenant": "acme",
            "user_id": "ADMIN00000000000000001", "role": "admin"})))
        .mount(&server)
        .await;
    // The update's answer repeats what was sent; the user read afterwards kept neither.
    Mock::given(method("PUT"))
        .and(path("/api/user/v1/acme/users/N"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "N", "email": "new@x.io", "full_name": "New Name", "role": "user"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/v1/acme/users/N"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "N", "email": "old@x.io", "full_name": "Old Name", "role": "user"})))
        .expect(1)
        .mount(&server)
        .await;
    let cfg = AdapterConfig::new(
        "sq",
        json!({"cluster_url": server.uri(), "tenant": "acme", "refresh_token": "rt-1"}),
    );
    let sq = SquirroAdapter::connect(&cfg).await.expect("connects");
    let err = sq
        .update_user(
            "N",
            &UserChanges {
                email: Some(Some("new@x.io".into())),
                display_name: Some(Some("New Name".into())),
                ..UserChanges::default()
            },
        )
        .await
        .expect_err("not kept");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    let msg = err.message();
    assert!(
        msg.contains("user `N`")
            && msg.contains("did not apply it")
            && msg.contains(
                "`email` (reading the user back shows `old@x.io` where `new@x.io` was sent)"
            )
            && msg.contains(
                "`full_name` (reading the user back shows `Old Name` where `New Name` was sent)"
            ),
        "{msg}"
    );
}
