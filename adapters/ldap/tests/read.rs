//! The adapter against a real OpenLDAP server (see `support`): what it reads, how it pages,
//! how ids survive renames and moves, and how it fails.

mod support;

use std::collections::BTreeSet;

use idbridge_core::{AdapterHandle, ErrorKind, PageRequest, Principal, registry};
use idbridge_ldap::{LdapAdapter, LdapConfig};
use serde_json::json;
use support::{GROUPS, PEOPLE, READER_DN, READER_PAGE_LIMIT, Slapd};

async fn handle(server: &Slapd, extra: serde_json::Value) -> AdapterHandle {
    idbridge_ldap::link();
    registry::build_adapter("ldap", server.section(extra))
        .await
        .expect("the adapter builds")
}

fn adapter(server: &Slapd, extra: serde_json::Value) -> LdapAdapter {
    LdapAdapter::new(LdapConfig::from_adapter_config(&server.section(extra)).expect("config"))
}

fn start() -> Option<Slapd> {
    support::available().then(|| Slapd::start(&support::seed(), None))
}

fn names(h: &[idbridge_core::Group]) -> BTreeSet<String> {
    h.iter().map(|g| g.name.clone()).collect()
}

#[tokio::test]
async fn reads_users_groups_and_memberships_in_pages() {
    let Some(server) = start() else { return };
    let h = handle(&server, json!({"disabled_filter": "(employeeType=disabled)", "attributes": {"department": "departmentNumber"}})).await;
    let users = h.all_users().await.expect("users");
    assert_eq!(users.len(), 12, "{users:?}");
    assert!(
        users.len() > READER_PAGE_LIMIT,
        "the read spans several pages"
    );
    let ann = users.iter().find(|u| u.login == "ann").expect("ann");
    assert_eq!(ann.email.as_deref(), Some("ann@example.com"));
    assert_eq!(ann.display_name.as_deref(), Some("Ann L."));
    assert_eq!(ann.attributes["department"], "42");
    assert!(ann.enabled);
    let bob = users.iter().find(|u| u.login == "bob").expect("bob");
    assert_eq!(
        bob.display_name.as_deref(),
        Some("Bob Roy"),
        "cn when no displayName"
    );
    let cid = users.iter().find(|u| u.login == "cid").expect("cid");
    assert!(!cid.enabled, "the disabled rule marks cid");
    assert!(
        !users.iter().any(|u| u.login == "ghost"),
        "outside the user base"
    );
    // entryUUIDs, not DNs.
    assert!(
        users
            .iter()
            .all(|u| u.id.len() == 36 && !u.id.contains('='))
    );

    let groups = h.all_groups().await.expect("groups");
    assert_eq!(
        names(&groups),
        ["all", "engineers", "leads", "sales", "unix"]
            .map(String::from)
            .into()
    );
    let id = |name: &str| {
        groups
            .iter()
            .find(|g| g.name == name)
            .expect(name)
            .id
            .clone()
    };
    let members = |g: &str| {
        let h = h.clone();
        let g = id(g);
        async move {
            h.all_members(&g)
                .await
                .expect("members")
                .into_iter()
                .collect::<BTreeSet<_>>()
        }
    };
    let user = |login: &str| {
        Principal::User(
            users
                .iter()
                .find(|u| u.login == login)
                .expect(login)
                .id
                .clone(),
        )
    };
    let group = |name: &str| Principal::Group(id(name));
    assert_eq!(
        members("engineers").await,
        [user("ann"), user("bob"), group("leads")].into(),
        "DNs in other spellings resolve; dangling and outside members are left out"
    );
    assert_eq!(
        members("sales").await,
        [user("cid"), user("user01")].into(),
        "uniqueMember, with and without the optional unique id"
    );
    assert_eq!(
        members("unix").await,
        [user("bob"), user("cid")].into(),
        "memberUid"
    );
    assert_eq!(
        members("all").await,
        [group("engineers"), group("sales")].into(),
        "nesting"
    );
    assert_eq!(
        groups
            .iter()
            .find(|g| g.name == "engineers")
            .and_then(|g| g.description.clone())
            .as_deref(),
        Some("Everyone who builds")
    );

    let all: BTreeSet<_> = h
        .list_all_members()
        .await
        .expect("all")
        .into_iter()
        .collect();
    assert_eq!(all.len(), 3 + 2 + 2 + 2 + 1);
}

