//! Wire tests of the read paths: every membership comes from the one group listing.

use idbridge_core::{AdapterConfig, Membership, Memberships, Principal};
use idbridge_squirro::SquirroAdapter;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn all_memberships_are_the_group_listing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1",
            "refresh_token": "rt-1",
            "user_id": "ADMIN00000000000000001",
            "tenant": "acme",
            "role": "admin",
        })))
        .mount(&server)
        .await;
    // No `GET /groups/{id}`: the listing carries the members.
    Mock::given(method("GET"))
        .and(path("/api/user/v0/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "G1", "name": "Readers", "members": [
                {"id": "U2", "email": "bob@example.com"},
                {"id": "U1", "email": "ada@example.com"}
            ]},
            {"id": "G2", "name": "Writers", "members": [{"id": "U2", "email": "bob@example.com"}]},
            {"id": "G3", "name": "Empty", "members": []},
            {"id": "G4", "name": "Null", "members": null}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let settings = json!({"cluster_url": server.uri(), "tenant": "acme", "refresh_token": "rt-1"});
    let sq = SquirroAdapter::connect(&AdapterConfig::new("sq", settings))
        .await
        .expect("connects");
    let all = sq.list_all_members().await.expect("lists");
    let m = |g: &str, u: &str| Membership {
        group: g.to_string(),
        member: Principal::User(u.to_string()),
    };
    assert_eq!(all, vec![m("G1", "U1"), m("G1", "U2"), m("G2", "U2")]);
    let received = server.received_requests().await.expect("recorded");
    let gets = received
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(gets, 1, "one listing, nothing else read");
}

/// A group listed without its `members` list fails the read: it is never taken to have
/// no members, which would remove every membership it has elsewhere.
#[tokio::test]
async fn a_group_without_its_members_list_fails_the_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1",
            "refresh_token": "rt-1",
            "user_id": "ADMIN00000000000000001",
            "tenant": "acme",
            "role": "admin",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/v0/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "G1", "name": "Readers", "members": [{"id": "U1", "email": "ada@example.com"}]},
            {"id": "G5", "name": "Garbled"}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/v0/acme/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": "U1", "email": "ada@example.com", "role": "user"},
            {"id": "U9", "full_name": "No Address", "role": "user"}
        ]})))
        .mount(&server)
        .await;
    let settings = json!({"cluster_url": server.uri(), "tenant": "acme", "refresh_token": "rt-1"});
    let sq = SquirroAdapter::connect(&AdapterConfig::new("sq", settings))
        .await
        .expect("connects");
    let err = sq.list_all_members().await.expect_err("garbled group");
    assert_eq!(err.kind(), idbridge_core::ErrorKind::Protocol);
    assert!(
        err.message().contains("group `G5`") && err.message().contains("`members` is missing"),
        "{}",
        err.message()
    );
    // A user without an e-mail address (its login) is refused too, never named by its id.
    use idbridge_core::{PageRequest, Users};
    let err = sq
        .list_users(PageRequest::first())
        .await
        .expect_err("a user without a login");
    assert!(
        err.message()
            .contains("Squirro answered GET /users with user `U9` whose `email` is missing"),
        "{}",
        err.message()
    );
}

/// A user listed without its server role fails the grant read: every Squirro user has
/// one, and reading it as "no role" would revoke the grant everywhere.
#[tokio::test]
async fn a_user_without_a_server_role_fails_the_grant_read() {
    use idbridge_core::{GrantFilter, PageRequest, Roles, Scope};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1",
            "refresh_token": "rt-1",
            "user_id": "ADMIN00000000000000001",
            "tenant": "acme",
            "role": "admin",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/v0/acme/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": "U1", "email": "ada@example.com", "role": "user"},
            {"id": "U2", "email": "bob@example.com"}
        ]})))
        .mount(&server)
        .await;
    let settings = json!({"cluster_url": server.uri(), "tenant": "acme", "refresh_token": "rt-1"});
    let sq = SquirroAdapter::connect(&AdapterConfig::new("sq", settings))
        .await
        .expect("connects");
    let filter = GrantFilter {
        scope: Some(Scope::Global),
        ..GrantFilter::default()
    };
    let err = sq
        .list_grants(&filter, PageRequest::first())
        .await
        .expect_err("a user without a role");
    assert!(
        err.message().contains("user `U2` whose `role` is missing"),
        "{}",
        err.message()
    );
}
