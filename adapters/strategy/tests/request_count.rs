//! How many requests a user creation costs: the account, then its email address, with no
//! read in between (a new account has no address to look at); the e-mail device is looked
//! up once per connection.

use idbridge_core::{NewUser, registry};
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec};

#[tokio::test]
async fn creating_a_user_with_an_email_sends_two_requests_and_the_email_is_kept() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let sent_since = |before: usize| -> Vec<String> {
        running.server.log().entries()[before..]
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    };
    // The first e-mail write looks the generic e-mail device up.
    let before = running.server.log().entries().len();
    let mut first = NewUser::new("grace.hopper");
    first.email = Some("grace@example.com".into());
    let first = h.create_user(&first).await.expect("created");
    let sent = sent_since(before);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[1].starts_with("GET ") && sent[1].ends_with("/api/v2/devices"),
        "{sent:?}"
    );
    assert!(
        sent[2].ends_with(&format!("/api/v2/users/{}/addresses", first.id)),
        "{sent:?}"
    );
    let before = running.server.log().entries().len();
    let mut user = NewUser::new("ada.lovelace");
    user.email = Some("ada.lovelace@example.com".into());
    user.display_name = Some("Ada Lovelace".into());
    let created = h.create_user(&user).await.expect("created");
    let sent = sent_since(before);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[0].starts_with("POST ") && sent[0].ends_with("/api/users"),
        "{sent:?}"
    );
    assert!(
        sent[1].starts_with("POST ")
            && sent[1].ends_with(&format!("/api/v2/users/{}/addresses", created.id)),
        "{sent:?}"
    );
    assert_eq!(created.email.as_deref(), Some("ada.lovelace@example.com"));
    let read = h
        .all_users()
        .await
        .expect("list")
        .into_iter()
        .find(|u| u.id == created.id)
        .expect("listed");
    assert_eq!(read.email.as_deref(), Some("ada.lovelace@example.com"));
    // Changing the email later still replaces the one address rather than adding another.
    let changes = idbridge_core::UserChanges {
        email: Some(Some("ada@example.org".into())),
        ..Default::default()
    };
    let updated = h.update_user(&created.id, &changes).await.expect("updated");
    assert_eq!(updated.email.as_deref(), Some("ada@example.org"));
    assert_eq!(
        h.get_user(&created.id)
            .await
            .expect("read")
            .email
            .as_deref(),
        Some("ada@example.org")
    );
    let addresses = state
        .lock()
        .users
        .get(&created.id)
        .map(|u| u.addresses.len());
    assert_eq!(addresses, Some(1), "the address was changed in place");
}

#[tokio::test]
async fn a_lost_email_write_of_a_new_user_is_repaired_without_a_second_address() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    // Connected while healthy; now some requests fail before the server sees them.
    running
        .server
        .set_faults(FaultSpec::parse("500=0.2,reset=0.1,seed=3").expect("spec"));
    let mut created = Vec::new();
    for i in 0..40 {
        let mut user = NewUser::new(format!("user.{i}"));
        user.email = Some(format!("user.{i}@example.com"));
        if let Ok(u) = h.create_user(&user).await {
            created.push((u.id, i));
        }
    }
    running.server.set_faults(FaultSpec::none());
    let repairs = running
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| e.method == "GET" && e.path.ends_with("/addresses"))
        .count();
    assert!(repairs > 0, "some address write was lost and repaired");
    assert!(created.len() >= 10, "{} users created", created.len());
    for (id, i) in created {
        let u = h.get_user(&id).await.expect("read");
        assert_eq!(u.email, Some(format!("user.{i}@example.com")));
        let n = state.lock().users.get(&id).map_or(0, |u| u.addresses.len());
        assert_eq!(
            n, 1,
            "user.{i} has {n} addresses: a repair never adds a second one"
        );
    }
}

#[test]
fn a_500_without_the_servers_error_code_may_pass_and_is_retryable() {
    use idbridge_strategy::error::map_error;
    // The web tier or a proxy failed: worth another attempt.
    assert!(map_error(500, br#"{"error":"Internal server error"}"#, None).is_retryable());
    assert!(map_error(500, b"", None).is_retryable());
    // The Intelligence Server's own verdict is not.
    assert!(!map_error(500, br#"{"code":"ERR001","message":"boom"}"#, None).is_retryable());
}
