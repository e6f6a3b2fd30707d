//! Behaviour of the file adapter beyond the shared conformance suite: configuration,
//! persistence, reference upkeep on renames and deletes, and refusal to overwrite edits.

use std::path::Path;

use idbridge_core::{
    AdapterConfig, ConfigOrigin, ErrorKind, Grant, GrantFilter, GroupChanges, NewGroup, NewUser,
    Principal, Scope, UserChanges, UserWrite, registry,
};
use idbridge_file::Directory;

const SEED: &str = r#"
users:
  - {id: u-1, login: ada, email: ada@example.com, groups: [eng]}
  - {id: u-2, login: bob}
groups:
  - {id: g-all, name: all-staff}
  - {id: g-eng, name: eng, groups: [all-staff]}
roles:
  - {id: r-analyst, name: analyst, scope: {project: Sales}}
  - {id: r-admin, name: admin}
grants:
  - {role: analyst, group: eng}
  - {role: admin, user: ada}
complete: {users: 2, groups: 2, roles: 2, grants: 2}
"#;

fn config(dir: &Path, settings: serde_json::Value) -> AdapterConfig {
    let mut cfg = AdapterConfig::new("source", settings);
    cfg.origin = ConfigOrigin::in_memory(dir);
    cfg
}

async fn seeded(dir: &Path) -> idbridge_core::AdapterHandle {
    std::fs::write(dir.join("d.yaml"), SEED).expect("write seed");
    registry::build_adapter("file", config(dir, serde_json::json!({"path": "d.yaml"})))
        .await
        .expect("builds")
}

fn on_disk(dir: &Path) -> Directory {
    Directory::load(&dir.join("d.yaml")).expect("file stays valid")
}

#[tokio::test]
async fn is_registered_and_resolves_path_against_the_config_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    assert_eq!(h.kind(), "file");
    assert_eq!(h.all_users().await.expect("lists").len(), 2);
    h.check().await.expect("check passes");
}

#[tokio::test]
async fn missing_file_is_a_config_error_naming_the_path_unless_create() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = registry::build_adapter(
        "file",
        config(tmp.path(), serde_json::json!({"path": "nope.yaml"})),
    )
    .await
    .expect_err("missing file");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("nope.yaml"), "{err}");
    assert!(err.to_string().contains("source.path"), "{err}");

    let h = registry::build_adapter(
        "file",
        config(
            tmp.path(),
            serde_json::json!({"path": "sub/new.json", "create": true}),
        ),
    )
    .await
    .expect("creates");
    assert!(h.all_users().await.expect("lists").is_empty());
    assert_eq!(
        Directory::load(&tmp.path().join("sub/new.json")).expect("valid"),
        Directory::new()
    );
}

#[tokio::test]
async fn unknown_key_and_bad_extension_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = registry::build_adapter(
        "file",
        config(
            tmp.path(),
            serde_json::json!({"path": "d.yaml", "craete": true}),
        ),
    )
    .await
    .expect_err("misspelt key");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("craete"), "{err}");

    let err = registry::build_adapter(
        "file",
        config(
            tmp.path(),
            serde_json::json!({"path": "d.txt", "create": true}),
        ),
    )
    .await
    .expect_err("extension");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("source.path"), "{err}");
}

#[tokio::test]
async fn invalid_file_fails_to_build_naming_file_and_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("d.yaml"),
        "users:\n  - {id: u-9, login: eve, groups: [ghosts]}\ncomplete: {users: 1, groups: 0, roles: 0, grants: 0}\n",
    )
    .expect("write");
    let err = registry::build_adapter(
        "file",
        config(tmp.path(), serde_json::json!({"path": "d.yaml"})),
    )
    .await
    .expect_err("unknown group");
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(text.contains("d.yaml"), "{text}");
    assert!(text.contains("users[0] (id u-9, login eve)"), "{text}");
}

#[tokio::test]
async fn writes_are_persisted_with_generated_ids() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let mut new = NewUser::new("zoë");
    new.email = Some("zoe@example.com".into());
    let a = h.create_user(&new).await.expect("creates");
    let b = h.create_user(&NewUser::new("josé")).await.expect("creates");
    assert!(a.id.starts_with("u-") && b.id.starts_with("u-"));
    assert_ne!(a.id, b.id);
    let g = h
        .create_group(&NewGroup {
            name: "bi".into(),
            description: None,
        })
        .await
        .expect("group");
    assert!(g.id.starts_with("g-"));
    h.add_member(&g.id, &Principal::User(a.id.clone()))
        .await
        .expect("adds");

    let disk = on_disk(tmp.path());
    let zoe = disk.user(&a.id).expect("persisted");
    assert_eq!(zoe.login, "zoë");
    assert_eq!(zoe.groups, vec!["bi".to_string()]);
    assert!(disk.group(&g.id).is_some());
}

