//! `idbridge serve` end to end: the real binary with the in-process emulators of every
//! registered vendor as its targets, SCIM pushed over HTTP in the shapes Okta and Entra ID
//! send, and each platform checked for exactly the state those pushes call for; the
//! deletion guard refusing a mass deactivation; and a `kill -9` right after an answer,
//! whose change the next start applies; and a directory file synced through the `scim`
//! adapter into `serve` and on to every platform.

#[path = "../support/mod.rs"]
mod support;

mod guard;
mod harness;
mod pushes;
mod recovery;
mod round_trip;
mod startup;
