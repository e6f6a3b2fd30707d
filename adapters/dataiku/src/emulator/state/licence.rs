//! The licence the emulated instance runs under: which user profiles it offers.
//!
//! DSS user profiles depend on the licence (`READER`, `AI_CONSUMER`, `DATA_DESIGNER`,
//! `FULL_DESIGNER`, ... per the official client's docstrings). By default the emulator
//! accepts any profile; started with `--set profiles=A,B` it offers only those, refuses a
//! create naming another (400 `DSSIllegalArgumentException`), and lists them in
//! `GET /admin/licensing/status` (the official client's `get_licensing_status`) under
//! `base.sublicense.profileLimits`, where scripts written against real instances read
//! them (the official client documents the answer only as a dict).

use std::sync::{PoisonError, RwLock};

use super::*;

/// The profiles listed when the licence restricts none.
pub const DEFAULT_PROFILES: &[&str] = &[
    "READER",
    "AI_CONSUMER",
    "DATA_DESIGNER",
    "ADVANCED_ANALYTICS_DESIGNER",
    "FULL_DESIGNER",
    "TECHNICAL_ACCOUNT",
    "GOVERNANCE_MANAGER",
    "DESIGNER",
    "DATA_SCIENTIST",
];

/// The user profiles on offer: `None` accepts any.
#[derive(Debug, Default)]
pub struct Licence {
    profiles: RwLock<Option<Vec<String>>>,
}

impl Licence {
    /// Offers only `profiles` from now on.
    pub fn restrict(&self, profiles: Vec<String>) {
        *self
            .profiles
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(profiles);
    }

    fn offered(&self) -> Option<Vec<String>> {
        self.profiles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Refuses a create body whose `userProfile` the licence does not offer (the official
    /// client's default, `DATA_SCIENTIST`, when it names none).
    pub fn check_create(&self, body: &Doc) -> ApiResult<()> {
        let Some(offered) = self.offered() else {
            return Ok(());
        };
        let profile = body
            .get("userProfile")
            .and_then(Value::as_str)
            .unwrap_or("DATA_SCIENTIST");
        if offered.iter().any(|p| p == profile) {
            return Ok(());
        }
        Err(ApiError::illegal(format!(
            "Invalid userProfile {profile}: not available with the current license"
        )))
    }

    /// The `GET /admin/licensing/status` answer.
    pub fn status(&self) -> Value {
        let profiles = self
            .offered()
            .unwrap_or_else(|| DEFAULT_PROFILES.iter().map(|p| (*p).to_string()).collect());
        let limits: Map<String, Value> =
            profiles.into_iter().map(|p| (p, Value::from(-1))).collect();
        json!({
            "base": {"valid": true, "expired": false, "sublicense": {"profileLimits": limits}}
        })
    }
}

impl State {
    /// The licence (what profiles it offers).
    pub fn licence(&self) -> &Licence {
        &self.licence
    }
}
