//! The shared conformance suite against a fresh emulator per scenario.

use std::process::ExitCode;

use idbridge_core::{Error, Result, Secret, registry};
use idbridge_strategy::emulator;
use idbridge_testkit::conformance::{Fixture, Instance};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};

struct StrategyFixture;

#[idbridge_core::async_trait]
impl Fixture for StrategyFixture {
    async fn instance(&self) -> Result<Instance> {
        let running = emulator::start(EmulatorOptions::default()).await?;
        let handle = registry::build_adapter("strategy", running.adapter_config("bi")).await?;
        Ok(Instance::with_guard(handle, running))
    }

    /// Logs in as the user, form-encoded like every Strategy client, which opens a user
    /// connection on the emulator.
    async fn open_session(
        &self,
        instance: &Instance,
        login: &str,
        password: &Secret,
    ) -> Result<bool> {
        let running = instance
            .guard
            .downcast_ref::<RunningEmulator>()
            .ok_or_else(|| Error::protocol("the instance guard is not the emulator"))?;
        let resp = reqwest::Client::new()
            .post(format!("{}/api/auth/login", running.base_url))
            .form(&[
                ("loginMode", "1"),
                ("applicationType", "35"),
                ("username", login),
                ("password", password.expose()),
            ])
            .send()
            .await
            .map_err(|e| Error::unavailable(format!("login request failed: {e}")))?;
        if resp.status().as_u16() != 204 || !resp.headers().contains_key("X-MSTR-AuthToken") {
            return Err(Error::protocol(format!(
                "login as {login} answered {}",
                resp.status()
            )));
        }
        Ok(true)
    }

    fn grant_project(&self) -> Option<String> {
        Some(emulator::TUTORIAL_PROJECT_NAME.to_string())
    }
}

fn main() -> ExitCode {
    idbridge_testkit::conformance::run(StrategyFixture)
}
