//! Discovery (RFC 7644 §4): what the server supports (`/ServiceProviderConfig`, RFC 7643
//! §5), which resources it serves (`/ResourceTypes`, §6) and which attributes they have
//! (`/Schemas`, §7). Read once per adapter; what a server does not publish is unknown,
//! never assumed present.

use std::collections::BTreeMap;

use idbridge_core::{ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::adapter::Features;
use crate::client::ScimClient;
use crate::mapping::split_path;
use crate::wire::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceType, SchemaAttribute, SchemaDocument,
    ServiceProviderConfig, USER_SCHEMA,
};

/// Attributes every resource has besides its schema's (RFC 7643 §3.1).
const COMMON_ATTRIBUTES: [&str; 3] = ["id", "externalId", "meta"];

/// A discovery document: read, not published (404, 501, or refused with 403), or
/// published in a shape that does not read.
#[derive(Debug, Clone, PartialEq)]
pub enum Published<T> {
    /// What the server published.
    Read(T),
    /// The server has no such document.
    Absent,
    /// The server's answer did not read; why.
    Unreadable(String),
}

impl<T> Published<T> {
    /// What was read, if anything.
    pub fn read(&self) -> Option<&T> {
        match self {
            Published::Read(t) => Some(t),
            _ => None,
        }
    }
}

/// Everything discovery found.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// From `/ServiceProviderConfig` ([`Features::MINIMAL`] when it is absent).
    pub features: Features,
    /// Whether `/ServiceProviderConfig` was there.
    pub config_published: bool,
    /// `/ResourceTypes`.
    pub resource_types: Published<Vec<ResourceType>>,
    /// `/Schemas`.
    pub schemas: Published<Vec<SchemaDocument>>,
}

impl Discovery {
    /// Reads the three documents. A document the server does not have (404, 501, 403)
    /// is [`Published::Absent`]; one that does not read is [`Published::Unreadable`]
    /// (and logged), so that a server with a broken `/Schemas` can still be synced.
    ///
    /// # Errors
    /// Whatever else reading failed with (authentication, transport).
    pub async fn read(client: &ScimClient) -> Result<Discovery> {
        let (features, config_published) = match fetch::<ServiceProviderConfig>(
            client,
            "/ServiceProviderConfig",
            "the service provider configuration",
        )
        .await?
        {
            Published::Read(c) => (Features::from_config(&c), true),
            Published::Absent => {
                tracing::warn!(
                    adapter = crate::ADAPTER_NAME,
                    "the server has no /ServiceProviderConfig; assuming no PATCH, filter, bulk or ETag support"
                );
                (Features::MINIMAL, false)
            }
            Published::Unreadable(why) => {
                return Err(idbridge_core::Error::protocol(format!(
                    "the SCIM service provider's /ServiceProviderConfig does not read: {why}"
                )));
            }
        };
        let resource_types = listed(client, "/ResourceTypes", "the resource types").await?;
        let schemas = listed(client, "/Schemas", "the schemas").await?;
        for (what, unreadable) in [
            (
                "/ResourceTypes",
                matches!(resource_types, Published::Unreadable(_)),
            ),
            ("/Schemas", matches!(schemas, Published::Unreadable(_))),
        ] {
            if unreadable {
                tracing::warn!(
                    adapter = crate::ADAPTER_NAME,
                    document = what,
                    "the server's discovery document does not read; its content is taken as unknown"
                );
            }
        }
        Ok(Discovery {
            features,
            config_published,
            resource_types,
            schemas,
        })
    }

    /// The resource type serving `schema` as its core schema, when published.
    fn resource_type(&self, schema: &str) -> Option<Option<&ResourceType>> {
        self.resource_types
            .read()
            .map(|types| types.iter().find(|t| t.schema.eq_ignore_ascii_case(schema)))
    }

    /// Whether the server serves groups: `None` when it publishes no resource types.
    pub fn groups(&self) -> Option<bool> {
        self.resource_type(GROUP_SCHEMA).map(|t| t.is_some())
    }

