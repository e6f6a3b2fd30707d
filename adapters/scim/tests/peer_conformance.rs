//! The shared conformance suite against scim2-server, an implementation nobody here
//! wrote: every scenario of every declared capability gets a fresh tenant of one server.

mod support;

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_testkit::conformance::{Fixture, Instance, run};

struct ScimPeer(support::Peer);

#[idbridge_core::async_trait]
impl Fixture for ScimPeer {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let handle = registry::build_adapter("scim", self.0.fresh_config("peer")).await?;
        Ok(Instance::new(handle))
    }
}

fn main() -> ExitCode {
    idbridge_scim::link();
    let Some(peer) = support::Peer::start("scim2-server conformance") else {
        return ExitCode::SUCCESS;
    };
    run(ScimPeer(peer))
}
