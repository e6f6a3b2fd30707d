//! One complete read of the directory: entries turned into neutral users and groups, and
//! group members (DNs and `memberUid` logins) resolved to ids, with what could not be
//! resolved reported by name.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use idbridge_core::{Error, Group, Membership, Principal, Result, User};
use ldap3::SearchEntry;

use crate::ad;
use crate::config::{IdFormat, LdapConfig};
use crate::connection::Connection;

/// Everything one read found.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Every user, sorted by id.
    pub users: Vec<User>,
    /// Every group, sorted by id.
    pub groups: Vec<Group>,
    /// Every direct membership (users and groups inside groups), sorted.
    pub members: Vec<Membership>,
    /// What could not be read or resolved, one sentence each, naming the entry: members
    /// that do not exist or lie outside the bases, referrals, cycles, entries without an
    /// id or a login. Also logged as warnings.
    pub warnings: Vec<String>,
}

impl Directory {
    /// The direct members of one group.
    pub fn members_of(&self, group: &str) -> Vec<Principal> {
        self.members
            .iter()
            .filter(|m| m.group == group)
            .map(|m| m.member.clone())
            .collect()
    }
}

use crate::dn::is_under as under;
pub use crate::dn::normalize_dn;

/// The values of attribute `name` (case-insensitive, as LDAP attribute names are).
pub fn values<'a>(entry: &'a SearchEntry, name: &str) -> &'a [String] {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

fn first(entry: &SearchEntry, name: &str) -> Option<String> {
    values(entry, name)
        .iter()
        .find(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_string())
}

/// The first value of attribute `name` as bytes, wherever the LDAP library put it: a
/// binary value that happens to be valid UTF-8 arrives as text.
fn first_bytes<'a>(entry: &'a SearchEntry, name: &str) -> Option<&'a [u8]> {
    entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(Vec::as_slice)
        .or_else(|| values(entry, name).first().map(|v| v.as_bytes()))
}

/// The stable id of an entry in the configured form; `Err` says what is wrong.
pub fn entry_id(c: &LdapConfig, entry: &SearchEntry) -> std::result::Result<String, String> {
    match c.id_format {
        IdFormat::Text => first(entry, &c.id_attribute).ok_or_else(|| {
            if first_bytes(entry, &c.id_attribute).is_some() {
                format!(
                    "a binary {} (for a GUID such as objectGUID set id_format = \"guid\")",
                    c.id_attribute
                )
            } else {
                format!("no {}", c.id_attribute)
            }
        }),
        IdFormat::Guid => {
            let bytes = first_bytes(entry, &c.id_attribute)
                .ok_or_else(|| format!("no {}", c.id_attribute))?;
            ad::guid_string(bytes).ok_or_else(|| {
                format!(
                    "a {} of {} bytes, not a 16-byte GUID",
                    c.id_attribute,
                    bytes.len()
                )
            })
        }
    }
}

/// Whether the flags attribute (`userAccountControl`) marks the entry disabled. A value
/// that is not a number counts as disabled: an account whose state cannot be read is not
/// given access.
fn flagged_disabled(c: &LdapConfig, entry: &SearchEntry) -> bool {
    if c.disabled_flag_attribute.is_empty() {
        return false;
    }
    match first(entry, &c.disabled_flag_attribute) {
        None => false,
        // Active Directory stores the flags as a signed 32-bit integer.
        Some(v) => v
            .parse::<i64>()
            .map_or(true, |n| (n as u64) & c.disabled_flag_mask != 0),
    }
}

/// The neutral user of an entry, disabled when its flags attribute says so (the
/// `disabled_filter` is applied by [`read`] and `get_user`); `Err` names what is missing.
pub fn user_from_entry(c: &LdapConfig, entry: &SearchEntry) -> std::result::Result<User, String> {
    let id = entry_id(c, entry)
        .map_err(|why| format!("user entry `{}` has {why}; it is left out", entry.dn))?;
    let login = first(entry, &c.login_attribute).ok_or_else(|| {
        format!(
            "user entry `{}` has no {}; it is left out",
            entry.dn, c.login_attribute
        )
    })?;
    let mut user = User {
        id,
        login,
        email: first(entry, &c.email_attribute),
        display_name: c
            .display_name_attributes
            .iter()
            .find_map(|a| first(entry, a)),
        enabled: !flagged_disabled(c, entry),
        attributes: BTreeMap::new(),
    };
    for (neutral, attr) in &c.attributes {
        let vals = values(entry, attr);
        if !vals.is_empty() {
            user.attributes.insert(neutral.clone(), vals.join(";"));
        }
    }
    Ok(user)
}

