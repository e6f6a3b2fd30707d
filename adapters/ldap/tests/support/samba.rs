//! A private Samba Active Directory domain controller for the tests: Debian's `samba`
//! provisioned by `samba-tool domain provision` into a temporary directory (its own
//! `smb.conf`, not the system's), seeded offline with `samba-tool` and `ldbadd`, then
//! started in the foreground with only its LDAP service, stopped on drop.
//!
//! Samba's LDAP ports are fixed (389 and 636), so each server listens on an address of its
//! own in 127.0.0.0/8, and binding them needs root. Without Samba, or without root, the
//! tests skip with a message, unless `IDBRIDGE_REQUIRE_SAMBA=1` (CI), where they fail.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::{AdapterConfig, ConfigOrigin};

pub const REALM: &str = "EXAMPLE.TEST";
pub const DOMAIN: &str = "EXAMPLE";
pub const BASE: &str = "DC=example,DC=test";
pub const ADMIN_UPN: &str = "Administrator@example.test";
pub const ADMIN_PASSWORD: &str = "Admin-Secret-4711!";
pub const READER: &str = "reader";
pub const READER_PASSWORD: &str = "Reader-Secret-0815!";

const SAMBA: &str = "/usr/sbin/samba";
const SAMBA_TOOL: &str = "/usr/bin/samba-tool";
const LDBADD: &str = "/usr/bin/ldbadd";
const LDBMODIFY: &str = "/usr/bin/ldbmodify";
const AD_SCHEMA: &str = "/usr/share/samba/setup/ad-schema";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Whether the tests can start a domain controller; prints why not (or panics where one is
/// required).
pub fn available() -> bool {
    let missing: Vec<&str> = [SAMBA, SAMBA_TOOL, LDBADD, LDBMODIFY, AD_SCHEMA]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    let why = if !missing.is_empty() {
        format!(
            "{} missing (apt-get install samba samba-ad-provision samba-ad-dc ldb-tools)",
            missing.join(", ")
        )
    } else if !is_root() {
        "Samba's LDAP server binds the fixed ports 389 and 636, which needs root".to_string()
    } else {
        return true;
    };
    if std::env::var("IDBRIDGE_REQUIRE_SAMBA").as_deref() == Ok("1") {
        panic!("{why}, but IDBRIDGE_REQUIRE_SAMBA=1 requires the Samba AD tests");
    }
    eprintln!("skipped: {why}; the Active Directory tests are skipped");
    false
}

/// A provisioned domain, started or not.
pub struct SambaDc {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The loopback address the server listens on.
    pub host: String,
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback address no other server of this machine's tests is likely to use.
fn loopback_address() -> String {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    for i in 0..64u64 {
        let n = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i * 1442695040888963407);
        let host = format!(
            "127.{}.{}.{}",
            1 + (n >> 8) % 250,
            (n >> 16) % 250,
            2 + (n >> 24) % 250
        );
        if TcpStream::connect_timeout(
            &format!("{host}:389").parse().expect("address"),
            Duration::from_millis(100),
        )
        .is_err()
        {
            return host;
        }
    }
    panic!("no free loopback address for Samba's port 389");
}

impl SambaDc {
    /// Provisions a new domain (about 10 s) into a temporary directory; not started yet.
    pub fn provision() -> SambaDc {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = loopback_address();
        run(
            Command::new(SAMBA_TOOL)
                .args(["domain", "provision", "--use-rfc2307", "--server-role=dc"])
                .arg(format!("--realm={REALM}"))
                .arg(format!("--domain={DOMAIN}"))
                .arg("--dns-backend=NONE")
                .arg(format!("--adminpass={ADMIN_PASSWORD}"))
                .arg(format!("--targetdir={}", dir.path().display()))
                .arg("--option=interfaces=lo")
                .arg("--option=bind interfaces only=yes"),
            "samba-tool domain provision",
        );
        let dc = SambaDc {
            child: None,
            dir,
            host,
        };
        dc.tool(&["user", "add", READER, READER_PASSWORD]);
        dc
    }

    fn sam(&self) -> PathBuf {
        self.dir.path().join("private/sam.ldb")
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("etc/smb.conf")
    }

    /// Runs `samba-tool` on the domain's database (works whether or not the server runs).
    pub fn tool(&self, args: &[&str]) -> String {
        run(
            Command::new(SAMBA_TOOL)
                .args(args)
                .arg("-H")
                .arg(self.sam())
                .arg(format!("--configfile={}", self.conf().display())),
            &format!("samba-tool {}", args.join(" ")),
        )
    }

    fn ldb(&self, program: &str, ldif: &str) {
        let path = self.dir.path().join("change.ldif");
        std::fs::write(&path, ldif).expect("ldif");
        run(
            Command::new(program).arg("-H").arg(self.sam()).arg(&path),
            program,
        );
    }

    /// Adds the entries of `ldif` straight to the database (far faster than one
    /// `samba-tool` call per entry).
    pub fn ldbadd(&self, ldif: &str) {
        self.ldb(LDBADD, ldif);
    }

    /// Applies the changes of `ldif` straight to the database.
    pub fn ldbmodify(&self, ldif: &str) {
        self.ldb(LDBMODIFY, ldif);
    }

    /// The `objectGUID` of the entry `filter` finds, as Samba's own tools print it.
    pub fn guid_of(&self, filter: &str) -> String {
        let out = run(
            Command::new("/usr/bin/ldbsearch")
                .arg("-H")
                .arg(self.sam())
                .arg(filter)
                .arg("objectGUID"),
            "ldbsearch",
        );
        out.lines()
            .find_map(|l| l.strip_prefix("objectGUID: "))
            .unwrap_or_else(|| panic!("no objectGUID for {filter}: {out}"))
            .trim()
            .to_string()
    }

    /// Starts the server: LDAP only, simple binds allowed without TLS (the tests use
    /// plain LDAP on loopback).
    pub fn start(&mut self) {
        let d = self.dir.path().display();
        let log = std::fs::File::create(self.dir.path().join("samba.out")).expect("log");
        let child = Command::new(SAMBA)
            .args(["-i", "-M", "single"])
            .arg(format!("--configfile={}", self.conf().display()))
            .arg(format!("--option=pid directory={d}"))
            .arg(format!("--option=log file={d}/samba.log"))
            .arg("--option=server services=ldap")
            .arg(format!("--option=interfaces={}/8", self.host))
            .arg("--option=bind interfaces only=yes")
            .arg("--option=ldap server require strong auth=no")
            // No LDAPS here: skips generating a self-signed key at every start.
            .arg("--option=tls enabled=no")
            // Samba in interactive mode ends when its standard input closes, so it does
            // not outlive a test that panics before the drop.
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start samba");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = format!("{}:389", self.host).parse().expect("address");
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("samba exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("samba did not listen on {addr} within 60 s: {}", self.log());
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("samba.out")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("ldap://{}", self.host)
    }

    /// A DN in the domain: `rdns` followed by the domain's base DN.
    pub fn dn(&self, rdns: &str) -> String {
        format!("{rdns},{BASE}")
    }

    /// The adapter's section for this domain with the AD preset, bound as the reader, with
    /// `extra` keys.
    pub fn section(&self, extra: serde_json::Value) -> AdapterConfig {
        let mut settings = serde_json::json!({
            "url": self.url(),
            "preset": "ad",
            "bind_dn": format!("CN={READER},CN=Users,{BASE}"),
            "password": READER_PASSWORD,
            "user_base_dns": [format!("OU=People,{BASE}")],
            "group_base_dns": [format!("OU=Groups,{BASE}")],
            "connect_timeout_secs": 5,
            "operation_timeout_secs": 60,
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

    /// An administrator connection for changing the directory during a test.
    pub async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&self.url())
            .await
            .expect("admin connect");
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_UPN, ADMIN_PASSWORD)
            .await
            .and_then(|r| r.success())
            .expect("admin bind");
        ldap
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
