//! Unit tests of the metrics: labels, tenants' summaries and readiness.

use super::*;

#[test]
fn no_target_is_ready_before_its_first_run() {
    let m = Metrics::new(&["a".into()], Duration::from_secs(60));
    let why = m.readiness().expect_err("not ready");
    assert!(why.contains("a: the last run did not converge"), "{why}");
}

#[test]
fn answers_are_counted_by_target_adapter_and_status() {
    let m = Metrics::new(&[], Duration::from_secs(60));
    m.answered("crm", "rest", Answered::Status(200));
    m.answered("crm", "rest", Answered::Status(200));
    m.answered("crm", "rest", Answered::NoAnswer);
    m.answered("hr", "rest", Answered::Status(200));
    let text = m.render();
    for line in [
        r#"idbridge_http_requests_total{target="crm",adapter="rest",status="200"} 2"#,
        r#"idbridge_http_requests_total{target="crm",adapter="rest",status="none"} 1"#,
        r#"idbridge_http_requests_total{target="hr",adapter="rest",status="200"} 1"#,
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
}

#[test]
fn a_tenants_summary_is_recorded_under_its_name() {
    use idbridge_sync::TargetReport;
    let child = Metrics::new(&[], Duration::from_secs(60));
    child.answered("crm", "rest", Answered::Status(201));
    child.read_took(Duration::from_millis(20));
    let report = RunReport {
        run: 7,
        outcome: RunOutcome::Succeeded,
        targets: vec![TargetReport {
            target: "crm".into(),
            planned: 1,
            ok: 1,
            done: BTreeMap::from([("create_user".to_string(), 1)]),
            ..TargetReport::default()
        }],
    };
    child.run_finished(&report, Duration::from_millis(30));
    let summary: RunSummary =
        serde_json::from_str(&serde_json::to_string(&child.summary("acme")).expect("json"))
            .expect("parses");
    let dir = Metrics::by_tenant(Duration::from_secs(3600));
    assert!(dir.readiness().is_err(), "nothing ran yet");
    dir.record_tenant("acme", Some(&summary));
    dir.record_tenant("globex", None);
    let text = dir.render();
    for line in [
        r#"idbridge_runs_total{tenant="acme",outcome="succeeded"} 1"#,
        r#"idbridge_runs_total{tenant="globex",outcome="failed"} 1"#,
        r#"idbridge_operations_total{tenant="acme",target="crm",kind="create_user",outcome="ok"} 1"#,
        r#"idbridge_http_requests_total{tenant="acme",target="crm",adapter="rest",status="201"} 1"#,
        r#"idbridge_read_duration_seconds_count{tenant="acme"} 1"#,
        r#"idbridge_run_duration_seconds_count{tenant="acme"} 1"#,
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(
        text.contains(r#"idbridge_last_success_timestamp_seconds{tenant="acme",target="crm"}"#)
    );
    let why = dir.readiness().expect_err("globex failed");
    assert!(why.contains("globex/*"), "{why}");
    assert!(!why.contains("acme"), "{why}");
}

#[test]
fn a_refused_target_is_counted_and_not_ready() {
    use idbridge_sync::TargetReport;
    let m = Metrics::new(&["a".into(), "b".into()], Duration::from_secs(3600));
    let mut done = BTreeMap::new();
    done.insert("create_user".to_string(), 3);
    let report = RunReport {
        run: 1,
        outcome: RunOutcome::Failed,
        targets: vec![
            TargetReport {
                target: "a".into(),
                planned: 3,
                ok: 3,
                done,
                ..TargetReport::default()
            },
            TargetReport {
                target: "b".into(),
                refused: Some("deletion guard".into()),
                ..TargetReport::default()
            },
        ],
    };
    m.run_finished(&report, Duration::from_millis(10));
    let text = m.render();
    for line in [
        r#"idbridge_runs_total{outcome="failed"} 1"#,
        r#"idbridge_operations_total{target="a",kind="create_user",outcome="ok"} 3"#,
        r#"idbridge_guard_refusals_total{target="b"} 1"#,
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(text.contains(r#"idbridge_last_success_timestamp_seconds{target="a"}"#));
    assert!(!text.contains(r#"idbridge_last_success_timestamp_seconds{target="b"}"#));
    let why = m.readiness().expect_err("b is not ready");
    assert!(why.contains("b: the last run did not converge"), "{why}");
    assert!(!why.contains("a:"), "{why}");
}