/// The neutral group of an entry; `Err` names what is missing.
pub fn group_from_entry(c: &LdapConfig, entry: &SearchEntry) -> std::result::Result<Group, String> {
    let id = entry_id(c, entry)
        .map_err(|why| format!("group entry `{}` has {why}; it is left out", entry.dn))?;
    let name = first(entry, &c.group_name_attribute).ok_or_else(|| {
        format!(
            "group entry `{}` has no {}; it is left out",
            entry.dn, c.group_name_attribute
        )
    })?;
    Ok(Group {
        id,
        name,
        description: first(entry, &c.group_description_attribute),
    })
}

/// The filter of the users that `disabled_filter` marks, or `None` when there is no rule.
pub fn disabled_users_filter(c: &LdapConfig) -> Option<String> {
    let rule = c.disabled_filter.trim();
    (!rule.is_empty()).then(|| format!("(&{}{rule})", c.user_filter))
}

/// Reads the whole directory over `conn`.
///
/// # Errors
/// Any failed search; two users sharing a login; no user at all (an empty read is never
/// taken as "everyone left").
pub async fn read(c: &LdapConfig, conn: &mut Connection) -> Result<Directory> {
    let mut warnings = Vec::new();
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    let mut user_dns: HashMap<String, String> = HashMap::new();
    let mut logins: HashMap<String, (String, String)> = HashMap::new();
    let user_attrs = c.user_attributes();
    for base in &c.user_base_dns {
        let found = conn.search(base, &c.user_filter, &user_attrs).await?;
        for r in found.referrals {
            warnings.push(format!("referral to `{r}` under `{base}` is not followed"));
        }
        for entry in found.entries {
            let user = match user_from_entry(c, &entry) {
                Ok(u) => u,
                Err(w) => {
                    warnings.push(w);
                    continue;
                }
            };
            let key = user.login.to_lowercase();
            if let Some((other_id, other_dn)) = logins.get(&key) {
                if *other_id != user.id {
                    return Err(Error::protocol(format!(
                        "users `{other_dn}` and `{}` share the login `{}`; a login must name \
                         one person (check {} or narrow user_filter)",
                        entry.dn, user.login, c.login_attribute
                    )));
                }
            }
            logins.insert(key, (user.id.clone(), entry.dn.clone()));
            user_dns.insert(normalize_dn(&entry.dn), user.id.clone());
            users.insert(user.id.clone(), user);
        }
    }
    if users.is_empty() {
        return Err(Error::protocol(format!(
            "{} returned no users under {} matching {}; refusing to report that everyone \
             left (check user_base_dns, user_filter and the bind account's read rights)",
            c.url,
            c.user_base_dns.join(" and "),
            c.user_filter
        )));
    }
    if let Some(filter) = disabled_users_filter(c) {
        let id_attr = [c.id_attribute.clone()];
        for base in &c.user_base_dns {
            for entry in conn.search(base, &filter, &id_attr).await?.entries {
                if let Some(user) = entry_id(c, &entry).ok().and_then(|id| users.get_mut(&id)) {
                    user.enabled = false;
                }
            }
        }
    }

    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut group_dns: HashMap<String, String> = HashMap::new();
    let mut raw_members: Vec<(String, SearchEntry)> = Vec::new();
    let group_attrs = c.group_attributes();
    for base in &c.group_base_dns {
        let found = conn.search(base, &c.group_filter, &group_attrs).await?;
        for r in found.referrals {
            warnings.push(format!("referral to `{r}` under `{base}` is not followed"));
        }
        for mut entry in found.entries {
            match group_from_entry(c, &entry) {
                Ok(g) => {
                    complete_ranges(c, conn, &mut entry).await?;
                    group_dns.insert(normalize_dn(&entry.dn), g.id.clone());
                    if groups.insert(g.id.clone(), g.clone()).is_none() {
                        raw_members.push((g.id, entry));
                    }
                }
                Err(w) => warnings.push(w),
            }
        }
    }

    let bases: Vec<String> = c
        .user_base_dns
        .iter()
        .chain(&c.group_base_dns)
        .map(|b| normalize_dn(b))
        .collect();
    let mut members: BTreeSet<Membership> = BTreeSet::new();
    for (gid, entry) in &raw_members {
        let name = &groups[gid].name;
        for attr in &c.member_attributes {
            for raw in values(entry, attr) {
                // A uniqueMember may carry an optional unique id after `#`.
                let dn = raw.split("#'").next().unwrap_or(raw);
                let norm = normalize_dn(dn);
                let member = if let Some(uid) = user_dns.get(&norm) {
                    Principal::User(uid.clone())
                } else if let Some(other) = group_dns.get(&norm) {
                    if other == gid {
                        warnings.push(format!("group `{name}` lists itself as a member; ignored"));
                        continue;
                    }
                    Principal::Group(other.clone())
                } else if bases.iter().any(|b| under(&norm, b)) {
                    warnings.push(format!(
                        "member `{dn}` of group `{name}` is not a user or group the filters \
                         select, or does not exist (a dangling DN); it is left out"
                    ));
                    continue;
                } else {
                    warnings.push(format!(
                        "member `{dn}` of group `{name}` lies outside the configured base DNs; \
                         it is left out"
                    ));
                    continue;
                };
                members.insert(Membership {
                    group: gid.clone(),
                    member,
                });
            }
        }
        for login in values(entry, &c.member_uid_attribute) {
            match logins.get(&login.trim().to_lowercase()) {
                Some((uid, _)) => {
                    members.insert(Membership {
                        group: gid.clone(),
                        member: Principal::User(uid.clone()),
                    });
                }
                None => warnings.push(format!(
                    "{} `{login}` of group `{name}` matches no user; it is left out",
                    c.member_uid_attribute
                )),
            }
        }
    }
    let members: Vec<Membership> = members.into_iter().collect();
    warnings.extend(cycles(&members, &groups));
    for w in &warnings {
        tracing::warn!(url = %c.url, "{w}");
    }
    Ok(Directory {
        users: users.into_values().collect(),
        groups: groups.into_values().collect(),
        members,
        warnings,
    })
}