    /// Whether users carry the Enterprise extension (RFC 7643 §4.3): from the User
    /// resource type's extensions, else from `/Schemas`; `None` when neither is published.
    pub fn enterprise(&self) -> Option<bool> {
        if let Some(user) = self.resource_type(USER_SCHEMA) {
            return Some(user.is_some_and(|t| {
                t.schema_extensions
                    .iter()
                    .any(|e| e.schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA))
            }));
        }
        self.schema(ENTERPRISE_USER_SCHEMA).map(|s| s.is_some())
    }

    /// The schema document `id`, when `/Schemas` was read.
    fn schema(&self, id: &str) -> Option<Option<&SchemaDocument>> {
        self.schemas
            .read()
            .map(|all| all.iter().find(|s| s.id.eq_ignore_ascii_case(id)))
    }

    /// Whether the user attribute at `path` (as configured in `attribute_paths`: a core
    /// attribute, a sub-attribute, or an extension URN then `:` and the attribute) exists
    /// on this server: `None` when `/Schemas` was not read. Attribute names compare
    /// without case (RFC 7643 §2.1).
    pub fn user_attribute(&self, path: &str) -> Option<bool> {
        let (urn, attr) = split_path(path);
        let schema = urn.unwrap_or(USER_SCHEMA);
        let mut parts = attr.split('.');
        let first = parts.next().unwrap_or_default();
        if urn.is_none()
            && COMMON_ATTRIBUTES
                .iter()
                .any(|c| c.eq_ignore_ascii_case(first))
        {
            return Some(true);
        }
        let doc = self.schema(schema)?;
        let Some(doc) = doc else {
            return Some(false);
        };
        let mut attrs: &[SchemaAttribute] = &doc.attributes;
        let mut name = Some(first);
        while let Some(n) = name {
            match attrs.iter().find(|a| a.name.eq_ignore_ascii_case(n)) {
                Some(a) => attrs = &a.sub_attributes,
                None => return Some(false),
            }
            name = parts.next();
        }
        Some(true)
    }

    /// The configured attribute paths (`attribute_paths`, idbridge name to path) that
    /// `/Schemas` shows the server does not have. Empty when `/Schemas` was not read.
    pub fn unknown_paths<'a>(
        &self,
        paths: &'a BTreeMap<String, String>,
    ) -> Vec<(&'a str, &'a str)> {
        paths
            .iter()
            .filter(|(_, path)| self.user_attribute(path) == Some(false))
            .map(|(name, path)| (name.as_str(), path.as_str()))
            .collect()
    }

    /// What `idbridge check` shows, in a fixed order.
    pub fn facts(&self) -> Vec<(String, String)> {
        let f = &self.features;
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let known = |b: Option<bool>, source: &str| {
            b.map_or_else(|| format!("unknown (no {source})"), yes_no)
        };
        let mut facts = vec![
            (
                "serviceProviderConfig".to_string(),
                if self.config_published {
                    "read"
                } else {
                    "absent (nothing optional assumed)"
                }
                .to_string(),
            ),
            ("patch".into(), yes_no(f.patch)),
            (
                "bulk".into(),
                f.bulk.map_or("no".to_string(), |(ops, bytes)| {
                    format!("yes (maxOperations {ops}, maxPayloadSize {bytes})")
                }),
            ),
            (
                "filter".into(),
                match (f.filter, f.max_results) {
                    (false, _) => "no".to_string(),
                    (true, Some(max)) => format!("yes (maxResults {max})"),
                    (true, None) => "yes".to_string(),
                },
            ),
            ("etag".into(), yes_no(f.etag)),
            ("sort".into(), yes_no(f.sort)),
        ];
        let types = match &self.resource_types {
            Published::Read(types) => types
                .iter()
                .map(|t| format!("{} ({})", t.name, t.endpoint))
                .collect::<Vec<_>>()
                .join(", "),
            Published::Absent => "unknown (no /ResourceTypes)".to_string(),
            Published::Unreadable(why) => format!("unknown (/ResourceTypes does not read: {why})"),
        };
        facts.push(("resourceTypes".into(), types));
        facts.push(("groups".into(), known(self.groups(), "/ResourceTypes")));
        facts.push((
            "enterpriseUser".into(),
            known(self.enterprise(), "/ResourceTypes or /Schemas"),
        ));
        let user_attrs = match &self.schemas {
            Published::Read(_) => match self.schema(USER_SCHEMA).flatten() {
                Some(doc) => doc
                    .attributes
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "none (the User schema is not published)".to_string(),
            },
            Published::Absent => "unknown (no /Schemas)".to_string(),
            Published::Unreadable(why) => format!("unknown (/Schemas does not read: {why})"),
        };
        facts.push(("userAttributes".into(), user_attrs));
        facts
    }
}

/// GETs a discovery document; absent when the server has none.
async fn fetch<T: DeserializeOwned>(
    client: &ScimClient,
    path: &str,
    what: &str,
) -> Result<Published<T>> {
    match client.get::<Value>(path, &[], what).await {
        Ok(v) => Ok(match serde_json::from_value::<T>(v) {
            Ok(t) => Published::Read(t),
            Err(e) => Published::Unreadable(e.to_string()),
        }),
        Err(e) if absent(&e) => Ok(Published::Absent),
        Err(e) if e.kind() == ErrorKind::Protocol => Ok(Published::Unreadable(e.to_string())),
        Err(e) => Err(e),
    }
}

/// GETs a discovery listing: a list answer (RFC 7644 §4) or, as some servers send, a bare
/// array of resources.
async fn listed<T: DeserializeOwned>(
    client: &ScimClient,
    path: &str,
    what: &str,
) -> Result<Published<Vec<T>>> {
    Ok(match fetch::<Value>(client, path, what).await? {
        Published::Read(v) => parse_listing(v),
        Published::Absent => Published::Absent,
        Published::Unreadable(why) => Published::Unreadable(why),
    })
}

/// The resources of a discovery listing.
pub(crate) fn parse_listing<T: DeserializeOwned>(v: Value) -> Published<Vec<T>> {
    let items = match v {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("Resources") {
            Some(Value::Array(items)) => items,
            // An empty list answer may leave out `Resources` (RFC 7644 §3.4.2).
            None => Vec::new(),
            Some(_) => return Published::Unreadable("`Resources` is not an array".into()),
        },
        _ => return Published::Unreadable("neither a list answer nor an array".into()),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<T>(item) {
            Ok(t) => out.push(t),
            Err(e) => return Published::Unreadable(format!("Resources[{i}]: {e}")),
        }
    }
    Published::Read(out)
}

/// Whether an error says the server has no such document.
fn absent(e: &idbridge_core::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Unsupported)
        || matches!(e.http_status(), Some(403 | 404 | 405 | 501))
}
