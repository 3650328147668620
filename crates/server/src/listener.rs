//! The REST listener: accepts connections (plain or TLS), serves each on its own task with
//! HTTP/1.1, and stops gracefully.
//!
//! Our own accept loop rather than `axum::serve`, for what that one cannot do: TLS with
//! material reloaded from files, the verified client certificate handed to the request (its CN
//! is an mTLS principal), and a deadline on the TLS handshake and on reading a request's
//! headers, so that a client that opens connections and sends nothing (or half a header, the
//! slowloris attack) holds no more than a socket for a few seconds and never delays others.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt as _;
use tracing::debug;

use crate::http::auth::Authenticator;
use crate::links::LinkManager;
use crate::tls::TlsReloader;

/// Bounds on what one client can take of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Time allowed for a TLS handshake and then for each request's headers.
    pub header_read_timeout: Duration,
    /// Time allowed for a request to be answered (408 after), queueing for a slot included.
    pub request_timeout: Duration,
    /// Requests handled at once; more wait for a slot.
    pub max_concurrent_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_concurrent_requests: 64,
        }
    }
}

/// How the REST API is served: TLS, authentication and authorisation, limits.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// TLS (and mTLS) material; plain HTTP without.
    pub tls: Option<Arc<TlsReloader>>,
    /// Who may do what; anyone may do anything without.
    pub auth: Option<Arc<Authenticator>>,
    /// Limits.
    pub limits: Limits,
}

/// What the connection says about the client, for every request on it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The CN of the client certificate the TLS handshake verified.
    pub certificate_cn: Option<String>,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in
/// flight.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = options.tls.clone();
        let limits = options.limits.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(tls) = tls else {
                let peer = Peer {
                    addr,
                    certificate_cn: None,
                };
                return connection(stream, router, peer, &limits, watcher).await;
            };
            let handshake = tls.acceptor().accept(stream);
            let stream = match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return debug!(client = %addr, error = %e, "TLS handshake failed"),
                Err(_) => return debug!(client = %addr, "TLS handshake timed out"),
            };
            let certificate_cn = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::common_name);
            let peer = Peer {
                addr,
                certificate_cn,
            };
            connection(stream, router, peer, &limits, watcher).await
        });
    }
    drop(listener);
    // Requests in flight get a bounded time to finish.
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

async fn connection<S>(
    stream: S,
    router: Router,
    peer: Peer,
    limits: &Limits,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let addr = peer.addr;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(peer.clone());
        router.clone().oneshot(request)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        debug!(client = %addr, error = %e, "connection ended");
    }
}

/// Serves the API on `listener` with `options` until `shutdown` completes.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    manager: LinkManager,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::http::secured_router(manager, options.auth.clone(), &options.limits);
    run(listener, router, options, shutdown).await
}