/// Completes the ranged attributes of a group entry: a server that returns part of a large
/// attribute (`member;range=0-1499`, Active Directory beyond its `MaxValRange`) is asked
/// for the next ranges of the entry until one ends with `*`; the values are merged under
/// the plain attribute name.
///
/// # Errors
/// A failed search, or a server answering another range than the one asked for.
async fn complete_ranges(
    c: &LdapConfig,
    conn: &mut Connection,
    entry: &mut SearchEntry,
) -> Result<()> {
    let malformed = |k: &str| ad::has_range_option(k) && ad::parse_range(k).is_none();
    if let Some(bad) = entry.attrs.keys().find(|k| malformed(k)) {
        return Err(Error::protocol(format!(
            "{}: group `{}` came with an attribute `{bad}` whose range cannot be read; its \
             members would be incomplete",
            c.url, entry.dn
        )));
    }
    let ranged: Vec<(String, ad::Range)> = entry
        .attrs
        .keys()
        .filter_map(|k| ad::parse_range(k).map(|r| (k.clone(), r)))
        .collect();
    for (key, range) in ranged {
        let mut collected = entry.attrs.remove(&key).unwrap_or_default();
        let mut end = range.end;
        while let Some(last) = end {
            let ask = ad::next_range(&range.attribute, last, c.member_range_step);
            let Some(next) = conn
                .read_entry(&entry.dn, std::slice::from_ref(&ask))
                .await?
            else {
                return Err(Error::protocol(format!(
                    "{}: group `{}` disappeared while its {} values were read in ranges; \
                    read again",
                    c.url, entry.dn, range.attribute
                )));
            };
            if let Some(bad) = next.attrs.keys().find(|k| malformed(k)) {
                return Err(Error::protocol(format!(
                    "{}: asked for `{ask}` of `{}`, the server answered `{bad}`",
                    c.url, entry.dn
                )));
            }
            let answer = next.attrs.into_iter().find_map(|(k, v)| {
                ad::parse_range(&k)
                    .filter(|r| r.attribute.eq_ignore_ascii_case(&range.attribute))
                    .map(|r| (r, v))
            });
            match answer {
                Some((r, values)) if r.start == last + 1 => {
                    collected.extend(values);
                    end = r.end;
                }
                Some((r, _)) => {
                    return Err(Error::protocol(format!(
                        "{}: asked for `{ask}` of `{}`, the server answered from value {}",
                        c.url, entry.dn, r.start
                    )));
                }
                // Nothing past the last value (a group of exactly one range's size).
                None => end = None,
            }
        }
        entry
            .attrs
            .entry(range.attribute)
            .or_default()
            .extend(collected);
    }
    Ok(())
}

