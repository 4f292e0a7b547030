//! Media files in and out: the list, audited downloads (R33), outbound documents.

use axum::Json;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use futures_util::StreamExt as _;
use hoheit_domain::ids::{CandidateId, MediaId};
use hoheit_domain::media::{MediaLimits, MediaRecord, OutboundDocument};
use hoheit_domain::values::Pii;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::QueuedResponse;
use super::{Caller, Id, can, fmt_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_media))
        .routes(routes!(read_media))
        // documents carry their own, larger limit (checked before and while reading the body)
        .routes({
            let (schemas, paths, method) = routes!(send_document);
            (schemas, paths, method.layer(DefaultBodyLimit::disable()))
        })
}

/// A media file (no content).
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaView {
    /// Id (read the file at `.../media/{id}`, audited).
    pub id: String,
    /// The message that carried it.
    pub message_id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `image`, `document`, `audio`, `video`, `sticker`.
    pub kind: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes, once stored.
    pub size: Option<u64>,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: Option<String>,
    /// `pending` (announced, to be fetched), `stored` or `rejected`.
    pub status: String,
    /// Why it was rejected (`integrity_mismatch`, `too_large`, `type_not_allowed`,
    /// `refused_url`, `unavailable`).
    pub rejection: Option<String>,
    /// Created.
    pub created_at: String,
    /// Stored or rejected.
    pub settled_at: Option<String>,
}

fn media_view(m: &MediaRecord) -> MediaView {
    MediaView {
        id: m.id.to_string(),
        message_id: m.message.to_string(),
        direction: match m.direction {
            hoheit_domain::conversation::Direction::Inbound => "inbound",
            hoheit_domain::conversation::Direction::Outbound => "outbound",
        }
        .to_owned(),
        kind: m.kind.as_str().to_owned(),
        mime_type: m.mime_type.clone(),
        size: m.size,
        sha256: m.sha256.clone(),
        status: m.status.as_str().to_owned(),
        rejection: m.rejection.map(|r| r.as_str().to_owned()),
        created_at: fmt_time(m.created_at),
        settled_at: m.settled_at.map(fmt_time),
    }
}

/// `POST /api/v1/candidates/{id}/documents`: a document to send (JSON, the file base64-encoded).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendDocument {
    /// The file name the candidate sees.
    pub filename: String,
    /// `application/pdf`, `text/plain` or an Office format.
    pub mime_type: String,
    /// The file, base64 (standard alphabet).
    pub content_base64: String,
    /// Optional caption (the first message of a conversation gets the notice appended).
    pub caption: Option<String>,
}

/// The candidate's media files, in both directions (metadata only; not a content read).
#[utoipa::path(get, path = "/candidates/{id}/media", tag = "messages",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = [MediaView]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_media(caller: Caller<can::ReadContent>, Id(id): Id<CandidateId>) -> ApiResult<Json<Vec<MediaView>>> {
    let files = caller.state.app.media_files(caller.tenant, id).await?;
    Ok(Json(files.iter().map(media_view).collect()))
}

/// A stored media file, as an attachment with its MIME type. The read is audited with the
/// reader (`content.read`, `media`, R33) before the bytes go out; restricted candidates: admin
/// and DPO only. 409 while the file is pending or after it was rejected.
#[utoipa::path(get, path = "/candidates/{id}/media/{media}", tag = "messages",
    params(("id" = String, Path, description = "candidate id"), ("media" = String, Path, description = "media id")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read_media(
    caller: Caller<can::ReadContent>,
    Id((id, media)): Id<(CandidateId, MediaId)>,
) -> ApiResult<Response> {
    let (record, content) = caller.state.app.read_media(caller.tenant, caller.actor, id, media).await?;
    let mime = record.mime_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned());
    let content_type = HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let name = record
        .filename
        .as_ref()
        .map_or_else(|| format!("{}.{}", record.id, record.kind.as_str()), |f| f.expose().clone());
    let disposition = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{}", percent_encode(&name)))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = Response::new(Body::from(content.into_inner()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// RFC 5987 `filename*` value: everything but the unreserved characters percent-encoded.
const RFC5987: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, RFC5987).to_string()
}

/// Sends a document (e.g. an interview invitation PDF): decided by the send policy first
/// (202, or 409 with the refusal code and nothing uploaded), then uploaded to 360Dialog's
/// `/media` and sent by its media id, never as a public link; decided again at dispatch. A
/// sealed copy is kept with the candidate's data.
#[utoipa::path(post, path = "/candidates/{id}/documents", tag = "messages", request_body = SendDocument,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_document(
    caller: Caller<can::SendMessages>,
    Id(id): Id<CandidateId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let max = caller.state.config.media.max_bytes;
    // base64 grows by 4/3, plus room for the other fields
    let limit = usize::try_from(max.saturating_mul(4) / 3 + 16 * 1024).unwrap_or(usize::MAX);
    let (filename, mime_type, caption, content) = read_document(&headers, body, limit).await?;
    let document = OutboundDocument {
        content: Pii::new(content),
        mime_type,
        filename: Pii::new(filename),
        caption: caption.filter(|c| !c.trim().is_empty()).map(Pii::new),
    };
    let result =
        caller.state.app.send_document(caller.tenant, caller.actor, id, document, MediaLimits { max_bytes: max }).await;
    super::messages::queued(&caller.state, result)
}

