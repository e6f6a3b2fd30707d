//! The shared conformance suite against scim2-server announcing (and enforcing) a
//! minimal service provider configuration: no PATCH, no filtering (both answer 501) and
//! `maxResults` 3. Updates then replace whole resources read just before (with
//! `If-Match`), lookups page through listings three at a time.

mod support;

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_testkit::conformance::{Fixture, Instance, run};
use serde_json::json;

struct MinimalPeer(support::Peer);

#[idbridge_core::async_trait]
impl Fixture for MinimalPeer {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let config = self.0.fresh_config("peer");
        let features = idbridge_scim::ScimAdapter::connect(&config)
            .await?
            .features()
            .await?;
        if features.patch || features.filter || features.max_results != Some(3) {
            return Err(idbridge_core::Error::protocol(format!(
                "the peer did not announce the minimal configuration: {}",
                features.summary()
            )));
        }
        let handle = registry::build_adapter("scim", config).await?;
        Ok(Instance::new(handle))
    }
}

fn main() -> ExitCode {
    idbridge_scim::link();
    let config = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": false},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": false, "maxResults": 3},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": []
    });
    let Some(peer) = support::Peer::start_with("scim2-server minimal conformance", Some(config))
    else {
        return ExitCode::SUCCESS;
    };
    run(MinimalPeer(peer))
}
