//! Differential test: the same request sequence (Okta- and Entra-shaped writes, in their
//! RFC 7644 forms) sent to this server and to scim2-server (PyPI, pinned in
//! `adapters/scim/tests/fidelity/requirements.txt`, an independent service provider
//! started on loopback) answers with the same status classes and leaves the same users
//! and groups behind.
//!
//! Without the interpreter or scim2-server the test is skipped with the reason, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`.

#[path = "server/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, HashMap};

use idbridge_testkit::peer::{ScimPeerOptions, scim_peer_for_test};
use reqwest::Method;
use serde_json::{Value, json};

use support::{Server, TOKEN};

const PEER_TOKEN: &str = "scim2-server-differential-token";

/// One side: a base URL, a token, and the ids its server gave each named resource.
struct Side {
    base: String,
    token: &'static str,
    ids: HashMap<String, String>,
}

impl Side {
    /// `{name}` placeholders replaced with the ids this side's server gave them.
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, id) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), id);
        }
        out
    }

    async fn send(&mut self, http: &reqwest::Client, step: &Step) -> (u16, Value) {
        let mut req = http
            .request(
                step.method.clone(),
                format!("{}{}", self.base, self.fill(step.path)),
            )
            .bearer_auth(self.token);
        if let Some(body) = &step.body {
            req = req
                .header("content-type", "application/scim+json")
                .body(self.fill(&body.to_string()));
        }
        let resp = req.send().await.expect("answers");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if let (Some(name), Some(id)) = (step.names, body["id"].as_str()) {
            self.ids.insert(name.to_string(), id.to_string());
        }
        (status, body)
    }

    /// Every resource of `endpoint`, keyed by its natural name, reduced to what both
    /// servers must agree on, with member ids read back as names.
    async fn state(&self, http: &reqwest::Client, endpoint: &str) -> BTreeMap<String, Value> {
        let list: Value = http
            .get(format!("{}/{endpoint}?count=1000", self.base))
            .bearer_auth(self.token)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("a list");
        let names: HashMap<&str, &str> = self
            .ids
            .iter()
            .map(|(n, id)| (id.as_str(), n.as_str()))
            .collect();
        let mut out = BTreeMap::new();
        for r in list["Resources"].as_array().cloned().unwrap_or_default() {
            let key = r["userName"]
                .as_str()
                .or(r["displayName"].as_str())
                .unwrap_or("")
                .to_string();
            let mut kept = serde_json::Map::new();
            for attr in [
                "userName",
                "displayName",
                "externalId",
                "active",
                "title",
                "name",
                "emails",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ] {
                if let Some(v) = r.get(attr).filter(|v| !v.is_null()) {
                    kept.insert(attr.to_string(), v.clone());
                }
            }
            let mut members: Vec<String> = r["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|m| m["value"].as_str())
                        .map(|id| names.get(id).copied().unwrap_or(id).to_string())
                        .collect()
                })
                .unwrap_or_default();
            members.sort();
            if !members.is_empty() {
                kept.insert("members".into(), json!(members));
            }
            out.insert(key, Value::Object(kept));
        }
        out
    }
}

struct Step {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// The name the created resource is known by in later steps.
    names: Option<&'static str>,
}

fn step(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    names: Option<&'static str>,
) -> Step {
    Step {
        method,
        path,
        body,
        names,
    }
}

fn user(name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "externalId": format!("ext-{name}"),
        "active": true
    })
}

fn patch(ops: Value) -> Option<Value> {
    Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
}

