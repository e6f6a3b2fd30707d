//! A connection that fails after the login logs out before it reports the failure, so
//! that a command stopped by a bad `project` leaves no session open on the server.

use idbridge_core::{ErrorKind, registry};
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::EmulatorOptions;

#[tokio::test]
async fn an_unknown_project_fails_the_connection_and_logs_out() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut config = running.adapter_config("bi");
    config
        .settings
        .insert("project".to_string(), serde_json::json!("No Such Project"));
    let err = registry::build_adapter("strategy", config)
        .await
        .expect_err("an unknown project is refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("project"), "names the key: {err}");
    let logins = running
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| e.path.ends_with("/api/auth/login"))
        .count();
    assert_eq!(logins, 1, "it logged in before looking the project up");
    assert!(
        state.lock().sessions.is_empty(),
        "the failed connection logged out"
    );
}
