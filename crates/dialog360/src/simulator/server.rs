//! The simulator's HTTP side: an axum router behind a hand-rolled accept loop (hyper), so a
//! scripted failure can close a connection without any answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hoheit_domain::values::Wamid;
use hyper_util::rt::TokioIo;
use rand::Rng;
use rand::seq::SliceRandom;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::payloads::{self, dialog360_error, meta_error};
use super::{
    AcceptedMessage, Failure, FailureScope, RecordedRequest, SimState, Trigger, WebhookTarget, delivery, status_kind,
};
use crate::config::API_KEY_HEADER;

/// Lets a handler close its connection without answering.
#[derive(Clone)]
struct ConnectionControl(Arc<Notify>);

/// Largest request body read.
const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// WhatsApp's free-form window.
const SERVICE_WINDOW: Duration = Duration::from_secs(24 * 3_600);

pub(crate) async fn serve(listener: TcpListener, state: Arc<SimState>, shutdown: Arc<Notify>) {
    let router = router(state);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.notified() => break,
            accepted = listener.accept() => {
                while connections.try_join_next().is_some() {}
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
            }
        }
    }
    connections.abort_all();
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let kill = Arc::new(Notify::new());
    let control = ConnectionControl(Arc::clone(&kill));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(control.clone());
        tower::ServiceExt::oneshot(router.clone(), request)
    });
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection closes the socket; the client gets no answer at all.
        () = kill.notified() => {}
    }
}

fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/messages", post(messages))
        .route("/v1/messages", post(messages))
        .route("/v1/configs/templates", get(templates))
        .route("/v1/configs/webhook", post(set_webhook).get(get_webhook))
        .route("/media", post(upload_media))
        .route("/whatsapp_business/attachments/", get(media_bytes))
        .route("/{media_id}", get(media_info))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), gate))
        .with_state(state)
}

/// Records the request, checks the key, applies scripted failures.
async fn gate(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let key = state.config.api_key.expose_secret().as_bytes();
    let authorized = parts.headers.get(API_KEY_HEADER).is_some_and(|v| v.as_bytes() == key);
    let path = parts.uri.path().to_owned();
    let is_messages = parts.method == Method::POST && (path == "/messages" || path == "/v1/messages");
    let failure = if authorized { pick_failure(&state, is_messages) } else { None };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name.as_str().eq_ignore_ascii_case(API_KEY_HEADER) {
                "<redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    state.lock().requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        headers,
        json: serde_json::from_slice(&bytes).ok(),
        body_len: bytes.len(),
        authorized,
        failure,
    });
    if !authorized {
        return (StatusCode::UNAUTHORIZED, axum::Json(dialog360_error(401, "Invalid api_key"))).into_response();
    }
    match failure {
        None => {}
        Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::Hang) => tokio::time::sleep(state.config.hang_for).await,
        Some(Failure::DropConnection) => {
            if let Some(control) = parts.extensions.get::<ConnectionControl>() {
                control.0.notify_one();
            }
            return std::future::pending::<Response>().await;
        }
        Some(failure) => return failure_response(failure),
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn pick_failure(state: &SimState, is_messages: bool) -> Option<Failure> {
    let mut inner = state.lock();
    let inner = &mut *inner;
    let mut fired = None;
    let mut exhausted = None;
    for (index, rule) in inner.rules.iter_mut().enumerate() {
        let applies = match rule.scope {
            FailureScope::Messages => is_messages,
            FailureScope::Any => true,
        };
        if !applies {
            continue;
        }
        match &mut rule.trigger {
            Trigger::Next(0) => {}
            Trigger::Next(n) => {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    exhausted = Some(index);
                }
                fired = Some(rule.failure);
            }
            Trigger::Probability(p) => {
                if inner.rng.gen_bool(p.clamp(0.0, 1.0)) {
                    fired = Some(rule.failure);
                }
            }
        }
        if fired.is_some() {
            break;
        }
    }
    if let Some(index) = exhausted {
        inner.rules.remove(index);
    }
    fired
}

