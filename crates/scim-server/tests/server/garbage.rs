//! Whatever a client sends, the server answers with a SCIM status below 500 (or 413 for
//! what is too big) and keeps serving: malformed JSON, wrong types, hostile filters and
//! paths, deep nesting.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, TOKEN, answer};

/// A small deterministic generator (no seed from the clock: a failure replays).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
}

const WORDS: &[&str] = &[
    "userName",
    "members",
    "active",
    "emails[type eq \"work\"].value",
    "name.givenName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "meta",
    "id",
    "schemas",
    "\u{0}",
    "😀",
    "[",
    "]",
    "\"",
    "eq",
    "or",
    "not(",
    ")",
    "pr",
    "members[value eq \"x\"]",
    "groups",
    "password",
    "bulkId:x",
    "",
];

fn value(g: &mut Lcg, depth: u32) -> Value {
    match g.next() % if depth > 3 { 5 } else { 8 } {
        0 => Value::Null,
        1 => json!(g.next() % 2 == 0),
        2 => json!(g.next() as i64 - (1 << 30)),
        3 => json!(1e308 * if g.next() % 2 == 0 { 1.0 } else { -1.0 }),
        4 => json!(g.pick(WORDS)),
        5 => Value::Array((0..g.next() % 4).map(|_| value(g, depth + 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..g.next() % 5 {
                m.insert((*g.pick(WORDS)).to_string(), value(g, depth + 1));
            }
            if g.next() % 2 == 0 {
                m.insert(
                    "op".into(),
                    json!(g.pick(&["add", "Remove", "replace", "x"])),
                );
                m.insert("path".into(), json!(g.pick(WORDS)));
            }
            Value::Object(m)
        }
    }
}

fn body(g: &mut Lcg) -> Vec<u8> {
    let text = match g.next() % 6 {
        0 => {
            json!({"Operations": [value(g, 0), value(g, 0)], "schemas": [value(g, 1)]}).to_string()
        }
        1 => json!({"userName": value(g, 1), "members": value(g, 1), "displayName": value(g, 1)})
            .to_string(),
        2 => {
            // Cut anywhere, in the middle of a character too.
            let mut t = value(g, 0).to_string().into_bytes();
            t.truncate((g.next() as usize) % (t.len() + 1));
            return t;
        }
        3 => "[".repeat(5000),
        4 => json!({"Operations": [{"method": g.pick(&["POST", "PATCH", "DELETE", "GET"]),
                    "path": g.pick(&["/Users", "/Groups/bulkId:a", "/Nope", "", "/Users/x/y"]),
                    "bulkId": value(g, 1), "data": value(g, 0)}], "failOnErrors": value(g, 2)})
        .to_string(),
        _ => value(g, 0).to_string(),
    };
    text.into_bytes()
}

#[tokio::test]
async fn no_request_makes_the_server_fail() {
    let s = Server::start().await;
    let uid = s.user("anchor").await;
    let g = s
        .post(
            "/Groups",
            json!({"displayName": "anchor", "members": [{"value": uid}]}),
        )
        .await;
    let gid = g.body["id"].as_str().expect("id").to_string();
    let mut rng = Lcg(0x5c1a_2026);
    let paths = [
        "/Users".to_string(),
        format!("/Users/{uid}"),
        "/Groups".to_string(),
        format!("/Groups/{gid}"),
        "/Bulk".to_string(),
        "/.search".to_string(),
        "/Users/.search".to_string(),
        "/Users/%00".to_string(),
        "/Schemas/%FF".to_string(),
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for round in 0..1500 {
        let method = rng.pick(&methods).clone();
        let mut path = rng.pick(&paths).clone();
        if method == Method::GET && rng.next() % 2 == 0 {
            let filter: String = (0..rng.next() % 6)
                .map(|_| *rng.pick(WORDS))
                .collect::<Vec<_>>()
                .join(" ");
            path.push_str("?filter=");
            path.push_str(
                &filter
                    .replace('%', "%25")
                    .replace('&', "%26")
                    .replace('#', "%23"),
            );
            let extra = *rng.pick(&[
                "",
                "&sortBy=emails",
                "&count=99999999999999999999",
                "&startIndex=-5",
                "&attributes=[,]",
            ]);
            path.push_str(extra);
        }
        let b = body(&mut rng);
        let a = answer(
            s.http
                .request(method.clone(), s.url(&path))
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json")
                .body(b.clone()),
        )
        .await;
        assert!(
            a.status.as_u16() < 500,
            "round {round}: {method} {path} with {} got {}: {:?}",
            String::from_utf8_lossy(&b),
            a.status,
            a.body
        );
        if !a.status.is_success() && a.status != StatusCode::NOT_MODIFIED {
            assert!(a.body["detail"].is_string(), "round {round}: {:?}", a.body);
        }
    }
    // Still serving, and the anchor user is still readable (whatever was deleted or changed).
    assert_eq!(s.get("/ServiceProviderConfig").await.status, StatusCode::OK);
}
