//! The AD preset against a real Active Directory: a Samba domain controller provisioned by
//! the test (see `support::samba`). It gives real `objectGUID`s, `userAccountControl`,
//! referential integrity of `member`, and ranged retrieval of a group of more than 1,500
//! members.
//!
//! One domain serves every check of this file, in order: provisioning and seeding take
//! about 20 seconds.

mod support;

use std::collections::BTreeSet;

use idbridge_core::{ErrorKind, PageRequest, Principal, registry};
use idbridge_ldap::{Directory, LdapAdapter, LdapConfig};
use serde_json::json;
use support::samba::{BASE, SambaDc};

/// Members of the large group: more than Active Directory's default `MaxValRange` (1500).
const BULK: usize = 1600;

fn ou(name: &str) -> String {
    format!("dn: {name},{BASE}\nobjectClass: organizationalUnit\n\n")
}

fn seed(dc: &SambaDc) {
    let mut ldif = String::new();
    for o in [
        "OU=People",
        "OU=Engineering,OU=People",
        "OU=Sales,OU=People",
        "OU=Bulk,OU=People",
        "OU=Groups",
        "OU=Outside",
    ] {
        ldif.push_str(&ou(o));
    }
    dc.ldbadd(&ldif);
    // People created the way an administrator would.
    for (login, given, ou) in [
        ("ann", "Ann", "OU=Engineering,OU=People"),
        ("bob", "Bob", "OU=Engineering,OU=People"),
        ("cid", "Cid", "OU=Sales,OU=People"),
        ("ghost", "Ghost", "OU=Outside"),
    ] {
        dc.tool(&[
            "user",
            "add",
            login,
            "User-Secret-1234!",
            "--use-username-as-cn",
            &format!("--given-name={given}"),
            "--surname=Tester",
            &format!("--mail-address={login}@example.test"),
            &format!("--userou={ou}"),
        ]);
    }
    dc.tool(&["user", "disable", "cid"]);
    // A DN with an escaped comma, and the bulk of the large group. 544 is a normal
    // account without a password requirement: enabled.
    let mut ldif = format!(
        "dn: CN=Smith\\, John,OU=Sales,OU=People,{BASE}\nobjectClass: user\n\
         sAMAccountName: jsmith\nuserPrincipalName: jsmith@example.test\n\
         userAccountControl: 544\ndisplayName: John Smith\n\n"
    );
    for n in 1..=BULK {
        ldif.push_str(&format!(
            "dn: CN=m{n:04},OU=Bulk,OU=People,{BASE}\nobjectClass: user\n\
             sAMAccountName: m{n:04}\nuserPrincipalName: m{n:04}@example.test\n\
             userAccountControl: 544\n\n"
        ));
    }
    dc.ldbadd(&ldif);
    let group = |name: &str, members: &[String]| {
        let mut g =
            format!("dn: CN={name},OU=Groups,{BASE}\nobjectClass: group\nsAMAccountName: {name}\n");
        for m in members {
            g.push_str(&format!("member: {m}\n"));
        }
        g.push('\n');
        g
    };
    let user = |cn: &str, ou: &str| format!("CN={cn},{ou},OU=People,{BASE}");
    let grp = |cn: &str| format!("CN={cn},OU=Groups,{BASE}");
    let mut big: Vec<String> = (1..=BULK)
        .map(|n| user(&format!("m{n:04}"), "OU=Bulk"))
        .collect();
    big.push(user("ann", "OU=Engineering"));
    let mut ldif = group("leads", &[user("ann", "OU=Engineering")]);
    ldif.push_str(&group(
        "engineers",
        &[
            user("ann", "OU=Engineering"),
            user("bob", "OU=Engineering"),
            grp("leads"),
            format!("CN=ghost,OU=Outside,{BASE}"),
            // Another spelling of the escaped DN; the server stores its own.
            format!(
                "cn=smith\\2C john,ou=sales,ou=people,{}",
                BASE.to_lowercase()
            ),
        ],
    ));
    ldif.push_str(&group("big", &big));
    ldif.push_str(&group("all", &[grp("engineers"), grp("big")]));
    // Active Directory allows a cycle of groups.
    ldif.push_str(&group("loop-a", &[]));
    ldif.push_str(&group("loop-b", &[grp("loop-a")]));
    dc.ldbadd(&ldif);
    dc.ldbmodify(&format!(
        "dn: {}\nchangetype: modify\nadd: member\nmember: {}\n\n",
        grp("loop-a"),
        grp("loop-b")
    ));
}

fn start() -> Option<SambaDc> {
    if !support::samba::available() {
        return None;
    }
    let mut dc = SambaDc::provision();
    seed(&dc);
    dc.start();
    Some(dc)
}

fn adapter(dc: &SambaDc, extra: serde_json::Value) -> LdapAdapter {
    LdapAdapter::new(LdapConfig::from_adapter_config(&dc.section(extra)).expect("config"))
}

fn group_id(d: &Directory, name: &str) -> String {
    d.groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("group {name} in {:?}", d.groups))
        .id
        .clone()
}

fn user_id(d: &Directory, login: &str) -> String {
    d.users
        .iter()
        .find(|u| u.login == login)
        .unwrap_or_else(|| panic!("user {login}"))
        .id
        .clone()
}