fn failure_response(failure: Failure) -> Response {
    let (status, body) = match failure {
        Failure::RateLimited { retry_after } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(meta_error(
                    130_429,
                    "(#130429) Rate limit hit",
                    "Cloud API message throughput has been reached.",
                )),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return response;
        }
        Failure::PairRateLimited => (
            StatusCode::BAD_REQUEST,
            meta_error(
                131_056,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "Too many messages sent from this phone number to the same phone number in a short period of time.",
            ),
        ),
        Failure::WindowClosed => (
            StatusCode::BAD_REQUEST,
            meta_error(
                131_047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
        ),
        Failure::MetaError { http_status, code } => (
            StatusCode::from_u16(http_status).unwrap_or(StatusCode::BAD_REQUEST),
            meta_error(code, "Simulated error", "simulated by hoheit-360sim"),
        ),
        Failure::ServerError(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            dialog360_error(status, "WhatsApp for Business API not available"),
        ),
        Failure::EndpointRateLimit => {
            (StatusCode::BAD_REQUEST, dialog360_error(400, "You have exceeded the endpoint rate limit"))
        }
        Failure::Unauthorized => (StatusCode::UNAUTHORIZED, dialog360_error(401, "Invalid api_key")),
        Failure::Slow(_) | Failure::Hang | Failure::DropConnection => {
            (StatusCode::INTERNAL_SERVER_ERROR, dialog360_error(500, "unexpected failure mode"))
        }
    };
    (status, axum::Json(body)).into_response()
}

fn bad_request(code: i64, message: &str, details: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(meta_error(code, message, details))).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(meta_error(100, "Unknown path components", "no such endpoint"))).into_response()
}

/// `POST /messages`: sends and mark-read.
async fn messages(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(100, "(#100) Invalid parameter", "the body is not JSON");
    };
    if json.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return bad_request(100, "(#100) Invalid parameter", "messaging_product must be whatsapp");
    }
    if json.get("status").is_some() {
        return mark_read(&state, &json);
    }
    let (to, kind) = match validate_send(&json) {
        Ok(found) => found,
        Err((code, details)) => return bad_request(code, "(#131009) Parameter value is not valid", details),
    };
    let is_template = kind == "template";
    if is_template && let Some(response) = check_template(&state, &json) {
        return response;
    }
    if state.config.enforce_window && !is_template {
        let open = state.lock().last_inbound.get(&to).is_some_and(|at| at.elapsed() < SERVICE_WINDOW);
        if !open {
            return failure_response(Failure::WindowClosed);
        }
    }
    let id = state.next_wamid();
    {
        let mut inner = state.lock();
        inner.accepted.push(AcceptedMessage { id: id.clone(), to: to.clone(), body: json.clone() });
        inner.last_sent_to.insert(to.clone(), id.clone());
    }
    let callback = json.get("biz_opaque_callback_data").and_then(Value::as_str);
    schedule_statuses(&state, &id, &to, callback);
    let contact = if payloads::is_phone(&to) {
        json!({ "input": to, "wa_id": to })
    } else {
        json!({ "input": to, "user_id": to })
    };
    let message = if is_template {
        json!({ "id": id.as_str(), "message_status": "accepted" })
    } else {
        json!({ "id": id.as_str() })
    };
    axum::Json(json!({ "messaging_product": "whatsapp", "contacts": [contact], "messages": [message] })).into_response()
}

fn mark_read(state: &SimState, json: &Value) -> Response {
    let status = json.get("status").and_then(Value::as_str);
    let message_id = json.get("message_id").and_then(Value::as_str).filter(|m| !m.is_empty());
    match (status, message_id) {
        (Some("read"), Some(id)) => {
            state.lock().read_marks.push(id.to_owned());
            axum::Json(json!({ "success": true })).into_response()
        }
        _ => bad_request(131_008, "(#131008) Required parameter is missing", "status read and message_id are required"),
    }
}

