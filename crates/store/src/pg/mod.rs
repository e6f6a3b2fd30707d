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
mod schema;
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
}

impl Target {
    /// Parses a locator (`postgres://user@host:port/db?tenant=acme&...`); the password
    /// comes from `password`, else from the `PGPASSWORD` environment variable.
    pub(crate) fn parse(locator: &str, password: Option<Secret>) -> Result<Target> {
        let tenant = idbridge_core::config::url_tenant(locator)
            .unwrap_or(idbridge_core::config::DEFAULT_TENANT)
            .to_string();
        idbridge_core::config::check_tenant(&tenant)
            .map_err(|e| Error::config(format!("state `{locator}`: {e}")))?;
        // `tenant` is idbridge's own parameter: the driver would refuse it.
        let (base, query) = locator.split_once('?').unwrap_or((locator, ""));
        let rest: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("tenant="))
            .collect();
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::config(format!("state `{locator}` is not a PostgreSQL URL: {e}"))
        })?;
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(Error::config(format!(
                "state `{locator}`: sslmode=require, but this idbridge connects to PostgreSQL \
                 without TLS; connect over a trusted network or a local socket"
            )));
        }
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
        })
    }

    pub(crate) fn error(&self, what: &str, e: &postgres::Error) -> Error {
        pg_error(&self.locator, what, e)
    }

    fn connect(&self) -> Result<postgres::Client> {
        let mut client = self
            .config
            .connect(postgres::NoTls)
            .map_err(|e| self.error("cannot connect", &e))?;
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
        None => e.to_string(),
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
