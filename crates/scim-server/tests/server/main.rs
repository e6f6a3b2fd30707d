//! The SCIM server over real HTTP on loopback, against a temporary SQLite state: the
//! protocol (RFC 7643/7644), the request shapes Okta and Microsoft Entra ID send, the
//! limits and authentication, and durability.

#![allow(dead_code)]

mod auth;
mod bulk;
mod durability;
mod entra;
mod garbage;
mod listing;
mod okta;
mod resources;
mod support;