/// Checks a send body's shape like the Cloud API would; returns the recipient and the type.
fn validate_send(json: &Value) -> Result<(String, &str), (i64, &'static str)> {
    if let Some(kind) = json.get("recipient_type").and_then(Value::as_str)
        && kind != "individual"
    {
        return Err((131_009, "recipient_type must be individual"));
    }
    let to = json
        .get("to")
        .or_else(|| json.get("recipient"))
        .and_then(Value::as_str)
        .map(|t| t.trim_start_matches('+').to_owned())
        .filter(|t| !t.is_empty())
        .ok_or((131_008, "to is required"))?;
    let kind = json.get("type").and_then(Value::as_str).unwrap_or("text");
    let object = json.get(kind).ok_or((131_008, "the type's object is required"))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match kind {
        "text" => {
            let body = text(object.get("body")).ok_or((131_008, "text.body is required"))?;
            if body.is_empty() || body.chars().count() > 4_096 {
                return Err((131_009, "text.body must have 1 to 4096 characters"));
            }
        }
        "template" => {
            text(object.get("name")).filter(|n| !n.is_empty()).ok_or((131_008, "template.name is required"))?;
            text(object.pointer("/language/code")).ok_or((131_008, "template.language.code is required"))?;
            if let Some(components) = object.get("components")
                && !components.is_array()
            {
                return Err((131_009, "template.components must be an array"));
            }
        }
        "interactive" => {
            if object.get("type").and_then(Value::as_str) != Some("button") {
                return Err((131_009, "only interactive type button is simulated"));
            }
            let body = text(object.pointer("/body/text")).ok_or((131_008, "interactive.body.text is required"))?;
            if body.is_empty() || body.chars().count() > 1_024 {
                return Err((131_009, "interactive.body.text must have 1 to 1024 characters"));
            }
            let buttons = object
                .pointer("/action/buttons")
                .and_then(Value::as_array)
                .ok_or((131_008, "interactive.action.buttons is required"))?;
            if buttons.is_empty() || buttons.len() > 3 {
                return Err((131_009, "1 to 3 buttons"));
            }
            let mut ids = Vec::new();
            for button in buttons {
                let id = text(button.pointer("/reply/id")).ok_or((131_008, "button reply.id is required"))?;
                let title = text(button.pointer("/reply/title")).ok_or((131_008, "button reply.title is required"))?;
                if button.get("type").and_then(Value::as_str) != Some("reply")
                    || id.is_empty()
                    || id.len() > 256
                    || title.is_empty()
                    || title.chars().count() > 20
                    || ids.contains(&id)
                {
                    return Err((131_009, "buttons need type reply, a unique id and a title of 1 to 20 characters"));
                }
                ids.push(id);
            }
        }
        "image" | "document" | "audio" | "video" | "sticker" => {
            if object.get("id").is_none() && object.get("link").is_none() {
                return Err((131_008, "media needs id or link"));
            }
        }
        "location" | "contacts" | "reaction" => {}
        _ => return Err((131_009, "unsupported message type")),
    }
    Ok((to, kind))
}

/// With templates configured, a template send must name an approved one (else 132001 or
/// 132015); returns the refusal.
fn check_template(state: &SimState, json: &Value) -> Option<Response> {
    let inner = state.lock();
    if inner.templates.is_empty() {
        return None;
    }
    let name = json.pointer("/template/name").and_then(Value::as_str);
    let language = json.pointer("/template/language/code").and_then(Value::as_str);
    let found = inner.templates.iter().find(|t| {
        t.get("name").and_then(Value::as_str) == name && t.get("language").and_then(Value::as_str) == language
    });
    match found.and_then(|t| t.get("status")).and_then(Value::as_str) {
        Some(status) if status.eq_ignore_ascii_case("approved") => None,
        Some(_) => Some(bad_request(132_015, "(#132015) Template is paused", "the template is not approved")),
        None => Some(bad_request(
            132_001,
            "(#132001) Template name does not exist in the translation",
            "template name or language not found",
        )),
    }
}

/// Status webhooks for an accepted message, echoing its `biz_opaque_callback_data` like WhatsApp.
fn schedule_statuses(state: &Arc<SimState>, id: &Wamid, to: &str, callback: Option<&str>) {
    let settings = &state.config.status_webhooks;
    if !settings.enabled || settings.sequence.is_empty() {
        return;
    }
    let mut sequence = settings.sequence.clone();
    {
        let mut inner = state.lock();
        if settings.out_of_order {
            sequence.shuffle(&mut inner.rng);
        }
        if settings.duplicate {
            let index = inner.rng.gen_range(0..sequence.len());
            if let Some(status) = sequence.get(index).copied() {
                sequence.insert(index, status);
            }
        }
    }
    let jobs = sequence
        .into_iter()
        .map(|status| {
            let value = payloads::status_value(&state.config, id, status, to, callback);
            (status_kind(status), payloads::envelope(&state.config, value))
        })
        .collect();
    delivery::after(Arc::clone(state), settings.delay, jobs);
}

