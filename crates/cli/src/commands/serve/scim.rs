//! Starting the SCIM server (`idbridge-scim-server`) next to the fan-out.

use idbridge_core::Result;
use idbridge_store::Store;
use idbridge_sync::Stop;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::output::errln;

/// Serves SCIM on `listener` on a task of its own until `stop` is requested; the task
/// then ends once the requests in flight are answered. Announces the endpoint's URL on
/// stderr (`serving SCIM on <url>`).
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the listener has no address or the
/// configuration is refused for it (no token, plain HTTP off loopback); TLS files that
/// cannot be read end the task with their error.
pub(crate) fn start(
    config: idbridge_scim_server::ServeConfig,
    store: Store,
    listener: TcpListener,
    stop: Stop,
) -> Result<JoinHandle<Result<()>>> {
    let bound = listener
        .local_addr()
        .map_err(|e| idbridge_core::Error::config(format!("serve.listen: {e}")))?;
    config.validate(bound)?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base = config.base_path.trim_end_matches('/').to_string();
    let task = tokio::spawn(async move {
        idbridge_scim_server::serve(config, store, listener, async move { stop.stopped().await })
            .await
    });
    errln!("serving SCIM on {scheme}://{bound}{base}");
    Ok(task)
}