#[tokio::test]
async fn invalid_email_is_rejected_and_nothing_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let before = std::fs::read(tmp.path().join("d.yaml")).expect("read");
    let mut new = NewUser::new("carol");
    new.email = Some("carol@".into());
    let err = h.create_user(&new).await.expect_err("bad email");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let changes = UserChanges {
        email: Some(Some("no-at-sign".into())),
        ..Default::default()
    };
    let err = h.update_user("u-1", &changes).await.expect_err("bad email");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        std::fs::read(tmp.path().join("d.yaml")).expect("read"),
        before
    );
    assert_eq!(
        h.get_user("u-1").await.expect("get").email.as_deref(),
        Some("ada@example.com")
    );
}

#[tokio::test]
async fn renames_keep_memberships_nesting_and_grants() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    h.update_user(
        "u-1",
        &UserChanges {
            login: Some("ada.lovelace".into()),
            ..Default::default()
        },
    )
    .await
    .expect("renames user");
    h.update_group(
        "g-eng",
        &GroupChanges {
            name: Some("engineering".into()),
            ..Default::default()
        },
    )
    .await
    .expect("renames group");
    h.update_group(
        "g-all",
        &GroupChanges {
            name: Some("everyone".into()),
            ..Default::default()
        },
    )
    .await
    .expect("renames parent");

    assert_eq!(
        h.all_members("g-eng").await.expect("members"),
        vec![Principal::User("u-1".into())]
    );
    assert_eq!(
        h.all_members("g-all").await.expect("members"),
        vec![Principal::Group("g-eng".into())]
    );
    let grants = h.all_grants(&GrantFilter::default()).await.expect("grants");
    assert!(grants.contains(&Grant {
        role: "r-admin".into(),
        principal: Principal::User("u-1".into()),
        scope: Scope::Global
    }));
    assert!(grants.contains(&Grant {
        role: "r-analyst".into(),
        principal: Principal::Group("g-eng".into()),
        scope: Scope::Project("Sales".into())
    }));
    let disk = on_disk(tmp.path());
    assert_eq!(disk.grants[1].user.as_deref(), Some("ada.lovelace"));
    assert_eq!(disk.groups[1].groups, vec!["everyone".to_string()]);
}

#[tokio::test]
async fn deletes_remove_dangling_references() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    h.delete_group("g-all").await.expect("deletes parent");
    h.delete_user("u-1").await.expect("deletes user");
    h.delete_group("g-eng").await.expect("deletes group");
    let disk = on_disk(tmp.path());
    assert!(disk.grants.is_empty(), "{:?}", disk.grants);
    assert!(disk.groups.is_empty());
    assert_eq!(disk.users.len(), 1);
}

#[tokio::test]
async fn nesting_cycles_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let err = h
        .add_member("g-eng", &Principal::Group("g-all".into()))
        .await
        .expect_err("cycle");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = h
        .add_member("g-eng", &Principal::Group("g-eng".into()))
        .await
        .expect_err("self");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn project_role_cannot_be_granted_elsewhere_but_global_role_can() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let wrong = Grant {
        role: "r-analyst".into(),
        principal: Principal::User("u-2".into()),
        scope: Scope::Project("Finance".into()),
    };
    assert_eq!(
        h.grant(&wrong).await.expect_err("wrong project").kind(),
        ErrorKind::InvalidInput
    );
    let in_project = Grant {
        role: "r-admin".into(),
        principal: Principal::User("u-2".into()),
        scope: Scope::Project("Finance".into()),
    };
    h.grant(&in_project)
        .await
        .expect("global role in a project");
    let held = h
        .all_grants(&GrantFilter {
            principal: Some(Principal::User("u-2".into())),
            ..Default::default()
        })
        .await
        .expect("grants");
    assert_eq!(held, vec![in_project.clone()]);
    assert_eq!(
        on_disk(tmp.path()).grants[2].scope,
        Some(Scope::Project("Finance".into()))
    );
    h.revoke(&in_project).await.expect("revokes");
    assert_eq!(on_disk(tmp.path()).grants.len(), 2);
}