/// `GET /v1/configs/templates?offset=&limit=`.
async fn templates(State(state): State<Arc<SimState>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let number = |name: &str, default: usize| query.get(name).and_then(|v| v.parse::<usize>().ok()).unwrap_or(default);
    let offset = number("offset", 0);
    let limit = number("limit", 1_000).clamp(1, 1_000);
    let inner = state.lock();
    let page: Vec<Value> = inner.templates.iter().skip(offset).take(limit).cloned().collect();
    axum::Json(json!({
        "count": page.len(),
        "total": inner.templates.len(),
        "offset": offset,
        "limit": limit,
        "filters": {},
        "sort": ["id"],
        "waba_templates": page,
    }))
    .into_response()
}

/// `POST /v1/configs/webhook`: keeps an HMAC key set through the handle.
async fn set_webhook(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(100, "(#100) Invalid parameter", "the body is not JSON");
    };
    let Some(url) = json.get("url").and_then(Value::as_str).filter(|u| u.starts_with("http")) else {
        return bad_request(131_008, "(#131008) Required parameter is missing", "url is required");
    };
    let headers: Vec<(String, String)> = json
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default();
    let hmac_key = state.lock().webhook.as_ref().and_then(|w| w.hmac_key.clone());
    let pending = {
        let mut inner = state.lock();
        inner.webhook = Some(WebhookTarget { url: url.to_owned(), headers, hmac_key });
        std::mem::take(&mut inner.pending)
    };
    for job in pending {
        state.requeue(job);
    }
    axum::Json(json!({ "url": url })).into_response()
}

/// `GET /v1/configs/webhook`.
async fn get_webhook(State(state): State<Arc<SimState>>) -> Response {
    let inner = state.lock();
    match &inner.webhook {
        Some(target) => {
            let headers: serde_json::Map<String, Value> =
                target.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            axum::Json(json!({ "url": target.url, "headers": headers })).into_response()
        }
        None => (StatusCode::NOT_FOUND, axum::Json(dialog360_error(404, "Webhook URL is not set"))).into_response(),
    }
}

/// `POST /media` (multipart: `messaging_product`, `file`).
async fn upload_media(State(state): State<Arc<SimState>>, mut multipart: Multipart) -> Response {
    let mut product = None;
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else {
            return bad_request(100, "(#100) Invalid parameter", "unreadable multipart field");
        };
        match name.as_str() {
            "messaging_product" => product = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = Some((content_type.unwrap_or_else(|| "application/octet-stream".to_owned()), bytes)),
            _ => {}
        }
    }
    match (product.as_deref(), file) {
        (Some("whatsapp"), Some((mime_type, bytes))) => {
            let id = state.store_media(bytes.to_vec(), &mime_type);
            axum::Json(json!({ "id": id })).into_response()
        }
        _ => bad_request(131_008, "(#131008) Required parameter is missing", "messaging_product and file are required"),
    }
}

/// `GET /{media-id}`.
async fn media_info(State(state): State<Arc<SimState>>, Path(media_id): Path<String>) -> Response {
    let inner = state.lock();
    match inner.media.get(&media_id) {
        Some(media) => axum::Json(json!({
            "messaging_product": "whatsapp",
            "url": format!("https://{}/whatsapp_business/attachments/?mid={media_id}&ext=1&hash=sim", crate::admin::META_MEDIA_HOST),
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": media.bytes.len(),
            "id": media_id,
        }))
        .into_response(),
        None => bad_request(100, "(#100) Unsupported get request", "no such media"),
    }
}

/// The rewritten `lookaside.fbsbx.com` download.
async fn media_bytes(State(state): State<Arc<SimState>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let inner = state.lock();
    match query.get("mid").and_then(|mid| inner.media.get(mid)) {
        Some(media) => {
            let content_type =
                HeaderValue::from_str(&media.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            ([(header::CONTENT_TYPE, content_type)], media.bytes.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, axum::Json(dialog360_error(404, "media not found"))).into_response(),
    }
}
