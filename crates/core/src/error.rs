//! The one error type every idbridge operation returns.
//!
//! An [`Error`] carries a coarse [`ErrorKind`] that callers branch on, whether a retry may
//! help, and context: which adapter instance, which operation, which resource, and the
//! vendor's own error code and message. Each adapter maps vendor responses to kinds in one
//! function; everything else only reads kinds, never message text.
//!
//! `Display` shows the context and the messages. No constructor in idbridge puts a secret
//! into an error (secrets live in [`crate::Secret`], whose own `Display` is redacted), but a
//! server may: an error body that repeats the request quotes the password or the token it
//! was sent. So the message and the vendor's text are cleaned of every registered secret
//! value ([`crate::redact`]) when the error is made, and the whole text again when it is
//! shown (a token may be registered after the error was made).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Result alias used throughout idbridge.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely enough to decide what to do next.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The addressed record does not exist.
    NotFound,
    /// A record with the same unique key (login, name) already exists.
    AlreadyExists,
    /// The request conflicts with the current state (concurrent change, stale plan).
    Conflict,
    /// Credentials are missing, wrong or expired.
    Unauthenticated,
    /// The credentials are valid but not allowed to do this, or the record is protected.
    PermissionDenied,
    /// The server asked us to slow down (HTTP 429).
    RateLimited,
    /// The server or network is unavailable (5xx, timeouts, dropped connections).
    Unavailable,
    /// The request itself is invalid (bad field value, malformed email).
    InvalidInput,
    /// The adapter does not offer this operation (see its capabilities).
    Unsupported,
    /// The adapter declares this operation in its capabilities but its implementation does
    /// not provide it: a bug in the adapter, not a limit of the platform.
    Unimplemented,
    /// The configuration is invalid.
    Config,
    /// The server answered something idbridge cannot understand.
    Protocol,
}

impl ErrorKind {
    /// Whether an error of this kind is worth retrying when nothing else is known.
    ///
    /// Only [`ErrorKind::RateLimited`] and [`ErrorKind::Unavailable`] are.
    pub fn retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Unavailable)
    }

    /// The snake_case name of the kind, as shown in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unimplemented => "unimplemented",
            ErrorKind::Config => "config",
            ErrorKind::Protocol => "protocol",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An idbridge error: a kind, a message, a retry hint and context.
