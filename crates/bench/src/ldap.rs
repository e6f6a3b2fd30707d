//! An LDAP directory as the source: a private OpenLDAP server (`slapd`, started
//! here on a free loopback port in a temporary directory with its own configuration) is
//! loaded offline with `slapadd` from generated LDIF, then the sync engine reads it through
//! the `ldap` adapter (paged searches) and plans a first sync into in-memory targets with
//! the capabilities of every shipped emulator.
//!
//! The figures: entries read per second, the resident memory of this process (the read and
//! the plan; slapd's own is printed apart), and the planning time.

use std::io::{BufWriter, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idbridge_core::{AdapterConfig, AdapterHandle, Error, Result, registry};
use idbridge_store::Store;
use idbridge_sync::state::{Effective, TargetState};
use idbridge_sync::table::LinkTable;
use idbridge_sync::{Engine, Snapshot, Target, TargetSettings, TargetSnapshot};
use serde_json::json;

use crate::data::{self, Shape};
use crate::planning::{self, Declared};
use crate::rss;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMA_DIR: &str = "/etc/ldap/schema";
const SUFFIX: &str = "dc=bench,dc=example";
const ADMIN_DN: &str = "cn=admin,dc=bench,dc=example";
/// The benchmark server's own administrator password: it lives as long as the server.
const ADMIN_PASSWORD: &str = "bench-admin-5150";
/// One user in this many is matched by the disabled rule.
const DISABLED_EVERY: usize = 100;

fn people() -> String {
    format!("ou=people,{SUFFIX}")
}

fn groups_base() -> String {
    format!("ou=groups,{SUFFIX}")
}

fn user_dn(i: usize) -> String {
    format!("uid={},{}", data::login(i), people())
}

/// An I/O error as `what <path>: <error>`.
fn io<'a>(what: &'a str, path: &'a Path) -> impl Fn(std::io::Error) -> Error + 'a {
    move |e| Error::unavailable(format!("{what} {}: {e}", path.display()))
}

/// Writes the directory of `shape` as LDIF: the suffix, two OUs, the users
/// (`inetOrgPerson`) and the groups (`groupOfNames`, members by DN).
fn write_ldif(shape: Shape, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).map_err(io("cannot create", path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut text = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: bench\no: Bench\n\n\
         dn: {}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {}\nobjectClass: organizationalUnit\nou: groups\n\n",
        people(),
        groups_base()
    );
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); shape.groups];
    for i in 0..shape.users {
        let login = data::login(i);
        text.push_str(&format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: {login}\ncn: User {i}\nsn: {i}\n\
             displayName: User {i}\nmail: {}\n",
            user_dn(i),
            data::email(i)
        ));
        if i % DISABLED_EVERY == DISABLED_EVERY - 1 {
            text.push_str("employeeType: disabled\n");
        }
        text.push('\n');
        for g in shape.groups_of(i) {
            members[g].push(i);
        }
        if text.len() > 1 << 20 {
            w.write_all(text.as_bytes())
                .map_err(io("cannot write", path))?;
            text.clear();
        }
    }
    for (g, list) in members.iter().enumerate() {
        let name = data::group_name(g);
        text.push_str(&format!(
            "dn: cn={name},{}\nobjectClass: groupOfNames\ncn: {name}\n",
            groups_base()
        ));
        for &i in list {
            text.push_str(&format!("member: {}\n", user_dn(i)));
        }
        text.push('\n');
        if text.len() > 1 << 20 {
            w.write_all(text.as_bytes())
                .map_err(io("cannot write", path))?;
            text.clear();
        }
    }
    w.write_all(text.as_bytes())
        .map_err(io("cannot write", path))?;
    w.flush().map_err(io("cannot write", path))
}

