//! Bearer-token authentication, before anything else looks at the request.
//!
//! Tokens are compared through their SHA-256 digests with a constant-time equality, and
//! every configured token is compared every time, so neither the content nor the length
//! of a token, nor which of several matched, shows in the answer's timing. A refused
//! request gets the same 401 whatever was wrong (no header, another scheme, a wrong
//! token), and the token is never logged.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ApiError;
use crate::state::ServerState;

/// The SHA-256 digests of the accepted tokens.
pub(crate) struct Tokens(Vec<[u8; 32]>);

impl Tokens {
    pub(crate) fn new(tokens: &[idbridge_core::Secret]) -> Tokens {
        Tokens(
            tokens
                .iter()
                .map(|t| digest(t.expose().as_bytes()))
                .collect(),
        )
    }

    /// Whether `presented` is one of the tokens.
    pub(crate) fn accepts(&self, presented: &[u8]) -> bool {
        let d = digest(presented);
        let mut ok = subtle::Choice::from(0);
        for t in &self.0 {
            ok |= t.ct_eq(&d);
        }
        bool::from(ok)
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive).
fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Refuses every request without an accepted token with 401.
pub(crate) async fn require_token(
    State(state): State<ServerState>,
    req: Request,
    next: Next,
) -> Response {
    match bearer(&req) {
        Some(t) if state.inner.tokens.accepts(t) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "authentication required: a valid bearer token",
        )
        .into_response(),
    }
}
