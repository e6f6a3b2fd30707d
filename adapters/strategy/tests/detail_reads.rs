//! The reads of single users a listing makes for their e-mail addresses (`list_details`):
//! as many in flight as `list_details_concurrency` says, never more, in the listing's order.
//!
//! The server holds each read until the expected number has arrived, so the number is
//! proved without timing anything: too few in flight and the reads wait for company that
//! never comes (each gives up after a while and is counted), too many and the peak shows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use idbridge_core::{AdapterConfig, AdapterExt};
use idbridge_strategy::StrategyAdapter;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const EVERYONE_MEMBERS: &str =
    "/MicroStrategyLibrary/api/usergroups/C82C6B1011D2894CC0009D9F29718E4F/members";

/// How long a read waits for the others of its group before it answers alone. Only a
/// failing run waits this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

struct Gate {
    users: Vec<String>,
    group: Barrier,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    alone: AtomicUsize,
    reads: AtomicUsize,
}

fn user_id(i: usize) -> String {
    format!("{:032X}", 0xA000 + i)
}

async fn login() -> impl IntoResponse {
    (StatusCode::NO_CONTENT, [("X-MSTR-AuthToken", "tok")])
}

async fn user_info() -> impl IntoResponse {
    axum::Json(json!({"id": "1111111111111111111111111111111A", "fullName": "Administrator"}))
}

/// One page holds everyone, and its total says so.
async fn members(State(gate): State<Arc<Gate>>) -> impl IntoResponse {
    let entries: Vec<Value> = gate
        .users
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"id": id, "name": format!("User {i}"), "abbreviation": format!("user{i}"),
                   "username": format!("user{i}"), "fullName": format!("User {i}"),
                   "enabled": true, "type": 34, "subtype": 8704})
        })
        .collect();
    (
        [("X-MSTR-Total-Count", entries.len().to_string())],
        axum::Json(Value::from(entries)),
    )
}

async fn one_user(State(gate): State<Arc<Gate>>, Path(id): Path<String>) -> impl IntoResponse {
    let now = gate.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    gate.peak.fetch_max(now, Ordering::SeqCst);
    gate.reads.fetch_add(1, Ordering::SeqCst);
    if tokio::time::timeout(GIVE_UP_AFTER, gate.group.wait())
        .await
        .is_err()
    {
        gate.alone.fetch_add(1, Ordering::SeqCst);
    }
    gate.in_flight.fetch_sub(1, Ordering::SeqCst);
    let i = gate
        .users
        .iter()
        .position(|u| *u == id)
        .unwrap_or(usize::MAX);
    axum::Json(json!({
        "id": id, "name": format!("User {i}"), "abbreviation": format!("user{i}"),
        "username": format!("user{i}"), "fullName": format!("User {i}"), "enabled": true,
        "type": 34, "subtype": 8704, "defaultEmailAddress": format!("user{i}@example.com"),
    }))
}

/// Lists `groups * concurrency` users with `list_details_concurrency = concurrency` and
/// returns the gate's counts.
async fn list_through_gate(concurrency: usize, groups: usize) -> Arc<Gate> {
    let gate = Arc::new(Gate {
        users: (0..groups * concurrency).map(user_id).collect(),
        group: Barrier::new(concurrency),
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        alone: AtomicUsize::new(0),
        reads: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/MicroStrategyLibrary/api/auth/login", post(login))
        .route(
            "/MicroStrategyLibrary/api/auth/logout",
            post(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            "/MicroStrategyLibrary/api/sessions/userInfo",
            get(user_info),
        )
        .route(EVERYONE_MEMBERS, get(members))
        .route("/MicroStrategyLibrary/api/users/{id}", get(one_user))
        .with_state(gate.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let adapter = StrategyAdapter::connect(AdapterConfig::new(
        "bi",
        json!({"base_url": format!("http://{addr}/MicroStrategyLibrary"),
               "username": "administrator", "password": "pw",
               "list_details_concurrency": concurrency}),
    ))
    .await
    .expect("connects");
    let users = adapter.all_users().await.expect("lists");
    let want: Vec<(String, Option<String>)> = (0..gate.users.len())
        .map(|i| (format!("user{i}"), Some(format!("user{i}@example.com"))))
        .collect();
    let got: Vec<(String, Option<String>)> =
        users.into_iter().map(|u| (u.login, u.email)).collect();
    assert_eq!(got, want, "every user read in full, in the listing's order");
    idbridge_core::Adapter::close(&adapter)
        .await
        .expect("logs out");
    server.abort();
    gate
}

/// Lists through the gate and checks that exactly `concurrency` reads were in flight at
/// once, every read keeping company, and each listed user read once.
async fn assert_reads_in_flight(concurrency: usize, groups: usize) {
    let gate = list_through_gate(concurrency, groups).await;
    assert_eq!(gate.reads.load(Ordering::SeqCst), concurrency * groups);
    assert_eq!(
        gate.peak.load(Ordering::SeqCst),
        concurrency,
        "reads in flight at once"
    );
    assert_eq!(
        gate.alone.load(Ordering::SeqCst),
        0,
        "reads that waited in vain for company"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fewer_reads_in_flight_than_the_default_when_asked() {
    assert_reads_in_flight(3, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_reads_in_flight_than_the_default_when_asked() {
    assert_reads_in_flight(12, 2).await;
}
