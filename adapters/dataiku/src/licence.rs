//! Licence-dependent defaults: the user profile of created accounts.
//!
//! The profiles a DSS instance offers depend on its licence, so the configured
//! `user_profile` (default `READER`) may not exist on a given instance. When DSS refuses a
//! create as invalid, the adapter asks the licence what it offers
//! (`GET /admin/licensing/status`, the official client's `get_licensing_status`) and, when
//! the configured profile is not among them (or the refusal names the profile), reports a
//! configuration error naming the `user_profile` key and the profiles the server offers.
//!
//! The official client documents that answer only as a dict. The profile names are read
//! where scripts written against real instances find them (the keys of any
//! `profileLimits` object, and any `userProfiles` list of names); an answer showing
//! neither leaves the list unknown, and the error says so.

use std::collections::BTreeSet;

use idbridge_core::{Error, ErrorKind};
use serde_json::Value;

use crate::adapter::DataikuAdapter;
use crate::client::ApiPath;

/// The profile names a licensing status names, sorted (empty when it names none).
pub(crate) fn offered_profiles(status: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(status, &mut out, 0);
    out
}

fn collect(v: &Value, out: &mut BTreeSet<String>, depth: usize) {
    // The answer is small; the depth bound only guards against a hostile one.
    if depth > 8 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("profileLimits", Value::Object(limits)) => {
                        out.extend(limits.keys().cloned());
                    }
                    ("userProfiles", Value::Array(items)) => {
                        out.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
                    }
                    _ => collect(child, out, depth + 1),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out, depth + 1)),
        _ => {}
    }
}

/// The configuration error for a create refused because of `profile`.
pub(crate) fn profile_error(
    login: &str,
    profile: &str,
    offered: &BTreeSet<String>,
    refusal: &Error,
) -> Error {
    let offers = if offered.is_empty() {
        "the server's licensing status (GET /admin/licensing/status) names no profiles".to_string()
    } else {
        format!(
            "this server offers {}",
            offered.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Error::config(format!(
        "DSS refused to create user `{login}` with user profile `{profile}`, which its licence does not offer ({offers}); set the target's `user_profile` key to one of them (DSS said: {})",
        refusal.message()
    ))
    .with_resource(login)
}

impl DataikuAdapter {
    /// Turns a create refused for the configured profile into an error naming the
    /// `user_profile` key and the offered profiles; any other error is returned as it is.
    /// `offer` keeps the offered profiles once read, so a batch reads them once.
    pub(crate) async fn explain_create_refusal(
        &self,
        login: &str,
        refusal: Error,
        offer: &mut Option<BTreeSet<String>>,
    ) -> Error {
        if refusal.kind() != ErrorKind::InvalidInput {
            return refusal;
        }
        let profile = &self.cfg.user_profile;
        if offer.is_none() {
            *offer = Some(self.offered_by_licence().await);
        }
        let offered = offer.as_ref().cloned().unwrap_or_default();
        let named = refusal.message().to_ascii_lowercase().contains("profile");
        let not_offered = !offered.is_empty() && !offered.contains(profile);
        if not_offered || (named && offered.is_empty()) {
            profile_error(login, profile, &offered, &refusal)
        } else {
            refusal
        }
    }

    /// The profiles `GET /admin/licensing/status` names; empty when it cannot be read.
    async fn offered_by_licence(&self) -> BTreeSet<String> {
        match self
            .client
            .get_json::<Value>(
                ApiPath::new(&["admin", "licensing", "status"]),
                &[],
                "licensing status",
            )
            .await
        {
            Ok(status) => offered_profiles(&status),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the DSS licensing status");
                BTreeSet::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_come_from_profile_limits_and_user_profiles() {
        let status = json!({
            "base": {"sublicense": {"profileLimits": {"AI_CONSUMER": 5, "DATA_DESIGNER": -1}}},
            "other": [{"userProfiles": ["FULL_DESIGNER", 3]}],
        });
        let got: Vec<String> = offered_profiles(&status).into_iter().collect();
        assert_eq!(got, ["AI_CONSUMER", "DATA_DESIGNER", "FULL_DESIGNER"]);
        assert!(offered_profiles(&json!({"base": {"valid": true}})).is_empty());
    }

    #[test]
    fn the_error_names_the_key_and_the_offer() {
        let offered: BTreeSet<String> = ["AI_CONSUMER".to_string()].into();
        let e = profile_error("ada", "READER", &offered, &Error::invalid_input("bad"));
        assert_eq!(e.kind(), ErrorKind::Config);
        let text = e.to_string();
        for part in ["`user_profile`", "`READER`", "offers AI_CONSUMER", "`ada`"] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }
}
