//! Wire tests of the read paths: every membership comes from one user listing.

use idbridge_core::{AdapterConfig, Membership, Memberships, Principal};
use idbridge_dataiku::DataikuAdapter;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = "/dip/publicapi";

#[tokio::test]
async fn all_memberships_are_one_user_listing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{ROOT}/auth/info")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"authIdentifier": "admin"})))
        .mount(&server)
        .await;
    // The only other request the adapter may send: no group reads, no per-user reads.
    Mock::given(method("GET"))
        .and(path(format!("{ROOT}/admin/users/")))
        .and(query_param("includeSettings", "false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"login": "bob", "groups": ["readers", "writers"]},
            {"login": "ada", "groups": ["readers", "readers"]},
            {"login": "eve", "groups": []}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let settings = json!({"base_url": server.uri(), "api_key": "k", "bulk": "off"});
    let dss = DataikuAdapter::connect(AdapterConfig::new("dss", settings))
        .await
        .expect("connects");
    let all = dss.list_all_members().await.expect("lists");
    let m = |g: &str, u: &str| Membership {
        group: g.to_string(),
        member: Principal::User(u.to_string()),
    };
    assert_eq!(
        all,
        vec![
            m("readers", "ada"),
            m("readers", "bob"),
            m("writers", "bob")
        ]
    );
    let received = server.received_requests().await.expect("recorded");
    let reads: Vec<String> = received.iter().map(|r| r.url.path().to_string()).collect();
    assert_eq!(
        reads,
        vec![format!("{ROOT}/auth/info"), format!("{ROOT}/admin/users/")]
    );
}

/// A listed user without its `groups` list, or without a login, fails the read: it is
/// never taken to be in no group (which would remove its memberships everywhere).
#[tokio::test]
async fn a_listed_user_without_groups_or_login_fails_the_read() {
    for (item, field) in [
        (json!({"login": "old"}), "groups"),
        (json!({"login": "old", "groups": "readers"}), "groups"),
        (json!({"groups": ["no-login"]}), "login"),
        (json!({"login": 4, "groups": []}), "login"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{ROOT}/auth/info")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"authIdentifier": "admin"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{ROOT}/admin/users/")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"login": "bob", "groups": ["readers"]},
                item.clone()
            ])))
            .mount(&server)
            .await;
        let settings = json!({"base_url": server.uri(), "api_key": "k", "bulk": "off"});
        let dss = DataikuAdapter::connect(AdapterConfig::new("dss", settings))
            .await
            .expect("connects");
        let err = dss.list_all_members().await.expect_err(&item.to_string());
        assert_eq!(err.kind(), idbridge_core::ErrorKind::Protocol);
        let m = err.message();
        assert!(
            m.contains("DSS")
                && m.contains("GET /admin/users/")
                && m.contains(&format!("`{field}`")),
            "{item}: {m}"
        );
    }
}

/// A project permission entry naming neither a group nor a user, or holding a role's
/// flag as text, fails the grant read: it is never skipped (which would revoke the grant
/// everywhere) nor read as "not held".
#[tokio::test]
async fn a_garbled_project_permission_entry_fails_the_grant_read() {
    use idbridge_core::{GrantFilter, PageRequest, Roles};
    for (entry, field) in [
        (
            json!({"readProjectContent": true, "readDashboards": true}),
            "group` or `user",
        ),
        (
            json!({"group": "readers", "readProjectContent": "true", "readDashboards": true}),
            "readProjectContent",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{ROOT}/auth/info")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"authIdentifier": "admin"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{ROOT}/projects/")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"projectKey": "SALES", "name": "Sales"}])),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{ROOT}/projects/SALES/permissions")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "owner": "admin",
                "permissions": [{"group": "writers", "readProjectContent": true}, entry.clone()]
            })))
            .mount(&server)
            .await;
        let settings = json!({"base_url": server.uri(), "api_key": "k", "bulk": "off"});
        let dss = DataikuAdapter::connect(AdapterConfig::new("dss", settings))
            .await
            .expect("connects");
        let filter = GrantFilter {
            scope: Some(idbridge_core::Scope::Project("SALES".into())),
            ..GrantFilter::default()
        };
        let err = dss
            .list_grants(&filter, PageRequest::first())
            .await
            .expect_err(&entry.to_string());
        let m = err.message();
        assert!(
            m.contains("DSS answered GET /projects/SALES/permissions")
                && m.contains(&format!("`{field}`")),
            "{entry}: {m}"
        );
    }
}