/// The server's configuration: mdb with room for the directory, no limits for the
/// administrator (the adapter binds as it), the schemas the users and groups need.
fn slapd_conf(dir: &Path) -> String {
    let d = dir.display();
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis"] {
        conf.push_str(&format!("include {SCHEMA_DIR}/{schema}.schema\n"));
    }
    conf.push_str(&format!(
        "pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\nmodulepath /usr/lib/ldap\n\
         moduleload back_mdb\ntool-threads 2\n\
         database mdb\nmaxsize 8589934592\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
         rootpw {ADMIN_PASSWORD}\ndirectory {d}/db\nindex objectClass eq\nindex entryUUID eq\n\
         access to * by * read\n"
    ));
    conf
}

/// A running benchmark server, stopped on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// slapd's peak resident memory (`VmHWM`), in MiB.
    fn peak_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find_map(|line| {
            let kb: f64 = line
                .strip_prefix("VmHWM:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()?;
            Some(kb / 1024.0)
        })
    }

    /// slapd's processor time so far, in seconds.
    fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(&self.child.id().to_string())
    }
}

/// The processor time (user and system, all threads) of process `pid` (`self` for this
/// one) so far, in seconds, from `/proc/<pid>/stat`; `None` where it cannot be read.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the line, indexes 11 and 12 after the name;
    // Linux counts them in clock ticks of 1/100 s.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// `later - earlier` when both are known.
fn spent(earlier: Option<f64>, later: Option<f64>) -> Option<f64> {
    Some(later? - earlier?)
}

