//! Connections that always end: every command logs out of what it logged in to, on every
//! path.
//!
//! A command body runs inside [`with_engine`] or [`run_connected`], which own the
//! connections: whatever the body returns (a result, an error after connecting, a refused
//! confirmation) and when it is interrupted, every system is logged out of before the
//! command ends. Platforms count admin sessions against a licence or a limit, so one left
//! open per failed command adds up.
//!
//! Signals (SIGINT, and SIGTERM on Unix) are handled here too, for every such command:
//! - while connecting, the first signal lets the connections finish and then logs out;
//! - while reading or planning, the first signal abandons the work, logs out and exits
//!   with 130;
//! - while applying (after [`graceful_stop`]), the first signal asks the apply to finish
//!   the operations in flight and journal them (the command then ends as usual); a second
//!   signal abandons it, logs out and exits with 130.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use idbridge_core::{AdapterHandle, Result};
use idbridge_sync::{Engine, Stop};

use crate::output::errln;

/// The exit code of a command abandoned on a signal (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

/// The stop request of the apply in progress, if any; see [`graceful_stop`].
static GRACEFUL: Mutex<Option<Stop>> = Mutex::new(None);

/// Something that holds logged-in connections.
pub(crate) trait Connections: Clone + Send + Sync + 'static {
    /// Logs out of everything (best effort: failures are logged as warnings).
    fn log_out(&self) -> impl Future<Output = ()> + Send;
}

impl Connections for Engine {
    async fn log_out(&self) {
        self.close().await;
    }
}

/// An engine whose connections can grow while a command runs: a sync on an interval
/// connects again to the targets that were down, and those must be logged out of too.
#[derive(Clone)]
pub(crate) struct SharedEngine(Arc<tokio::sync::RwLock<Engine>>);

impl SharedEngine {
    /// Shares `engine`.
    pub(crate) fn new(engine: Engine) -> SharedEngine {
        SharedEngine(Arc::new(tokio::sync::RwLock::new(engine)))
    }

    /// The engine, for a run (many at once).
    pub(crate) async fn read(&self) -> tokio::sync::RwLockReadGuard<'_, Engine> {
        self.0.read().await
    }

    /// The engine, to change its connections.
    pub(crate) async fn write(&self) -> tokio::sync::RwLockWriteGuard<'_, Engine> {
        self.0.write().await
    }
}

impl Connections for SharedEngine {
    async fn log_out(&self) {
        self.0.read().await.close().await;
    }
}

impl Connections for AdapterHandle {
    async fn log_out(&self) {
        if let Err(e) = self.close().await {
            tracing::warn!(system = self.name(), error = %e, "closing the connection failed");
        }
    }
}

/// A stop request for an apply: the first SIGINT or SIGTERM sets it (operations in flight
/// finish and are journaled, nothing new starts) instead of abandoning the command.
pub(crate) fn graceful_stop() -> Stop {
    let stop = Stop::new();
    *GRACEFUL.lock().unwrap_or_else(PoisonError::into_inner) = Some(stop.clone());
    stop
}

fn graceful() -> Option<Stop> {
    GRACEFUL
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// What the signal watcher of a command knows of its connections.
enum Held<C> {
    /// Still connecting.
    Connecting,
    /// A signal came while connecting: log out as soon as the connections are made.
    AbandonWhenConnected,
    /// Connected.
    Connected(C),
}

/// Watches for signals for one command, on a task of its own: a command blocked in a
/// synchronous read (the confirmation prompt) is abandoned all the same.
fn watch_signals<C: Connections>(held: Arc<Mutex<Held<C>>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        super::shutdown_signal().await;
        if let Some(stop) = graceful() {
            errln!(
                "stopping: finishing the operations in flight (press Ctrl-C again to quit at once)"
            );
            stop.stop();
            super::shutdown_signal().await;
            errln!("quitting at once; the next run converges");
        }
        let connected = {
            let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
            match &*held {
                Held::Connected(c) => Some(c.clone()),
                _ => {
                    *held = Held::AbandonWhenConnected;
                    None
                }
            }
        };
        match connected {
            Some(c) => abandon(&c).await,
            None => {
                // One more while connecting: end at once.
                super::shutdown_signal().await;
                std::process::exit(INTERRUPTED);
            }
        }
    })
}

/// Logs out and ends the process as interrupted. A further signal meanwhile ends it at
/// once.
async fn abandon(connections: &impl Connections) -> ! {
    tokio::spawn(async {
        super::shutdown_signal().await;
        std::process::exit(INTERRUPTED);
    });
    connections.log_out().await;
    errln!("interrupted; logged out of every system");
    std::process::exit(INTERRUPTED);
}

/// Connects with `connect`, runs `body` with the connections, and logs out of them
/// whatever happens (see the module docs for signals).
///
/// # Errors
/// Whatever `connect` or `body` returns; the logout happened before.
pub(crate) async fn run_connected<C, T, Fut>(
    connect: impl Future<Output = Result<C>>,
    body: impl FnOnce(C) -> Fut,
) -> Result<T>
where
    C: Connections,
    Fut: Future<Output = Result<T>>,
{
    let held = Arc::new(Mutex::new(Held::Connecting));
    let watcher = watch_signals(held.clone());
    // Connecting is not abandoned half-way: a connection cut off after its login would
    // stay logged in.
    let connections = match connect.await {
        Ok(c) => c,
        Err(e) => {
            watcher.abort();
            return Err(e);
        }
    };
    let abandoned = {
        let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
        let abandoned = matches!(*held, Held::AbandonWhenConnected);
        *held = Held::Connected(connections.clone());
        abandoned
    };
    if abandoned {
        abandon(&connections).await;
    }
    let result = body(connections.clone()).await;
    connections.log_out().await;
    watcher.abort();
    result
}

/// Loads the configuration, connects the engine (only `target`, if given), runs `body`
/// and logs out of every system whatever happens.
///
/// # Errors
/// As [`run_connected`].
pub(crate) async fn with_engine<T, Fut>(
    config: &Path,
    target: Option<&str>,
    body: impl FnOnce(Engine) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    run_connected(super::apply::connect_engine(config, target), body).await
}