#[tokio::test]
async fn external_edit_is_never_overwritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let edited = format!("{SEED}\n# edited by hand\n");
    std::fs::write(tmp.path().join("d.yaml"), &edited).expect("edit");
    let err = h
        .create_user(&NewUser::new("carol"))
        .await
        .expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("d.yaml")).expect("read"),
        edited
    );
}

#[tokio::test]
async fn batch_is_saved_once_with_per_item_results() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let results = h
        .write_users(vec![
            UserWrite::Create {
                user: NewUser::new("carol"),
            },
            UserWrite::Create {
                user: NewUser::new("ADA"),
            },
            UserWrite::SetEnabled {
                id: "u-2".into(),
                enabled: false,
            },
            UserWrite::Delete { id: "u-404".into() },
            UserWrite::Delete { id: "u-1".into() },
        ])
        .await;
    assert_eq!(results.len(), 5);
    assert_eq!(
        results[0]
            .as_ref()
            .expect("created")
            .as_ref()
            .map(|u| u.login.as_str()),
        Some("carol")
    );
    assert_eq!(
        results[1].as_ref().expect_err("dup").kind(),
        ErrorKind::AlreadyExists
    );
    assert!(
        !results[2]
            .as_ref()
            .expect("disabled")
            .as_ref()
            .expect("record")
            .enabled
    );
    assert_eq!(
        results[3].as_ref().expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    assert!(results[4].as_ref().expect("deleted").is_none());
    let disk = on_disk(tmp.path());
    let logins: Vec<&str> = disk.users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, vec!["bob", "carol"]);
    assert!(!disk.users[0].enabled);
}

#[tokio::test]
async fn batch_save_failure_turns_every_success_into_the_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    // An edit by someone else makes the save refuse; nothing of the batch may stick.
    std::fs::write(tmp.path().join("d.yaml"), format!("{SEED}\n")).expect("edit");
    let results = h
        .write_users(vec![
            UserWrite::Create {
                user: NewUser::new("carol"),
            },
            UserWrite::Delete { id: "u-404".into() },
        ])
        .await;
    assert_eq!(
        results[0].as_ref().expect_err("save failed").kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        results[1].as_ref().expect_err("own error").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(h.all_users().await.expect("lists").len(), 2);
}

#[tokio::test]
async fn example_directory_loads_and_validates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/directory.yaml");
    let dir = Directory::load(&path).expect("the shipped example is valid");
    let n = dir.to_neutral();
    assert!(
        (45..=60).contains(&n.users.len()),
        "{} users",
        n.users.len()
    );
    assert_eq!(n.groups.len(), 8);
    assert_eq!(n.roles.len(), 4);
    assert!(!n.grants.is_empty());
    assert_eq!(n.users.iter().filter(|u| !u.enabled).count(), 1);
    assert!(n.memberships.iter().any(|m| m.member.is_group()), "nesting");
    assert!(
        n.roles
            .iter()
            .any(|r| r.scope == Scope::Project("Sales Analytics".into()))
    );
    assert!(
        n.users.iter().any(
            |u| !u.login.is_ascii() || u.display_name.as_deref().is_some_and(|d| !d.is_ascii())
        )
    );
}

fn logins(users: &[idbridge_core::User]) -> Vec<String> {
    users.iter().map(|u| u.login.clone()).collect()
}

#[tokio::test]
async fn a_listing_after_an_external_edit_sees_the_edit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    assert_eq!(logins(&h.all_users().await.expect("lists")), ["ada", "bob"]);

    // An edit of the same length, right after the first read: length and times within
    // the same timestamp tick must not hide it.
    let same_length = SEED.replace("login: bob", "login: bib");
    assert_eq!(same_length.len(), SEED.len());
    std::fs::write(tmp.path().join("d.yaml"), &same_length).expect("edit");
    assert_eq!(logins(&h.all_users().await.expect("lists")), ["ada", "bib"]);

    // A longer edit, replacing the file the way editors and exporters do.
    let longer = SEED
        .replace(
            "  - {id: u-2, login: bob}",
            "  - {id: u-2, login: bob}\n  - {id: u-3, login: carol}",
        )
        .replace("users: 2,", "users: 3,");
    let staged = tmp.path().join("d.yaml.new");
    std::fs::write(&staged, &longer).expect("stage");
    std::fs::rename(&staged, tmp.path().join("d.yaml")).expect("replace");
    assert_eq!(
        logins(&h.all_users().await.expect("lists")),
        ["ada", "bob", "carol"]
    );
    assert_eq!(h.get_user("u-3").await.expect("gets").login, "carol");
}

