//! What every request handler shares.

use std::sync::{Arc, Mutex, MutexGuard};

use idbridge_store::Store;

use crate::ServeConfig;
use crate::auth::Tokens;
use crate::cache::Cache;

/// The server's shared state: the configuration, the state database and the accepted
/// tokens. Cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ServeConfig,
    pub(crate) base: String,
    pub(crate) store: Store,
    pub(crate) tokens: Tokens,
    /// Whether the server speaks TLS (for `meta.location` without `public_url`).
    pub(crate) tls: bool,
    /// The inbox in memory.
    pub(crate) cache: Cache,
    /// Held across a uniqueness or reference check and the write that relies on it.
    write: Mutex<()>,
}

impl ServerState {
    /// The state of a server with `config` over `store`. `tls` says whether the listener
    /// speaks HTTPS (it only shapes `meta.location` when `public_url` is not set).
    pub fn new(config: ServeConfig, store: Store, tls: bool) -> ServerState {
        let tokens = Tokens::new(&config.tokens);
        let base = config.base();
        ServerState {
            inner: Arc::new(Inner {
                config,
                base,
                store,
                tokens,
                tls,
                cache: Cache::default(),
                write: Mutex::new(()),
            }),
        }
    }

    /// The state database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

impl Inner {
    pub(crate) fn write_lock(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic cannot have left it half-changed.
        self.write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
