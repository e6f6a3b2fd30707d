//! Member DNs spelled differently from their entries' DNs, against a real OpenLDAP server
//! (see `support`): escaped and hex-escaped characters, multi-valued RDNs in another order,
//! case and spaces. Each must find its entry; a near miss must stay dangling.

mod support;

use std::collections::BTreeSet;

use idbridge_core::Principal;
use idbridge_ldap::{LdapAdapter, LdapConfig};
use serde_json::json;
use support::{GROUPS, PEOPLE, SUFFIX, Slapd};

fn seed() -> String {
    let mut s = format!(
        "dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    let person = |rdn: &str, uid: &str, cn: &str| {
        format!(
            "dn: {rdn},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {uid}\n\n"
        )
    };
    s.push_str(&person(r"cn=Smith\, John", "jsmith", "Smith, John"));
    s.push_str(&person("cn=O'Brien+uid=obrien", "obrien", "O'Brien"));
    s.push_str(&person("cn=Ann Lee", "ann", "Ann Lee"));
    s.push_str(&person(r"cn=J\C3\BCrgen", "juergen", "Jürgen"));
    s.push_str(&person(r"cn=\#hash", "hash", "#hash"));
    s.push_str(&person(r"cn=Plus\+Minus", "plus", "Plus+Minus"));
    let members = [
        "CN=smith\\2C john, OU=People,DC=Example,DC=Com".to_string(),
        format!("UID=obrien + CN=o'brien,ou=people,{SUFFIX}"),
        format!("cn=ANN LEE , ou=people , {SUFFIX}"),
        format!("cn=j\\c3\\9crgen,ou=people,{SUFFIX}"),
        format!("cn=\\23HASH,ou=people,{SUFFIX}"),
        format!("cn=plus\\2Bminus,{PEOPLE}"),
        // Near misses: another person, and a comma that is a separator.
        format!("cn=Smith\\2C Johnny,{PEOPLE}"),
        format!("cn=Smith,cn=John,{PEOPLE}"),
    ];
    s.push_str(&format!(
        "dn: cn=escaped,{GROUPS}\nobjectClass: groupOfNames\ncn: escaped\n"
    ));
    for m in &members {
        s.push_str(&format!("member: {m}\n"));
    }
    s.push('\n');
    s
}

#[tokio::test]
async fn member_dns_in_other_spellings_find_their_entries() {
    if !support::available() {
        return;
    }
    let server = Slapd::start(&seed(), None);
    let a = LdapAdapter::new(
        LdapConfig::from_adapter_config(&server.section(json!({}))).expect("config"),
    );
    let d = a.read_directory().await.expect("read");
    assert_eq!(d.users.len(), 6, "{:?}", d.warnings);
    let user = |login: &str| {
        Principal::User(
            d.users
                .iter()
                .find(|u| u.login == login)
                .unwrap_or_else(|| panic!("{login}"))
                .id
                .clone(),
        )
    };
    let group = &d
        .groups
        .iter()
        .find(|g| g.name == "escaped")
        .expect("group")
        .id;
    let members: BTreeSet<Principal> = d.members_of(group).into_iter().collect();
    assert_eq!(
        members,
        ["jsmith", "obrien", "ann", "juergen", "hash", "plus"]
            .map(user)
            .into(),
        "warnings: {:?}",
        d.warnings
    );
    let dangling: Vec<&String> = d
        .warnings
        .iter()
        .filter(|w| w.contains("dangling"))
        .collect();
    assert_eq!(dangling.len(), 2, "{dangling:?}");
    assert!(
        dangling.iter().any(|w| w.contains("Johnny")),
        "{dangling:?}"
    );
    assert!(
        dangling.iter().any(|w| w.contains("cn=Smith,cn=John")),
        "{dangling:?}"
    );
}