fn sequence() -> Vec<Step> {
    use Method as M;
    vec![
        step(
            M::GET,
            "/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100",
            None,
            None,
        ),
        step(
            M::POST,
            "/Users",
            Some(user("ada@example.com", "Ada", "Lovelace")),
            Some("ada"),
        ),
        step(
            M::POST,
            "/Users",
            Some(user("bob@example.com", "Bob", "Builder")),
            Some("bob"),
        ),
        step(
            M::POST,
            "/Users",
            Some(user("cy@example.com", "Cy", "Young")),
            Some("cy"),
        ),
        step(
            M::POST,
            "/Users",
            Some(user("ADA@example.com", "Dup", "Licate")),
            None,
        ),
        step(
            M::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": [{"value": "{ada}"}, {"value": "{bob}"}]}),
            ),
            Some("eng"),
        ),
        step(
            M::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales", "externalId": "ext-sales"}),
            ),
            Some("sales"),
        ),
        // Okta: a profile update with PUT.
        step(
            M::PUT,
            "/Users/{bob}",
            Some({
                let mut u = user("bob@example.com", "Robert", "Builder");
                u["title"] = json!("Foreman");
                u
            }),
            None,
        ),
        // Okta: deactivation with a path-less replace.
        step(
            M::PATCH,
            "/Users/{cy}",
            patch(json!([{"op": "replace", "value": {"active": false}}])),
            None,
        ),
        // Entra: a work address and a family name replaced through paths.
        step(
            M::PATCH,
            "/Users/{ada}",
            patch(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@lovelace.example"},
                {"op": "replace", "path": "name.familyName", "value": "King"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}
            ])),
            None,
        ),
        // Entra: members added, removed by a value filter, a group renamed.
        step(
            M::PATCH,
            "/Groups/{sales}",
            patch(
                json!([{"op": "add", "path": "members", "value": [{"value": "{cy}"}, {"value": "{ada}"}]}]),
            ),
            None,
        ),
        step(
            M::PATCH,
            "/Groups/{eng}",
            patch(json!([{"op": "remove", "path": "members[value eq \"{bob}\"]"}])),
            None,
        ),
        step(
            M::PATCH,
            "/Groups/{sales}",
            patch(json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}])),
            None,
        ),
        step(
            M::GET,
            "/Groups?filter=displayName%20eq%20%22Sales%20EMEA%22&excludedAttributes=members",
            None,
            None,
        ),
        step(
            M::GET,
            "/Users?filter=externalId%20eq%20%22ext-cy%40example.com%22",
            None,
            None,
        ),
        step(M::DELETE, "/Groups/{eng}", None, None),
        step(M::GET, "/Groups/{eng}", None, None),
        // Not sent: deleting a user who is a group member. This server also removes the
        // user from its groups (no member may name a missing resource); scim2-server keeps
        // the dangling member. `tests/server/resources.rs` covers the removal.
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_requests_leave_the_same_resources() {
    let Some(peer) = scim_peer_for_test(
        "same_requests_leave_the_same_resources",
        &ScimPeerOptions::new(PEER_TOKEN),
    ) else {
        return;
    };
    let ours = Server::start().await;
    let http = reqwest::Client::new();
    let mut a = Side {
        base: ours.base.clone(),
        token: TOKEN,
        ids: HashMap::new(),
    };
    let mut b = Side {
        base: peer.base_url(),
        token: PEER_TOKEN,
        ids: HashMap::new(),
    };
    for (i, s) in sequence().iter().enumerate() {
        let (sa, ba) = a.send(&http, s).await;
        let (sb, bb) = b.send(&http, s).await;
        assert_eq!(
            sa / 100,
            sb / 100,
            "step {i} {} {}: idbridge answered {sa} {ba}, scim2-server {sb} {bb}",
            s.method,
            s.path
        );
        if s.method == Method::GET && sa == 200 {
            assert_eq!(
                ba["totalResults"], bb["totalResults"],
                "step {i} {}",
                s.path
            );
        }
    }
    for endpoint in ["Users", "Groups"] {
        let (sa, sb) = (
            a.state(&http, endpoint).await,
            b.state(&http, endpoint).await,
        );
        assert_eq!(
            sa, sb,
            "{endpoint}: idbridge (left) and scim2-server (right) differ"
        );
        assert!(!sa.is_empty());
        println!(
            "{endpoint}: {}",
            serde_json::to_string(&sa).unwrap_or_default()
        );
    }
}
