//! Project permission entries: a new entry carries only flag names the server returned on
//! the project's other entries or the official client documents, and a permissions write
//! the server accepted but did not apply fails the grant instead of reporting success.

use idbridge_core::{AdapterConfig, ErrorKind, Grant, Principal, Roles, Scope, registry};
use idbridge_dataiku::DataikuAdapter;
use idbridge_dataiku::emulator::{DEFAULT_API_KEY, DEFAULT_PROJECT_KEY, start};
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn grant(role: &str, principal: Principal, project: &str) -> Grant {
    Grant {
        role: role.into(),
        principal,
        scope: Scope::Project(project.into()),
    }
}

#[tokio::test]
async fn a_new_entry_copies_the_flag_names_of_the_projects_entries() {
    let e = start(EmulatorOptions::default()).await.expect("starts");
    let h = registry::build_adapter("dataiku", e.adapter_config("dss"))
        .await
        .expect("connects");
    h.grant(&grant(
        "reader",
        Principal::Group("readers".into()),
        DEFAULT_PROJECT_KEY,
    ))
    .await
    .expect("granted");
    let doc: Value = reqwest::Client::new()
        .get(format!(
            "{}/dip/publicapi/projects/{DEFAULT_PROJECT_KEY}/permissions",
            e.base_url
        ))
        .basic_auth(DEFAULT_API_KEY, Some(""))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let entries = doc["permissions"].as_array().expect("entries");
    let names = |entry: &Value| -> Vec<String> {
        let mut k: Vec<String> = entry.as_object().expect("object").keys().cloned().collect();
        k.retain(|k| k != "group" && k != "user");
        k.sort();
        k
    };
    let seeded = entries
        .iter()
        .find(|x| x["group"] == "data_team")
        .expect("seeded entry");
    let new = entries
        .iter()
        .find(|x| x["group"] == "readers")
        .expect("new entry");
    assert_eq!(names(new), names(seeded));
    assert_eq!(new["readProjectContent"], true);
    assert_eq!(new["readDashboards"], true);
    assert_eq!(new["writeProjectContent"], false);
    for invented in ["editPermissions", "publishToDataCollections"] {
        assert!(new.get(invented).is_none(), "{invented} in {new}");
    }
}

#[tokio::test]
async fn a_grant_the_server_did_not_apply_fails() {
    let server = MockServer::start().await;
    let root = "/dip/publicapi";
    let answer = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("{root}/auth/info")))
        .respond_with(answer(json!({"authIdentifier": "admin"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{root}/projects/")))
        .respond_with(answer(json!([{"projectKey": "P", "name": "P"}])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{root}/admin/groups/g")))
        .respond_with(answer(json!({"name": "g", "admin": false})))
        .mount(&server)
        .await;
    // The server accepts the document but keeps its old one.
    Mock::given(method("GET"))
        .and(path(format!("{root}/projects/P/permissions")))
        .respond_with(answer(
            json!({"owner": "admin", "permissions": [{"group": "g", "readDashboards": false}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{root}/projects/P/permissions")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let a = DataikuAdapter::connect(AdapterConfig::new(
        "dss",
        json!({"base_url": server.uri(), "api_key": "k"}),
    ))
    .await
    .expect("connects");
    let e = a
        .grant(&grant("viewer", Principal::Group("g".into()), "P"))
        .await
        .expect_err("not applied");
    assert_eq!(e.kind(), ErrorKind::Protocol);
    let text = e.to_string();
    assert!(
        text.contains("did not apply") && text.contains("readDashboards"),
        "{text}"
    );
}