#[tokio::test]
async fn listing_pages_cover_every_user_once() {
    let Some(server) = start() else { return };
    let h = handle(&server, json!({})).await;
    let mut seen = Vec::new();
    let mut page = h
        .list_users(PageRequest::with_size(5))
        .await
        .expect("first");
    let mut pages = 1;
    seen.extend(page.items.iter().map(|u| u.id.clone()));
    while let Some(next) = page.next.clone() {
        page = h
            .list_users(PageRequest {
                cursor: Some(next),
                size: Some(5),
            })
            .await
            .expect("next");
        pages += 1;
        seen.extend(page.items.iter().map(|u| u.id.clone()));
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 12);
}

#[tokio::test]
async fn unresolved_members_are_reported_by_name() {
    let Some(server) = start() else { return };
    let directory = adapter(&server, json!({}))
        .read_directory()
        .await
        .expect("read");
    let text = directory.warnings.join("\n");
    assert!(
        text.contains(&format!("uid=nobody,ou=engineering,{PEOPLE}")) && text.contains("dangling"),
        "{text}"
    );
    assert!(
        text.contains("cn=ghost,ou=outside,dc=example,dc=com")
            && text.contains("outside the configured base DNs"),
        "{text}"
    );
    assert!(
        text.contains("memberUid `nosuch` of group `unix`"),
        "{text}"
    );
    assert_eq!(directory.warnings.len(), 3, "{text}");
}

#[tokio::test]
async fn a_cycle_of_groups_is_reported_and_read() {
    let Some(server) = start() else { return };
    let mut admin = server.admin().await;
    let all = format!("cn=all,{GROUPS}");
    admin
        .modify(
            &format!("cn=leads,{GROUPS}"),
            vec![ldap3::Mod::Add("member", [all.as_str()].into())],
        )
        .await
        .and_then(|r| r.success())
        .expect("modify");
    let directory = adapter(&server, json!({}))
        .read_directory()
        .await
        .expect("read");
    let text = directory.warnings.join("\n");
    assert!(
        text.contains("cycle") && text.contains("all") && text.contains("leads"),
        "{text}"
    );
}

#[tokio::test]
async fn ids_survive_a_rename_and_a_move() {
    let Some(server) = start() else { return };
    let h = handle(&server, json!({})).await;
    let before = h.all_users().await.expect("users");
    let bob = before
        .iter()
        .find(|u| u.login == "bob")
        .expect("bob")
        .clone();
    let mut admin = server.admin().await;
    // Renamed: a new RDN and login.
    admin
        .modifydn(
            &format!("uid=bob,ou=engineering,{PEOPLE}"),
            "uid=robert",
            true,
            None,
        )
        .await
        .and_then(|r| r.success())
        .expect("modrdn");
    let after = h.all_users().await.expect("users");
    let robert = after.iter().find(|u| u.login == "robert").expect("robert");
    assert_eq!(robert.id, bob.id, "a rename keeps the id");
    assert!(!after.iter().any(|u| u.login == "bob"));
    // Moved to another OU.
    admin
        .modifydn(
            &format!("uid=robert,ou=engineering,{PEOPLE}"),
            "uid=robert",
            true,
            Some(&format!("ou=sales,{PEOPLE}")),
        )
        .await
        .and_then(|r| r.success())
        .expect("move");
    let moved = h.get_user(&bob.id).await.expect("get by id after the move");
    assert_eq!(moved.login, "robert");
    assert_eq!(h.all_users().await.expect("users").len(), before.len());
}

