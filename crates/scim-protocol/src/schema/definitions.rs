//! The standard schemas: the core User (RFC 7643 §4.1) and Group (§4.2), the Enterprise
//! User extension (§4.3) and the common attributes (§3.1), with the characteristics of
//! their definitions in RFC 7643 §8.7.1.

use super::{
    AttrType, AttributeDef, Extension, Mutability, ResourceSchema, Returned, SchemaDef, Uniqueness,
};
use crate::wire::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

fn string(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String)
}

fn complex(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttrType::Complex).subs(subs)
}

/// A multi-valued `value`/`display`/`type`/`primary` attribute (`emails`, `phoneNumbers`,
/// ...), RFC 7643 §2.4.
fn multi(name: &str, kind: AttrType, types: &[&str], description: &str) -> AttributeDef {
    let mut value = AttributeDef::new("value", kind).describe("The value.");
    if kind == AttrType::Reference {
        value = value.references(&["external"]);
    }
    complex(
        name,
        vec![
            value,
            string("display").describe("A human-readable name, primarily used for display."),
            string("type")
                .canonical(types)
                .describe("A label indicating the attribute's function."),
            AttributeDef::new("primary", AttrType::Boolean)
                .describe("Whether this is the preferred value (at most one is)."),
        ],
    )
    .multi()
    .describe(description)
}

/// The attributes every resource has (RFC 7643 §3.1): `id`, `externalId`, `meta`, plus
/// `schemas` (§3), which filters such as `schemas eq "urn:..."` name.
pub fn common_attributes() -> Vec<AttributeDef> {
    let read_only = Mutability::ReadOnly;
    vec![
        string("id")
            .case_exact()
            .mutability(read_only)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server)
            .describe("The service provider's unique identifier of the resource."),
        string("externalId")
            .case_exact()
            .describe("The provisioning client's identifier of the resource."),
        complex(
            "meta",
            vec![
                string("resourceType").case_exact().mutability(read_only),
                AttributeDef::new("created", AttrType::DateTime).mutability(read_only),
                AttributeDef::new("lastModified", AttrType::DateTime).mutability(read_only),
                AttributeDef::new("location", AttrType::Reference)
                    .case_exact()
                    .mutability(read_only)
                    .references(&["uri"]),
                string("version").case_exact().mutability(read_only),
            ],
        )
        .mutability(read_only)
        .describe("Resource metadata."),
        AttributeDef::new("schemas", AttrType::Reference)
            .multi()
            .required()
            .returned(Returned::Always)
            .references(&["uri"])
            .describe("The schema URNs the resource carries."),
    ]
}

