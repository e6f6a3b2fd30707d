//! Saved plans as an administrator applies them: sealed to their content, configuration
//! and state file; refused when altered, made elsewhere, stale against the source, or
//! already applied.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{
    all_output, example_config, file_config, idbridge, users_only, write_yaml_directory,
};

fn read_plan(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read plan")).expect("JSON plan")
}

fn write_plan(path: &str, plan: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(plan).expect("JSON")).expect("write plan");
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn target_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("target.yaml")).unwrap_or_default()
}

/// Runs `plan --out DIR/plan.json` with `cfg`, expecting changes, and returns the plan's
/// path.
fn save_plan(dir: &Path, cfg: &str) -> String {
    let saved = dir.join("plan.json");
    let saved = saved.to_str().expect("utf-8").to_string();
    let out = idbridge(&["plan", "-c", cfg, "--out", &saved], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    saved
}

/// The saved plan at `path`.
fn load_plan(path: &str) -> idbridge_sync::Plan {
    idbridge_sync::Plan::from_json(&std::fs::read_to_string(path).expect("read")).expect("plan")
}

/// Runs `idbridge ARGS`, expecting it to fail (exit 1) saying `why` on stderr; returns
/// stderr.
fn refused(args: &[&str], why: &str) -> String {
    let out = idbridge(args, &[]);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", all_output(&out));
    let text = stderr(&out);
    assert!(text.contains(why), "{args:?}: {}", all_output(&out));
    text
}

/// A configuration syncing `source` into `DIR/target.yaml` whose plans need approval.
fn approval_config(dir: &Path, source: &Path) -> String {
    let cfg = file_config(
        dir,
        &dir.join("state.db"),
        source,
        &dir.join("target.yaml"),
        "create = true\n",
    );
    let body = std::fs::read_to_string(&cfg).expect("read config");
    std::fs::write(&cfg, format!("require_approval = true\n{body}")).expect("write config");
    cfg
}

#[test]
fn a_hand_edited_plan_is_refused_naming_why_and_an_unedited_one_applies_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = example_config(dir.path());
    let saved = save_plan(dir.path(), &cfg);
    let saved = saved.as_str();
    let original = read_plan(saved);
    assert!(original["seal"]["mac"].is_string(), "{}", original["seal"]);

    // Appended: an account of the attacker's, and a membership in an administrators group.
    let mut edited = original.clone();
    let ops = edited["targets"][0]["ops"].as_array_mut().expect("ops");
    let create = ops
        .iter()
        .find(|o| o["op"] == "create_user")
        .expect("a create")
        .clone();
    let group = ops
        .iter()
        .find(|o| o["op"] == "add_member")
        .expect("a membership")["group"]
        .clone();
    let n = ops.len();
    let mut evil = create;
    evil["step"] = n.into();
    evil["source_id"] = "evil".into();
    evil["user"]["login"] = "evil.admin".into();
    evil["user"]["email"] = "evil.admin@example.com".into();
    ops.push(evil);
    let mut depends_on = vec![Value::from(n)];
    if let Some(g) = group["ref"]["created"].as_u64() {
        depends_on.insert(0, g.into());
    }
    ops.push(serde_json::json!({
        "step": n + 1, "depends_on": depends_on, "op": "add_member",
        "group": {"ref": group["ref"], "name": "System Administrators"},
        "member": {"kind": "user", "ref": {"created": n}, "name": "evil.admin"},
    }));
    write_plan(saved, &edited);
    let text = refused(
        &["apply", "-c", &cfg, saved, "--yes"],
        "content was altered",
    );
    assert!(text.contains("refusing to apply"), "{text}");
    assert!(
        text.contains(
            "nothing was changed. Make a new plan with `idbridge plan --out` and review it"
        ),
        "{text}"
    );
    assert!(!target_text(dir.path()).contains("evil.admin"));

    // A changed number is an alteration too.
    let mut edited = original.clone();
    edited["targets"][0]["managed_users"] = 100_000.into();
    write_plan(saved, &edited);
    refused(
        &["apply", "-c", &cfg, saved, "--yes"],
        "content was altered",
    );
    // So is a plan with its seal taken off.
    let mut edited = original.clone();
    edited.as_object_mut().expect("object").remove("seal");
    write_plan(saved, &edited);
    refused(&["apply", "-c", &cfg, saved, "--yes"], "carries no seal");
    assert!(
        !target_text(dir.path()).contains("login"),
        "nothing was applied"
    );

    // The plan as written applies.
    write_plan(saved, &original);
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(target_text(dir.path()).contains("ada.lovelace"));

    // Once: applying it again says so, once, and fails.
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let text = all_output(&out);
    assert!(text.contains("was already applied in run 1"), "{text}");
    assert!(
        text.contains("nothing was changed. See `idbridge journal --run 1`, or make a new plan"),
        "{text}"
    );
    assert!(!text.contains("already exists"), "{text}");
    assert_eq!(text.matches("already applied").count(), 1, "{text}");
}

