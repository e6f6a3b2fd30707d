//! The store outlives the process: what one connection writes, the next one reads.

use idbridge_core::{AdapterConfig, ConfigOrigin, ErrorKind, NewUser, registry};

fn config(dir: &std::path::Path, create: bool) -> AdapterConfig {
    let mut config = AdapterConfig::new(
        "portal",
        serde_json::json!({"path": "portal.json", "create": create}),
    );
    config.origin = ConfigOrigin::in_memory(dir);
    config
}

#[tokio::test]
async fn a_created_user_is_there_after_reconnecting() {
    acme_portal::link();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = registry::build_adapter("portal", config(dir.path(), true))
        .await
        .expect("a new portal");
    assert!(
        !dir.path().join("portal.json").exists(),
        "nothing is written before the first change"
    );
    let ada = first
        .create_user(&NewUser::new("ada.lovelace"))
        .await
        .expect("created");
    let second = registry::build_adapter("portal", config(dir.path(), false))
        .await
        .expect("the saved portal");
    assert_eq!(second.get_user(&ada.id).await.expect("found"), ada);
}

#[tokio::test]
async fn a_missing_store_without_create_names_the_key() {
    acme_portal::link();
    let dir = tempfile::tempdir().expect("tempdir");
    let err = registry::build_adapter("portal", config(dir.path(), false))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("portal.path"), "{err}");
    assert!(err.to_string().contains("create = true"), "{err}");
}
