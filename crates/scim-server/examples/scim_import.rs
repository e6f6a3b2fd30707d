//! Benchmark: an identity provider's first import into the SCIM server, as Okta sends it
//! (a `userName eq` lookup with `count=100`, then a create with a password, one user after
//! the other), over loopback HTTP into a SQLite state; then lookups and a full page at that
//! size. Prints figures; asserts nothing about time.
//!
//! `cargo run --release -p idbridge-scim-server --example scim_import -- [USERS]`
//! (default 2000).

use std::time::{Duration, Instant};

use idbridge_core::Secret;
use idbridge_scim_server::{ServeConfig, serve};
use serde_json::json;

const TOKEN: &str = "bench-token-0d81";

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let total: Duration = times.iter().sum();
    println!(
        "{what:<34} n={:<6} p50={:>8.2?} p99={:>8.2?} max={:>8.2?} rate={:>8.1}/s",
        times.len(),
        pct(&times, 0.5),
        pct(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        times.len() as f64 / total.as_secs_f64().max(f64::EPSILON)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(2000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let store = idbridge_store::Store::open(&dir.path().join("state.db"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/scim/v2", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        ServeConfig::new(vec![Secret::new(TOKEN)]),
        store,
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    let (mut lookups, mut creates) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let started = Instant::now();
    for i in 0..n {
        let name = format!("user{i}@example.com");
        let t = Instant::now();
        let found = http
            .get(format!("{base}/Users"))
            .query(&[
                ("filter", format!("userName eq \"{name}\"")),
                ("startIndex", "1".into()),
                ("count", "100".into()),
            ])
            .bearer_auth(TOKEN)
            .send()
            .await?;
        assert!(found.status().is_success());
        lookups.push(t.elapsed());
        let t = Instant::now();
        let created = http
            .post(format!("{base}/Users"))
            .bearer_auth(TOKEN)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "name": {"givenName": "Test", "familyName": format!("User {i}")},
                "emails": [{"primary": true, "value": name, "type": "work"}],
                "displayName": format!("Test User {i}"),
                "externalId": format!("00u{i:017}"),
                "password": "1mz050nq",
                "active": true
            }))
            .send()
            .await?;
        assert_eq!(created.status().as_u16(), 201);
        creates.push(t.elapsed());
    }
    let import = started.elapsed();
    println!("import of {n} users (lookup + create each): {import:.2?}");
    report("lookup before create (userName eq)", lookups);
    report("create (durable before the answer)", creates);
    let mut at_size = Vec::new();
    for i in (0..n).step_by((n / 200).max(1)) {
        let t = Instant::now();
        http.get(format!("{base}/Users"))
            .query(&[("filter", format!("userName eq \"user{i}@example.com\""))])
            .bearer_auth(TOKEN)
            .send()
            .await?
            .bytes()
            .await?;
        at_size.push(t.elapsed());
    }
    report(&format!("lookup at {n} users"), at_size);
    let mut pages = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        http.get(format!("{base}/Users?startIndex=1&count=100"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .bytes()
            .await?;
        pages.push(t.elapsed());
    }
    report(&format!("page of 100 at {n} users"), pages);
    let _ = stop.send(());
    server.await??;
    Ok(())
}