///
/// Build one with [`Error::new`] (or a shorthand such as [`Error::not_found`]) and add
/// context with the `with_*` methods. Context that is already set is kept, so the
/// innermost layer that knows a fact wins.
// Boxed so that `Result<T, Error>` stays one pointer wide on the error path.
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    adapter: Option<String>,
    operation: Option<String>,
    resource: Option<String>,
    vendor_code: Option<String>,
    vendor_message: Option<String>,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
    outcome_unknown: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind`; retryable as [`ErrorKind::retryable_by_default`] says.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = match crate::redact(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(clean) => clean,
        };
        Error(Box::new(Inner {
            kind,
            message,
            retryable: kind.retryable_by_default(),
            adapter: None,
            operation: None,
            resource: None,
            vendor_code: None,
            vendor_message: None,
            http_status: None,
            retry_after: None,
            outcome_unknown: false,
            source: None,
        }))
    }

    /// A record a server sent that the adapter refuses to use, because a field the engine
    /// acts on is missing or of another type: [`ErrorKind::Protocol`], not retryable,
    /// naming the vendor, the request (`GET /api/users/ABC`), the record (`user \`ABC\``)
    /// and the field. Adapters return this instead of guessing a value, which could grant,
    /// enable or rename something.
    pub fn unusable_field(
        vendor: &str,
        endpoint: &str,
        record: &str,
        field: &str,
        problem: &str,
    ) -> Self {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "{vendor} answered {endpoint} with {record} whose `{field}` {problem}; the record is not used, as a guessed value could grant, enable or rename something"
            ),
        )
        .with_retryable(false)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::AlreadyExists`].
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Shorthand for [`ErrorKind::Protocol`].
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    /// Shorthand for [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Shorthand for [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// Shorthand for [`ErrorKind::PermissionDenied`].
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    /// The error an adapter returns for an operation it does not offer.
    pub fn unsupported(adapter: impl Into<String>, operation: impl Into<String>) -> Self {
        let adapter = adapter.into();
        let operation = operation.into();
        Self::new(
            ErrorKind::Unsupported,
            format!("adapter `{adapter}` does not support `{operation}`"),
        )
        .with_adapter(adapter)
        .with_operation(operation)
    }

    /// The error a trait method's default body returns: the adapter did not implement
    /// `operation`. [`ErrorKind::Unimplemented`], not retryable.
    pub fn unimplemented(operation: impl Into<String>) -> Self {
        let operation = operation.into();
        Self::new(
            ErrorKind::Unimplemented,
            format!("the adapter does not implement `{operation}`"),
        )
        .with_operation(operation)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether a retry of the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// The adapter instance (for example `bi` or `source`), if known: the same as
    /// [`Error::system`].
    pub fn adapter(&self) -> Option<&str> {
        self.0.adapter.as_deref()
    }

    /// The configured system the error came from (the source's or a target's name, such
    /// as `bi`), if known. Every call through an [`crate::AdapterHandle`] sets it, with
    /// the [`Error::operation`].
    pub fn system(&self) -> Option<&str> {
        self.0.adapter.as_deref()
    }

    /// The operation (for example `users_create`), if known.
    pub fn operation(&self) -> Option<&str> {
        self.0.operation.as_deref()
    }

    /// The resource addressed (an id, login or name), if known.
    pub fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    /// The vendor's own error code (`ERR009`, `NotFoundException`), if any.
    pub fn vendor_code(&self) -> Option<&str> {
        self.0.vendor_code.as_deref()
    }

    /// The vendor's own error message, if any.
    pub fn vendor_message(&self) -> Option<&str> {
        self.0.vendor_message.as_deref()
    }

    /// The HTTP status of the response that caused the error, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// How long the server asked us to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether the request reached the server but no usable answer came back (the
    /// connection dropped or timed out after sending, or a 500, 502 or 504 answered a
    /// request that is not idempotent), so the HTTP layer could not safely send it again:
    /// the server may or may not have carried it out. The engine attempts such an
    /// operation once more, adopting what the first attempt may have created. `false`
    /// unless set.
    pub fn is_outcome_unknown(&self) -> bool {
        self.0.outcome_unknown
    }

    /// Marks whether the server may have carried out the request although no usable
    /// answer came back (see [`Error::is_outcome_unknown`]).
    pub fn with_outcome_unknown(mut self, unknown: bool) -> Self {
        self.0.outcome_unknown = unknown;
        self
    }

    /// Overrides whether a retry may help.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.0.retryable = retryable;
        self
    }

    /// Sets the adapter instance unless already set.
    pub fn with_adapter(mut self, adapter: impl Into<String>) -> Self {
        if self.0.adapter.is_none() {
            self.0.adapter = Some(adapter.into());
        }
        self
    }

    /// Sets the operation unless already set.
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        if self.0.operation.is_none() {
            self.0.operation = Some(operation.into());
        }
        self
    }

    /// Sets the resource unless already set.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        if self.0.resource.is_none() {
            self.0.resource = Some(resource.into());
        }
        self
    }

    /// Sets the vendor's error code and message (cleaned of every registered secret, like
    /// the message).
    pub fn with_vendor(
        mut self,
        code: Option<impl Into<String>>,
        message: Option<impl Into<String>>,
    ) -> Self {
        if let Some(code) = code {
            self.0.vendor_code = Some(crate::redact(&code.into()).into_owned());
        }
        if let Some(message) = message {
            self.0.vendor_message = Some(crate::redact(&message.into()).into_owned());
        }
        self
    }

    /// Sets the HTTP status.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.0.http_status = Some(status);
        self
    }

    /// Sets the server's requested back-off.
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.0.retry_after = after;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Arc::new(source));
        self
    }

    /// Replaces the kind (used by the one place in each adapter that maps vendor errors).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }
}

/// Shown cleaned of every registered secret ([`crate::redact`]) and with
/// [`crate::text::escape_lines`]: messages quote names and vendor answers, which may repeat
/// a credential, and a control character in one of them must not act on the terminal (or
/// the log file) that shows the error. Newlines stay, for multi-line parser messages.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_plain(&mut text)?;
        f.write_str(&crate::text::escape_lines(&crate::redact(&text)))
    }
}

impl Error {
    fn write_plain(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let mut wrote_context = false;
        if let Some(adapter) = &self.0.adapter {
            write!(f, "{adapter}")?;
            wrote_context = true;
        }
        if let Some(op) = &self.0.operation {
            write!(f, "{}{op}", if wrote_context { " " } else { "" })?;
            wrote_context = true;
        }
        if let Some(resource) = &self.0.resource {
            write!(f, "{}`{resource}`", if wrote_context { " " } else { "" })?;
            wrote_context = true;
        }
        if wrote_context {
            f.write_str(": ")?;
        }
        write!(f, "{} ({})", self.0.message, self.0.kind)?;
        match (&self.0.vendor_code, &self.0.vendor_message) {
            (Some(code), Some(msg)) if msg != &self.0.message => {
                write!(f, "; vendor error {code}: {msg}")?
            }
            (Some(code), _) => write!(f, "; vendor error {code}")?,
            (None, Some(msg)) if msg != &self.0.message => write!(f, "; vendor said: {msg}")?,
            _ => {}
        }
        if let Some(status) = self.0.http_status {
            write!(f, " [HTTP {status}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind)
            .field("message", &crate::redact(&self.0.message))
            .field("retryable", &self.0.retryable);
        for (name, value) in [
            ("adapter", &self.0.adapter),
            ("operation", &self.0.operation),
            ("resource", &self.0.resource),
            ("vendor_code", &self.0.vendor_code),
            ("vendor_message", &self.0.vendor_message),
        ] {
            if let Some(v) = value {
                d.field(name, &crate::redact(v));
            }
        }
        if let Some(status) = self.0.http_status {
            d.field("http_status", &status);
        }
        if let Some(source) = &self.0.source {
            d.field("source", &crate::redact(&source.to_string()));
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A serialisable summary of an [`Error`], for reports, plans and the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// The kind.
    pub kind: ErrorKind,
    /// The full display text, with context.
    pub message: String,
    /// Whether a retry may help.
    pub retryable: bool,
    /// The vendor's error code, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_code: Option<String>,
    /// The HTTP status, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        ErrorReport {
            kind: e.0.kind,
            message: e.to_string(),
            retryable: e.0.retryable,
            vendor_code: e.0.vendor_code.clone(),
            http_status: e.0.http_status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_context_and_vendor_code() {
        let e = Error::not_found("user does not exist")
            .with_adapter("bi")
            .with_operation("users_get")
            .with_resource("ABC")
            .with_vendor(Some("ERR004"), Some("HTTP 404 Not Found"))
            .with_http_status(404);
        assert_eq!(
            e.to_string(),
            "bi users_get `ABC`: user does not exist (not_found); vendor error ERR004: HTTP 404 Not Found [HTTP 404]"
        );
    }

    #[test]
    fn server_text_is_cleaned_of_registered_secrets() {
        let password = crate::Secret::new("error-canary-Pw-1d2e");
        let e = Error::invalid_input(format!("bad request: password={}", password.expose()))
            .with_vendor(Some("E1"), Some(format!("echo {}", password.expose())));
        for text in [
            e.to_string(),
            format!("{e:?}"),
            e.message().to_string(),
            e.vendor_message().unwrap_or_default().to_string(),
        ] {
            assert!(!text.contains("error-canary"), "{text}");
            assert!(text.contains(crate::REDACTED), "{text}");
        }
        // A token registered after the error was made is gone from its text too.
        let e = Error::invalid_input("session late-token-5a6b7c ended");
        crate::register_secret("late-token-5a6b7c");
        assert!(!e.to_string().contains("late-token"), "{e}");
    }

    #[test]
    fn every_fact_a_program_acts_on_is_a_method() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_adapter("bi")
            .with_operation("users_create")
            .with_resource("ada")
            .with_vendor(Some("ERR429"), Some("Too many requests"))
            .with_http_status(429)
            .with_retry_after(Some(Duration::from_secs(3)));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.kind().as_str(), "rate_limited");
        assert!(e.is_retryable());
        assert_eq!(e.system(), Some("bi"));
        assert_eq!(e.adapter(), e.system());
        assert_eq!(e.operation(), Some("users_create"));
        assert_eq!(e.resource(), Some("ada"));
        assert_eq!(e.vendor_code(), Some("ERR429"));
        assert_eq!(e.vendor_message(), Some("Too many requests"));
        assert_eq!(e.http_status(), Some(429));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(!e.is_outcome_unknown());
        // An override of the kind's default is what the method reports.
        assert!(!e.with_retryable(false).is_retryable());
        let bare = Error::conflict("taken");
        assert_eq!((bare.system(), bare.operation()), (None, None));
        assert_eq!(bare.vendor_code(), None);
    }

    #[test]
    fn inner_context_wins() {
        let e = Error::unavailable("x")
            .with_operation("inner")
            .with_operation("outer");
        assert_eq!(e.operation(), Some("inner"));
        assert!(e.is_retryable());
        assert!(!Error::not_found("x").is_retryable());
    }
}
