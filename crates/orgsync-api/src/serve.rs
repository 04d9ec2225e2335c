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
//! Stop: the listener closes; a connection with no request in its handler (idle, or still
//! sending a request head, however slowly) is dropped at once; one with a request in its
//! handler is told to finish (hyper's graceful shutdown: the answer is sent, then the
//! connection closes), and a handler still reading a body gives up with a 503 — so only
//! requests already being applied are waited for, at most [`SHUTDOWN_GRACE`]. Why not
//! hyper-util's `GracefulShutdown` alone: to hyper a connection holding part of a request head
//! is busy, so it would wait for that connection's header deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use orgsync_core::config::ApiSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

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
        let router = router.layer(Extension(Stopping(stopping_rx.clone())));
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
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
                    match slots.clone().try_acquire_owned() {
                        Ok(slot) => {
                            let conn = serve_one(sock, router.clone(), self.limits, stopping_rx.clone());
                            conns.spawn(async move {
                                conn.await;
                                drop(slot);
                            });
                        }
                        Err(_) => {
                            conns.spawn(refuse(sock));
                        }
                    }
                }
            }
        }
        drop(self.listener);
        let _ = stopping.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while conns.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "requests still being applied {} s after the stop: closing them",
                SHUTDOWN_GRACE.as_secs()
            );
            conns.abort_all();
            while conns.join_next().await.is_some() {}
        }
        Ok(())
    }
}

/// Serve one connection until it ends or the server stops (see the module doc).
async fn serve_one(
    sock: TcpStream,
    router: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    // requests of this connection between entering the router and the end of their answer
    let active = Arc::new(AtomicUsize::new(0));
    let counted = active.clone();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let guard = InRequest::enter(&counted);
        let answer = router.clone().oneshot(req.map(Body::new));
        async move {
            let res = answer.await?;
            // the guard lives until hyper has sent the whole answer and drops its body
            Ok::<_, Infallible>(res.map(|b| {
                Body::new(b.map_frame(move |f| {
                    let _in_request = &guard;
                    f
                }))
            }))
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(sock), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            return;
        }
        _ = stopping.wait_for(|s| *s) => {}
    }
    if active.load(Ordering::SeqCst) == 0 {
        return; // idle or still sending a head: dropped
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection closed with an error while stopping");
    }
}

/// Counts a request as in its connection's handler while alive.
struct InRequest(Arc<AtomicUsize>);

impl InRequest {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InRequest(count.clone())
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