#[tokio::test]
async fn members_by_position_answer_only_for_the_document_they_were_listed_from() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    let version = h.listing_version().await.expect("a version");
    let eng = |v| h.members_by_position("g-eng", v);
    let at = eng(version)
        .await
        .expect("reads")
        .expect("the version held");
    assert_eq!(at.users, [0], "ada, the first user listed");
    assert_eq!(at.others, Vec::<Principal>::new());
    let all = h
        .members_by_position("g-all", version)
        .await
        .expect("reads")
        .expect("the version held");
    assert_eq!(
        (all.users.len(), all.others),
        (0, vec![Principal::Group("g-eng".into())])
    );

    // Bob joins eng in the file, and ada moves after him: until a listing reloads the
    // file, the positions are the old document's; after it, there is a new version.
    let edited = SEED
        .replace(
            "  - {id: u-1, login: ada, email: ada@example.com, groups: [eng]}\n  - {id: u-2, login: bob}",
            "  - {id: u-2, login: bob, groups: [eng]}\n  - {id: u-1, login: ada, email: ada@example.com, groups: [eng]}",
        );
    assert_ne!(edited, SEED);
    std::fs::write(tmp.path().join("d.yaml"), &edited).expect("edit");
    assert_eq!(
        eng(version)
            .await
            .expect("reads")
            .expect("not reloaded")
            .users,
        [0]
    );
    assert_eq!(logins(&h.all_users().await.expect("lists")), ["bob", "ada"]);
    let reloaded = h.listing_version().await.expect("a version");
    assert_ne!(reloaded, version, "a reload makes a new version");
    assert_eq!(
        eng(version).await.expect("reads"),
        None,
        "the old document is gone"
    );
    let now = eng(reloaded)
        .await
        .expect("reads")
        .expect("the version held");
    assert_eq!(now.users, [0, 1]);

    // A write makes a new version too.
    h.remove_member("g-eng", &Principal::User("u-2".into()))
        .await
        .expect("removes");
    assert_eq!(eng(reloaded).await.expect("reads"), None);
    let written = h.listing_version().await.expect("a version");
    assert_eq!(eng(written).await.expect("reads").expect("held").users, [1]);
    let missing = h.members_by_position("g-none", written).await;
    assert_eq!(
        missing.expect_err("no such group").kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_groups_members_page_through_its_users_then_its_groups() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    for id in ["u-2", "u-1"] {
        h.add_member("g-all", &Principal::User(id.into()))
            .await
            .expect("adds");
    }
    let mut listed = Vec::new();
    let mut page = idbridge_core::PageRequest::with_size(1);
    loop {
        let got = h.list_members("g-all", page.clone()).await.expect("lists");
        assert!(got.items.len() <= 1);
        listed.extend(got.items);
        match got.next {
            Some(next) => page.cursor = Some(next),
            None => break,
        }
    }
    let expected = [
        Principal::User("u-1".into()),
        Principal::User("u-2".into()),
        Principal::Group("g-eng".into()),
    ];
    assert_eq!(listed, expected, "users in file order, then groups");
    assert_eq!(h.all_members("g-all").await.expect("lists"), expected);
}

#[tokio::test]
async fn a_write_after_a_reload_keeps_the_edit_and_an_unread_edit_is_never_overwritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    h.create_user(&NewUser::new("carol"))
        .await
        .expect("creates");

    // Someone edits the file after idbridge wrote it.
    let mut edited = on_disk(tmp.path());
    edited.users[0].display_name = Some("Ada Lovelace".into());
    edited
        .save_atomic(&tmp.path().join("d.yaml"))
        .expect("edit");

    // A write before any read refuses to overwrite the edit.
    let err = h
        .create_user(&NewUser::new("dave"))
        .await
        .expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(on_disk(tmp.path()), edited);

    // The next listing loads the edit; writes then build on it.
    let users = h.all_users().await.expect("lists");
    assert_eq!(users[0].display_name.as_deref(), Some("Ada Lovelace"));
    h.create_user(&NewUser::new("dave")).await.expect("creates");
    let disk = on_disk(tmp.path());
    assert_eq!(disk.users[0].display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(disk.users.len(), 4);
}

