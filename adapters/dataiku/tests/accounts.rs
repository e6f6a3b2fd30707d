//! Accounts the adapter creates are never loginable with a blank or guessable password:
//! a `LOCAL` account gets a random password nobody sees (different every time, through
//! the single and the bulk create), and with another `source_type` the account is bound
//! to that sign-in and gets no DSS password at all. Checked against the emulator, which
//! signs in only a `LOCAL` account with its own non-empty password.

use idbridge_core::{NewUser, UserWrite, registry};
use idbridge_dataiku::emulator::start_with_state;
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::json;

#[tokio::test]
async fn local_accounts_get_a_random_password_and_never_an_empty_one() {
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("dataiku", e.adapter_config("dss"))
        .await
        .expect("connects");
    h.create_user(&NewUser::new("ada")).await.expect("created");
    let results = h
        .write_users(vec![
            UserWrite::Create {
                user: NewUser::new("bob"),
            },
            UserWrite::Create {
                user: NewUser::new("cy"),
            },
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut seen = Vec::new();
    for login in ["ada", "bob", "cy"] {
        let pw = state.password_of(login).expect("a password is set");
        assert!(pw.len() >= 32, "{login}: a long password");
        assert!(!seen.contains(&pw), "{login}: the same password twice");
        assert!(!state.can_sign_in(login, ""), "{login}: empty password");
        assert!(!state.can_sign_in(login, login), "{login}: the login");
        assert!(
            state.can_sign_in(login, &pw),
            "{login}: the real password works"
        );
        seen.push(pw);
    }
}

#[tokio::test]
async fn another_source_type_binds_the_account_and_sends_no_password() {
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut cfg = e.adapter_config("dss");
    cfg.settings.insert("source_type".into(), json!("LDAP"));
    let h = registry::build_adapter("dataiku", cfg)
        .await
        .expect("connects");
    h.create_user(&NewUser::new("ada")).await.expect("created");
    assert_eq!(state.get_user("ada").expect("exists")["sourceType"], "LDAP");
    assert_eq!(
        state.password_of("ada"),
        None,
        "no DSS password for an LDAP account"
    );
    assert!(!state.can_sign_in("ada", ""));
}