#[test]
fn a_plan_made_with_another_configuration_or_state_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = example_config(dir.path());
    let saved = save_plan(dir.path(), &cfg);
    let saved = saved.as_str();

    // Same source, target and state file; one setting differs.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    let other_cfg = file_config(
        &other,
        &dir.path().join("state.db"),
        &dir.path().join("source.yaml"),
        &dir.path().join("target.yaml"),
        "create = true\nmax_deletions = 3\n",
    );
    refused(
        &["apply", "-c", &other_cfg, saved, "--yes"],
        "another configuration",
    );

    // The same configuration, with another state file.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    let other_state = file_config(
        &elsewhere,
        &elsewhere.join("state.db"),
        &dir.path().join("source.yaml"),
        &dir.path().join("target.yaml"),
        "create = true\n",
    );
    refused(
        &["apply", "-c", &other_state, saved, "--yes"],
        "another state file",
    );
    assert!(
        !target_text(dir.path()).contains("login"),
        "nothing was applied"
    );
}

/// A source directory of these people.
fn write_people(path: &Path, people: &[&str]) {
    let mut text = String::from("users:\n");
    for p in people {
        text.push_str(&format!(
            "  - id: {p}\n    login: {p}\n    email: {p}@example.com\n"
        ));
    }
    write_yaml_directory(path, &text, users_only(people.len()));
}

#[test]
fn a_plan_whose_source_user_left_is_refused_naming_the_user_or_applied_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    write_people(&source, &["ada", "bob", "cyd"]);
    let cfg = support::copy_config(dir.path(), &source, &dir.path().join("target.yaml"));
    let saved = save_plan(dir.path(), &cfg);
    let saved = saved.as_str();

    // bob leaves after the plan was made.
    write_people(&source, &["ada", "cyd"]);
    let text = refused(
        &["apply", "-c", &cfg, saved, "--yes"],
        "the source changed since it was made",
    );
    assert!(
        text.contains("create_user bob")
            && text.contains("the source user `bob` is no longer in the source")
            && text.contains("the source changed since it was made, so these operations are no longer called for:")
            && text.contains("or pass --drop-stale to apply the rest (nothing was changed)"),
        "{text}"
    );
    assert!(
        !target_text(dir.path()).contains("login"),
        "nothing applied"
    );

    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes", "--drop-stale"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let text = stderr(&out);
    assert!(
        text.contains("dropped from") && text.contains("create_user bob"),
        "{text}"
    );
    let target = target_text(dir.path());
    assert!(
        target.contains("ada") && target.contains("cyd") && !target.contains("bob"),
        "{target}"
    );
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn with_require_approval_a_plan_applies_only_once_another_user_approved_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    write_people(&source, &["ada", "bob"]);
    let cfg = approval_config(dir.path(), &source);
    let saved = save_plan(dir.path(), &cfg);
    let saved = saved.as_str();

    refused(&["apply", "-c", &cfg, saved, "--yes"], "it is not approved");

    // Its maker cannot approve it.
    refused(&["approve", "-c", &cfg, saved], "made it");
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        !target_text(dir.path()).contains("login"),
        "nothing applied"
    );

    // A plan another user made (sealed with this state file's key, as `plan --out` run by
    // that user would) is approved by this one, and then applies.
    let mut plan = load_plan(saved);
    plan.made_by = Some("someone-else".into());
    forge_seal(&cfg, &mut plan);
    std::fs::write(saved, plan.to_json()).expect("write plan");
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let out = idbridge(&["approve", "-c", &cfg, saved], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("made by someone-else"),
        "{}",
        all_output(&out)
    );
    let out = idbridge(&["journal", "-c", &cfg, "--json"], &[]);
    let runs: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(runs[0]["command"], "approve", "{runs}");
    assert_eq!(runs[0]["plan_digest"], plan.digest().as_str(), "{runs}");
    let out = idbridge(&["journal", "-c", &cfg], &[]);
    assert!(
        all_output(&out).contains("approved the plan made by someone-else"),
        "{}",
        all_output(&out)
    );
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(target_text(dir.path()).contains("bob"));
}

