//! The accept loop, in place of `axum::serve`, which sets no timer and so
//! no timeouts: hyper with a header-read timeout (a connection that sends
//! no first byte in that time is closed before hyper sees it; hyper closes
//! one whose headers are not complete in time, and keep-alive connections
//! idle that long between requests), a bound on
//! connections served at once (further ones wait in the OS backlog until
//! one ends), the peer address for every request (`ConnectInfo`), and a
//! graceful shutdown that lets requests in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt as _};

use crate::config::LimitsConfig;

/// Headers a request may have.
const MAX_HEADERS: usize = 100;
/// The read buffer of a connection.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for
/// the connections in flight to finish their requests.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &LimitsConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs.max(1)))
        // At most 100 headers (431 beyond), and a 64 KiB read buffer per
        // connection (hyper's default is 400 KiB).
        .max_headers(MAX_HEADERS)
        .max_buf_size(READ_BUFFER_BYTES);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A permit first: at the limit, connections wait unaccepted.
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let first_byte = Duration::from_secs(limits.header_read_timeout_secs.max(1));
        tokio::spawn(async move {
            // hyper's timer starts once the HTTP version is known, which
            // takes a first byte: a client that sends none is closed here.
            let mut probe = [0u8; 1];
            match tokio::time::timeout(first_byte, stream.peek(&mut probe)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
