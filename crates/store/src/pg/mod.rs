//! The PostgreSQL backend: the same state as the SQLite file, in tables shared by many
//! tenants, each row scoped by its tenant.
//!
//! # Why a dedicated thread
//! [`Store`](crate::Store)'s API is synchronous and is called from async code (the sync
//! engine runs on tokio). The `postgres` crate's blocking client is a thin wrapper over
//! `tokio-postgres` that owns a current-thread tokio runtime of its own and blocks on it;
//! blocking on a runtime from a thread that already runs one panics. So each connection
//! lives on a thread of its own, which owns the client (and with it that private runtime),
//! and the store sends it jobs over a channel and waits for the answer. The caller's
//! thread never enters a runtime, so the store works the same from plain threads, from
//! `spawn_blocking` and from inside async tasks, as the SQLite store does. sqlx would bring
//! its own async pool and macros for no gain here: the store issues a handful of
//! statements per batch and waits for each commit anyway.
//!
//! # Guarantees
//! Every [`Store::commit`](crate::Store::commit) batch is one transaction, and the session
//! runs with `synchronous_commit = on`, so a batch is on the server's disk (and on any
//! synchronous standby) before `commit` returns, as with SQLite's `synchronous = FULL`.
//! The run lock is a session-level advisory lock on a connection of its own (see
//! [`lock`]), released by the server when that connection ends, however the process ends.

mod inbox;
pub(crate) mod lock;
pub(crate) mod ops;
pub(crate) mod probe;
mod schema;
mod tls;
pub(crate) mod transfer;

use std::path::Path;
use std::sync::mpsc;

use idbridge_core::{Error, Result, Secret};

pub use schema::POSTGRES_SCHEMA_VERSION;

/// The first key of every advisory lock idbridge takes (the second is the tenant's id),
/// so that its locks do not collide with other applications' on a shared server.
pub(crate) const LOCK_CLASS: i32 = 0x1DB_0001;

/// Where a PostgreSQL state lives and whose it is.
#[derive(Clone)]
pub(crate) struct Target {
    /// The locator as shown to people: the URL with `tenant=`, never a password.
    pub(crate) locator: String,
    pub(crate) tenant: String,
    pub(crate) config: postgres::Config,
    /// TLS as asked by `sslmode` and `state_ca_file` (see [`tls`]).
    tls: tls::Tls,
    /// The rustls connector; `None` without TLS.
    connector: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    /// Parses a locator (`postgres://user@host:port/db?tenant=acme&sslmode=verify-full`);
    /// the password comes from `password`, else from the `PGPASSWORD` environment
    /// variable; the CA bundle from the configuration's `state_ca_file`, else
    /// `PGSSLROOTCERT`.
    pub(crate) fn parse(locator: &str, password: Option<Secret>) -> Result<Target> {
        let tenant = idbridge_core::config::url_tenant(locator)
            .unwrap_or(idbridge_core::config::DEFAULT_TENANT)
            .to_string();
        idbridge_core::config::check_tenant(&tenant)
            .map_err(|e| Error::config(format!("state `{locator}`: {e}")))?;
        // `tenant` is idbridge's own parameter, and `sslmode` takes values (verify-full)
        // the driver does not know: both are taken out before the driver parses the URL.
        let (base, query) = locator.split_once('?').unwrap_or((locator, ""));
        let mut sslmode = None;
        let rest: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("tenant="))
            .filter(|p| match p.strip_prefix("sslmode=") {
                Some(mode) => {
                    sslmode = Some(mode);
                    false
                }
                None => true,
            })
            .collect();
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::config(format!("state `{locator}` is not a PostgreSQL URL: {e}"))
        })?;
        let ca_file = idbridge_core::config::state_ca_file(Path::new(locator)).or_else(|| {
            std::env::var_os("PGSSLROOTCERT")
                .filter(|p| !p.is_empty())
                .map(std::path::PathBuf::from)
        });
        let mode = tls::SslMode::choose(sslmode, ca_file.as_deref())
            .map_err(|e| Error::config(format!("state `{locator}`: {e}")))?;
        config.ssl_mode(if mode == tls::SslMode::Disable {
            postgres::config::SslMode::Disable
        } else {
            // Never `Prefer`: a server without TLS must fail the connection.
            postgres::config::SslMode::Require
        });
        let tls = tls::Tls { mode, ca_file };
        let connector = tls
            .connector()
            .map_err(|e| Error::config(format!("state `{locator}`: {}", e.message())))?;
        if config.get_password().is_some() {
            return Err(Error::config(format!(
                "state `{locator}`: give the password as `state_password` (a secret), not in the URL"
            )));
        }
        let password = password.or_else(|| {
            std::env::var("PGPASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .map(Secret::new)
        });
        if let Some(p) = password {
            config.password(p.expose());
        }
        if config.get_application_name().is_none() {
            config.application_name("idbridge");
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        // The lock's connection idles for a whole run (for the life of `sync --interval`):
        // keepalives stop a firewall or NAT from dropping it, which would drop the lock.
        config.keepalives(true);
        config.keepalives_idle(std::time::Duration::from_secs(60));
        Ok(Target {
            locator: locator.to_string(),
            tenant,
            config,
            tls,
            connector,
        })
    }

    pub(crate) fn error(&self, what: &str, e: &postgres::Error) -> Error {
        pg_error(&self.locator, what, e)
    }

    /// `host:port` of the server, as the URL names it.
    fn server(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}")
    }

    /// A failed connection, with what TLS was asked for and a hint when the cause is
    /// likely TLS: a certificate not trusted, or a server that takes only TLS.
    fn connect_error(&self, e: &postgres::Error) -> Error {
        let server = self.server();
        if self.tls.mode == tls::SslMode::Disable {
            let refused_plain = e.as_db_error().is_some_and(|db| {
                db.code().code() == "28000" && db.message().contains("no encryption")
            });
            let what = if refused_plain {
                format!(
                    "cannot connect to {server} without TLS (the server takes only TLS \
                     connections: add `sslmode=verify-full` to the URL and the server's CA \
                     as `state_ca_file`)"
                )
            } else {
                format!("cannot connect to {server}")
            };
            return self.error(&what, e);
        }
        let what = if e.as_db_error().is_none() && e.to_string().contains("TLS") {
            format!(
                "cannot connect over TLS to {server} ({}; check that the server offers TLS, \
                 that its certificate chains to that CA and names `{}`)",
                self.tls.describe(),
                server.rsplit_once(':').map_or(server.as_str(), |(h, _)| h)
            )
        } else {
            format!("cannot connect to {server} ({})", self.tls.describe())
        };
        self.error(&what, e)
    }

    fn connect(&self) -> Result<postgres::Client> {
        let connected = match &self.connector {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        };
        let mut client = connected.map_err(|e| self.connect_error(&e))?;
        client
            .batch_execute("SET synchronous_commit = on; SET TIME ZONE 'UTC';")
            .map_err(|e| self.error("cannot set up the session", &e))?;
        Ok(client)
    }
}

