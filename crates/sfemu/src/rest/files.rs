//! File bodies on the wire, streamed both ways so a 2 GB file never sits in memory:
//! the multipart insert (`POST /sobjects/ContentVersion` with a JSON part `entity_content` and
//! a binary part `VersionData`; Attachment/Document use `Body`) written chunk by chunk to the
//! org's blob directory while its MD5 is computed, and the download
//! (`GET /sobjects/ContentVersion/{id}/VersionData`) read from disk in 64 KiB chunks.
//!
//! These requests skip the server's whole-body buffering (`http.rs`, [`is_streamed_upload`]):
//! a multipart body may be up to [`MAX_UPLOAD_BYTES`]. UNCONFIRMED: Salesforce's exact limit
//! on the whole request and its answer when the file part is over 2 GB; sfemu answers
//! `413 REQUEST_ENTITY_TOO_LARGE` as for any oversized body.

use super::support::{Ctx, parse_object, strip_attributes};
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use md5::{Digest, Md5};
use serde_json::{Map, Value as Json};
use sfemu_org::BlobBody;
use sfemu_org::blobs::{BlobMeta, hex_digest};
use tokio::io::AsyncWriteExt;

/// Largest file part of a multipart insert: 2 GB (Salesforce's cap per ContentVersion through
/// sObject Basic/Rows, wire facts §12).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Largest multipart request: the file plus 1 MiB for the JSON part and the framing.
pub const MAX_UPLOAD_BYTES: u64 = MAX_FILE_BYTES + 1024 * 1024;
/// Largest JSON part of a multipart insert.
const MAX_JSON_PART: u64 = 1024 * 1024;
/// Chunk size of a streamed download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// Whether a request is a multipart insert of a file-bearing object, which is streamed instead
/// of buffered (its body may be far larger than the JSON body limit).
pub fn is_streamed_upload(method: &Method, path: &str, headers: &axum::http::HeaderMap) -> bool {
    if method != Method::POST || !is_multipart(headers) {
        return false;
    }
    let path = path.trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/services/data/") else {
        return false;
    };
    let mut segs = rest.split('/');
    let (_version, sobjects, object) = (segs.next(), segs.next(), segs.next());
    segs.next().is_none()
        && sobjects == Some("sobjects")
        && object.is_some_and(|o| {
            ["ContentVersion", "Attachment", "Document"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(o))
        })
}

/// Whether the request's body is `multipart/form-data`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The blob field an object's multipart upload carries (`VersionData` or `Body`).
fn blob_field(object: &str) -> &'static str {
    if object.eq_ignore_ascii_case("ContentVersion") {
        "VersionData"
    } else {
        "Body"
    }
}

fn bad(m: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "MALFORMED_REQUEST",
        format!("Invalid multipart request: {m}"),
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "REQUEST_ENTITY_TOO_LARGE",
        format!("The file exceeds the limit of {MAX_FILE_BYTES} bytes"),
    )
}

fn storage(e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        format!("storing the file failed: {e}"),
    )
}

