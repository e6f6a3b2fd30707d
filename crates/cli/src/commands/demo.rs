//! `idbridge demo`: the whole story in a few seconds, with no configuration and nothing
//! beyond loopback: every shipped vendor emulator starts in-process, the example directory
//! is the source, the first sync provisions everything, a second run changes nothing, and
//! then a rename, a leaver and a joiner show update-not-recreate, disable plus session
//! revocation, and creation.

use crate::output::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use idbridge_core::{
    AdapterConfig, AdapterHandle, Error, NewUser, Principal, Result, User, UserChanges, registry,
};
use idbridge_store::Store;
use idbridge_sync::{ApplyOptions, Engine, Plan, Target, TargetSettings, report};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator, emulators, start_emulator};
use serde_json::{Value, json};

/// The example company the demo starts from.
const DIRECTORY: &str = include_str!("../../../../examples/directory.yaml");

/// Arguments of `idbridge demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show every planned operation (default: the first 12 per target).
    #[arg(long)]
    full: bool,
}

struct DemoTarget {
    name: String,
    handle: AdapterHandle,
    emulator: Option<RunningEmulator>,
}

fn heading(text: &str) {
    outln!("\n== {text}\n");
}

/// Engine settings for the demo's target on `emulator`: what the emulator asks for (its
/// [`RunningEmulator::target_settings`]), plus deletion of leavers where the adapter
/// cannot disable accounts.
fn settings_for(emulator: &RunningEmulator, handle: &AdapterHandle) -> Value {
    let caps = handle.capabilities();
    let mut s = match &emulator.target_settings {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    if !caps.users_set_enabled && caps.users_delete {
        // Accounts there cannot be disabled: leavers are deleted instead.
        s.insert("deletion".into(), json!("delete"));
    }
    Value::Object(s)
}

/// The write requests the target's emulator served so far (logins and token exchanges
/// are not writes: the emulator classifies its own requests).
fn writes_served(t: &DemoTarget) -> Option<usize> {
    t.emulator
        .as_ref()
        .map(|e| e.server.log().served_writes().len())
}

async fn find_user(h: &AdapterHandle, login_or_email: &str) -> Result<Option<User>> {
    use idbridge_core::compare::fold;
    let key = fold(login_or_email);
    Ok(h.all_users().await?.into_iter().find(|u| {
        fold(&u.login) == key || u.email.as_deref().map(fold).as_deref() == Some(key.as_str())
    }))
}

async fn live_sessions(t: &DemoTarget, login: &str, email: &str) -> Result<Option<usize>> {
    if !t.handle.capabilities().sessions_list {
        return Ok(None);
    }
    let user = match find_user(&t.handle, login).await? {
        Some(u) => Some(u),
        None => find_user(&t.handle, email).await?,
    };
    let Some(user) = user else { return Ok(Some(0)) };
    Ok(Some(t.handle.all_sessions(Some(&user.id)).await?.len()))
}

async fn plan_apply(engine: &Engine, full: bool, label: &str) -> Result<Plan> {
    let plan = engine.plan().await?;
    let limit = if full { None } else { Some(12) };
    out!("{}", report::render_plan_limited(&plan, &[], limit));
    if plan.is_empty() {
        return Ok(plan);
    }
    outln!("\n-- {label}\n");
    let lock = engine.lock("demo")?;
    let report = engine.apply(&plan, &lock, &ApplyOptions::default()).await?;
    out!("{}", report::render_run(&report));
    Ok(plan)
}

/// Runs the demo.
pub async fn run(args: Args) -> Result<ExitCode> {
    let _ = crate::shipped::adapters();
    let _ = crate::shipped::emulators();
    let dir = std::env::temp_dir().join(format!("idbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::unavailable(format!("cannot create `{}`: {e}", dir.display())))?;
    let result = story(&dir, args.full).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn story(dir: &Path, full: bool) -> Result<ExitCode> {
    heading("1. Start the vendor emulators on loopback");
    let mut targets: Vec<DemoTarget> = Vec::new();
    let mut settings: Vec<TargetSettings> = Vec::new();
    for d in emulators() {
        let emulator = start_emulator(d.vendor, EmulatorOptions::default()).await?;
        let handle = registry::build_adapter(d.vendor, emulator.adapter_config(d.vendor)).await?;
        outln!(
            "{:<10} {}  ({})",
            d.vendor,
            emulator.base_url,
            d.description
        );
        settings.push(TargetSettings::from_json(
            d.vendor,
            settings_for(&emulator, &handle),
        )?);
        targets.push(DemoTarget {
            name: d.vendor.to_string(),
            handle,
            emulator: Some(emulator),
        });
    }
    if targets.is_empty() {
        let path: PathBuf = dir.join("mirror.yaml");
        let cfg = AdapterConfig::new("mirror", json!({"path": path, "create": true}));
        let handle = registry::build_adapter("file", cfg).await?;
        outln!("no vendor emulator is registered; using a directory-file target instead");
        settings.push(TargetSettings::from_json("mirror", json!({}))?);
        targets.push(DemoTarget {
            name: "mirror".into(),
            handle,
            emulator: None,
        });
    }

    let source_path = dir.join("directory.yaml");
    std::fs::write(&source_path, DIRECTORY)
        .map_err(|e| Error::unavailable(format!("cannot write the example directory: {e}")))?;
    let source = registry::build_adapter(
        "file",
        AdapterConfig::new("source", json!({"path": source_path})),
    )
    .await?;
    let people = source.all_users().await?.len();
    outln!("\nsource: the example directory ({people} people, groups, roles)");
    let store = Store::open(&dir.join("state.db"))?;
    let engine = Engine::new(
        source.clone(),
        targets
            .iter()
            .zip(settings)
            .map(|(t, settings)| Target {
                handle: t.handle.clone(),
                settings,
            })
            .collect(),
        store,
    );

    heading("2. First sync: plan, then apply");
    plan_apply(&engine, full, "applying").await?;

    heading("3. A second run plans nothing and sends no write");
    let before: Vec<Option<usize>> = targets.iter().map(writes_served).collect();
    let plan = engine.plan().await?;
    out!("{}", report::render_plan(&plan, &[]));
    let after: Vec<Option<usize>> = targets.iter().map(writes_served).collect();
    for ((t, b), a) in targets.iter().zip(&before).zip(&after) {
        if let (Some(b), Some(a)) = (b, a) {
            outln!(
                "{:<10} write requests during the second run: {}",
                t.name,
                a - b
            );
        }
    }

    heading("4. The source changes: a rename, a leaver, a joiner");
    for t in &targets {
        let Some(signing_in) = t
            .emulator
            .as_ref()
            .and_then(|e| e.sign_in_as("alan.turing"))
        else {
            continue;
        };
        signing_in.await?;
        outln!("alan.turing logs in to {} (a live session)", t.name);
    }
    let all = source.all_users().await?;
    let by_login = |l: &str| {
        all.iter()
            .find(|u| u.login == l)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("`{l}` is not in the example directory")))
    };
    let grace = by_login("grace.hopper")?;
    let alan = by_login("alan.turing")?;
    source
        .update_user(
            &grace.id,
            &UserChanges {
                login: Some("grace.murray".into()),
                display_name: Some(Some("Grace Murray".into())),
                ..Default::default()
            },
        )
        .await?;
    outln!("rename:  grace.hopper -> grace.murray (Grace Murray)");
    source.delete_user(&alan.id).await?;
    outln!("leaver:  alan.turing");
    let mut nina = NewUser::new("nina.simone");
    nina.email = Some("nina.simone@example.com".into());
    nina.display_name = Some("Nina Simone".into());
    let nina = source.create_user(&nina).await?;
    for g in source.all_groups().await? {
        if g.name == "bi-users" || g.name == "sales" {
            source
                .add_member(&g.id, &Principal::User(nina.id.clone()))
                .await?;
        }
    }
    outln!("joiner:  nina.simone (sales, bi-users)\n");
    let sessions_before: Vec<Option<usize>> = {
        let mut v = Vec::new();
        for t in &targets {
            v.push(live_sessions(t, "alan.turing", "alan.turing@example.com").await?);
        }
        v
    };
    plan_apply(&engine, true, "applying").await?;

    heading("5. What the targets look like now");
    for (t, before) in targets.iter().zip(&sessions_before) {
        let grace_now = match find_user(&t.handle, "grace.murray").await? {
            Some(u) => Some(u),
            None => find_user(&t.handle, "grace.hopper@example.com").await?,
        };
        let alan_now = match find_user(&t.handle, "alan.turing").await? {
            Some(u) => Some(u),
            None => find_user(&t.handle, "alan.turing@example.com").await?,
        };
        let nina_now = match find_user(&t.handle, "nina.simone").await? {
            Some(u) => Some(u),
            None => find_user(&t.handle, "nina.simone@example.com").await?,
        };
        outln!("{}:", t.name);
        if let Some(g) = grace_now {
            outln!(
                "  grace: same account {} (login {}, {})",
                g.id,
                g.login,
                g.display_name.as_deref().unwrap_or("-")
            );
        }
        match alan_now {
            Some(a) => outln!(
                "  alan:  {}",
                if a.enabled { "enabled" } else { "disabled" }
            ),
            None => outln!("  alan:  deleted (this platform cannot disable accounts)"),
        }
        let after = live_sessions(t, "alan.turing", "alan.turing@example.com").await?;
        if let (Some(b), Some(a)) = (before, after) {
            outln!("  alan's live sessions: {b} before, {a} after");
        }
        if let Some(n) = nina_now {
            outln!("  nina:  created ({})", n.login);
        }
    }

    heading("6. And again: nothing left to do");
    let plan = engine.plan().await?;
    out!("{}", report::render_plan(&plan, &[]));

    engine.close().await;
    for t in targets {
        if let Some(e) = t.emulator {
            e.server.shutdown().await;
        }
    }
    outln!(
        "\nThat was idbridge. Next: `idbridge adapters`, docs/configuration.md, docs/operations.md."
    );
    Ok(if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