fn members(d: &Directory, group: &str) -> BTreeSet<Principal> {
    d.members_of(&group_id(d, group)).into_iter().collect()
}

#[tokio::test]
async fn the_ad_preset_reads_a_samba_domain_controller() {
    let Some(dc) = start() else { return };

    // Through the registry, as `idbridge` builds it.
    idbridge_ldap::link();
    let h = registry::build_adapter("ldap", dc.section(json!({"page_size": 500})))
        .await
        .expect("the adapter builds");
    h.check().await.expect("check against the domain");
    let users = h.all_users().await.expect("users");
    assert_eq!(users.len(), BULK + 4, "ann, bob, cid, jsmith and the bulk");
    let logins: BTreeSet<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert!(
        !logins.contains("ghost") && !logins.contains("reader"),
        "outside the user base"
    );
    let ann = users.iter().find(|u| u.login == "ann").expect("ann");
    // objectGUID in the string form Samba's own tools print.
    assert_eq!(ann.id, dc.guid_of("(sAMAccountName=ann)"));
    assert_eq!(ann.email.as_deref(), Some("ann@example.test"));
    assert_eq!(ann.display_name.as_deref(), Some("Ann Tester"));
    assert!(ann.enabled);
    let cid = users.iter().find(|u| u.login == "cid").expect("cid");
    assert!(!cid.enabled, "samba-tool user disable sets ACCOUNTDISABLE");
    assert!(users.iter().filter(|u| u.login != "cid").all(|u| u.enabled));
    let smith = users.iter().find(|u| u.login == "jsmith").expect("jsmith");
    assert_eq!(smith.display_name.as_deref(), Some("John Smith"));

    // get_user searches by the binary GUID.
    let got = h.get_user(&ann.id).await.expect("get ann");
    assert_eq!(got.login, "ann");
    let got = h.get_user(&cid.id).await.expect("get cid");
    assert!(!got.enabled);
    for missing in ["not-a-guid", "00000000-0000-0000-0000-000000000000"] {
        let err = h.get_user(missing).await.expect_err("no such user");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing}: {err}");
    }
    let groups = h.all_groups().await.expect("groups");
    let engineers = groups.iter().find(|g| g.name == "engineers").expect("g");
    assert_eq!(
        h.get_group(&engineers.id).await.expect("get").name,
        "engineers"
    );

    // Members: users, nested groups, the escaped DN, the one outside the bases, a cycle.
    let a = adapter(&dc, json!({}));
    let d = a.read_directory().await.expect("read");
    assert_eq!(
        members(&d, "engineers"),
        [
            Principal::User(user_id(&d, "ann")),
            Principal::User(user_id(&d, "bob")),
            Principal::User(user_id(&d, "jsmith")),
            Principal::Group(group_id(&d, "leads")),
        ]
        .into()
    );
    assert_eq!(
        members(&d, "all"),
        [
            Principal::Group(group_id(&d, "engineers")),
            Principal::Group(group_id(&d, "big")),
        ]
        .into()
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("CN=ghost,OU=Outside") && w.contains("outside")),
        "{:?}",
        d.warnings
    );
    assert_eq!(members(&d, "big").len(), BULK + 1);
    assert_eq!(
        members(&d, "loop-a"),
        [Principal::Group(group_id(&d, "loop-b"))].into()
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("cycle") && w.contains("loop-a") && w.contains("loop-b")),
        "{:?}",
        d.warnings
    );

    // The large group read in explicit ranges of 500 (Samba answers an unranged `member`
    // whole, where Windows cuts at 1500): four ranges, the last one ending in `*`.
    let ranged = adapter(&dc, json!({"member_range_step": 500}))
        .read_directory()
        .await
        .expect("ranged read");
    assert_eq!(members(&ranged, "big"), members(&d, "big"));
    assert_eq!(members(&ranged, "engineers"), members(&d, "engineers"));
    assert_eq!(ranged.members.len(), d.members.len());

    // userPrincipalName as the login.
    let upn = adapter(&dc, json!({"login_attribute": "userPrincipalName"}))
        .read_directory()
        .await
        .expect("upn read");
    assert!(upn.users.iter().any(|u| u.login == "ann@example.test"));
    assert!(upn.users.iter().any(|u| u.login == "m0001@example.test"));

    // Moved to another OU and renamed: the same id, still a member where it was.
    let mut admin = dc.admin().await;
    admin
        .modifydn(
            &dc.dn("CN=ann,OU=Engineering,OU=People"),
            "CN=ann-moved",
            true,
            Some(&dc.dn("OU=Sales,OU=People")),
        )
        .await
        .and_then(|r| r.success())
        .expect("move ann");
    let _ = admin.unbind().await;
    let after = a.read_directory().await.expect("read after the move");
    assert_eq!(user_id(&after, "ann"), user_id(&d, "ann"));
    assert_eq!(members(&after, "engineers"), members(&d, "engineers"));
    assert_eq!(members(&after, "big"), members(&d, "big"));

    // A listing pages through one read.
    let page = h
        .list_users(PageRequest {
            size: Some(10),
            ..PageRequest::default()
        })
        .await
        .expect("a page");
    assert_eq!(page.items.len(), 10);
    assert!(page.next.is_some());
}
