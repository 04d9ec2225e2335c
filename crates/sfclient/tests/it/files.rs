//! File bodies: a streamed multipart ContentVersion insert and a streamed VersionData download,
//! org to org, with the bytes never held whole (resident memory measured on a large file).

use crate::support::*;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sfclient::{ByteStream, Client, ErrorKind, NewVersion, SfError};

fn version(title: &str, size: Option<u64>) -> NewVersion {
    NewVersion {
        fields: rec(json!({"Title": title, "PathOnClient": format!("{title}.bin")})),
        file_name: format!("{title}.bin"),
        size,
    }
}

fn bytes_stream(data: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move {
        Ok::<_, SfError>(Bytes::from(data))
    }))
}

/// `total` bytes of a repeating pattern, produced 1 MiB at a time (never held whole).
fn synthetic(total: u64) -> ByteStream {
    const CHUNK: u64 = 1024 * 1024;
    let block = Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let n = total.div_ceil(CHUNK);
    Box::pin(futures::stream::iter(0..n).map(move |i| {
        let len = CHUNK.min(total - i * CHUNK) as usize;
        Ok(block.slice(..len))
    }))
}

async fn checksum(client: &Client, id: &str) -> (String, u64) {
    let r = client
        .get_record("ContentVersion", id, Some(&["Checksum", "ContentSize"]))
        .await
        .unwrap();
    (
        r["Checksum"].as_str().unwrap().to_string(),
        r["ContentSize"].as_u64().unwrap(),
    )
}

/// Reads `/proc/self/status` fields in KiB (VmRSS, VmHWM).
fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn insert_download_and_copy_between_orgs() {
    let (a, b) = (start_default().await, start_default().await);
    let (ca, cb) = (a.client().await, b.client().await);
    a.reset_usage().await;
    let id = ca
        .insert_content_version(&version("hello", Some(5)), bytes_stream(b"hello".to_vec()))
        .await
        .unwrap();
    assert!(id.starts_with("068"));
    let down = ca.download_version_data(&id).await.unwrap();
    assert_eq!(down.size, Some(5));
    let got: Vec<Bytes> = down.stream.try_collect().await.unwrap();
    assert_eq!(got.concat(), b"hello");
    assert_eq!(a.calls().await, 2, "one call per insert and per download");

    // Org to org: the download feeds the upload; the copy has the same checksum.
    b.reset_usage().await;
    let down = ca.download_version_data(&id).await.unwrap();
    let size = down.size;
    let copy = cb
        .insert_content_version(&version("hello", size), down.stream)
        .await
        .unwrap();
    assert_eq!(b.calls().await, 1, "one call for the copy's insert");
    assert_eq!(checksum(&ca, &id).await, checksum(&cb, &copy).await);

    // A new version of the copied document (ContentDocumentId on insert), size unknown:
    // the body goes chunked.
    let doc = cb
        .get_record("ContentVersion", &copy, Some(&["ContentDocumentId"]))
        .await
        .unwrap()["ContentDocumentId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut v2 = version("hello", None);
    v2.fields.insert("ContentDocumentId".into(), doc.into());
    let second = cb
        .insert_content_version(&v2, bytes_stream(b"hello, again".to_vec()))
        .await
        .unwrap();
    let r = cb
        .get_record("ContentVersion", &second, Some(&["VersionNumber"]))
        .await
        .unwrap();
    assert_eq!(r["VersionNumber"], "2");
}

#[tokio::test]
async fn errors_are_typed_and_sessions_refreshed() {
    let emu = start_default().await;
    let client = emu.client().await;
    let err = client
        .download_version_data("068000000000000AAA")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert_eq!(err.status(), Some(404));
    let mut bad = version("x", None);
    bad.fields
        .insert("ContentDocumentId".into(), "069000000000000AAA".into());
    let err = client
        .insert_content_version(&bad, bytes_stream(b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");

    // An expired token is refreshed once for a download (the stream is not spent yet).
    let id = client
        .insert_content_version(&version("t", Some(1)), bytes_stream(b"t".to_vec()))
        .await
        .unwrap();
    emu.expire_tokens().await;
    let d = client.download_version_data(&id).await.unwrap();
    let got: Vec<Bytes> = d.stream.try_collect().await.unwrap();
    assert_eq!(got.concat(), b"t");
    // An upload refused for its session cannot resend its spent stream: a retryable error.
    emu.expire_tokens().await;
    let err = client
        .insert_content_version(&version("u", Some(1)), bytes_stream(b"u".to_vec()))
        .await;
    match err {
        Ok(_) => {} // the server refused before reading: nothing was spent (also fine)
        Err(e) => assert_eq!(e.kind(), ErrorKind::Retryable, "{e}"),
    }
}

/// A large file (200 MiB by default, `SFCLIENT_LARGE_MB` to change) goes into one org and
/// from it to another, streamed: the process's peak resident memory (client and both
/// emulated orgs together) grows by far less than the file.
#[tokio::test]
async fn large_file_moves_with_flat_memory() {
    let mb: u64 = std::env::var("SFCLIENT_LARGE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let total = mb * 1024 * 1024;
    let (a, b) = (start_default().await, start_default().await);
    let (ca, cb) = (a.client().await, b.client().await);
    let hwm0 = status_kib("VmHWM:");
    let started = std::time::Instant::now();
    let id = ca
        .insert_content_version(&version("big", Some(total)), synthetic(total))
        .await
        .unwrap();
    let down = ca.download_version_data(&id).await.unwrap();
    assert_eq!(down.size, Some(total));
    let copy = cb
        .insert_content_version(&version("big", down.size), down.stream)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let (sum_a, size_a) = checksum(&ca, &id).await;
    assert_eq!((sum_a.clone(), size_a), checksum(&cb, &copy).await);
    assert_eq!(size_a, total);
    let grown_mib = status_kib("VmHWM:").saturating_sub(hwm0) / 1024;
    println!(
        "moved {mb} MiB twice in {elapsed:?}; peak RSS grew {grown_mib} MiB (VmRSS now {} MiB)",
        status_kib("VmRSS:") / 1024
    );
    assert!(
        grown_mib < 64,
        "peak resident memory grew by {grown_mib} MiB moving a {mb} MiB file"
    );
}
