//! A private OpenLDAP server for the tests: Debian's `slapd` started on a free loopback
//! port in a temporary directory with its own `slapd.conf` (mdb backend; the core, cosine,
//! inetorgperson and nis schemas), seeded with LDIF through `slapadd`, stopped on drop.
//!
//! Without `slapd` on the machine the tests skip with a message, unless
//! `IDBRIDGE_REQUIRE_LDAP=1` (CI), where they fail.

#![allow(dead_code, missing_docs)]

pub mod samba;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::{AdapterConfig, ConfigOrigin};

pub const SUFFIX: &str = "dc=example,dc=com";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
pub const ADMIN_PASSWORD: &str = "admin-secret-4711";
pub const READER_DN: &str = "cn=reader,dc=example,dc=com";
pub const READER_PASSWORD: &str = "reader-secret-0815";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";
/// The most entries the reader gets from one search or one page: paging is required.
pub const READER_PAGE_LIMIT: usize = 5;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMA_DIR: &str = "/etc/ldap/schema";

/// Whether the tests can start a server; prints why not (or panics where one is required).
pub fn available() -> bool {
    if Path::new(SLAPD).exists() && Path::new(SLAPADD).exists() {
        return true;
    }
    let why = format!(
        "{SLAPD} is not installed (apt-get install slapd ldap-utils); the LDAP tests are skipped"
    );
    if std::env::var("IDBRIDGE_REQUIRE_LDAP").as_deref() == Ok("1") {
        panic!("{why}, but IDBRIDGE_REQUIRE_LDAP=1 requires them");
    }
    eprintln!("skipped: {why}");
    false
}

/// Certificate and key (PEM) the server presents on its TLS listener.
pub struct ServerTls {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A running private slapd.
pub struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: Option<u16>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn config(dir: &Path, tls: bool) -> String {
    let d = dir.display();
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis"] {
        conf.push_str(&format!("include {SCHEMA_DIR}/{schema}.schema\n"));
    }
    conf.push_str(&format!(
        "pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
    ));
    if tls {
        conf.push_str(&format!(
            "TLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n"
        ));
    }
    conf.push_str(&format!(
        "database mdb\nmaxsize 104857600\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
         rootpw {ADMIN_PASSWORD}\ndirectory {d}/db\nindex objectClass eq\nindex entryUUID eq\n\
         limits dn.exact=\"{READER_DN}\" size.soft={READER_PAGE_LIMIT} size.hard={READER_PAGE_LIMIT} \
         size.pr={READER_PAGE_LIMIT} size.prtotal=unlimited\n\
         access to attrs=userPassword by anonymous auth by * none\n\
         access to * by * read\n"
    ));
    conf
}

impl Slapd {
    /// Starts a server seeded with `ldif` (the suffix entry and the reader account are
    /// added first), with a TLS listener too when `tls` is given.
    pub fn start(ldif: &str, tls: Option<&ServerTls>) -> Slapd {
        Self::start_on(ldif, tls, free_port())
    }

