//! Closing the systems: the source once, whether [`Engine::close_source`] came first or not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Groups, Memberships, Result, Roles, Sessions, Users,
    async_trait,
};
use idbridge_store::Store;

use crate::{Engine, Target, TargetSettings};

/// A system that counts how often it was closed.
#[derive(Default)]
struct Counted {
    closed: AtomicUsize,
}

#[async_trait]
impl Users for Counted {}
#[async_trait]
impl Groups for Counted {}
#[async_trait]
impl Memberships for Counted {}
#[async_trait]
impl Roles for Counted {}
#[async_trait]
impl Sessions for Counted {}
#[async_trait]
impl Adapter for Counted {
    fn kind(&self) -> &'static str {
        "counted"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    async fn close(&self) -> Result<()> {
        self.closed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn engine_over(source: &Arc<Counted>, target: &Arc<Counted>) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("store");
    let target = Target {
        handle: AdapterHandle::new("t", target.clone()),
        settings: TargetSettings::defaults("t"),
    };
    let source = AdapterHandle::new("source", source.clone());
    (Engine::new(source, vec![target], store), dir)
}

#[tokio::test]
async fn the_source_is_closed_once_and_the_targets_at_the_end() {
    let (source, target) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
    let (engine, _dir) = engine_over(&source, &target);
    engine.close_source().await;
    engine.clone().close_source().await;
    assert_eq!(source.closed.load(Ordering::Relaxed), 1);
    assert_eq!(
        target.closed.load(Ordering::Relaxed),
        0,
        "the targets stay open"
    );
    engine.close().await;
    assert_eq!(source.closed.load(Ordering::Relaxed), 1, "not closed again");
    assert_eq!(target.closed.load(Ordering::Relaxed), 1);

    let (source, target) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
    let (engine, _dir) = engine_over(&source, &target);
    engine.close().await;
    assert_eq!(
        source.closed.load(Ordering::Relaxed),
        1,
        "closed with the rest"
    );
    assert_eq!(target.closed.load(Ordering::Relaxed), 1);
}
