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
        contract: &crate::emulator::CONTRACT,
    },
}