/// The fields of [`SendDocument`] as read from the body, the content borrowed from it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentFields<'a> {
    filename: String,
    mime_type: String,
    #[serde(borrow)]
    content_base64: Cow<'a, str>,
    caption: Option<String>,
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the document is larger than the limit")
}

/// Reads a document upload holding at most `limit` bytes once: a `Content-Length` over the limit
/// is refused before reading, the body is streamed into one buffer (refused as soon as it passes
/// the limit), the JSON is parsed borrowing the base64 content from that buffer, and the content
/// is decoded in place into the same buffer (decoded data is shorter than its base64).
async fn read_document(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(String, String, Option<String>, Vec<u8>), ApiError> {
    let announced =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(announced.unwrap_or(64 * 1024).min(limit));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::invalid("the body could not be read"))?;
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    let invalid = || ApiError::invalid("expected {filename, mime_type, content_base64, caption?} as JSON");
    let fields: DocumentFields<'_> = serde_json::from_slice(&buf).map_err(|_| invalid())?;
    let (filename, mime_type, caption) = (fields.filename, fields.mime_type, fields.caption);
    let not_base64 = || ApiError::invalid("content_base64 is not base64");
    let content = match fields.content_base64 {
        Cow::Borrowed(text) => {
            // where the content sits in the buffer (a JSON string without escapes is borrowed)
            let trimmed = text.trim();
            let start = (trimmed.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
            let range = start..start.saturating_add(trimmed.len());
            decode_in_place(&mut buf, range).map_err(|()| not_base64())?;
            buf
        }
        // escapes in the string (`\/`): decoded from the unescaped copy
        Cow::Owned(text) => base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| not_base64())?,
    };
    Ok((filename, mime_type, caption, content))
}

/// Decodes the standard base64 at `range` of `buf` into the start of `buf` and truncates it to
/// the decoded bytes: chunk by chunk, each decoded chunk (3/4 of its length) written behind the
/// read position, so no second buffer of the document's size is needed.
fn decode_in_place(buf: &mut Vec<u8>, range: std::ops::Range<usize>) -> Result<(), ()> {
    const CHUNK: usize = 4 * 1024;
    let mut out = [0u8; CHUNK / 4 * 3];
    let (mut read, mut write) = (range.start, 0usize);
    if range.end > buf.len() || range.start > range.end {
        return Err(());
    }
    while read < range.end {
        let end = read.saturating_add(CHUNK).min(range.end);
        let input = buf.get(read..end).ok_or(())?;
        let n = base64::engine::general_purpose::STANDARD.decode_slice(input, &mut out).map_err(|_| ())?;
        buf.get_mut(write..write + n).ok_or(())?.copy_from_slice(out.get(..n).ok_or(())?);
        write += n;
        read = end;
    }
    buf.truncate(write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_body(content: &str) -> Body {
        Body::from(format!(r#"{{"filename":"a.pdf","mime_type":"application/pdf","content_base64":"{content}"}}"#))
    }

    #[tokio::test]
    async fn documents_decode_in_place_and_respect_the_limit() {
        let engine = base64::engine::general_purpose::STANDARD;
        for size in [0usize, 1, 2, 3, 3071, 3072, 3073, 10_000, 100_003] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let (name, mime, caption, content) =
                read_document(&HeaderMap::new(), json_body(&engine.encode(&data)), 1 << 20).await.unwrap();
            assert_eq!((name.as_str(), mime.as_str(), caption), ("a.pdf", "application/pdf", None));
            assert_eq!(content, data, "size {size}");
        }
        // escaped slashes are valid JSON: decoded from the unescaped copy
        let data = vec![0xffu8; 30];
        let escaped = engine.encode(&data).replace('/', "\\/");
        let (_, _, _, content) = read_document(&HeaderMap::new(), json_body(&escaped), 1 << 20).await.unwrap();
        assert_eq!(content, data);
        // not base64, padding in the middle
        for bad in ["@@@@", "QQ==QUFB", "QUF"] {
            let err = read_document(&HeaderMap::new(), json_body(bad), 1 << 20).await.unwrap_err();
            assert_eq!(err.code, "invalid_input", "{bad}");
        }
        // over the limit: streamed, refused as soon as it passes it
        let big = engine.encode(vec![1u8; 10_000]);
        let err = read_document(&HeaderMap::new(), json_body(&big), 5_000).await.unwrap_err();
        assert_eq!((err.status, err.code), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
        // an announced length over the limit is refused before reading
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5001"));
        let err = read_document(&headers, Body::from("{}"), 5_000).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn file_names_are_percent_encoded_for_content_disposition() {
        assert_eq!(percent_encode("Einladung_Gespräch 1.pdf"), "Einladung_Gespr%C3%A4ch%201.pdf");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_encode("\"x\";\r\n/%"), "%22x%22%3B%0D%0A%2F%25");
    }
}
