//! The listener: HTTP/1.1 connections with deadlines, a cap on how many are served at once,
//! and a stop that never waits on a stalled client.
//!
//! Why our own accept loop instead of `axum::serve`: that one exposes none of hyper's
//! connection settings. Here, per connection, hyper's `header_read_timeout` closes a
//! connection whose request headers are not complete in time — counted from the connection's
//! start or from the previous response, so it is also the keep-alive idle limit — and the
//! handlers read bodies under a whole-body deadline (see `reply::read_capped`). A semaphore
//! bounds the connections served; one more is answered `503` at once and closed, rather than
//! queued behind clients that may be stalling on purpose.
//!
//! Stop: the listener closes, every connection is told to finish (hyper-util's graceful
//! shutdown: idle connections and those still sending headers close at once, a request in
//! progress completes), and a handler still reading a body gives up with a 503 — so only
//! requests already being applied are waited for, at most [`SHUTDOWN_GRACE`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use orgsync_core::config::ApiSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The longest a stop waits for requests already being applied (an Outbound Messaging
/// request waiting for its ledger commit still gets its Ack); then the rest are dropped.
/// Salesforce and pushing peers retry what got no answer, and nothing is half-written.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Set once the server is stopping (a request extension added by [`Server::run`]); handlers
/// reading a body stop waiting for it.
#[derive(Debug, Clone)]
pub struct Stopping(pub(crate) watch::Receiver<bool>);

/// What bounds each connection (from `[api]`).
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    max_connections: usize,
}

/// A bound server; [`Server::run`] serves until `stop` resolves (see the module doc).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    limits: Limits,
}

impl Server {
    /// Bind `addr` (port 0 picks a free port; see [`Server::local_addr`]) with the
    /// connection limits of `api` (`header_timeout`, `max_connections`).
    pub async fn bind(addr: SocketAddr, api: &ApiSettings) -> std::io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(addr).await?,
            limits: Limits {
                header_timeout: api.header_timeout,
                max_connections: api.max_connections,
            },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve `router` until `stop` resolves, then stop as the module doc says.
    pub async fn run(
        self,
        router: Router,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stopping, stopping_rx) = watch::channel(false);
        let router = router.layer(Extension(Stopping(stopping_rx)));
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
        let graceful = GracefulShutdown::new();
        let mut conns = JoinSet::new();
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                accepted = self.listener.accept() => {
                    let sock = match accepted {
                        Ok((sock, _)) => sock,
                        Err(e) => {
                            // e.g. out of file descriptors: wait a little rather than spin
                            tracing::warn!(error = %e, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        conns.spawn(refuse(sock));
                        continue;
                    };
                    let _ = sock.set_nodelay(true);
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(self.limits.header_timeout)
                        .serve_connection(TokioIo::new(sock), TowerToHyperService::new(router.clone()));
                    let conn = graceful.watch(conn);
                    conns.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection closed with an error");
                        }
                        drop(slot);
                    });
                }
            }
        }
        drop(self.listener);
        let _ = stopping.send(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "requests still open {} s after the stop: closing them",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        conns.abort_all();
        while conns.join_next().await.is_some() {}
        Ok(())
    }
}

/// Answer a connection over the cap: 503 at once, then close. What the client already sent
/// is drained briefly so that the close does not reset the connection before it reads the
/// answer.
async fn refuse(mut sock: TcpStream) {
    let body = r#"{"error":"too many connections ([api] max_connections); try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    if sock.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let _ = sock.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