/// The core User schema (RFC 7643 §4.1, definition in §8.7.1).
pub fn user_core_schema() -> SchemaDef {
    let name = complex(
        "name",
        vec![
            string("formatted").describe("The full name, formatted for display."),
            string("familyName").describe("The family name."),
            string("givenName").describe("The given name."),
            string("middleName").describe("The middle name(s)."),
            string("honorificPrefix").describe("The honorific prefix (Ms., Dr.)."),
            string("honorificSuffix").describe("The honorific suffix (III, Jr.)."),
        ],
    )
    .describe("The components of the user's real name.");
    let addresses = complex(
        "addresses",
        vec![
            string("formatted").describe("The full mailing address, formatted for display."),
            string("streetAddress").describe("The full street address component."),
            string("locality").describe("The city or locality."),
            string("region").describe("The state or region."),
            string("postalCode").describe("The zip code or postal code."),
            string("country").describe("The country name (ISO 3166-1 alpha-2)."),
            string("type")
                .canonical(&["work", "home", "other"])
                .describe("A label indicating the address's function."),
            AttributeDef::new("primary", AttrType::Boolean)
                .describe("Whether this is the preferred address."),
        ],
    )
    .multi()
    .describe("A physical mailing address for this user.");
    let groups = complex(
        "groups",
        vec![
            string("value")
                .mutability(Mutability::ReadOnly)
                .describe("The id of the group."),
            AttributeDef::new("$ref", AttrType::Reference)
                .references(&["User", "Group"])
                .mutability(Mutability::ReadOnly)
                .describe("The URI of the group."),
            string("display")
                .mutability(Mutability::ReadOnly)
                .describe("The group's display name."),
            string("type")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly)
                .describe("Whether the membership is direct or indirect."),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .describe("The groups the user belongs to, directly or indirectly.");
    SchemaDef {
        id: USER_SCHEMA.to_string(),
        name: "User".to_string(),
        description: "User Account".to_string(),
        attributes: vec![
            string("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .describe("The unique identifier the user signs in with."),
            name,
            string("displayName").describe("The name of the user, suitable for display."),
            string("nickName").describe("The casual way to address the user."),
            AttributeDef::new("profileUrl", AttrType::Reference)
                .references(&["external"])
                .describe("A URI of the user's online profile."),
            string("title").describe("The user's title, such as \"Vice President\"."),
            string("userType").describe("The relationship to the organization (Employee)."),
            string("preferredLanguage").describe("The preferred written or spoken language."),
            string("locale").describe("The default location for localization."),
            string("timezone").describe("The time zone, in IANA format."),
            AttributeDef::new("active", AttrType::Boolean)
                .describe("The user's administrative status."),
            string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never)
                .describe("The user's clear-text password; never returned."),
            multi(
                "emails",
                AttrType::String,
                &["work", "home", "other"],
                "E-mail addresses for the user.",
            ),
            multi(
                "phoneNumbers",
                AttrType::String,
                &["work", "home", "mobile", "fax", "pager", "other"],
                "Phone numbers for the user.",
            ),
            multi(
                "ims",
                AttrType::String,
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                "Instant messaging addresses for the user.",
            ),
            multi(
                "photos",
                AttrType::Reference,
                &["photo", "thumbnail"],
                "URLs of photos of the user.",
            ),
            addresses,
            groups,
            multi(
                "entitlements",
                AttrType::String,
                &[],
                "The user's entitlements.",
            ),
            multi("roles", AttrType::String, &[], "The user's roles."),
            multi(
                "x509Certificates",
                AttrType::Binary,
                &[],
                "The user's X.509 certificates.",
            ),
        ],
    }
}

/// The Enterprise User extension (RFC 7643 §4.3, definition in §8.7.1).
pub fn enterprise_user_schema() -> SchemaDef {
    SchemaDef {
        id: ENTERPRISE_USER_SCHEMA.to_string(),
        name: "EnterpriseUser".to_string(),
        description: "Enterprise User".to_string(),
        attributes: vec![
            string("employeeNumber").describe("A string identifier assigned by the organization."),
            string("costCenter").describe("The name of a cost center."),
            string("organization").describe("The name of an organization."),
            string("division").describe("The name of a division."),
            string("department").describe("The name of a department."),
            complex(
                "manager",
                vec![
                    string("value").describe("The id of the user's manager."),
                    AttributeDef::new("$ref", AttrType::Reference)
                        .references(&["User"])
                        .describe("The URI of the manager's User resource."),
                    string("displayName")
                        .mutability(Mutability::ReadOnly)
                        .describe("The manager's display name."),
                ],
            )
            .describe("The user's manager."),
        ],
    }
}

/// The core Group schema (RFC 7643 §4.2, definition in §8.7.1). Members also carry the
/// `display` sub-attribute the RFC's examples show.
pub fn group_core_schema() -> SchemaDef {
    let immutable = Mutability::Immutable;
    SchemaDef {
        id: GROUP_SCHEMA.to_string(),
        name: "Group".to_string(),
        description: "Group".to_string(),
        attributes: vec![
            string("displayName")
                .required()
                .describe("A human-readable name for the group."),
            complex(
                "members",
                vec![
                    string("value")
                        .mutability(immutable)
                        .describe("The id of the member."),
                    AttributeDef::new("$ref", AttrType::Reference)
                        .references(&["User", "Group"])
                        .mutability(immutable)
                        .describe("The URI of the member."),
                    string("type")
                        .canonical(&["User", "Group"])
                        .mutability(immutable)
                        .describe("The member's resource type."),
                    string("display")
                        .mutability(immutable)
                        .describe("The member's display name."),
                ],
            )
            .multi()
            .describe("A list of members of the group."),
        ],
    }
}

/// The User resource type (RFC 7643 §4.1) with the Enterprise User extension (§4.3,
/// optional), at `/Users`.
pub fn user_schema() -> ResourceSchema {
    ResourceSchema {
        name: "User".to_string(),
        endpoint: "/Users".to_string(),
        description: "User Account".to_string(),
        core: user_core_schema(),
        extensions: vec![Extension {
            schema: enterprise_user_schema(),
            required: false,
        }],
        common: common_attributes(),
    }
}

/// The Group resource type (RFC 7643 §4.2), at `/Groups`.
pub fn group_schema() -> ResourceSchema {
    ResourceSchema {
        name: "Group".to_string(),
        endpoint: "/Groups".to_string(),
        description: "Group".to_string(),
        core: group_core_schema(),
        extensions: Vec::new(),
        common: common_attributes(),
    }
}