/// One warning per cycle of groups inside groups, naming the groups on it.
fn cycles(members: &[Membership], groups: &BTreeMap<String, Group>) -> Vec<String> {
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in members {
        if let Principal::Group(child) = &m.member {
            edges
                .entry(m.group.as_str())
                .or_default()
                .push(child.as_str());
        }
    }
    let name = |id: &str| groups.get(id).map_or(id.to_string(), |g| g.name.clone());
    let mut reported: HashSet<BTreeSet<String>> = HashSet::new();
    let mut out = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    for start in edges.keys() {
        // Depth-first walk with an explicit path.
        let mut path: Vec<&str> = vec![start];
        let mut stack: Vec<std::slice::Iter<'_, &str>> =
            vec![edges.get(start).map(|v| v.iter()).unwrap_or_default()];
        while let Some(iter) = stack.last_mut() {
            match iter.next() {
                Some(next) => {
                    if let Some(pos) = path.iter().position(|p| p == next) {
                        let ring: Vec<&str> = path[pos..].to_vec();
                        let key: BTreeSet<String> = ring.iter().map(|s| (*s).to_string()).collect();
                        if reported.insert(key) {
                            let mut names: Vec<String> = ring.iter().map(|g| name(g)).collect();
                            names.push(name(next));
                            out.push(format!(
                                "groups form a cycle: {} (each is reported with the members \
                                 the directory lists)",
                                names.join(" -> ")
                            ));
                        }
                    } else if !done.contains(next) {
                        path.push(next);
                        stack.push(edges.get(next).map(|v| v.iter()).unwrap_or_default());
                    }
                }
                None => {
                    stack.pop();
                    if let Some(p) = path.pop() {
                        done.insert(p);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::AdapterConfig;
    use serde_json::json;

    fn ad_config() -> LdapConfig {
        LdapConfig::from_adapter_config(&AdapterConfig::new(
            "dir",
            json!({
                "url": "ldaps://dc.example.com",
                "preset": "ad",
                "bind_dn": "CN=r,DC=example,DC=com",
                "password": "pw",
                "user_base_dns": ["DC=example,DC=com"],
                "group_base_dns": ["DC=example,DC=com"],
            }),
        ))
        .expect("config")
    }

    fn entry(text: &[(&str, &str)], binary: &[(&str, Vec<u8>)]) -> SearchEntry {
        SearchEntry {
            dn: "CN=x,DC=example,DC=com".into(),
            attrs: text
                .iter()
                .map(|(k, v)| ((*k).to_string(), vec![(*v).to_string()]))
                .collect(),
            bin_attrs: binary
                .iter()
                .map(|(k, v)| ((*k).to_string(), vec![v.clone()]))
                .collect(),
        }
    }

    #[test]
    fn a_binary_guid_is_the_id_wherever_the_library_put_it() {
        let c = ad_config();
        let bytes: Vec<u8> = (0x80..0x90).collect();
        let e = entry(&[("sAMAccountName", "ann")], &[("objectGUID", bytes)]);
        assert_eq!(
            entry_id(&c, &e).as_deref(),
            Ok("83828180-8584-8786-8889-8a8b8c8d8e8f")
        );
        // Sixteen bytes that happen to be valid UTF-8 arrive as text.
        let e = entry(&[("objectguid", "ABCDEFGHIJKLMNOP")], &[]);
        assert_eq!(
            entry_id(&c, &e).as_deref(),
            Ok("44434241-4645-4847-494a-4b4c4d4e4f50")
        );
        let e = entry(&[], &[("objectGUID", vec![1, 2, 3])]);
        assert!(entry_id(&c, &e).expect_err("short").contains("3 bytes"));
        let mut text = c.clone();
        text.id_format = IdFormat::Text;
        let e = entry(&[], &[("objectGUID", vec![0xff; 16])]);
        assert!(
            entry_id(&text, &e)
                .expect_err("binary")
                .contains("id_format")
        );
    }

    #[test]
    fn the_account_disable_bit_disables() {
        let c = ad_config();
        for (uac, disabled) in [
            ("512", false),
            ("514", true),
            ("66048", false),
            ("66050", true),
            ("-2147483646", true),
            ("not a number", true),
        ] {
            let e = entry(
                &[("sAMAccountName", "ann"), ("userAccountControl", uac)],
                &[("objectGUID", vec![7; 16])],
            );
            let user = user_from_entry(&c, &e).expect("user");
            assert_eq!(!user.enabled, disabled, "userAccountControl {uac}");
        }
        let e = entry(&[("sAMAccountName", "ann")], &[("objectGUID", vec![7; 16])]);
        assert!(user_from_entry(&c, &e).expect("user").enabled, "no flags");
    }

    #[test]
    fn a_cycle_is_named_once() {
        let g = |id: &str| Group {
            id: id.into(),
            name: format!("name-{id}"),
            description: None,
        };
        let groups: BTreeMap<String, Group> = ["a", "b", "c"]
            .iter()
            .map(|i| ((*i).to_string(), g(i)))
            .collect();
        let m = |group: &str, child: &str| Membership {
            group: group.into(),
            member: Principal::Group(child.into()),
        };
        let warnings = cycles(&[m("a", "b"), m("b", "a"), m("b", "c")], &groups);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("name-a -> name-b -> name-a"),
            "{warnings:?}"
        );
    }
}
