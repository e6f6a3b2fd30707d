//! A user's default e-mail address, kept the way the official SDK (mstrio-py) keeps it.
//!
//! - Read: `GET /api/v2/users/{id}/addresses` (the SDK reads addresses only there, on
//!   every server it supports), the default address delivered by e-mail.
//! - Add (a user without a default e-mail): from server 11.3.0100 (the first with
//!   delivery devices; also when the version is unknown) the generic e-mail device is
//!   looked up once per connection (`GET /api/v2/devices`, the e-mail device named
//!   "Generic email") and the address posted to `/api/v2/users/{id}/addresses`, as the
//!   SDK's `User.create(default_email_address=...)` does; before 11.3.0100 it is posted to
//!   the v1 route with the body the SDK sends when it names no device (also when the
//!   version is unknown and the devices route does not exist).
//! - Change: the default address is changed in place with
//!   `PUT /api/v2/users/{id}/addresses/{aid}`, keeping its name and device, as the SDK's
//!   `User.alter(default_email_address=...)` does: never a second address.
//! - Clear: `DELETE /api/users/{id}/addresses/{aid}`, the SDK's only delete route.
//!
//! An added address must come back as the user's default e-mail: the SDK's own
//! `add_address` misspells the default flag, so no official client shows that a server
//! honours it on creation; the answer (or a read) is checked.

use idbridge_core::{Error, ErrorKind, Result};
use reqwest::Method;

use crate::adapter::{StrategyAdapter, version_at_least};
use crate::client::Call;
use crate::wire::{self, AddressJson, Addresses, DEFAULT_EMAIL_NAME, Devices};

/// The first server version with delivery devices (`/api/v2/devices`; the official SDK's
/// `Device` class requires it).
pub(crate) const DEVICES_SINCE: &str = "11.3.0100";

/// How many times a lost e-mail write of a new user is repaired by reading the addresses
/// back before the creation is reported as failed.
const EMAIL_REPAIRS: usize = 3;

impl StrategyAdapter {
    /// Whether the server has delivery devices: from 11.3.0100, or when the version is
    /// unknown (every current server has them).
    pub(crate) fn has_devices(&self) -> bool {
        self.version
            .as_deref()
            .is_none_or(|v| version_at_least(v, DEVICES_SINCE))
    }

    /// The id of the generic e-mail device, read once per connection.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::NotFound`] naming the e-mail devices the server offers
    /// when none is called "Generic email".
    async fn email_device(&self) -> Result<String> {
        self.email_device
            .get_or_try_init(|| async {
                let devices: Devices = self
                    .client
                    .json(
                        &Call::get("/api/v2/devices").query("deviceType", wire::EMAIL_DELIVERY),
                        "device listing",
                    )
                    .await?;
                match devices.generic_email() {
                    Some(id) => Ok(id.to_string()),
                    None => Err(Error::not_found(format!(
                        "the server has no e-mail device named \"{}\" to give users' e-mail \
                         addresses (e-mail devices: {:?})",
                        wire::GENERIC_EMAIL_DEVICE,
                        devices.email_device_names()
                    ))),
                }
            })
            .await
            .cloned()
    }

    /// The user's addresses.
    async fn addresses(&self, id: &str) -> Result<Addresses> {
        self.client
            .json(
                &Call::get(format!("/api/v2/users/{id}/addresses")),
                "user addresses",
            )
            .await
    }

    /// Adds `email` as the user's default e-mail address and checks that it became it.
    async fn post_email(&self, id: &str, email: &str) -> Result<()> {
        let device = if self.has_devices() {
            match self.email_device().await {
                Ok(d) => Some(d),
                // A server that did not say its version and has no devices: the route the
                // SDK uses without a device.
                Err(e) if self.version.is_none() && e.kind() == ErrorKind::Unsupported => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let call = match device {
            Some(device) => Call::new(Method::POST, format!("/api/v2/users/{id}/addresses"))
                .json(wire::email_address_v2(DEFAULT_EMAIL_NAME, email, &device)),
            None => Call::new(Method::POST, format!("/api/users/{id}/addresses"))
                .json(wire::email_address_v1(DEFAULT_EMAIL_NAME, email)),
        };
        let answer = self.client.send(&call).await?;
        // The v2 answer lists the user's addresses (the SDK reads them from it); any other
        // answer (the v1 route's, an empty body) is not guessed at: the list is read.
        let listed = serde_json::from_slice::<Addresses>(&answer.body)
            .ok()
            .filter(|a| !a.addresses.is_empty());
        let addresses = match listed {
            Some(a) => a,
            None => self.addresses(id).await?,
        };
        self.check_default(addresses, email, "added")
    }

    /// Fails unless `addresses` hold `email` as the default e-mail address.
    fn check_default(&self, addresses: Addresses, email: &str, change: &str) -> Result<()> {
        match addresses.default_email() {
            Some(a) if a.address() == Some(email) => Ok(()),
            other => Err(Error::protocol(format!(
                "Strategy accepted the {change} e-mail address but does not list it as the \
                 user's default e-mail (the default is {})",
                other
                    .as_ref()
                    .and_then(AddressJson::address)
                    .map_or("none".to_string(), |a| format!("`{a}`"))
            ))),
        }
    }

    /// Gives a user created a moment ago, which has no address yet, its default e-mail
    /// address: one request, without reading the (empty) address list first, as the
    /// official SDK does after creating a user.
    ///
    /// The add is not repeated blindly when its answer is lost (it could add the address
    /// twice): the addresses are read back and the e-mail set from what is there, a few
    /// times while the server stays unavailable.
    pub(crate) async fn add_email(&self, id: &str, email: &str) -> Result<()> {
        let mut result = self.post_email(id, email).await;
        for _ in 0..EMAIL_REPAIRS {
            match result {
                Err(e) if e.is_retryable() => result = self.set_email(id, Some(email)).await,
                done => return done,
            }
        }
        result
    }

    /// Sets (or with `None` removes) the user's default e-mail address: the default
    /// address is changed in place, never a second one added.
    pub(crate) async fn set_email(&self, id: &str, email: Option<&str>) -> Result<()> {
        let existing = self.addresses(id).await?.default_email();
        match (existing, email) {
            (Some(a), Some(e)) if a.address() == Some(e) => Ok(()),
            (Some(a), Some(e)) => self.put_email(id, &a, e).await,
            (None, Some(e)) => self.post_email(id, e).await,
            (Some(a), None) => {
                let call = Call::new(
                    Method::DELETE,
                    format!("/api/users/{id}/addresses/{}", a.id),
                );
                self.client.ok(&call).await
            }
            (None, None) => Ok(()),
        }
    }

    /// Changes the default e-mail address `a` to `email`, keeping its name and device.
    async fn put_email(&self, id: &str, a: &AddressJson, email: &str) -> Result<()> {
        let name = a.name.as_deref().unwrap_or(DEFAULT_EMAIL_NAME);
        let device = match a.device_id.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => d.to_string(),
            None => self.email_device().await?,
        };
        let call = Call::new(
            Method::PUT,
            format!("/api/v2/users/{id}/addresses/{}", a.id),
        )
        .json(wire::email_address_v2(name, email, &device))
        .idempotent();
        self.client.ok(&call).await
    }
}
