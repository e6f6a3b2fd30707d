//! A private PostgreSQL server for tests: a cluster in a temporary directory, on a free
//! loopback port, started once per test binary and stopped when the binary ends.
//!
//! The binaries are found in `IDBRIDGE_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package). PostgreSQL refuses to run as root, so as root the
//! server runs as the `postgres` user (`runuser`). Without a server the tests that need one
//! print why and pass, unless `IDBRIDGE_REQUIRE_POSTGRES=1` (set by CI), which makes that a
//! failure.
//!
//! The server is stopped by a small shell that owns it and waits on a pipe from the test
//! process: when the test binary exits, however it exits, the pipe closes and the shell
//! stops the server and removes the directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser's password (the tests log in over TCP with a password, as production).
pub const PASSWORD: &str = "pg-test-Secret-7f3a";
/// The superuser's name.
pub const USER: &str = "idbridge";

/// A running private server.
pub struct PgServer {
    /// Its loopback port.
    pub port: u16,
    bin: PathBuf,
    // Closing it (at exit) stops the server.
    _keeper: Mutex<(Child, ChildStdin)>,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The server, started on first use; `None` (after printing why) when PostgreSQL is not
/// installed and not required.
pub fn server() -> Option<&'static PgServer> {
    SERVER
        .get_or_init(|| match start() {
            Ok(s) => Some(s),
            Err(why) => {
                if std::env::var("IDBRIDGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("IDBRIDGE_REQUIRE_POSTGRES=1 but no PostgreSQL server: {why}");
                }
                eprintln!("skipping the PostgreSQL cases: {why}");
                None
            }
        })
        .as_ref()
}

/// A server of its own (not the shared one of [`server`]), set up by `prepare` once the
/// cluster is initialised: it gets the cluster's directory and its data directory, may
/// write files there (handed to the server's user afterwards), and returns extra server
/// settings (`name=value`). `None` as for [`server`] when PostgreSQL is not installed.
pub fn own_server(
    prepare: impl FnOnce(&Path, &Path) -> Result<Vec<String>, String>,
) -> Option<PgServer> {
    match start_with(prepare) {
        Ok(s) => Some(s),
        Err(why) => {
            if std::env::var("IDBRIDGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("IDBRIDGE_REQUIRE_POSTGRES=1 but no PostgreSQL server: {why}");
            }
            eprintln!("skipping the PostgreSQL cases: {why}");
            None
        }
    }
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("IDBRIDGE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e}); install the postgresql package"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A command run as the server's user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn start() -> Result<PgServer, String> {
    start_with(|_, _| Ok(Vec::new()))
}

fn chown_to_server_user(dir: &Path) -> Result<(), String> {
    if !is_root() {
        return Ok(());
    }
    let owner = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .map_err(|e| format!("chown: {e}"))?;
    if owner.success() {
        Ok(())
    } else {
        Err("cannot hand the cluster directory to the postgres user".into())
    }
}

fn start_with(
    prepare: impl FnOnce(&Path, &Path) -> Result<Vec<String>, String>,
) -> Result<PgServer, String> {
    let bin = bin_dir()?;
    // Not a TempDir: the keeper shell removes it after stopping the server.
    let dir = tempfile::Builder::new()
        .prefix("idbridge-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PASSWORD).map_err(|e| format!("password file: {e}"))?;
    chown_to_server_user(&dir)?;
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", USER, "-E", "UTF8", "--no-sync"])
        .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let settings: String = prepare(&dir, &data)?
        .iter()
        .map(|s| format!(" -c '{s}'"))
        .collect();
    chown_to_server_user(&dir)?;
    let port = free_port()?;
    let runner = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "{runner}'{postgres}' -D '{data}' -p {port} -h 127.0.0.1 -k '{dir}' -c fsync=off \
           -c max_connections=200{settings} >'{dir}/log' 2>&1 &
         read _closed
         {runner}'{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1
         rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stdin = child.stdin.take().ok_or("no pipe to the keeper")?;
    let server = PgServer {
        port,
        bin,
        _keeper: Mutex::new((child, stdin)),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.psql("postgres", "SELECT 1").is_ok() {
            return Ok(server);
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!("the server did not start within 60 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl PgServer {
    /// Runs one SQL text with `psql` on `db` as the superuser.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A new empty database; returns its URL (without the password).
    pub fn new_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.url(&name)
    }

    /// The URL of database `db` (without the password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }
}
