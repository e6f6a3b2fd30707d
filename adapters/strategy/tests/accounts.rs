//! Accounts the adapter creates are never loginable with a blank or guessable password:
//! each gets a random password nobody sees (different every time), or, with
//! `new_user_ldapdn` / `new_user_trust_id`, is bound to that sign-in with standard login
//! turned off. Checked against the emulator, whose login refuses both an empty password
//! and a standard login of a bound account.

use idbridge_core::{NewUser, registry};
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::{Value, json};

/// A standard (mode 1) login to the emulator as `username` with `password`: the HTTP
/// status.
async fn login_status(base_url: &str, username: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base_url}/api/auth/login"))
        .form(&[
            ("loginMode", "1"),
            ("applicationType", "35"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("the emulator answers")
        .status()
        .as_u16()
}

fn new_user(login: &str) -> NewUser {
    let mut u = NewUser::new(login);
    u.email = Some(format!("{login}@Example.com"));
    u.display_name = Some(format!("Person {login}"));
    u
}

#[tokio::test]
async fn created_users_get_a_random_password_and_cannot_log_in_with_an_empty_one() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let base_url = running.adapter_config("bi").settings["base_url"]
        .as_str()
        .expect("base_url")
        .to_string();
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let a = h.create_user(&new_user("ada")).await.expect("created");
    let b = h.create_user(&new_user("bob")).await.expect("created");
    let (pa, pb) = {
        let st = state.lock();
        let pw = |id: &str| st.users[id].password.clone().expect("a password is set");
        let std_auth = |id: &str| st.users[id].extra.get("standardAuth").cloned();
        assert_eq!(std_auth(&a.id), Some(Value::Bool(true)));
        (pw(&a.id), pw(&b.id))
    };
    assert!(pa.len() >= 32 && pb.len() >= 32, "long passwords");
    assert_ne!(pa, pb, "a different password for each account");
    for login in ["ada", "bob"] {
        assert_eq!(
            login_status(&base_url, login, "").await,
            401,
            "{login}: empty"
        );
        assert_eq!(
            login_status(&base_url, login, login).await,
            401,
            "{login}: the login"
        );
    }
    // The password works (it is real), but nobody was told it: not the returned record.
    assert_eq!(login_status(&base_url, "ada", &pa).await, 204);
    assert!(!format!("{a:?}").contains(&pa));
}

#[tokio::test]
async fn a_configured_sign_in_binds_created_users_and_turns_standard_login_off() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut cfg = running.adapter_config("bi");
    let base_url = cfg.settings["base_url"]
        .as_str()
        .expect("base_url")
        .to_string();
    cfg.settings.insert(
        "new_user_ldapdn".into(),
        json!("uid={login},ou=people,dc=example,dc=com"),
    );
    cfg.settings
        .insert("new_user_trust_id".into(), json!("{email|lower}"));
    let h = registry::build_adapter("strategy", cfg)
        .await
        .expect("connects");
    let u = h.create_user(&new_user("ada")).await.expect("created");
    let pw = {
        let st = state.lock();
        let rec = &st.users[&u.id];
        assert_eq!(
            rec.extra.get("ldapdn"),
            Some(&json!("uid=ada,ou=people,dc=example,dc=com"))
        );
        assert_eq!(rec.extra.get("trustId"), Some(&json!("ada@example.com")));
        assert_eq!(rec.extra.get("standardAuth"), Some(&Value::Bool(false)));
        rec.password
            .clone()
            .expect("still a random password behind it")
    };
    assert_eq!(login_status(&base_url, "ada", "").await, 401);
    assert_eq!(
        login_status(&base_url, "ada", &pw).await,
        401,
        "no standard login"
    );

    // A template needing a value the user lacks refuses the create, naming the key.
    let err = h
        .create_user(&NewUser::new("no-mail"))
        .await
        .expect_err("no email for the trust id");
    assert!(err.to_string().contains("new_user_trust_id"), "{err}");
}
