//! How the emulated server treats `role` in a user-data update (`PUT /users/{id}`).
//!
//! No official client or vendor page shows that this call changes a user's server role:
//! squirroclient documents it only as "any value can be set and will be returned again".
//! A real server may therefore keep the role and store the key as free-form user data.
//! The emulator can behave either way, so that tests show the adapter notices.

use std::str::FromStr;

use serde_json::{Map, Value};

use super::{ApiResult, Caller, State};

/// The start option ([`idbridge_testkit::emulator::EmulatorOptions`]'s `extra`) that
/// chooses a [`RoleUpdates`].
pub const OPTION: &str = "user_data_role";

/// What a user-data update does with a `role` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RoleUpdates {
    /// The server role changes (the default, and what the adapter relies on).
    #[default]
    Applied,
    /// The role stays; the key is kept as free-form user data that reads do not show,
    /// because the built-in `role` field wins.
    Stored,
    /// The role stays; the key is kept as free-form user data and shown in place of the
    /// built-in `role` by every user read. `role_permissions` still follow the real role.
    Echoed,
}

impl FromStr for RoleUpdates {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "applied" => Ok(RoleUpdates::Applied),
            "stored" => Ok(RoleUpdates::Stored),
            "echoed" => Ok(RoleUpdates::Echoed),
            other => Err(format!(
                "emulator option `{OPTION}` is `{other}`; expected `applied`, `stored` or `echoed`"
            )),
        }
    }
}

impl State {
    /// Chooses how later user-data updates treat `role`.
    pub fn set_role_updates(&self, mode: RoleUpdates) {
        self.lock().role_updates = mode;
    }

    /// How user-data updates treat `role` now.
    pub fn role_updates(&self) -> RoleUpdates {
        self.lock().role_updates
    }

    /// The server role the user really holds, whatever reads show (for tests).
    pub fn server_role_of(&self, id: &str) -> Option<String> {
        self.lock().user(id).map(|u| u.role.clone())
    }

    /// `PUT /users/{id}` under the current [`RoleUpdates`]: with `Applied`, the update as
    /// it is; otherwise the `role` key is taken out and stored as a custom value.
    ///
    /// # Errors
    /// As [`State::update_user`].
    pub fn update_user_data(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        let mode = self.role_updates();
        let Some(role) = fields
            .get("role")
            .filter(|_| mode != RoleUpdates::Applied && caller.is_admin())
        else {
            return self.update_user(caller, id, fields);
        };
        let mut rest = fields.clone();
        rest.remove("role");
        self.update_user(caller, id, &rest)?;
        {
            let mut inner = self.lock();
            if let Some(u) = inner.user_mut(id) {
                u.custom.insert("role".into(), role.clone());
            }
        }
        self.get_user(caller, id, false)
    }
}

/// Puts a stored free-form `role` in place of the built-in one when the mode is
/// [`RoleUpdates::Echoed`].
pub(super) fn echo_role(
    mode: RoleUpdates,
    custom: &Map<String, Value>,
    obj: &mut Map<String, Value>,
) {
    if mode == RoleUpdates::Echoed
        && let Some(role) = custom.get("role")
    {
        obj.insert("role".into(), role.clone());
    }
}
