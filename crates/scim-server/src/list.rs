//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): filter, sort, 1-based paging over
//! the creation order (stable between requests), attribute projection.

use std::collections::HashMap;

use idbridge_scim_protocol::wire::LIST_RESPONSE_SCHEMA;
use idbridge_store::{InboxEntry, InboxKind};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::resources;
use crate::state::Inner;

/// The parameters of a list (`GET` query) or a search (`POST .search` body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchParams {
    pub(crate) filter: Option<String>,
    pub(crate) sort_by: Option<String>,
    pub(crate) descending: bool,
    pub(crate) start_index: Option<i64>,
    pub(crate) count: Option<i64>,
    pub(crate) attributes: Vec<String>,
    pub(crate) excluded: Vec<String>,
}

fn int(v: &str, name: &str) -> ApiResult<i64> {
    v.trim()
        .parse()
        .map_err(|_| ApiError::invalid_value(format!("`{name}` must be an integer")))
}

fn descending(order: Option<&str>) -> ApiResult<bool> {
    match order.map(str::to_ascii_lowercase).as_deref() {
        None | Some("ascending") => Ok(false),
        Some("descending") => Ok(true),
        Some(_) => Err(ApiError::invalid_value(
            "`sortOrder` must be `ascending` or `descending`",
        )),
    }
}

/// The names of a comma-separated list (`attributes=a, b`), empty ones dropped.
pub(crate) fn csv(v: Option<&String>) -> Vec<String> {
    v.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

impl SearchParams {
    /// From a query string's parameters (names lower-cased).
    pub(crate) fn from_query(q: &HashMap<String, String>) -> ApiResult<SearchParams> {
        Ok(SearchParams {
            filter: q.get("filter").cloned(),
            sort_by: q.get("sortby").cloned().filter(|s| !s.is_empty()),
            descending: descending(q.get("sortorder").map(String::as_str))?,
            start_index: q
                .get("startindex")
                .map(|v| int(v, "startIndex"))
                .transpose()?,
            count: q.get("count").map(|v| int(v, "count")).transpose()?,
            attributes: csv(q.get("attributes")),
            excluded: csv(q.get("excludedattributes")),
        })
    }

    /// From a `SearchRequest` body (RFC 7644 §3.4.3).
    pub(crate) fn from_body(body: &Value) -> ApiResult<SearchParams> {
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::invalid_syntax("a search request must be a JSON object"))?;
        let get = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let string = |name: &str| -> ApiResult<Option<String>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::invalid_syntax(format!(
                    "`{name}` must be a string"
                ))),
            }
        };
        let number = |name: &str| -> ApiResult<Option<i64>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ApiError::invalid_syntax(format!("`{name}` must be an integer"))
                }),
            }
        };
        let list = |name: &str| -> ApiResult<Vec<String>> {
            match get(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(csv(Some(s))),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or_else(|| {
                            ApiError::invalid_syntax(format!("`{name}` must hold strings"))
                        })
                    })
                    .collect(),
                Some(_) => Err(ApiError::invalid_syntax(format!(
                    "`{name}` must be a list of strings"
                ))),
            }
        };
        Ok(SearchParams {
            filter: string("filter")?,
            sort_by: string("sortBy")?.filter(|s| !s.is_empty()),
            descending: descending(string("sortOrder")?.as_deref())?,
            start_index: number("startIndex")?,
            count: number("count")?,
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
        })
    }
}

/// Runs a search over `kinds` and builds the `ListResponse`.
pub(crate) fn search(
    inner: &Inner,
    kinds: &[InboxKind],
    params: &SearchParams,
    base_url: &str,
) -> ApiResult<Value> {
    let filter = params
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(crate::proto::Filter::parse)
        .transpose()?;
    if let Some(f) = &filter {
        for &kind in kinds {
            f.check(kind)?;
        }
    }
    let sort_by = params
        .sort_by
        .as_deref()
        .map(crate::proto::sort_path)
        .transpose()?;
    let snap = resources::snapshot(inner)?;
    let memberships = resources::memberships(snap.of(InboxKind::Group), base_url);
    // What rendering adds (locations, versions, a user's groups, member references) is
    // computed for every resource only when the filter or the sort reads it; otherwise
    // only for the page answered.
    let reads_rendered = |t: &str| {
        let t = t.to_ascii_lowercase();
        ["groups", "location", "version", "$ref"]
            .iter()
            .any(|w| t.contains(w))
    };
    let render_all = params.filter.as_deref().is_some_and(reads_rendered)
        || params.sort_by.as_deref().is_some_and(reads_rendered);
    // `userName eq "x"` (Okta's and Entra's lookup before every create) can only match the
    // user of that name, and no group: no need to read the others.
    let named = filter.as_ref().and_then(|f| f.user_name_eq()).map(|name| {
        snap.user_named(name)
            .and_then(|id| snap.get(InboxKind::User, id))
            .map(std::slice::from_ref)
            .unwrap_or_default()
    });
    let mut found: Vec<(InboxKind, &InboxEntry, Option<Value>)> = Vec::new();
    for &kind in kinds {
        let candidates = match (named, kind) {
            (Some(one), InboxKind::User) => one,
            (Some(_), InboxKind::Group) => &[],
            (None, _) => snap.of(kind),
        };
        for e in candidates {
            let rendered = render_all.then(|| resources::render(e, base_url, &memberships));
            let view = rendered.as_ref().unwrap_or(&e.resource);
            if filter.as_ref().is_none_or(|f| f.matches(kind, view)) {
                found.push((kind, e, rendered));
            }
        }
    }
    if let Some(by) = &sort_by {
        // A stable sort: equal keys keep the creation order, in either direction.
        // (Across kinds, a search at the root reads each resource with its own schema.)
        found.sort_by(|a, b| {
            let (x, y) = (
                a.2.as_ref().unwrap_or(&a.1.resource),
                b.2.as_ref().unwrap_or(&b.1.resource),
            );
            let o = crate::proto::compare_by(a.0, by, x, y);
            if params.descending { o.reverse() } else { o }
        });
    }
    let total = found.len();
    let start = params.start_index.unwrap_or(1).max(1);
    let max = inner.config.max_results;
    let count = params
        .count
        .map_or(max, |c| usize::try_from(c.max(0)).unwrap_or(0).min(max));
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let mut page = Vec::new();
    for (kind, e, rendered) in found.into_iter().skip(skip).take(count) {
        let r = rendered.unwrap_or_else(|| resources::render(e, base_url, &memberships));
        page.push(crate::proto::project(
            kind,
            &r,
            &params.attributes,
            &params.excluded,
        ));
    }
    Ok(json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
}
