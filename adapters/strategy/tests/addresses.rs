//! A user's e-mail on both sides of the device switch: from 11.3.0100 a new address goes
//! to the generic e-mail device through the v2 route, before it through the v1 route
//! without a device; either way addresses are read and changed through v2, the default
//! address in place, and other addresses are left alone.

use idbridge_core::{NewUser, UserChanges, registry};
use idbridge_strategy::emulator::{self, AddressApi};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::json;

async fn start(version: &str) -> (RunningEmulator, std::sync::Arc<emulator::EmulatorState>) {
    let mut options = EmulatorOptions::default();
    options
        .extra
        .insert("version".to_string(), version.to_string());
    emulator::start_with_state(options).await.expect("starts")
}

fn email(address: &str) -> UserChanges {
    UserChanges {
        email: Some(Some(address.to_string())),
        ..Default::default()
    }
}

fn address_calls(running: &RunningEmulator) -> Vec<String> {
    running
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| e.path.contains("/addresses") || e.path.contains("/devices"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[tokio::test]
async fn an_older_server_gets_a_new_address_through_v1_without_a_device() {
    let (running, state) = start("11.2.0000.1234").await;
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let mut user = NewUser::new("ada");
    user.email = Some("ada@example.com".into());
    let created = h.create_user(&user).await.expect("created");
    let updated = h
        .update_user(&created.id, &email("ada@example.org"))
        .await
        .expect("changed");
    assert_eq!(updated.email.as_deref(), Some("ada@example.org"));
    let stored = state.lock().users[&created.id].addresses.clone();
    assert_eq!(stored.len(), 1, "changed in place: {stored:?}");
    assert_eq!(stored[0].value, "ada@example.org");
    let cleared = UserChanges {
        email: Some(None),
        ..Default::default()
    };
    let read = h.update_user(&created.id, &cleared).await.expect("cleared");
    assert_eq!(read.email, None);
    assert!(state.lock().users[&created.id].addresses.is_empty());
    let calls = address_calls(&running);
    assert!(!calls.iter().any(|c| c.contains("/devices")), "{calls:?}");
    let id = &created.id;
    for expected in [
        format!("POST /MicroStrategyLibrary/api/users/{id}/addresses"),
        format!("GET /MicroStrategyLibrary/api/v2/users/{id}/addresses"),
        format!("DELETE /MicroStrategyLibrary/api/users/{id}/addresses/"),
    ] {
        assert!(
            calls.iter().any(|c| c.starts_with(&expected)),
            "{expected}: {calls:?}"
        );
    }
    assert!(
        calls.iter().any(|c| c.starts_with(&format!(
            "PUT /MicroStrategyLibrary/api/v2/users/{id}/addresses/"
        ))),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_current_server_gets_the_v2_routes_and_one_device_lookup() {
    let (running, state) = start("11.3.0100.0001").await;
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let mut ids = Vec::new();
    for login in ["ada", "bob"] {
        let mut user = NewUser::new(login);
        user.email = Some(format!("{login}@example.com"));
        ids.push(h.create_user(&user).await.expect("created").id);
    }
    h.update_user(&ids[0], &email("ada@example.org"))
        .await
        .expect("changed");
    let calls = address_calls(&running);
    assert_eq!(
        calls.iter().filter(|c| c.contains("/devices")).count(),
        1,
        "{calls:?}"
    );
    let writes: Vec<&String> = calls.iter().filter(|c| !c.starts_with("GET ")).collect();
    assert!(
        writes.iter().all(|c| c.contains("/api/v2/users/")),
        "{writes:?}"
    );
    assert!(writes.iter().any(|c| c.starts_with("PUT ")), "{writes:?}");
    let stored = state.lock().users[&ids[0]].addresses.clone();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].value, "ada@example.org");
}

#[tokio::test]
async fn the_default_address_is_changed_and_the_others_are_left_alone() {
    let (running, state) = start("11.5.0700.0045").await;
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let id = h
        .create_user(&NewUser::new("ada"))
        .await
        .expect("created")
        .id;
    {
        let mut i = state.lock();
        // As another client left them: a non-default address first, then the default,
        // added through v2 without the default flag and through v1 with it.
        i.add_address(
            &id,
            &json!({"name": "Work", "value": "ada@work.example", "default": false}),
            AddressApi::V1,
        )
        .expect("added");
        i.add_address(
            &id,
            &json!({"name": "Home", "physicalAddress": "ada@home.example",
                    "deliveryType": "email", "deviceId": emulator::GENERIC_EMAIL_DEVICE_ID,
                    "isDefault": true}),
            AddressApi::V2,
        )
        .expect("added");
    }
    assert_eq!(
        h.get_user(&id).await.expect("read").email.as_deref(),
        Some("ada@home.example")
    );
    h.update_user(&id, &email("ada@new.example"))
        .await
        .expect("changed");
    let stored = state.lock().users[&id].addresses.clone();
    let summary: Vec<(String, String, bool)> = stored
        .iter()
        .map(|a| (a.name.clone(), a.value.clone(), a.is_default))
        .collect();
    assert_eq!(
        summary,
        [
            ("Work".to_string(), "ada@work.example".to_string(), false),
            ("Home".to_string(), "ada@new.example".to_string(), true),
        ]
    );
}
