//! The shared conformance suite against the adapter, each scenario with a private slapd
//! seeded with the test directory. The adapter only reads, so the suite runs the
//! scenarios of the read capabilities and the capability checks.

mod support;

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_testkit::conformance::{self, Fixture, Instance};

struct LdapFixture;

#[idbridge_core::async_trait]
impl Fixture for LdapFixture {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let server = support::Slapd::start(&support::seed(), None);
        let handle = registry::build_adapter("ldap", server.section(serde_json::json!({}))).await?;
        Ok(Instance::with_guard(handle, server))
    }
}

fn main() -> ExitCode {
    if !support::available() {
        return ExitCode::SUCCESS;
    }
    idbridge_ldap::link();
    conformance::run(LdapFixture)
}