    /// As [`Slapd::start`], listening on `port` (plain LDAP).
    pub fn start_on(ldif: &str, tls: Option<&ServerTls>, port: u16) -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("db")).expect("db dir");
        if let Some(t) = tls {
            std::fs::write(dir.path().join("server.pem"), &t.cert_pem).expect("cert");
            std::fs::write(dir.path().join("server.key"), &t.key_pem).expect("key");
        }
        let conf = dir.path().join("slapd.conf");
        std::fs::write(&conf, config(dir.path(), tls.is_some())).expect("slapd.conf");
        let seed = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: reader\nuserPassword: {READER_PASSWORD}\n\n{ldif}"
        );
        let seed_path = dir.path().join("seed.ldif");
        std::fs::write(&seed_path, seed).expect("seed");
        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&seed_path)
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tls_port = tls.map(|_| free_port());
        let mut urls = format!("ldap://127.0.0.1:{port}/");
        if let Some(p) = tls_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{p}/"));
        }
        let log = std::fs::File::create(dir.path().join("slapd.log")).expect("log file");
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(&urls)
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        let mut server = Slapd {
            child,
            dir,
            port,
            tls_port,
        };
        server.wait_listening(port);
        if let Some(p) = tls_port {
            server.wait_listening(p);
        }
        server
    }

    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("slapd exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("slapd did not listen on {port} within 20 s: {}", self.log());
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The adapter's section for this server, bound as the reader, with `extra` keys.
    pub fn section(&self, extra: serde_json::Value) -> AdapterConfig {
        let mut settings = serde_json::json!({
            "url": self.url(),
            "bind_dn": READER_DN,
            "password": READER_PASSWORD,
            "user_base_dns": [PEOPLE],
            "group_base_dns": [GROUPS],
            "page_size": READER_PAGE_LIMIT,
            "connect_timeout_secs": 5,
            "operation_timeout_secs": 20,
        });
        if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        let mut cfg = AdapterConfig::new("directory", settings);
        cfg.origin = ConfigOrigin::in_memory(self.dir.path());
        cfg
    }

    /// A file in the server's temporary directory.
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        let mut f = std::fs::File::create(&p).expect("create");
        f.write_all(text.as_bytes()).expect("write");
        p
    }

    /// An administrator connection for changing the directory during a test.
    pub async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&self.url())
            .await
            .expect("admin connect");
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
            .await
            .and_then(|r| r.success())
            .expect("admin bind");
        ldap
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The directory most tests read: two OUs of people, the nesting, the three kinds of
/// group, a disabled person, a dangling member and one outside the bases.
pub fn seed() -> String {
    let mut s = format!(
        "dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=engineering,{PEOPLE}\nobjectClass: organizationalUnit\nou: engineering\n\n\
         dn: ou=sales,{PEOPLE}\nobjectClass: organizationalUnit\nou: sales\n\n\
         dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=outside,{SUFFIX}\nobjectClass: organizationalUnit\nou: outside\n\n\
         dn: cn=ghost,ou=outside,{SUFFIX}\nobjectClass: inetOrgPerson\ncn: ghost\nsn: Ghost\nuid: ghost\n\n"
    );
    let person = |uid: &str, ou: &str, cn: &str, extra: &str| {
        format!(
            "dn: uid={uid},ou={ou},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n\
             sn: {uid}\nmail: {uid}@example.com\n{extra}\n"
        )
    };
    s.push_str(&person(
        "ann",
        "engineering",
        "Ann Lee",
        "displayName: Ann L.\ndepartmentNumber: 42\n",
    ));
    s.push_str(&person("bob", "engineering", "Bob Roy", ""));
    s.push_str(&person(
        "cid",
        "sales",
        "Cid Moe",
        "employeeType: disabled\n",
    ));
    for n in 1..=9 {
        s.push_str(&person(
            &format!("user{n:02}"),
            "sales",
            &format!("User {n}"),
            "",
        ));
    }
    let eng = format!("ou=engineering,{PEOPLE}");
    s.push_str(&format!(
        "dn: cn=leads,{GROUPS}\nobjectClass: groupOfNames\ncn: leads\nmember: uid=ann,{eng}\n\n\
         dn: cn=engineers,{GROUPS}\nobjectClass: groupOfNames\ncn: engineers\n\
         description: Everyone who builds\nmember: uid=ann,{eng}\nmember: UID=Bob, {eng}\n\
         member: cn=leads,{GROUPS}\nmember: uid=nobody,{eng}\nmember: cn=ghost,ou=outside,{SUFFIX}\n\n\
         dn: cn=sales,{GROUPS}\nobjectClass: groupOfUniqueNames\ncn: sales\n\
         uniqueMember: uid=cid,ou=sales,{PEOPLE}\nuniqueMember: uid=user01,ou=sales,{PEOPLE}#'0101'B\n\n\
         dn: cn=unix,{GROUPS}\nobjectClass: posixGroup\ncn: unix\ngidNumber: 5000\n\
         memberUid: bob\nmemberUid: cid\nmemberUid: nosuch\n\n\
         dn: cn=all,{GROUPS}\nobjectClass: groupOfNames\ncn: all\nmember: cn=engineers,{GROUPS}\n\
         member: cn=sales,{GROUPS}\n\n"
    ));
    s
}
