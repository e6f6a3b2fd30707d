#![doc = include_str!("../README.md")]

mod adapter;
mod addresses;
pub mod client;
pub mod config;
pub mod error;
mod groups;
mod memberships;
mod roles;
mod sessions;
mod users;
pub mod wire;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use adapter::StrategyAdapter;
pub use config::{LoginMode, StrategyConfig, UserListing};
pub use users::DESCRIPTION_ATTRIBUTE;

idbridge_core::register_adapter! {
    name: "strategy",
    description: "Strategy One (MicroStrategy): users, user groups, security roles per project, user connections",
    capabilities: StrategyAdapter::declared_capabilities,
    example_config: "base_url = \"https://bi.example.com/MicroStrategyLibrary\"\nusername = \"administrator\"\npassword_file = \"/run/secrets/bi-password\"\nlogin_mode = \"standard\"\nproject = \"MicroStrategy Tutorial\"",
    secret_keys: &["password", "api_token"],
    build: StrategyAdapter::build,
    check_config: StrategyConfig::from_adapter_config,
    emulator: {
        description: "Strategy One REST API: login sessions, users, user groups, security roles, user connections",
        start: crate::emulator::start,
        suite: &crate::emulator::SUITE,
        contract: &crate::emulator::CONTRACT,
    },
}

/// Entry points for the fuzz targets (`fuzz/`): the adapter's answer parsing as it runs
/// on what a server sends. Not part of the API; may change at any time.
#[doc(hidden)]
pub mod fuzzing {
    use idbridge_core::http::parse_json;
    use idbridge_core::{Grant, Group, Result, User};

    /// A user answer, parsed and converted as `get_user` does.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse.
    pub fn user(body: &[u8]) -> Result<User> {
        crate::users::to_user(parse_json(body, "user")?, "GET /api/users/{id}")
    }

    /// A user group answer, parsed and converted as `get_group` does.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse.
    pub fn group(body: &[u8]) -> Result<Group> {
        crate::groups::to_group(parse_json(body, "user group")?, "GET /api/usergroups/{id}")
    }

    /// A security role answer, parsed and turned into grants as `list_grants` does.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse or a field the
    /// grants depend on is missing or of another type.
    pub fn role_grants(body: &[u8]) -> Result<Vec<Grant>> {
        let role = parse_json::<crate::wire::RoleJson>(body, "security role")?;
        Ok(
            crate::StrategyAdapter::grants_of(&role, "GET /api/securityRoles/{id}")?
                .into_iter()
                .map(|(grant, _)| grant)
                .collect(),
        )
    }
}
