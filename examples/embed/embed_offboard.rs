//! Embedding idbridge: offboard one person now, as `idbridge offboard --yes` does.
//!
//! An emulator runs in this process, chosen through the registry: the first whose adapter
//! lists and revokes sessions and can disable accounts, and which can open a session as
//! a person signing in would. A first sync gives everyone an account there; the person
//! signs in; the offboarding disables the account, revokes its sessions and holds the
//! person disabled through later syncs. `cargo test -p idbridge-examples` runs it; every
//! step asserts.
//!
//! Run it alone: `cargo run -p idbridge-examples --example embed_offboard`.

use idbridge_core::config::{Config, ConfigOrigin};
use idbridge_core::registry;
use idbridge_sync::report::{render_plan, render_run};
use idbridge_sync::{ApplyOptions, Engine, holds};
use idbridge_testkit::emulator::{EmulatorOptions, start_emulator};
use serde_json::{Value, json};

/// The example company shipped with idbridge: 50 people, 8 groups, 4 roles.
const SOURCE: &str = include_str!("../directory.yaml");

/// The person who leaves.
const LEAVER: &str = "margaret.hamilton";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Links every shipped adapter and emulator, so that the registries list them.
    idbridge_platforms::link_all();
    let chosen = idbridge_platforms::emulators().into_iter().find(|d| {
        let offers_sessions = registry::find(d.vendor).is_ok_and(|a| {
            let caps = (a.capabilities)();
            caps.sessions_list && caps.sessions_revoke_user && caps.users_set_enabled
        });
        offers_sessions && d.contract.sign_in.is_some()
    });
    let Some(chosen) = chosen else {
        return Err("no registered emulator lists and revokes sessions".into());
    };
    let emulator = start_emulator(chosen.vendor, EmulatorOptions::default()).await?;
    println!("emulator: {} at {}", emulator.vendor, emulator.base_url);

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("people.yaml"), SOURCE)?;
    // The target's section: the adapter's keys that reach the emulator, and the engine
    // settings the emulator asks for (a role mapping, say).
    let mut target = emulator.config.clone();
    if let (Value::Object(section), Value::Object(settings)) =
        (&mut target, &emulator.target_settings)
    {
        section.extend(settings.clone());
    }
    let config = Config::from_value(
        json!({
            "state": "state.db",
            "source": {"adapter": "file", "path": "people.yaml"},
            "targets": {"app": target},
        }),
        ConfigOrigin::in_memory(dir.path()),
    )?;
    let engine = Engine::connect(&config, None).await?;

    // A first sync: everyone gets an account.
    let lock = engine.lock("sync")?;
    let plan = engine.plan().await?;
    let report = engine.apply(&plan, &lock, &ApplyOptions::default()).await?;
    drop(lock);
    assert!(report.converged(), "{}", render_run(&report));

    // The leaver signs in: a live session.
    let app = &engine.targets()[0].handle;
    let account = find(app, LEAVER).await?;
    assert!(account.enabled);
    let Some(sign_in) = emulator.sign_in_as(&account.login) else {
        return Err("the emulator cannot open a session".into());
    };
    sign_in.await?;
    assert!(!app.all_sessions(Some(&account.id)).await?.is_empty());

    // Offboard: plan, record the hold (so that later syncs keep the person disabled
    // whatever the source says), apply without the deletion guard (the plan names one
    // person), and journal the hold with the run.
    let lock = engine.lock("offboard")?;
    let plan = engine.offboard_plan(LEAVER).await?;
    println!("{}", render_plan(&plan, &[]));
    let new_hold = engine
        .offboard_hold(LEAVER, &plan, "offboard: left today")
        .await?;
    let hold = engine.store().add_hold(&new_hold)?;
    let options = ApplyOptions {
        skip_guard: true,
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &options).await?;
    holds::journal_placed(engine.store(), report.run, &hold)?;
    drop(lock);
    println!("{}", render_run(&report));
    assert!(report.converged(), "{}", render_run(&report));
    assert_eq!(report.targets[0].done.get("disable_user"), Some(&1));

    // The account is disabled and has no session left.
    let after = find(app, LEAVER).await?;
    assert_eq!(after.id, account.id, "the same account");
    assert!(!after.enabled, "disabled");
    assert!(app.all_sessions(Some(&account.id)).await?.is_empty());

    // A later sync keeps the person disabled although the source still has them enabled.
    let plan = engine.plan().await?;
    let reenables = plan.targets[0]
        .ops
        .iter()
        .filter(|op| op.action.name() == "enable_user")
        .count();
    assert_eq!(reenables, 0, "{}", render_plan(&plan, &[]));
    engine.close().await;
    println!("offboarded {LEAVER} in {}", emulator.vendor);
    Ok(())
}

/// The target's account of the person with this login (or the email that starts with it).
async fn find(
    app: &idbridge_core::AdapterHandle,
    login: &str,
) -> Result<idbridge_core::User, Box<dyn std::error::Error>> {
    app.all_users()
        .await?
        .into_iter()
        .find(|u| {
            u.login.eq_ignore_ascii_case(login)
                || u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&format!("{login}@example.com")))
        })
        .ok_or_else(|| format!("no account of `{login}` in the target").into())
}
