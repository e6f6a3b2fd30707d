//! What an emulator declares about itself beyond its routes: the credentials it takes at
//! start, which of its requests are logins, reads and writes, and the optional hooks
//! callers such as the demo use without knowing the vendor.

use std::future::Future;
use std::pin::Pin;

use idbridge_core::Result;

use super::RunningEmulator;

/// One credential an emulator takes at start (see
/// [`crate::emulator::EmulatorOptions::credentials`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialSpec {
    /// The name given with `--credential NAME=VALUE` (lowercase, `_` between words).
    pub name: &'static str,
    /// One line saying what it is and its default.
    pub description: &'static str,
    /// Whether the value is a secret: never echoed, never logged.
    pub secret: bool,
}

/// What a request does, as the emulator that served it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestClass {
    /// A login, logout, token exchange or identity check: the cost of being connected,
    /// not part of the work asked for.
    Login,
    /// A request that changes nothing.
    Read,
    /// A request that may change the emulator's state.
    Write,
}

impl RequestClass {
    /// `login`, `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestClass::Login => "login",
            RequestClass::Read => "read",
            RequestClass::Write => "write",
        }
    }

    /// The class by method alone: GET, HEAD and OPTIONS read, everything else writes.
    /// Emulators with login routes classify those first, then fall back to this.
    pub fn by_method(method: &str) -> RequestClass {
        if matches!(method, "GET" | "HEAD" | "OPTIONS") {
            RequestClass::Read
        } else {
            RequestClass::Write
        }
    }
}

/// How an emulator classifies a request from its method and path (without the query).
pub type Classify = fn(method: &str, path: &str) -> RequestClass;

/// The future of a [`SignIn`] hook.
pub type SignInFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Opens a live session on a running emulator as the user with this login, as a person
/// signing in would (so that session listing and revocation have something to show).
pub type SignIn = for<'a> fn(&'a RunningEmulator, &'a str) -> SignInFuture<'a>;

/// What an emulator declares: its credentials, its request classes and its hooks.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorContract {
    /// The credentials it takes at start; any other name is refused.
    pub credentials: &'static [CredentialSpec],
    /// Which of its requests are logins, reads and writes.
    pub classify: Classify,
    /// Opens a live session as a login, when the emulated platform has sessions a sync
    /// can revoke. `None`: it has none.
    pub sign_in: Option<SignIn>,
}

impl EmulatorContract {
    /// No credentials, requests classed by method alone, no hooks.
    pub const DEFAULT: EmulatorContract = EmulatorContract {
        credentials: &[],
        classify: |method, _| RequestClass::by_method(method),
        sign_in: None,
    };

    /// The credential named `name`, if declared.
    pub fn credential(&self, name: &str) -> Option<&'static CredentialSpec> {
        self.credentials.iter().find(|c| c.name == name)
    }

    /// The names of the secret credentials.
    pub fn secret_names(&self) -> impl Iterator<Item = &'static str> {
        self.credentials.iter().filter(|c| c.secret).map(|c| c.name)
    }
}

impl Default for EmulatorContract {
    fn default() -> Self {
        EmulatorContract::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_method_reads_only_safe_methods() {
        assert_eq!(RequestClass::by_method("GET"), RequestClass::Read);
        assert_eq!(RequestClass::by_method("HEAD"), RequestClass::Read);
        assert_eq!(RequestClass::by_method("POST"), RequestClass::Write);
        assert_eq!(RequestClass::by_method("DELETE"), RequestClass::Write);
        assert_eq!(
            (EmulatorContract::DEFAULT.classify)("PATCH", "/x"),
            RequestClass::Write
        );
    }
}
