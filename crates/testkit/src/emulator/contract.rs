//! What an emulator declares about itself beyond its routes, registered once with it (see
//! [`EmulatorContract`]): the credentials it takes at start, which of its requests are
//! logins, reads and writes, the hooks callers such as the demo use without knowing the
//! vendor, what the suites that run "for every vendor" need to know about the platform, and
//! the entry the fuzz harness feeds arbitrary answers to.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use idbridge_core::{Error, Result};

use super::RunningEmulator;
use super::suite::{CannedAnswer, Credential, WriteKind, WriteSubject};

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

/// How a served write request (method, path without query) reads: what it does and which
/// record it names; `None` for a request the suites do not know, which fails them.
pub type ClassifyWrite = fn(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)>;

/// How a stand-in server answers the vendor's sign-in request at `path` so that the adapter
/// goes on (session tokens, cookies, access tokens); each credential it hands out is made
/// by `credential(purpose)`, so that the suite knows it. `None` for a request that is not a
/// sign-in (and for vendors with a static key).
pub type SignInAnswer = fn(path: &str, credential: &Credential<'_>) -> Option<CannedAnswer>;

/// What an adapter made of one answer a server might send (see [`ReadAnswer`]).
#[derive(Debug, Default)]
pub struct AnswerReading {
    /// The errors the adapter's error mapping made of the status and body, one per way it
    /// maps answers (API calls, a token exchange, ...). Each keeps the status, and a rate
    /// limit carries the `Retry-After` the answer came with.
    pub mapped: Vec<Error>,
    /// Each parser's outcome on the body, with what it parses: a value, or an error of kind
    /// `Protocol`.
    pub parsed: Vec<(&'static str, Result<()>)>,
    /// Other errors the adapter made of the body (for example a failed bulk item's), which
    /// only have to render.
    pub other: Vec<Error>,
}

/// Feeds one answer (its HTTP status, its body, and the `Retry-After` it came with) to the
/// adapter's error mapping and to every parser of its answers, as they run on what a
/// server sends. Never fails on the input; it panics only when an invariant of the
/// adapter's own breaks (a bug, which the fuzz harness reports).
pub type ReadAnswer = fn(status: u16, body: &[u8], retry_after: Duration) -> AnswerReading;

/// Everything an emulator declares about itself, registered once with it (the `contract`
/// key of the `emulator: { ... }` block of `idbridge_core::register_adapter!`) and read by
/// the CLI (`idbridge emulate`, the demo), the benchmarks, the end-to-end suites that run
/// for every vendor, and the fuzz harness.
///
/// Start from [`EmulatorContract::DEFAULT`] and set what the platform has:
/// `EmulatorContract { credentials: CREDENTIALS, classify, ..EmulatorContract::DEFAULT }`.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorContract {
    /// The credentials it takes at start; any other name is refused. Default none.
    pub credentials: &'static [CredentialSpec],
    /// Which of its requests are logins, reads and writes. Default by method alone.
    pub classify: Classify,
    /// Opens a live session as a login, when the emulated platform has sessions a sync
    /// can revoke. Default `None`: it has none.
    pub sign_in: Option<SignIn>,
    /// The platform's name as the adapter's errors give it (e.g. "`<name>` answered ...").
    /// Default empty.
    pub platform: &'static str,
    /// Whether the server hands out credentials of its own (session tokens, cookies,
    /// access tokens) that its request log lists; false (the default) for a static key.
    pub issues_credentials: bool,
    /// Garbled source answers that must fail a read: a fault spec (`missing=1,fields=...`)
    /// and the field the error then names. Default none.
    pub garbled_source: &'static [(&'static str, &'static str)],
    /// What a served write request is. Default: none known.
    pub classify_write: ClassifyWrite,
    /// How a stand-in server answers this vendor's sign-in requests. Default: no request
    /// is a sign-in.
    pub sign_in_answer: SignInAnswer,
    /// This vendor's error answer (status 400) whose message is `text`. Default a JSON
    /// object `{"message": text}`.
    pub error_answer: fn(text: &str) -> CannedAnswer,
    /// Feeds arbitrary answers to the adapter's error mapping and parsers, for the fuzz
    /// harness. Default `None`: the adapter is not fuzzed.
    pub read_answer: Option<ReadAnswer>,
}

impl EmulatorContract {
    /// No credentials, requests classed by method alone, no hooks, no write the suites
    /// know, no fuzz entry.
    pub const DEFAULT: EmulatorContract = EmulatorContract {
        credentials: &[],
        classify: |method, _| RequestClass::by_method(method),
        sign_in: None,
        platform: "",
        issues_credentials: false,
        garbled_source: &[],
        classify_write: |_, _| None,
        sign_in_answer: |_, _| None,
        error_answer: |text| CannedAnswer {
            status: 400,
            headers: Vec::new(),
            body: Some(serde_json::json!({ "message": text })),
        },
        read_answer: None,
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

    #[test]
    fn the_default_knows_no_write_no_sign_in_and_no_fuzz_entry() {
        let d = EmulatorContract::DEFAULT;
        assert_eq!((d.classify_write)("POST", "/users"), None);
        assert_eq!((d.sign_in_answer)("/login", &|p: &str| p.to_string()), None);
        assert!(d.read_answer.is_none());
        let answer = (d.error_answer)("no such user");
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.body,
            Some(serde_json::json!({"message": "no such user"}))
        );
    }
}