#[tokio::test]
async fn a_file_cut_off_after_open_fails_the_read_until_it_is_whole_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let h = seeded(tmp.path()).await;
    assert_eq!(h.all_users().await.expect("lists").len(), 2);

    // Cut where the text still parses: the roles and grants are gone, with the trailer.
    let cut = &SEED[..SEED.find("roles:").expect("roles")];
    std::fs::write(tmp.path().join("d.yaml"), cut).expect("cut");
    let err = h.all_users().await.expect_err("incomplete");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("d.yaml"), "{err}");
    assert!(err.to_string().contains("`complete` trailer"), "{err}");
    let err = h.check().await.expect_err("check sees it too");
    assert!(err.to_string().contains("incomplete"), "{err}");

    std::fs::write(tmp.path().join("d.yaml"), SEED).expect("whole again");
    assert_eq!(logins(&h.all_users().await.expect("lists")), ["ada", "bob"]);
}

#[tokio::test]
async fn require_complete_false_reads_a_file_without_trailer_and_writes_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = SEED.replace("complete: {users: 2, groups: 2, roles: 2, grants: 2}\n", "");
    std::fs::write(tmp.path().join("d.yaml"), &bare).expect("write");
    let err = registry::build_adapter(
        "file",
        config(tmp.path(), serde_json::json!({"path": "d.yaml"})),
    )
    .await
    .expect_err("the trailer is required by default");
    assert!(err.to_string().contains("incomplete"), "{err}");

    let h = registry::build_adapter(
        "file",
        config(
            tmp.path(),
            serde_json::json!({"path": "d.yaml", "require_complete": false}),
        ),
    )
    .await
    .expect("builds");
    assert_eq!(h.all_users().await.expect("lists").len(), 2);
    h.create_user(&NewUser::new("carol"))
        .await
        .expect("creates");
    let text = std::fs::read_to_string(tmp.path().join("d.yaml")).expect("read");
    let written = Directory::parse_checked(&text, idbridge_file::Format::Yaml, "d.yaml", true)
        .expect("what idbridge writes is complete");
    assert_eq!(written.users.len(), 3);
}

#[tokio::test]
async fn read_only_creates_nothing_and_refuses_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("sub/new.yaml");
    let mut cfg = config(
        tmp.path(),
        serde_json::json!({"path": "sub/new.yaml", "create": true}),
    );
    cfg.read_only = true;
    let h = registry::build_adapter("file", cfg).await.expect("builds");
    h.check().await.expect("a file still to be created passes");
    assert!(h.all_users().await.expect("lists").is_empty());
    let err = h
        .create_user(&NewUser {
            login: "ada".into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: Default::default(),
            password: None,
        })
        .await
        .expect_err("read-only");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!tmp.path().join("sub").exists(), "nothing was created");

    // A file that appears later is read as usual.
    std::fs::create_dir_all(tmp.path().join("sub")).expect("mkdir");
    std::fs::write(&path, SEED).expect("write");
    assert_eq!(h.all_users().await.expect("lists").len(), 2);
    h.check().await.expect("valid");
}

#[tokio::test]
async fn closing_lets_go_of_the_document_and_the_next_read_or_write_reads_the_file() {
    use idbridge_core::{Adapter, PageRequest, Users};
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("d.yaml"), SEED).expect("write seed");
    let file = idbridge_file::FileAdapter::open(&tmp.path().join("d.yaml"), false).expect("opens");
    assert_eq!(file.snapshot().await.users.len(), 2);
    file.close().await.expect("closes");
    assert_eq!(
        file.snapshot().await,
        Directory::new(),
        "nothing held once closed"
    );
    // A read reads the file again, as it is now.
    let users = file.list_users(PageRequest::first()).await.expect("lists");
    assert_eq!(logins(&users.items), ["ada", "bob"]);
    // Closed halfway through a listing, the next page reads the file again.
    let first = file
        .list_users(PageRequest::with_size(1))
        .await
        .expect("lists");
    file.close().await.expect("closes");
    let rest = file
        .list_users(PageRequest {
            cursor: first.next.clone(),
            size: Some(1),
        })
        .await
        .expect("the next page");
    assert_eq!(logins(&rest.items), ["bob"]);
    // A write after closing writes onto the file as it is, edits included: nothing the
    // file held is lost, nothing is refused as a conflict.
    file.close().await.expect("closes");
    let edited = SEED.replace("{id: u-2, login: bob}", "{id: u-2, login: bobby}");
    std::fs::write(tmp.path().join("d.yaml"), edited).expect("edit");
    file.create_user(&NewUser::new("carol"))
        .await
        .expect("writes");
    let saved = Directory::load(&tmp.path().join("d.yaml")).expect("valid");
    let saved: Vec<&str> = saved.users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(saved, ["ada", "bobby", "carol"]);
    assert_eq!(
        file.snapshot().await.users.len(),
        3,
        "held again after the write"
    );
}
