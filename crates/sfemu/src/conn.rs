//! Serving connections, plain or TLS: the accept loop (hyper-util's HTTP/1.1 + HTTP/2 server,
//! TCP_NODELAY, graceful shutdown) and a connection wrapper that makes hyper's own answers
//! look like Salesforce's.
//!
//! Why a wrapper: hyper answers a request head it cannot parse (a URI over 65,534 bytes, a
//! head larger than its buffer, more headers than it allows, a broken request line) by itself,
//! with an empty 414 / 431 / 400, before any application code runs. Salesforce answers those
//! with its web server's page (see `head_limits.rs`). [`SalesforceAnswers`] recognises hyper's
//! automatic answer — the only HTTP/1 response that is a whole write of a bare head with
//! `content-length: 0` and no `content-type` — and sends Salesforce's page in its place. Every
//! answer of the application carries a content type, so none is ever mistaken for one.
//! Limitation: with pipelined requests the automatic answer can share a write with the
//! previous response and is then left as it is.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// HTTP/2 header lists up to this size reach the application, which answers 431 itself above
/// Salesforce's limit (hyper's default, 16 KiB, would reset the stream with an empty 431).
const H2_MAX_HEADER_LIST: u32 = 256 * 1024;

/// A write longer than this is never hyper's automatic answer.
const MAX_AUTO_ANSWER: usize = 1024;

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` turns true; then
/// stops accepting, asks open connections to finish their in-flight requests, and returns
/// when they have.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        // TCP_NODELAY: small gRPC frames (one change event, a keepalive) must not wait for
        // Nagle + delayed ACK (~40 ms), as they do not on Salesforce.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let stop = shutdown.clone();
        conns.spawn(async move {
            match acceptor {
                None => serve_one(SalesforceAnswers::new(tcp), app, stop, peer).await,
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => serve_one(SalesforceAnswers::new(tls), app, stop, peer).await,
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                },
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
    }
    while conns.join_next().await.is_some() {}
}

async fn serve_one<IO>(
    io: IO,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http2().max_header_list_size(H2_MAX_HEADER_LIST);
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r { tracing::debug!(%peer, error = %e, "connection ended with an error"); }
            return;
        }
        _ = stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// Salesforce's page for hyper's automatic answer in `buf`, if that is what `buf` is.
pub fn replace_auto_answer(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() > MAX_AUTO_ANSWER || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(&buf[..buf.len() - 4]).ok()?;
    let mut lines = head.split("\r\n");
    let mut status_line = lines.next()?.splitn(3, ' ');
    let version = status_line.next()?;
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return None;
    }
    let status = match status_line.next()? {
        "400" => StatusCode::BAD_REQUEST,
        "414" => StatusCode::URI_TOO_LONG,
        "431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let (mut empty, mut date) = (false, None);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => empty = value.trim() == "0",
            "content-type" => return None,
            "date" => date = Some(value.trim()),
            _ => {}
        }
    }
    empty.then(|| crate::head_limits::bad_message_bytes(version, status, date))
}

/// A connection whose HTTP/1 automatic error answers are replaced (see the module docs).
#[derive(Debug)]
pub struct SalesforceAnswers<T> {
    inner: T,
    /// A replacement still being written, and how much of it is out.
    pending: Vec<u8>,
    sent: usize,
}

impl<T> SalesforceAnswers<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        SalesforceAnswers {
            inner,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> SalesforceAnswers<T> {
    /// Writes out what is left of a replacement.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` in place of the automatic answer it is; `false` when it is not one.
    fn intercept(&mut self, buf: &[u8]) -> bool {
        match replace_auto_answer(buf) {
            Some(page) => {
                self.pending = page;
                self.sent = 0;
                true
            }
            None => false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SalesforceAnswers<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SalesforceAnswers<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        if this.intercept(buf) {
            // Taken whole; the page goes out here or on the flush hyper sends next.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let joined = || {
            let mut all = Vec::with_capacity(total);
            for b in bufs {
                all.extend_from_slice(b);
            }
            all
        };
        let looks_like_one = total <= MAX_AUTO_ANSWER
            && bufs
                .iter()
                .find(|b| !b.is_empty())
                .is_some_and(|b| b.starts_with(b"HTTP/1."));
        if looks_like_one && this.intercept(&joined()) {
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(total));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::{SalesforceAnswers, replace_auto_answer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_page_goes_out_whole_through_a_narrow_pipe() {
        // An 8-byte pipe: every write is partial, so the page is drained over many polls.
        let (near, mut far) = tokio::io::duplex(8);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let _ = far.read_to_end(&mut got).await;
            got
        });
        let mut conn = SalesforceAnswers::new(near);
        let plain = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
        conn.write_all(plain).await.unwrap_or_default();
        conn.write_all(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
        )
        .await
        .unwrap_or_default();
        conn.shutdown().await.unwrap_or_default();
        drop(conn);
        let got = String::from_utf8(reader.await.unwrap_or_default()).unwrap_or_default();
        let (first, second) = got.split_at(plain.len());
        assert_eq!(first.as_bytes(), plain);
        assert!(
            second.starts_with(
                "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json"
            ),
            "{second}"
        );
        assert!(
            second.ends_with("\"errorCode\":\"REQUEST_HEADER_FIELDS_TOO_LARGE\"}]"),
            "{second}"
        );
    }

    #[test]
    fn only_hypers_bare_answers_are_replaced() {
        let auto = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 10:00:00 GMT\r\n\r\n";
        let page =
            String::from_utf8(replace_auto_answer(auto).unwrap_or_default()).unwrap_or_default();
        assert!(page.starts_with("HTTP/1.1 414 URI Too Long\r\ndate: Sun, 06 Dec 2026 10:00:00 GMT\r\ncontent-type: application/json"), "{page}");
        assert!(page.ends_with("\"errorCode\":\"URI_TOO_LONG\"}]"), "{page}");
        for not in [
            // the application's answers always carry a content type
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 55\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\nbody",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x00",
        ] {
            assert!(replace_auto_answer(not).is_none(), "{}", String::from_utf8_lossy(not));
        }
    }
}
