//! The shared conformance suite against the emulator: every scenario gets its own freshly
//! started emulated Squirro (one tenant, an administrator, one project).

use std::process::ExitCode;
use std::sync::Arc;

use idbridge_core::{Error, NewUser, Result, Secret, registry};
use idbridge_squirro::emulator::{State, start_with_state};
use idbridge_testkit::conformance::{self, Fixture, Instance};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::Value;

struct SquirroFixture;

/// Keeps the emulator running while its instance is used.
struct Guard {
    emulator: RunningEmulator,
    state: Arc<State>,
}

async fn post_form(url: String, bearer: Option<&str>, form: &[(&str, &str)]) -> Result<Value> {
    let client = reqwest::Client::new();
    let mut rb = client.post(url).form(form);
    if let Some(token) = bearer {
        rb = rb.bearer_auth(token);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| Error::unavailable(format!("emulator request failed: {e}")))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| Error::protocol(format!("emulator answered no JSON: {e}")))?;
    if !status.is_success() {
        return Err(Error::protocol(format!(
            "emulator answered {status}: {body}"
        )));
    }
    Ok(body)
}

fn text(v: &Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::protocol(format!("no `{key}` in {v}")))
}

#[idbridge_core::async_trait]
impl Fixture for SquirroFixture {
    async fn instance(&self) -> Result<Instance> {
        let (emulator, state) = start_with_state(EmulatorOptions::default()).await?;
        let handle =
            registry::build_adapter("squirro", emulator.adapter_config("conformance")).await?;
        Ok(Instance::with_guard(handle, Guard { emulator, state }))
    }

    /// Logs in with the password (a `login` session), then, as that user, creates an API
    /// token (a grant) and exchanges it: the session that the grant listing shows and
    /// `revoke_user_sessions` ends.
    async fn open_session(
        &self,
        instance: &Instance,
        login: &str,
        password: &Secret,
    ) -> Result<bool> {
        let Some(guard) = instance.guard.downcast_ref::<Guard>() else {
            return Ok(false);
        };
        let base = format!("{}/api/user", guard.emulator.base_url);
        let token_url = format!("{base}/oauth2/token");
        let login_answer = post_form(
            token_url.clone(),
            None,
            &[
                ("grant_type", "password"),
                ("username", login),
                ("password", password.expose()),
            ],
        )
        .await?;
        let access = text(&login_answer, "access_token")?;
        let user_id = text(&login_answer, "user_id")?;
        let grant = post_form(
            format!("{base}/v0/{}/users/{user_id}/grants", guard.state.tenant()),
            Some(&access),
            &[("type", "user")],
        )
        .await?;
        let refresh = text(&grant, "refresh_token")?;
        post_form(
            token_url,
            None,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await?;
        Ok(true)
    }

    /// Squirro logins are e-mail addresses.
    fn new_user(&self, unique: &str) -> NewUser {
        let login = if unique.contains('@') {
            unique.to_string()
        } else {
            format!("{unique}@example.com")
        };
        let mut user = NewUser::new(login.clone());
        user.email = Some(login);
        user.display_name = Some(format!("Conformance {unique}"));
        user
    }
}

fn main() -> ExitCode {
    // Reference the crate so the linker keeps its adapter registration.
    let _ = idbridge_squirro::ADAPTER_NAME;
    conformance::run(SquirroFixture)
}
