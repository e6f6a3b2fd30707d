//! Planning cost at scale: builds a synthetic source and target in memory and plans
//! (no I/O). Ignored by default; run with
//! `cargo test -p idbridge-sync --release --test scale -- --ignored --nocapture`
//! (set `IDBRIDGE_SCALE_USERS`, default 100000). Prints figures; asserts behaviour only.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use idbridge_core::{Capabilities, Group, Principal, Protected, User};
use idbridge_store::{Link, LinkKind};
use idbridge_sync::TargetSettings;
use idbridge_sync::planner::{SourceIndex, TargetInput, plan_target};
use idbridge_sync::state::{Effective, SourceState, TargetState};

fn caps(nested: bool) -> Capabilities {
    Capabilities {
        users_list: true,
        users_create: true,
        users_update: true,
        users_set_enabled: true,
        users_delete: true,
        groups_list: true,
        groups_create: true,
        groups_update: true,
        groups_description: true,
        groups_delete: true,
        members_list: true,
        members_add: true,
        members_remove: true,
        members_nested: nested,
        ..Capabilities::default()
    }
}

fn source(users: usize, groups: usize, per_user: usize) -> SourceState {
    let users_v: Vec<User> = (0..users)
        .map(|i| User {
            id: format!("s{i}"),
            login: format!("user.{i}"),
            email: Some(format!("user.{i}@example.com")),
            display_name: Some(format!("User {i}")),
            enabled: true,
            attributes: BTreeMap::new(),
        })
        .collect();
    let groups_v: Vec<Group> = (0..groups)
        .map(|g| Group {
            id: format!("g{g}"),
            name: format!("group-{g}"),
            description: None,
        })
        .collect();
    let mut members: HashMap<String, Vec<Principal>> = HashMap::new();
    for i in 0..users {
        for k in 0..per_user {
            let g = (i * 7 + k * 131) % groups;
            members
                .entry(format!("g{g}"))
                .or_default()
                .push(Principal::User(format!("s{i}")));
        }
    }
    SourceState {
        users: users_v,
        groups: Some(groups_v),
        members,
        members_listed: true,
        roles: None,
        grants: Vec::new(),
    }
}

/// The target as a completed first sync leaves it, with its links.
fn synced(src: &SourceState) -> (TargetState, Vec<Link>, Vec<Link>) {
    let now = chrono::Utc::now();
    let mut state = TargetState {
        users: src
            .users
            .iter()
            .map(|u| User {
                id: format!("T{}", u.id),
                ..u.clone()
            })
            .collect(),
        groups: src
            .groups
            .iter()
            .flatten()
            .map(|g| Group {
                id: format!("T{}", g.id),
                ..g.clone()
            })
            .collect(),
        ..Default::default()
    };
    for (g, m) in &src.members {
        state.members.insert(
            format!("T{g}"),
            m.iter()
                .map(|p| Principal::User(format!("T{}", p.id())))
                .collect(),
        );
    }
    let link = |kind, s: &str, fp: String| Link {
        target: "t".into(),
        kind,
        source_id: s.to_string(),
        target_id: format!("T{s}"),
        fingerprint: fp,
        updated: now,
    };
    let user_links = src
        .users
        .iter()
        .map(|u| link(LinkKind::User, &u.id, String::new()))
        .collect();
    let group_links = src
        .groups
        .iter()
        .flatten()
        .map(|g| link(LinkKind::Group, &g.id, String::new()))
        .collect();
    (state, user_links, group_links)
}

#[test]
#[ignore = "a measurement; run explicitly"]
fn planning_cost() {
    let n: usize = std::env::var("IDBRIDGE_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let src = source(n, 2000, 5);
    let settings = TargetSettings::defaults("t");
    let protected = Protected::default();
    let caps = caps(false);

    // Against an empty target: everything is created.
    let empty = TargetState::default();
    let t0 = Instant::now();
    let index = SourceIndex::new(&src);
    let mut notes = Vec::new();
    let eff = Effective::compute(&settings, &caps, &src, &mut notes);
    let input = TargetInput {
        name: "t",
        adapter: "x",
        caps,
        protected: &protected,
        settings: &settings,
        state: &empty,
        user_links: &[],
        group_links: &[],
    };
    let plan = plan_target(&index, &input, &eff).expect("plan");
    let initial = t0.elapsed();
    assert_eq!(
        plan.ops
            .iter()
            .filter(|o| o.action.name() == "create_user")
            .count(),
        n
    );
    println!(
        "{n} users, initial plan: {} ops in {initial:?}",
        plan.ops.len()
    );
    drop(plan);

    // Against a target in sync (links with stale fingerprints, so every user is compared
    // and re-linked): the steady-state nightly cost.
    let (state, user_links, group_links) = synced(&src);
    let t0 = Instant::now();
    let input = TargetInput {
        state: &state,
        user_links: &user_links,
        group_links: &group_links,
        ..input
    };
    let plan = plan_target(&index, &input, &eff).expect("plan");
    let steady = t0.elapsed();
    assert!(plan.ops.iter().all(|o| !o.action.writes_target()));
    println!(
        "{n} users, in-sync plan: {} link refreshes in {steady:?}",
        plan.ops.len()
    );
}

#[test]
#[ignore = "a measurement; run explicitly"]
fn sizes() {
    println!(
        "Op {} Action {} User {} NewUser {} UserChanges {}",
        std::mem::size_of::<idbridge_sync::Op>(),
        std::mem::size_of::<idbridge_sync::Action>(),
        std::mem::size_of::<User>(),
        std::mem::size_of::<idbridge_core::NewUser>(),
        std::mem::size_of::<idbridge_core::UserChanges>()
    );
}