/// Words for a driver error: the server's message when the server sent one (the driver's
/// own `db error` prefix says nothing), else the driver's.
pub(crate) fn pg_error(locator: &str, what: &str, e: &postgres::Error) -> Error {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            // The driver's own text leaves out the cause (the TLS or I/O error under it).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let more = c.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                cause = c.source();
            }
            text
        }
    };
    Error::unavailable(format!("state `{locator}`: {what}: {detail}")).with_retryable(false)
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// What a connection thread owns.
pub(crate) struct Session {
    target: Target,
    client: Option<postgres::Client>,
}

impl Session {
    /// The client, reconnecting first if the server closed the connection.
    pub(crate) fn client(&mut self) -> Result<&mut postgres::Client> {
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            self.client = Some(self.target.connect()?);
        }
        self.client
            .as_mut()
            .ok_or_else(|| Error::unavailable("the state connection is gone"))
    }
}

/// A connection on a thread of its own (see the module docs).
pub(crate) struct Conn {
    jobs: mpsc::Sender<Job>,
    pub(crate) target: Target,
}

impl Conn {
    /// Connects (at once, so that a wrong URL or password fails here) and starts the
    /// connection's thread.
    pub(crate) fn open(target: Target) -> Result<Conn> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
        let thread_target = target.clone();
        std::thread::Builder::new()
            .name("idbridge-state".into())
            .spawn(move || {
                let mut session = Session {
                    target: thread_target,
                    client: None,
                };
                let first = session.client().map(|_| ());
                let ok = first.is_ok();
                let _ = ready_tx.send(first);
                if !ok {
                    return;
                }
                // Ends when every sender (the store and its clones) is gone, closing the
                // connection with the session.
                while let Ok(job) = rx.recv() {
                    job(&mut session);
                }
            })
            .map_err(|e| Error::unavailable(format!("cannot start the state thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| Error::unavailable("the state thread ended while connecting"))??;
        Ok(Conn { jobs, target })
    }

    /// Runs `f` on the connection's thread and waits for its answer.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let _ = tx.send(f(session));
        });
        self.jobs.send(job).map_err(|_| self.gone())?;
        rx.recv().map_err(|_| self.gone())?
    }

    fn gone(&self) -> Error {
        Error::unavailable(format!(
            "state `{}`: the connection's thread has ended",
            self.target.locator
        ))
    }
}

/// A PostgreSQL state: its connection and the tenant's id.
pub(crate) struct Pg {
    pub(crate) conn: Conn,
    pub(crate) tenant_id: i32,
    /// The server process of the connection holding this store's run lock, while it
    /// holds it: every commit checks that the lock is still there (see [`lock`]).
    pub(crate) lock_backend: std::sync::Mutex<Option<i32>>,
}

impl Pg {
    /// Connects, brings the schema up to date and registers the tenant.
    pub(crate) fn open(locator: &Path, password: Option<Secret>) -> Result<Pg> {
        let text = locator
            .to_str()
            .ok_or_else(|| Error::config(format!("state `{}` is not UTF-8", locator.display())))?;
        let target = Target::parse(text, password)?;
        let conn = Conn::open(target)?;
        let tenant_id = conn.call(|s| {
            let target = s.target.clone();
            let client = s.client()?;
            schema::migrate(client, &target)?;
            schema::tenant_id(client, &target)
        })?;
        Ok(Pg {
            conn,
            tenant_id,
            lock_backend: std::sync::Mutex::new(None),
        })
    }

    /// Runs `f` with the client, the tenant's id and the target (for errors).
    pub(crate) fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client, i32, &Target) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let tenant = self.tenant_id;
        self.conn.call(move |s| {
            let target = s.target.clone();
            let client = s.client()?;
            f(client, tenant, &target)
        })
    }
}
