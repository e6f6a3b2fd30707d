//! Bulk writes (RFC 7644 §3.7): a batch of user writes the engine hands over
//! ([`idbridge_core::Users::write_users`]) goes to `/Bulk` in requests within the
//! server's `maxOperations` and `maxPayloadSize`, and each operation's own status answers
//! its own caller, so a failed operation fails only its write.
//!
//! Creates and deletes go in bulk. Updates and enable/disable read the user first (for the
//! PATCH of its e-mail list or the whole-resource replace, and its version), so they run
//! one by one as outside a batch. An operation the server did not run (a request cut short
//! by its error limit, a request refused as too large, or one operation alone larger than
//! `maxPayloadSize`) is sent on its own through the single-resource endpoint, so every
//! write gets an outcome.

use std::collections::HashMap;

use idbridge_core::{Error, ErrorKind, Result, User, UserWrite, UserWriteResult};
use reqwest::Method;
use serde_json::{Value, json};

use crate::adapter::ScimAdapter;
use crate::client::seg;
use crate::error::map_error;
use crate::mapping::{new_user_body, user_from_scim};
use crate::wire::{
    BULK_REQUEST_SCHEMA, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse,
    UserResource,
};

/// Bytes of a request around its operations (`schemas`, the `Operations` key, braces),
/// rounded up.
const ENVELOPE_BYTES: usize = 128;

/// One operation of a bulk request; every one carries a `bulkId` to match its answer.
#[derive(Debug, Clone)]
pub(crate) struct BulkOp {
    method: &'static str,
    path: String,
    bulk_id: String,
    data: Option<Value>,
}

impl BulkOp {
    /// The operation as sent.
    fn to_wire(&self) -> BulkOperation {
        BulkOperation {
            method: self.method.to_string(),
            bulk_id: Some(self.bulk_id.clone()),
            version: None,
            path: self.path.clone(),
            data: self.data.clone(),
        }
    }
}

/// What became of one operation.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server ran it: its status, `location`, `version` and `response`.
    Ran {
        status: u16,
        location: Option<String>,
        version: Option<String>,
        response: Option<Value>,
    },
    /// The whole request failed with this error.
    Failed(Error),
    /// The server did not run it; send it on its own.
    NotRun,
}