/// A multipart insert's fields, with the file part already stored on disk: the blob field
/// holds the stored blob's slot value. The JSON part is `entity_content`, `entity_document`,
/// or any part that is a JSON object (jsforce names it after the sObject); the file part is
/// the one named like the blob field, or any part with a file name that is not JSON. Returns
/// the stored blob too, so the caller can remove it if the insert fails.
pub async fn multipart_fields(
    ctx: &Ctx,
    object: &str,
    req: Request,
) -> Result<(Map<String, Json>, Option<BlobMeta>), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(ct).map_err(bad)?;
    let limits = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_UPLOAD_BYTES));
    let mut mp =
        multer::Multipart::with_constraints(req.into_body().into_data_stream(), boundary, limits);
    let blob = blob_field(object);
    let mut fields: Option<Map<String, Json>> = None;
    let mut stored: Option<(BlobMeta, Option<String>)> = None;
    let result = async {
        while let Some(mut part) = mp.next_field().await.map_err(multipart_error)? {
            let name = part.name().unwrap_or("").to_string();
            let file_name = part.file_name().map(str::to_string);
            let is_json = part
                .content_type()
                .is_some_and(|c| c.essence_str().to_ascii_lowercase().contains("json"));
            if name.eq_ignore_ascii_case(blob) || (file_name.is_some() && !is_json) {
                if let Some((old, _)) = stored.take() {
                    remove(ctx, &old).await;
                }
                stored = Some((store_part(ctx, &mut part).await?, file_name));
            } else if fields.is_none() {
                let bytes = read_small(&mut part).await?;
                let mut map = parse_object(&bytes)?;
                strip_attributes(&mut map);
                fields = Some(map);
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = result {
        if let Some((m, _)) = stored {
            remove(ctx, &m).await;
        }
        return Err(e);
    }
    let Some(mut fields) = fields else {
        if let Some((m, _)) = stored {
            remove(ctx, &m).await;
        }
        return Err(bad(
            "Multipart request is missing the JSON part with the record's fields",
        ));
    };
    let meta = stored.map(|(meta, file_name)| {
        fields.insert(blob.to_string(), meta.slot_value().into());
        if let Some(name) = file_name {
            let key = if blob == "VersionData" {
                "PathOnClient"
            } else {
                "Name"
            };
            if !fields.keys().any(|k| k.eq_ignore_ascii_case(key)) {
                fields.insert(key.into(), name.into());
            }
        }
        meta
    });
    Ok((fields, meta))
}

fn multipart_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            too_large()
        }
        other => bad(other),
    }
}

/// Reads a small (JSON) part whole, at most [`MAX_JSON_PART`] bytes.
async fn read_small(part: &mut multer::Field<'_>) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(multipart_error)? {
        if (out.len() + chunk.len()) as u64 > MAX_JSON_PART {
            return Err(bad("the JSON part is larger than 1 MiB"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Streams a file part to a staging file (hashing as it goes), then commits it as a blob.
async fn store_part(ctx: &Ctx, part: &mut multer::Field<'_>) -> Result<BlobMeta, ApiError> {
    let blobs = ctx.state.org.blobs();
    let staged = blobs.staging_path();
    let written = async {
        let mut file = tokio::fs::File::create(&staged).await.map_err(storage)?;
        let mut md5 = Md5::new();
        let mut size: u64 = 0;
        while let Some(chunk) = part.chunk().await.map_err(multipart_error)? {
            size += chunk.len() as u64;
            if size > MAX_FILE_BYTES {
                return Err(too_large());
            }
            md5.update(&chunk);
            file.write_all(&chunk).await.map_err(storage)?;
        }
        file.flush().await.map_err(storage)?;
        Ok((hex_digest(md5.finalize().as_slice()), size))
    }
    .await;
    match written {
        Ok((md5, size)) => blobs.commit(&staged, &md5, size).map_err(storage),
        Err(e) => {
            let _ = tokio::fs::remove_file(&staged).await;
            Err(e)
        }
    }
}

/// Removes a stored blob no record came to name (the insert failed).
pub async fn remove(ctx: &Ctx, meta: &BlobMeta) {
    if let Some(p) = ctx.state.org.blobs().path(meta) {
        let _ = tokio::fs::remove_file(p).await;
    }
}

/// `GET /sobjects/ContentVersion/{id}/VersionData` — the raw bytes, streamed from disk with
/// a `Content-Length`.
pub async fn download(ctx: &Ctx, object: &str) -> Result<Response, ApiError> {
    let body = ctx
        .state
        .org
        .blob_body(ctx.user_id(), object, ctx.param("a"), ctx.param("b"))?;
    let (body, len) = match body {
        BlobBody::Bytes(b) => {
            let n = b.len() as u64;
            (Body::from(b), n)
        }
        BlobBody::File { path, size } => {
            let file = tokio::fs::File::open(&path).await.map_err(storage)?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file, DOWNLOAD_CHUNK);
            (
                Body::from_stream(stream.map(|r| r.map_err(axum::Error::new))),
                size,
            )
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}
