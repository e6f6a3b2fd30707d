//! What the cross-vendor test suites need to know about an emulated vendor beyond its
//! capabilities, given by the vendor crate with its emulator (see [`SuiteFixtures`]), so
//! that a suite that runs "for every vendor" picks up a new one by itself.

/// What one served write request did, as far as its method and path tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Creates an account.
    CreateUser,
    /// Writes a field of an existing or just-created account (a second request of a
    /// create, or an update).
    UserWrite,
    /// Creates a group.
    CreateGroup,
    /// Adds (or replaces) memberships of one group or one user.
    AddMember,
    /// One request carrying changes of many users at once (fields or memberships).
    BulkEdit,
}

/// The record a served write request names in its path, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteSubject {
    /// No single record (a create, a bulk request).
    None,
    /// A user by its id on the platform.
    UserId(String),
    /// A user by its login (a platform whose paths carry the login).
    UserLogin(String),
    /// A group by its id on the platform.
    GroupId(String),
}

/// Makes a credential a stand-in server hands out, from its purpose (`session-token`, ...).
pub type Credential<'a> = dyn Fn(&str) -> String + 'a;

/// Per-vendor fixtures of the end-to-end suites.
#[derive(Debug)]
pub struct SuiteFixtures {
    /// The platform's name as the adapter's errors give it (e.g. "`<name>` answered ...").
    pub platform: &'static str,
    /// Garbled source answers that must fail a read: a fault spec (`missing=1,fields=...`)
    /// and the field the error then names.
    pub garbled_source: &'static [(&'static str, &'static str)],
    /// Whether the server hands out credentials of its own (session tokens, cookies,
    /// access tokens) that its request log lists; false for a static API key.
    pub issues_credentials: bool,
    /// What a served write request (method, path without query) is; `None` for a request
    /// the suites do not know, which fails them.
    pub classify_write: fn(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)>,
    /// How a stand-in server answers this vendor's sign-in request at `path` so that the
    /// adapter goes on (session tokens, cookies, access tokens); each credential it hands
    /// out is made by `credential(purpose)`, so that the suite knows it. `None` for a
    /// request that is not a sign-in (and for vendors with a static key).
    pub sign_in_answer: fn(path: &str, credential: &Credential<'_>) -> Option<CannedAnswer>,
    /// This vendor's error answer (status 400) whose message is `text`.
    pub error_answer: fn(text: &str) -> CannedAnswer,
}

/// An answer a stand-in server gives, in place of the vendor's.
#[derive(Debug, Clone, PartialEq)]
pub struct CannedAnswer {
    /// The HTTP status.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// The last two segments of a path: `(before_last, last)`.
pub fn tail(path: &str) -> (&str, &str) {
    let mut segs = path.trim_end_matches('/').rsplit('/');
    let last = segs.next().unwrap_or_default();
    (segs.next().unwrap_or_default(), last)
}
