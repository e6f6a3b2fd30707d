//! Which DSS the emulator imitates: its version (`--set version=13.4.2`) and the user
//! profiles its licence offers (`--set profiles=AI_CONSUMER,DATA_DESIGNER`).
//!
//! The version decides what the official client's version-dependent calls find: the bulk
//! user endpoints and `includeSettings` exist from [`BULK_SINCE`] (14.2, the release whose
//! client added `create_users`, `edit_users` and `delete_users`). An explicit `bulk`
//! switch wins over the version.

use idbridge_core::{Error, Result};
use idbridge_testkit::emulator::EmulatorOptions;

/// The first version with the bulk user endpoints.
pub const BULK_SINCE: (u32, u32) = (14, 2);

/// `major.minor[.patch...]` as numbers.
fn parse_version(text: &str) -> Result<(u32, u32)> {
    let mut parts = text.trim().split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) if parts.all(|p| p.is_ok()) => Ok((major, minor)),
        _ => Err(Error::invalid_input(format!(
            "emulator switch version=`{text}`: expected a DSS version such as 14.2.0"
        ))),
    }
}

/// Whether the bulk endpoints are served: the `version` switch, default yes.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] for a version that is not `major.minor[...]`.
pub fn bulk_by_version(options: &EmulatorOptions) -> Result<bool> {
    match options.extra.get("version") {
        None => Ok(true),
        Some(v) => Ok(parse_version(v)? >= BULK_SINCE),
    }
}

/// The profiles the licence offers (`profiles`, comma-separated), or `None` for any.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] for an empty list.
pub fn licence_profiles(options: &EmulatorOptions) -> Result<Option<Vec<String>>> {
    let Some(text) = options.extra.get("profiles") else {
        return Ok(None);
    };
    let profiles: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if profiles.is_empty() {
        return Err(Error::invalid_input(
            "emulator switch profiles: expected profile names separated by commas",
        ));
    }
    Ok(Some(profiles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(key: &str, value: &str) -> EmulatorOptions {
        let mut o = EmulatorOptions::default();
        o.extra.insert(key.into(), value.into());
        o
    }

    #[test]
    fn versions_switch_bulk_at_14_2() {
        assert!(bulk_by_version(&EmulatorOptions::default()).expect("default"));
        assert!(!bulk_by_version(&options("version", "14.1.4")).expect("old"));
        assert!(!bulk_by_version(&options("version", "13.5")).expect("old"));
        assert!(bulk_by_version(&options("version", "14.2.0")).expect("new"));
        assert!(bulk_by_version(&options("version", "15.2")).expect("new"));
        let e = bulk_by_version(&options("version", "fourteen")).expect_err("bad");
        assert!(e.to_string().contains("version=`fourteen`"), "{e}");
    }

    #[test]
    fn profiles_are_a_comma_list() {
        assert_eq!(
            licence_profiles(&options("profiles", "AI_CONSUMER, DATA_DESIGNER")).expect("ok"),
            Some(vec!["AI_CONSUMER".to_string(), "DATA_DESIGNER".to_string()])
        );
        assert!(licence_profiles(&options("profiles", " , ")).is_err());
        assert_eq!(
            licence_profiles(&EmulatorOptions::default()).expect("ok"),
            None
        );
    }
}