/// Seals `plan` with the key of the state file `config` names, as `plan --out` would: what
/// someone who got hold of the state file's key could do.
fn forge_seal(config: &str, plan: &mut idbridge_sync::Plan) {
    let config = idbridge_core::Config::load(Path::new(config)).expect("config");
    let store = idbridge_store::Store::open(&config.state).expect("state");
    idbridge_sync::seal::Sealer::new(
        store.plan_key().expect("key"),
        &idbridge_sync::approval::config_binding(&config),
    )
    .seal(plan);
}

#[test]
fn a_saved_plan_that_lies_about_the_managed_accounts_is_refused_by_the_guard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    let people: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let all: Vec<&str> = people.iter().map(String::as_str).collect();
    write_people(&source, &all);
    let cfg = support::copy_config(dir.path(), &source, &dir.path().join("target.yaml"));
    let out = idbridge(&["apply", "-c", &cfg, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    // 5 of 10 leave: over the 10 % guard.
    write_people(&source, &all[5..]);
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().expect("utf-8");
    let out = idbridge(&["plan", "-c", &cfg, "--out", saved], &[]);
    assert!(
        all_output(&out).contains("5 of 10 managed accounts"),
        "{}",
        all_output(&out)
    );
    let mut plan = load_plan(saved);
    plan.targets[0].managed_users = 100_000;
    forge_seal(&cfg, &mut plan);
    std::fs::write(saved, plan.to_json()).expect("write plan");

    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the plan disables or deletes 5 of 10 managed accounts"),
        "the guard refuses, counting the accounts managed now: {text}"
    );
    let target = target_text(dir.path());
    assert!(!target.contains("enabled: false"), "{target}");
}

#[test]
fn a_plan_that_is_not_a_regular_file_or_too_large_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = example_config(dir.path());
    let sparse = dir.path().join("huge.json");
    let file = std::fs::File::create(&sparse).expect("create");
    // A sparse file past the 16 GiB bound: nothing is allocated, nothing may be read.
    file.set_len((16 << 30) + 1).expect("set_len");
    let sparse = sparse.to_str().expect("utf-8").to_string();
    let mut cases = vec![(sparse, "larger than 16 GiB")];
    #[cfg(unix)]
    {
        let fifo = dir.path().join("plan.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        cases.push((fifo.to_str().expect("utf-8").to_string(), "a FIFO"));
        cases.push(("/dev/zero".to_string(), "a character device"));
    }
    for (plan, problem) in &cases {
        for args in [
            vec!["apply", "-c", &cfg, plan, "--yes"],
            vec!["approve", "-c", &cfg, plan],
        ] {
            let text = refused(&args, problem);
            assert!(
                text.contains(&format!("cannot read plan `{plan}`")),
                "{text}"
            );
        }
    }
    assert!(
        !dir.path().join("target.yaml").exists(),
        "the plan is refused before anything is connected to: the target file \
         (`create = true`) was not created"
    );
}