#[tokio::test]
async fn get_by_id_and_missing_ids() {
    let Some(server) = start() else { return };
    let h = handle(
        &server,
        json!({"disabled_filter": "(employeeType=disabled)"}),
    )
    .await;
    let users = h.all_users().await.expect("users");
    let cid = users.iter().find(|u| u.login == "cid").expect("cid");
    assert_eq!(&h.get_user(&cid.id).await.expect("get"), cid);
    let missing = h.get_user("00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.expect_err("missing").kind(), ErrorKind::NotFound);
    let not_uuid = h.get_user("not-a-uuid)(uid=*").await;
    assert_eq!(not_uuid.expect_err("missing").kind(), ErrorKind::NotFound);
    let groups = h.all_groups().await.expect("groups");
    assert_eq!(&h.get_group(&groups[0].id).await.expect("get"), &groups[0]);
    assert_eq!(
        h.get_group(&cid.id)
            .await
            .expect_err("a user is no group")
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn the_default_disabled_rule_needs_no_password_policy_schema() {
    let Some(server) = start() else { return };
    let users = handle(&server, json!({}))
        .await
        .all_users()
        .await
        .expect("users");
    assert!(
        users.iter().all(|u| u.enabled),
        "(pwdAccountLockedTime=*) matches nobody here"
    );
}

#[tokio::test]
async fn a_wrong_password_names_the_server_and_the_bind_dn_only() {
    let Some(server) = start() else { return };
    let h = handle(&server, json!({"password": "wrong-canary-pw-31337"})).await;
    let err = h.all_users().await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains(&server.url()), "{text}");
    assert!(text.contains(READER_DN), "{text}");
    assert!(!text.contains("wrong-canary-pw-31337"), "{text}");
    assert!(!text.contains(support::READER_PASSWORD), "{text}");
    let check = h.check().await.expect_err("check fails too");
    assert_eq!(check.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn an_empty_read_is_an_error_never_everyone_left() {
    let Some(server) = start() else { return };
    let h = handle(&server, json!({"user_filter": "(uid=nobody-has-this)"})).await;
    let err = h.all_users().await.expect_err("empty");
    assert!(err.to_string().contains("everyone left"), "{err}");
    let missing_base = handle(
        &server,
        json!({"user_base_dns": ["ou=nowhere,dc=example,dc=com"]}),
    )
    .await;
    let err = missing_base.all_users().await.expect_err("no such base");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ou=nowhere"), "{err}");
}

#[tokio::test]
async fn without_paging_the_server_limit_would_cut_the_read() {
    // Proves the fixture's limit is real, so the other tests' reads of 12 users went
    // through the paged-results control.
    let Some(server) = start() else { return };
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&server.url())
        .await
        .expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(READER_DN, support::READER_PASSWORD)
        .await
        .and_then(|r| r.success())
        .expect("bind");
    let res = ldap
        .search(
            PEOPLE,
            ldap3::Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["uid"],
        )
        .await
        .expect("search");
    assert_eq!(res.1.rc, 4, "sizeLimitExceeded without paging");
}

#[tokio::test]
async fn check_passes_against_the_server() {
    let Some(server) = start() else { return };
    handle(&server, json!({}))
        .await
        .check()
        .await
        .expect("check");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_named() {
    let Some(server) = start() else { return };
    let port = server.port;
    drop(server);
    let Some(other) = start() else { return };
    let mut cfg = other.section(json!({}));
    cfg.settings
        .insert("url".into(), json!(format!("ldap://127.0.0.1:{port}")));
    idbridge_ldap::link();
    let h = registry::build_adapter("ldap", cfg).await.expect("builds");
    let err = h.all_users().await.expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_user_and_a_group_listing_started_together_share_one_read() {
    use idbridge_core::{Groups, Memberships, Users};
    let Some(server) = start() else { return };
    let a = adapter(&server, json!({}));
    let (users, groups) = tokio::join!(
        a.list_users(PageRequest::first()),
        a.list_groups(PageRequest::first())
    );
    assert_eq!(users.expect("users").items.len(), 12);
    assert_eq!(groups.expect("groups").items.len(), 5);
    assert_eq!(a.full_reads(), 1);
    a.list_all_members().await.expect("members");
    assert_eq!(a.full_reads(), 1, "members come from the same read");
    // A listing started later sees the directory as it is then.
    let mut admin = server.admin().await;
    admin
        .delete(&format!("uid=user09,ou=sales,{PEOPLE}"))
        .await
        .and_then(|r| r.success())
        .expect("delete");
    let users = a.list_users(PageRequest::first()).await.expect("users");
    assert_eq!(users.items.len(), 11);
    assert_eq!(a.full_reads(), 2);
}