/// Generates, loads and starts the directory; prints how long each step took.
fn load_and_start(shape: Shape) -> Result<Server> {
    for tool in [SLAPD, SLAPADD] {
        if !Path::new(tool).exists() {
            return Err(Error::unavailable(format!(
                "{tool} is not installed (apt-get install slapd ldap-utils)"
            )));
        }
    }
    let dir = tempfile::tempdir()
        .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")))?;
    let db = dir.path().join("db");
    std::fs::create_dir(&db).map_err(io("cannot create", &db))?;
    let conf: PathBuf = dir.path().join("slapd.conf");
    std::fs::write(&conf, slapd_conf(dir.path())).map_err(io("cannot write", &conf))?;

    let t = Instant::now();
    let ldif = dir.path().join("directory.ldif");
    write_ldif(shape, &ldif)?;
    let size = std::fs::metadata(&ldif).map(|m| m.len()).unwrap_or(0);
    println!(
        "LDIF generated: {:.0} MiB in {:.1} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let out = Command::new(SLAPADD)
        .arg("-q")
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(&ldif)
        .output()
        .map_err(|e| Error::unavailable(format!("cannot run {SLAPADD}: {e}")))?;
    if !out.status.success() {
        return Err(Error::unavailable(format!(
            "slapadd failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    // The LDIF is no longer needed; the database holds the directory.
    let _ = std::fs::remove_file(&ldif);
    println!(
        "loaded offline with slapadd -q in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::unavailable(format!("no free loopback port: {e}")))?;
    let log = dir.path().join("slapd.log");
    let log_file = std::fs::File::create(&log).map_err(io("cannot create", &log))?;
    let child = Command::new(SLAPD)
        .arg("-f")
        .arg(&conf)
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .arg("-d")
        .arg("0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| Error::unavailable(format!("cannot start {SLAPD}: {e}")))?;
    let mut server = Server {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = server.child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            return Err(Error::unavailable(format!(
                "slapd did not start listening on {port}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// Runs the benchmark: load, read through the engine, plan a first sync into the
/// in-memory targets; prints the figures.
///
/// # Errors
/// When slapd is missing or does not start, the read fails, or planning fails.
pub async fn run(shape: Shape, page_size: usize) -> Result<()> {
    idbridge_platforms::link_all();
    println!(
        "LDAP source: {} users, {} groups, {} memberships (groupOfNames), every {DISABLED_EVERY}th user disabled; page size {page_size}",
        shape.users,
        shape.groups,
        shape.memberships()
    );
    let server = load_and_start(shape)?;
    let section = AdapterConfig::new(
        "source",
        json!({
            "url": format!("ldap://127.0.0.1:{}", server.port),
            "bind_dn": ADMIN_DN,
            "password": ADMIN_PASSWORD,
            "user_base_dns": [people()],
            "group_base_dns": [groups_base()],
            "disabled_filter": "(employeeType=disabled)",
            "page_size": page_size,
        }),
    );
    let source = registry::build_adapter("ldap", section).await?;
    let dir = tempfile::tempdir()
        .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")))?;
    let store = Store::open(&dir.path().join("state.db"))?;

    // The read: the engine's own source read (users, groups, members) with no target.
    let reader = Engine::new(source.clone(), Vec::new(), store.clone());
    let rss_start = rss::current_mib();
    let (slapd_cpu, own_cpu) = (server.cpu_seconds(), cpu_seconds("self"));
    let t = Instant::now();
    let read = reader.read().await?;
    let read_s = t.elapsed().as_secs_f64();
    let slapd_cpu = spent(slapd_cpu, server.cpu_seconds());
    let own_cpu = spent(own_cpu, cpu_seconds("self"));
    let src = read.source;
    let users = src.users.len();
    let groups = src.groups.as_ref().map_or(0, Vec::len);
    let memberships = src.members.memberships();
    let read_peak = rss::peak_mib();
    let after_read = rss::current_mib();
    println!(
        "read: {users} users, {groups} groups, {memberships} memberships in {read_s:.2} s: \
         {:.0} entries/s ({:.0} memberships/s)",
        (users + groups) as f64 / read_s,
        memberships as f64 / read_s
    );
    // On a shared machine the wall time depends on the load; the processor times do not.
    let secs = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2} s"));
    println!(
        "processor time during the read: {} in this process, {} in slapd",
        secs(own_cpu),
        secs(slapd_cpu)
    );

    // The plan: a first sync into targets with the capabilities of every shipped emulator,
    // empty and already in memory (no HTTP), so the time is the engine's alone.
    let mut targets = Vec::new();
    let mut snaps = Vec::new();
    for (name, vendor, settings) in planning::targets() {
        let (kind, caps) = planning::declared(vendor)?;
        let handle = AdapterHandle::new(name, Arc::new(Declared { kind, caps }));
        let settings = TargetSettings::from_json(name, settings)?;
        let mut notes = Vec::new();
        let effective = Effective::compute(&settings, &caps, &src, &mut notes);
        targets.push(Target { handle, settings });
        snaps.push(TargetSnapshot {
            name: name.to_string(),
            effective,
            notes,
            state: TargetState {
                sessions: caps.sessions_list.then(Vec::new),
                ..TargetState::default()
            },
            user_links: LinkTable::new(),
            group_links: Vec::new(),
        });
    }
    let planner = Engine::new(source, targets, store);
    let snapshot = Snapshot {
        source: src,
        targets: snaps,
        unavailable: Vec::new(),
    };
    let peak_reset = rss::reset_peak();
    let plan_cpu = cpu_seconds("self");
    let t = Instant::now();
    let plan = planner.plan_snapshot(&snapshot)?;
    let plan_s = t.elapsed().as_secs_f64();
    let plan_cpu = spent(plan_cpu, cpu_seconds("self"));
    let ops = plan.op_count();
    let plan_peak = rss::peak_mib();
    drop(plan);
    println!(
        "plan: first sync into {} in memory: {ops} operations in {plan_s:.2} s \
         ({} processor time)",
        planning::vendor_list(),
        secs(plan_cpu)
    );
    let mib = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0} MiB"));
    println!(
        "memory (this process): {} before the read, {} after it, peak {} during the read, \
         peak {} during planning{}",
        mib(rss_start),
        mib(after_read),
        mib(read_peak),
        mib(plan_peak),
        if peak_reset {
            ""
        } else {
            " (cannot reset the peak here: the planning peak includes the read)"
        }
    );
    println!("memory (slapd): peak {}", mib(server.peak_mib()));
    Ok(())
}
