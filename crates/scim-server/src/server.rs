//! Accepting connections: plain HTTP or TLS (rustls), HTTP/1.1 and HTTP/2, with a
//! graceful shutdown that lets requests in flight finish (and so their writes be answered).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use idbridge_core::{Error, Result};
use idbridge_store::Store;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::{ServeConfig, ServerState, TlsFiles};

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may take to finish after shutdown is asked.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| {
            Error::config(format!(
                "serve: cannot read the TLS certificate `{}`: {e}",
                files.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "serve: `{}` holds no PEM certificate",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        Error::config(format!(
            "serve: cannot read the TLS private key `{}`: {e}",
            files.key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            Error::config(format!(
                "serve: the TLS certificate `{}` and key `{}` do not make a server: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves the SCIM endpoint on `listener` until `shutdown` completes, then stops
/// accepting and waits (up to 30 s) for the requests in flight.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the configuration is refused (see
/// [`ServeConfig::validate`]; the listener's address is the one checked) or the TLS files
/// cannot be read; [`idbridge_core::ErrorKind::Unavailable`] when the listener fails.
pub async fn serve(
    config: ServeConfig,
    store: Store,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::unavailable(format!("serve: the listener has no address: {e}")))?;
    config.validate(addr)?;
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let state = ServerState::new(config, store, tls.is_some());
    let app = crate::router(state.clone());
    tracing::info!(
        %addr,
        base = %state.inner.base,
        tls = tls.is_some(),
        "SCIM server listening"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "SCIM server: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let tls = tls.clone();
                let stop = stop_rx.clone();
                conns.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            serve_connection(stream, app, stop).await;
                        }
                        None => serve_connection(stream, app, stop).await,
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("SCIM server: requests still in flight after 30 s were cut off");
    }
    tracing::info!("SCIM server stopped");
    Ok(())
}

/// Serves the requests of one connection (HTTP/1.1 or HTTP/2, plain or TLS) until the
/// client closes it. Once `stop` changes it takes no new request and ends when the ones
/// in flight are answered.
async fn serve_connection<S>(stream: S, app: axum::Router, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