/// Sends `ops` in requests of at most `max_ops` operations and `max_bytes` bytes, one
/// outcome per operation in order. A request refused with 413 is split in halves; one
/// that the server answers with 404, 405 or 501 leaves its operations not run.
pub(crate) async fn send(
    a: &ScimAdapter,
    ops: &[BulkOp],
    max_ops: usize,
    max_bytes: usize,
) -> Vec<Outcome> {
    let encoded: Vec<BulkOperation> = ops.iter().map(BulkOp::to_wire).collect();
    let sizes: Vec<usize> = encoded
        .iter()
        .map(|op| serde_json::to_vec(op).map_or(usize::MAX / 2, |b| b.len() + 1))
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..ops.len()).map(|_| None).collect();
    let mut pending: Vec<std::ops::Range<usize>> = chunks(&sizes, max_ops.max(1), max_bytes)
        .into_iter()
        .rev()
        .collect();
    while let Some(range) = pending.pop() {
        let bytes: usize = ENVELOPE_BYTES + sizes[range.clone()].iter().sum::<usize>();
        if bytes > max_bytes {
            // Only a single operation larger than the limit gets here.
            for i in range {
                outcomes[i] = Some(Outcome::NotRun);
            }
            continue;
        }
        // No `failOnErrors`: the server runs every operation (RFC 7644 §3.7.3).
        let request = BulkRequest {
            schemas: vec![BULK_REQUEST_SCHEMA.to_string()],
            fail_on_errors: None,
            operations: encoded[range.clone()].to_vec(),
        };
        let body = serde_json::to_value(&request).unwrap_or(Value::Null);
        match a
            .client
            .write(Method::POST, "/Bulk", Some(body), None, false)
            .await
        {
            Ok(w) => match w.body.map(serde_json::from_value::<BulkResponse>) {
                Some(Ok(answer)) => {
                    let mut ran = read_response(&answer, &ops[range.clone()]);
                    for (k, i) in range.enumerate() {
                        outcomes[i] = Some(ran[k].take().unwrap_or(Outcome::NotRun));
                    }
                }
                // Something may have been written: the outcome of each operation is unknown.
                Some(Err(e)) => {
                    let e = Error::new(
                        ErrorKind::Protocol,
                        format!("the SCIM service provider's bulk answer does not read: {e}"),
                    );
                    for i in range {
                        outcomes[i] = Some(Outcome::Failed(e.clone()));
                    }
                }
                None => {
                    let e = Error::new(
                        ErrorKind::Protocol,
                        "the SCIM service provider answered a bulk request without a body",
                    );
                    for i in range {
                        outcomes[i] = Some(Outcome::Failed(e.clone()));
                    }
                }
            },
            Err(e) if e.http_status() == Some(413) && range.len() > 1 => {
                let mid = range.start + range.len() / 2;
                pending.push(mid..range.end);
                pending.push(range.start..mid);
            }
            Err(e) if e.http_status() == Some(413) => outcomes[range.start] = Some(Outcome::NotRun),
            Err(e) if matches!(e.http_status(), Some(404 | 405 | 501)) => {
                tracing::warn!(adapter = crate::ADAPTER_NAME, status = ?e.http_status(), "the server refused /Bulk although it advertises it; writing one by one");
                a.bulk_refused();
                for i in range {
                    outcomes[i] = Some(Outcome::NotRun);
                }
            }
            Err(e) => {
                for i in range {
                    outcomes[i] = Some(Outcome::Failed(e.clone()));
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::NotRun))
        .collect()
}

/// Consecutive ranges of operations (of `sizes` bytes each) within both limits; an
/// operation larger than `max_bytes` alone makes a range of its own.
pub(crate) fn chunks(
    sizes: &[usize],
    max_ops: usize,
    max_bytes: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = ENVELOPE_BYTES;
    for (i, size) in sizes.iter().enumerate() {
        let full = i - start >= max_ops || (i > start && bytes + size > max_bytes);
        if full {
            out.push(start..i);
            start = i;
            bytes = ENVELOPE_BYTES;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// The outcome of each operation of a request, matched by `bulkId` (else, for a server
/// that does not echo it, by method and location). Operations missing from the answer
/// were not run.
fn read_response(answer: &BulkResponse, ops: &[BulkOp]) -> Vec<Option<Outcome>> {
    let mut out: Vec<Option<Outcome>> = (0..ops.len()).map(|_| None).collect();
    let by_id: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (op.bulk_id.as_str(), i))
        .collect();
    for r in &answer.operations {
        let Some(status) = r.status_code() else {
            continue;
        };
        let Some(i) = index_of(r, ops, &by_id) else {
            continue;
        };
        if out[i].is_some() {
            continue;
        }
        out[i] = Some(Outcome::Ran {
            status,
            location: r.location.clone(),
            version: r.version.clone(),
            response: r.response.clone(),
        });
    }
    out
}

/// Which operation an answer is for.
fn index_of(
    r: &BulkOperationResponse,
    ops: &[BulkOp],
    by_id: &HashMap<&str, usize>,
) -> Option<usize> {
    match &r.bulk_id {
        Some(id) => by_id.get(id.as_str()).copied(),
        None => ops.iter().position(|op| {
            op.method.eq_ignore_ascii_case(&r.method)
                && r.location.as_deref().is_some_and(|l| l.ends_with(&op.path))
        }),
    }
}

/// The last segment of a location URL: the resource's id.
fn id_of(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let last = path.rsplit('/').next()?;
    let decoded = url::form_urlencoded::parse(format!("x={}", last.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    (!decoded.is_empty()).then_some(decoded)
}

/// Applies a batch of user writes: creates and deletes in bulk where the server
/// advertises it and configuration allows, the rest (and whatever bulk did not run) one by
/// one; one result per write in order.
pub(crate) async fn write_users(a: &ScimAdapter, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
    let limits = match a.bulk_limits().await {
        Ok(l) => l,
        Err(e) => return batch.iter().map(|_| Err(e.clone())).collect(),
    };
    let mut results: Vec<Option<UserWriteResult>> = (0..batch.len()).map(|_| None).collect();
    if let Some((max_ops, max_bytes)) = limits {
        let mut ops = Vec::new();
        let mut at = Vec::new();
        for (i, w) in batch.iter().enumerate() {
            let (method, path, data) = match w {
                UserWrite::Create { user } => (
                    "POST",
                    "/Users".to_string(),
                    Some(new_user_body(user, &a.attributes)),
                ),
                UserWrite::Delete { id } => ("DELETE", format!("/Users/{}", seg(id)), None),
                _ => continue,
            };
            ops.push(BulkOp {
                method,
                path,
                bulk_id: format!("w{i}"),
                data,
            });
            at.push(i);
        }
        if ops.len() > 1 {
            let outcomes = send(a, &ops, max_ops, max_bytes).await;
            for ((i, op), outcome) in at.into_iter().zip(&ops).zip(outcomes) {
                results[i] = settle(a, &batch[i], op, outcome).await;
            }
        }
    }
    let mut out = Vec::with_capacity(batch.len());
    for (w, done) in batch.into_iter().zip(results) {
        out.push(match done {
            Some(r) => r,
            None => single(a, w).await,
        });
    }
    out
}

/// The result of one write from its operation's outcome; `None` to send it on its own.
async fn settle(
    a: &ScimAdapter,
    write: &UserWrite,
    op: &BulkOp,
    outcome: Outcome,
) -> Option<UserWriteResult> {
    match (write, outcome) {
        (_, Outcome::NotRun) => None,
        (UserWrite::Create { user }, Outcome::Failed(e)) if e.is_outcome_unknown() => {
            // The create may have happened: look for the user, so that the outcome is known.
            Some(match crate::users::find_by_login(a, &user.login).await {
                Ok(Some(found)) => Ok(Some(found)),
                _ => Err(e),
            })
        }
        (_, Outcome::Failed(e)) => Some(Err(e)),
        (
            _,
            Outcome::Ran {
                status, response, ..
            },
        ) if !(200..300).contains(&status) => {
            let body = response.map(|r| r.to_string()).unwrap_or_default();
            Some(Err(map_error(status, body.as_bytes(), None)))
        }
        (UserWrite::Delete { .. }, Outcome::Ran { .. }) => Some(Ok(None)),
        (
            UserWrite::Create { user },
            Outcome::Ran {
                location,
                version,
                response,
                ..
            },
        ) => Some(
            created(a, user, op, location, version, response)
                .await
                .map(Some),
        ),
        _ => None,
    }
}

/// The user a bulk create made: the answer's resource where the server sent one, else
/// what was sent with the id of its `location` (RFC 7644 §3.7.3 makes the resource
/// optional), else found by its userName.
async fn created(
    a: &ScimAdapter,
    user: &idbridge_core::NewUser,
    op: &BulkOp,
    location: Option<String>,
    version: Option<String>,
    response: Option<Value>,
) -> Result<User> {
    if let Some(r) = response.and_then(|r| serde_json::from_value::<UserResource>(r).ok())
        && r.id.as_deref().is_some_and(|id| !id.is_empty())
        && !r.user_name.is_empty()
    {
        return Ok(user_from_scim(&r, &a.attributes));
    }
    if let (Some(id), Some(Value::Object(mut sent))) =
        (location.as_deref().and_then(id_of), op.data.clone())
    {
        sent.insert("id".into(), Value::String(id));
        if let Some(v) = version {
            sent.insert("meta".into(), json!({"resourceType": "User", "version": v}));
        }
        if let Ok(r) = serde_json::from_value::<UserResource>(Value::Object(sent)) {
            return Ok(user_from_scim(&r, &a.attributes));
        }
    }
    crate::users::find_by_login(a, &user.login).await?.ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "the SCIM service provider created user `{}` in bulk but gave no location, and none is found by that userName",
                user.login
            ),
        )
    })
}

/// One write through the single-resource endpoints.
async fn single(a: &ScimAdapter, write: UserWrite) -> UserWriteResult {
    use idbridge_core::Users;
    match write {
        UserWrite::Create { user } => a.create_user(&user).await.map(Some),
        UserWrite::Update { id, changes } => a.update_user(&id, &changes).await.map(Some),
        UserWrite::SetEnabled { id, enabled } => a.set_user_enabled(&id, enabled).await.map(Some),
        UserWrite::Delete { id } => a.delete_user(&id).await.map(|()| None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_both_limits_and_an_oversized_operation_alone() {
        let sizes = [100, 100, 100, 100, 100];
        assert_eq!(chunks(&sizes, 2, 10_000), vec![0..2, 2..4, 4..5]);
        // 128 envelope + 3 x 100 fits in 430, a fourth does not.
        assert_eq!(chunks(&sizes, 10, 430), vec![0..3, 3..5]);
        assert_eq!(chunks(&[50, 5000, 50], 10, 1000), vec![0..1, 1..2, 2..3]);
        assert!(chunks(&[], 10, 1000).is_empty());
    }

    #[test]
    fn locations_give_the_decoded_id() {
        assert_eq!(
            id_of("https://x/v2/Users/2819c223-7f76").as_deref(),
            Some("2819c223-7f76")
        );
        assert_eq!(id_of("https://x/v2/Users/a%20b/").as_deref(), Some("a b"));
    }

    #[test]
    fn answers_match_by_bulk_id_and_missing_ones_were_not_run() {
        let op = |id: &str, method: &'static str, path: &str| BulkOp {
            method,
            path: path.into(),
            bulk_id: id.into(),
            data: None,
        };
        let ops = [
            op("w0", "POST", "/Users"),
            op("w1", "DELETE", "/Users/x"),
            op("w2", "POST", "/Users"),
        ];
        let body = json!({"Operations": [
            {"method": "DELETE", "location": "https://h/v2/Users/x", "status": "204"},
            {"method": "POST", "bulkId": "w0", "location": "https://h/v2/Users/1", "status": "201", "version": "W/\"1\""},
        ]});
        let answer: BulkResponse = serde_json::from_value(body).expect("an answer");
        let got = read_response(&answer, &ops);
        assert!(
            matches!(&got[0], Some(Outcome::Ran { status: 201, location: Some(l), version: Some(_), .. }) if l.ends_with("/1"))
        );
        assert!(matches!(&got[1], Some(Outcome::Ran { status: 204, .. })));
        assert!(got[2].is_none());
        assert!(
            read_response(&BulkResponse::default(), &ops)
                .iter()
                .all(Option::is_none)
        );
    }
}
