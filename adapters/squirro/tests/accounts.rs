//! Accounts the adapter creates are never loginable with a blank or guessable password:
//! each gets a random password nobody sees, different every time. Checked against the
//! emulator's password grant, which refuses an empty password.

use idbridge_core::{NewUser, registry};
use idbridge_squirro::emulator::start_with_state;
use idbridge_testkit::emulator::EmulatorOptions;

/// A password-grant sign-in as `email`: whether it succeeded.
async fn signs_in(cluster_url: &str, email: &str, password: &str) -> bool {
    reqwest::Client::new()
        .post(format!("{cluster_url}/api/user/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("the emulator answers")
        .status()
        .is_success()
}

#[tokio::test]
async fn created_users_get_a_random_password_and_never_an_empty_one() {
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let cfg = e.adapter_config("sq");
    let cluster_url = cfg.settings["cluster_url"]
        .as_str()
        .expect("cluster_url")
        .to_string();
    let h = registry::build_adapter("squirro", cfg)
        .await
        .expect("connects");
    let mut seen = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        h.create_user(&NewUser::new(email)).await.expect("created");
        let pw = state.password_of(email).expect("a password is set");
        assert!(pw.len() >= 32, "{email}: a long password");
        assert!(!seen.contains(&pw), "{email}: the same password twice");
        assert!(!signs_in(&cluster_url, email, "").await, "{email}: empty");
        assert!(
            !signs_in(&cluster_url, email, email).await,
            "{email}: the login"
        );
        assert!(
            signs_in(&cluster_url, email, &pw).await,
            "{email}: it is real"
        );
        seen.push(pw);
    }
}
