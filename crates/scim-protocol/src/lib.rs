//! # idbridge-scim-protocol
//!
//! The SCIM 2.0 protocol model, free of idbridge types and of any HTTP stack: the wire
//! types of RFC 7643 resources and RFC 7644 messages ([`wire`]). idbridge's SCIM adapter
//! (`idbridge-scim`) speaks it as a client; idbridge's SCIM server speaks it as a service
//! provider.

pub mod wire;
