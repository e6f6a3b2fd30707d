//! Listing and searching: filters, sorting, paging, projection; and discovery.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::Server;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn people(s: &Server) {
    for (name, title, active, given) in [
        ("carol", "Engineer", true, "Carol"),
        ("alice", "Manager", true, "Alice"),
        ("bob", "Engineer", false, "Bob"),
        ("dave", "Designer", true, "Dave"),
    ] {
        let a = s
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": name, "title": title, "active": active,
                       "name": {"givenName": given},
                       "emails": [{"value": format!("{name}@example.com"), "type": "work"}]}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    }
}

#[tokio::test]
async fn filters_select_with_the_full_grammar() {
    let s = Server::start().await;
    people(&s).await;
    for (filter, want) in [
        (r#"userName eq "ALICE""#, vec!["alice"]),
        (r#"userName eq "carol" and title eq "Manager""#, vec![]),
        (
            r#"title eq "Engineer" and userName eq "Carol""#,
            vec!["carol"],
        ),
        (r#"userName eq "nobody""#, vec![]),
        (r#"title eq "Engineer" and active eq true"#, vec!["carol"]),
        (
            r#"title eq "Designer" or userName sw "b""#,
            vec!["bob", "dave"],
        ),
        (r#"not (title eq "Engineer")"#, vec!["alice", "dave"]),
        (
            r#"emails[type eq "work" and value co "car"]"#,
            vec!["carol"],
        ),
        (
            r#"name.givenName ew "E" and not (userName eq "dave")"#,
            vec!["alice"],
        ),
        (r#"userName gt "bob""#, vec!["carol", "dave"]),
        (r#"title pr"#, vec!["carol", "alice", "bob", "dave"]),
        (r#"userName ne "carol""#, vec!["alice", "bob", "dave"]),
        (
            r#"meta.resourceType eq "User" and userName le "b""#,
            vec!["alice"],
        ),
    ] {
        let a = s.get(&format!("/Users?filter={}", urlencode(filter))).await;
        assert_eq!(a.status, StatusCode::OK, "{filter}: {:?}", a.body);
        assert_eq!(names(&a.body), want, "{filter}");
        assert_eq!(a.body["totalResults"], json!(want.len()));
    }
    let bad = s
        .get(&format!("/Users?filter={}", urlencode("userName eq")))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["scimType"], "invalidFilter");
    let bad = s
        .get(&format!("/Users?filter={}", urlencode("active gt true")))
        .await;
    assert_eq!(bad.body["scimType"], "invalidFilter");
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn sorting_is_stable_and_pages_are_one_based() {
    let s = Server::start().await;
    people(&s).await;
    let a = s.get("/Users?sortBy=userName").await;
    assert_eq!(names(&a.body), ["alice", "bob", "carol", "dave"]);
    let a = s.get("/Users?sortBy=userName&sortOrder=descending").await;
    assert_eq!(names(&a.body), ["dave", "carol", "bob", "alice"]);
    // Equal keys keep the creation order.
    let a = s.get("/Users?sortBy=title").await;
    assert_eq!(names(&a.body), ["dave", "carol", "bob", "alice"]);
    // Without sortBy: creation order, the same on every page.
    let p1 = s.get("/Users?startIndex=1&count=2").await.body;
    let p2 = s.get("/Users?startIndex=3&count=2").await.body;
    assert_eq!(names(&p1), ["carol", "alice"]);
    assert_eq!(names(&p2), ["bob", "dave"]);
    assert_eq!(
        (
            p1["totalResults"].clone(),
            p1["itemsPerPage"].clone(),
            p1["startIndex"].clone()
        ),
        (json!(4), json!(2), json!(1))
    );
    assert_eq!(p2["startIndex"], 3);
    let past = s.get("/Users?startIndex=9&count=2").await.body;
    assert_eq!(
        (past["totalResults"].clone(), past["itemsPerPage"].clone()),
        (json!(4), json!(0))
    );
    // Below 1 reads as 1; a negative count as 0.
    assert_eq!(
        names(&s.get("/Users?startIndex=0&count=1").await.body),
        ["carol"]
    );
    assert_eq!(s.get("/Users?count=-3").await.body["itemsPerPage"], 0);
    let a = s.get("/Users?count=x").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = s.get("/Users?sortBy=userName&sortOrder=sideways").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_the_answer() {
    let s = Server::start().await;
    people(&s).await;
    let a = s
        .get("/Users?attributes=userName,name.givenName&filter=userName%20eq%20%22bob%22")
        .await;
    let r = &a.body["Resources"][0];
    let mut keys: Vec<&str> = r
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "name", "schemas", "userName"], "{r}");
    assert_eq!(r["name"], json!({"givenName": "Bob"}));
    let a = s.get("/Users?excludedAttributes=emails,name,id").await;
    let r = &a.body["Resources"][0];
    assert!(r.get("emails").is_none() && r.get("name").is_none());
    assert!(r.get("id").is_some(), "id is always returned");
    assert!(r.get("userName").is_some());
    let a = s.get("/Users?attributes=emails.value").await;
    assert_eq!(
        a.body["Resources"][0]["emails"],
        json!([{"value": "carol@example.com"}])
    );
}

#[tokio::test]
async fn post_search_at_the_root_and_per_type() {
    let s = Server::start().await;
    people(&s).await;
    let g = s
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "alpha"}))
        .await;
    assert_eq!(g.status, StatusCode::CREATED);
    let req = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "title eq \"Engineer\"",
        "attributes": ["userName"],
        "sortBy": "userName",
        "startIndex": 1,
        "count": 10
    });
    let a = s.post("/Users/.search", req.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(names(&a.body), ["bob", "carol"]);
    assert!(a.body["Resources"][0].get("title").is_none());
    let all = s
        .post(
            "/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "meta.resourceType eq \"Group\" or userName eq \"dave\""}),
        )
        .await;
    assert_eq!(all.body["totalResults"], 2, "{:?}", all.body);
    let g = s
        .post(
            "/Groups/.search",
            json!({"filter": "displayName sw \"al\""}),
        )
        .await;
    assert_eq!(g.body["Resources"][0]["displayName"], "alpha");
}

#[tokio::test]
async fn discovery_documents_describe_the_server() {
    let s = Server::start().await;
    let sp = s.get("/ServiceProviderConfig").await;
    assert_eq!(sp.status, StatusCode::OK);
    for feature in ["patch", "bulk", "filter", "sort", "etag"] {
        assert_eq!(sp.body[feature]["supported"], true, "{feature}");
    }
    assert_eq!(sp.body["bulk"]["maxOperations"], 1000);
    assert_eq!(sp.body["filter"]["maxResults"], 1000);
    assert_eq!(
        sp.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let rt = s.get("/ResourceTypes").await.body;
    assert_eq!(rt["totalResults"], 2);
    let user = s.get("/ResourceTypes/User").await;
    assert_eq!(user.body["endpoint"], "/Users");
    assert_eq!(
        s.get("/ResourceTypes/Nope").await.status,
        StatusCode::NOT_FOUND
    );
    let schemas = s.get("/Schemas").await.body;
    assert_eq!(schemas["totalResults"], 3);
    let one = s.get(&format!("/Schemas/{USER}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["id"], USER);
}