#[test]
fn with_require_approval_sync_and_apply_without_a_plan_refuse_before_connecting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    write_people(&source, &["ada", "bob"]);
    let target = dir.path().join("target.yaml");
    let cfg = approval_config(dir.path(), &source);
    for args in [
        vec!["sync", "-c", &cfg],
        vec!["sync", "-c", &cfg, "--interval", "1h"],
        vec!["apply", "-c", &cfg, "--yes"],
    ] {
        let text = refused(&args, "`require_approval`");
        assert!(text.contains("refusing to"), "{text}");
        assert!(text.contains("--out PLAN"), "{text}");
        assert!(text.contains("idbridge approve"), "{text}");
        assert!(
            text.contains(&format!("idbridge apply -c {cfg} PLAN")),
            "{text}"
        );
        // Not even connected to: the target file (created on connecting) is not there.
        assert!(!target.exists(), "{args:?} connected to the target");
    }
}

/// `plan --out` replaces a saved plan whole (through a symbolic link, the file it points
/// to), leaves no temporary file, writes to `/dev/null` as to any device, and a save that
/// cannot be made (the path is a directory) fails naming the path and leaves nothing.
#[cfg(unix)]
#[test]
fn a_saved_plan_replaces_the_one_there_whole_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = example_config(dir.path());
    let saved = save_plan(dir.path(), &cfg);
    std::fs::write(&saved, "the plan that was there").expect("write");
    load_plan(&save_plan(dir.path(), &cfg));

    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&saved, &link).expect("symlink");
    std::fs::write(&saved, "the plan that was there").expect("write");
    let link_text = link.to_str().expect("utf-8");
    let out = idbridge(&["plan", "-c", &cfg, "--out", link_text], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let meta = std::fs::symlink_metadata(&link).expect("the link stays");
    assert!(meta.file_type().is_symlink());
    load_plan(&saved);

    let out = idbridge(&["plan", "-c", &cfg, "--out", "/dev/null"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));

    let plans = dir.path().join("plans");
    std::fs::create_dir(&plans).expect("mkdir");
    let plans_text = plans.to_str().expect("utf-8");
    let out = idbridge(&["plan", "-c", &cfg, "--out", plans_text], &[]);
    assert!(!out.status.success(), "{}", all_output(&out));
    assert!(
        stderr(&out).contains(&format!("cannot write the plan to `{plans_text}`")),
        "{}",
        all_output(&out)
    );
    assert!(plans.is_dir());
    for d in [dir.path(), plans.as_path()] {
        let left: Vec<String> = std::fs::read_dir(d)
            .expect("lists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// A save cut short leaves the plan that was there: `plan --out` over a saved plan, in a
/// process whose file size limit (`ulimit -f`) kills it partway through writing the new
/// one (`SIGXFSZ`), after the plan was planned and printed.
#[cfg(unix)]
#[test]
fn a_save_cut_short_leaves_the_plan_that_was_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people: Vec<String> = (0..2_000).map(|i| format!("person{i:04}")).collect();
    let people: Vec<&str> = people.iter().map(String::as_str).collect();
    let source = dir.path().join("source.yaml");
    write_people(&source, &people);
    let cfg = file_config(
        dir.path(),
        &dir.path().join("state.db"),
        &source,
        &dir.path().join("target.yaml"),
        "create = true\n",
    );
    let saved = save_plan(dir.path(), &cfg);
    let before = std::fs::read(&saved).expect("read");
    // 256 blocks (128 or 256 KiB, by the shell's unit): more than the state file holds,
    // less than the plan of 2,000 creates.
    assert!(before.len() > 300 << 10, "{}", before.len());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 256; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_idbridge"))
        .args(["plan", "-c", &cfg, "--out", &saved])
        .output()
        .expect("runs");
    assert!(!out.status.success(), "{}", all_output(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("person1999"),
        "the plan was made and printed before the save: {}",
        all_output(&out)
    );
    assert!(
        std::fs::read(&saved).expect("read") == before,
        "the saved plan is the one that was there"
    );
    load_plan(&saved);
}
