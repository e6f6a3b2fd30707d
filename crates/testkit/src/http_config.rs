//! Checks of the connection keys every HTTP adapter shares, for adapters' own tests.

use idbridge_core::{AdapterConfig, ErrorKind, Result};
use serde_json::{Value, json};

/// Checks an HTTP adapter's `max_response_mib` key (see
/// [`idbridge_core::http::HttpSettings::with_max_response_mib`]): absent it is 64 MiB,
/// `200` is 200 MiB, and 0, 65,537, a text, a negative and a fraction are refused as
/// configuration errors naming `bi.max_response_mib`. `base` is a valid configuration of
/// the adapter without the key; `body_limit` parses a system's configuration and answers
/// the response-body limit of its HTTP settings, in bytes.
///
/// # Panics
/// When the adapter reads the key otherwise: this is a test assertion.
pub fn assert_max_response_mib(base: Value, body_limit: impl Fn(&AdapterConfig) -> Result<usize>) {
    let with = |v: Option<Value>| {
        let mut settings = base.clone();
        if let (Some(v), Some(map)) = (v, settings.as_object_mut()) {
            map.insert("max_response_mib".into(), v);
        }
        body_limit(&AdapterConfig::new("bi", settings))
    };
    assert_eq!(with(None).expect("valid without the key"), 64 << 20);
    assert_eq!(with(Some(json!(200))).expect("valid at 200"), 200 << 20);
    for bad in [json!(0), json!(65_537), json!("big"), json!(-1), json!(1.5)] {
        let err = with(Some(bad.clone())).expect_err(&bad.to_string());
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}: {err}");
        assert!(
            err.to_string().contains("bi.max_response_mib"),
            "{bad}: {err}"
        );
    }
}
