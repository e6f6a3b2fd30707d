//! The vocabulary of what the cross-vendor test suites learn about an emulated vendor from
//! its [`super::EmulatorContract`]: what a served write request did, and the answers a
//! stand-in server gives in the vendor's place.

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
