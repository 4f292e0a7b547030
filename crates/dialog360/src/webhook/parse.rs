//! Parsing of the Cloud API webhook format into the domain's [`InboundEvent`]s.
//!
//! Tolerant by design: unknown fields are ignored, unknown and future message types become
//! [`InboundContent::Unsupported`], a malformed message inside a valid batch becomes an
//! unsupported event (or, without an id or timestamp, is skipped and counted), unknown status
//! strings are skipped and counted. Only input that is not JSON, or JSON without the
//! `entry` array, is an error. Nothing here panics, whatever the bytes.

use hoheit_domain::conversation::DeliveryStatus;
use hoheit_domain::inbound::{
    ContactRef, InboundContent, InboundEvent, InboundMessage, MediaKind, Pricing, ProviderError, StatusUpdate,
};
use hoheit_domain::values::{Pii, WaId, WaUserId, Wamid};
use serde_json::Value;
use time::OffsetDateTime;

use crate::errors::json_i64;

/// One event with the number it arrived for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedEvent {
    /// `metadata.phone_number_id` of the change: the server cross-checks it against the channel
    /// the webhook route belongs to.
    pub phone_number_id: Option<String>,
    /// The WhatsApp Business Account id (`entry[].id`).
    pub waba_id: Option<String>,
    /// The event.
    pub event: InboundEvent,
}

/// Everything one webhook POST carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedWebhook {
    /// The events, in the order of the payload.
    pub events: Vec<RoutedEvent>,
    /// Items that could not become an event (a message or status without a usable id or
    /// timestamp, an unknown status string, an error without a code). For a metric.
    pub skipped: u32,
    /// Changes of other webhook fields (template status updates, account updates, ...) and
    /// entries or changes that are not objects.
    pub ignored_changes: u32,
}

/// Why a body is not a webhook at all. Messages carry positions, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON (or nested deeper than the parser allows).
    #[error("webhook body is not valid JSON (line {line}, column {column})")]
    Json {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// JSON, but not the webhook structure.
    #[error("webhook body has no valid structure: {0}")]
    Structure(&'static str),
}

/// Parses a (verified) webhook body.
pub fn parse_webhook(body: &[u8]) -> Result<ParsedWebhook, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Json { line: e.line(), column: e.column() })?;
    let root = root.as_object().ok_or(ParseError::Structure("not a JSON object"))?;
    let entries = root.get("entry").and_then(Value::as_array).ok_or(ParseError::Structure("no entry array"))?;
    let mut parsed = ParsedWebhook::default();
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            parsed.ignored_changes = parsed.ignored_changes.saturating_add(1);
            continue;
        };
        let waba_id = entry.get("id").and_then(id_string);
        let changes = entry.get("changes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for change in changes {
            let field = change.get("field").and_then(Value::as_str);
            match (field, change.get("value").and_then(Value::as_object)) {
                (Some("messages") | None, Some(value)) => parse_value(value, waba_id.as_deref(), &mut parsed),
                _ => parsed.ignored_changes = parsed.ignored_changes.saturating_add(1),
            }
        }
    }
    // Errors outside any entry (not documented, accepted for tolerance).
    for error in root.get("errors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        push_error(error, None, None, &mut parsed);
    }
    Ok(parsed)
}

fn parse_value(value: &serde_json::Map<String, Value>, waba_id: Option<&str>, parsed: &mut ParsedWebhook) {
    let phone_number_id = value.get("metadata").and_then(|m| m.get("phone_number_id")).and_then(id_string);
    let contacts = value.get("contacts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let route =
        |event| RoutedEvent { phone_number_id: phone_number_id.clone(), waba_id: waba_id.map(str::to_owned), event };
    for message in value.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        match parse_message(message, contacts) {
            Some(message) => parsed.events.push(route(InboundEvent::Message(message))),
            None => parsed.skipped = parsed.skipped.saturating_add(1),
        }
    }
    for status in value.get("statuses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        match parse_status(status) {
            Some(status) => parsed.events.push(route(InboundEvent::Status(status))),
            None => parsed.skipped = parsed.skipped.saturating_add(1),
        }
    }
    for error in value.get("errors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        push_error(error, phone_number_id.as_deref(), waba_id, parsed);
    }
}

fn push_error(error: &Value, phone_number_id: Option<&str>, waba_id: Option<&str>, parsed: &mut ParsedWebhook) {
    match provider_error(error) {
        Some(error) => parsed.events.push(RoutedEvent {
            phone_number_id: phone_number_id.map(str::to_owned),
            waba_id: waba_id.map(str::to_owned),
            event: InboundEvent::Error(error),
        }),
        None => parsed.skipped = parsed.skipped.saturating_add(1),
    }
}

fn parse_message(message: &Value, contacts: &[Value]) -> Option<InboundMessage> {
    let provider_id = message.get("id").and_then(Value::as_str).and_then(|id| Wamid::parse(id).ok())?;
    let timestamp = message.get("timestamp").and_then(timestamp)?;
    let context =
        message.get("context").and_then(|c| c.get("id")).and_then(Value::as_str).and_then(|id| Wamid::parse(id).ok());
    Some(InboundMessage { provider_id, from: sender(message, contacts), timestamp, content: content(message), context })
}

/// Who sent it: `from` (the number) and/or a business-scoped user id, completed from the
/// matching `contacts[]` entry (which also gives the profile name).
fn sender(message: &Value, contacts: &[Value]) -> ContactRef {
    let from = message.get("from").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let mut wa_id = from.and_then(|f| WaId::parse(f).ok());
    let mut user_id = ["from_user_id", "user_id"]
        .iter()
        .find_map(|k| message.get(*k).and_then(Value::as_str))
        // `from` carrying a user id instead of digits (tolerated; never a malformed number)
        .or_else(|| from.filter(|f| !f.bytes().all(|b| b.is_ascii_digit())))
        .and_then(|u| WaUserId::parse(u.trim()).ok());
    let contact_user_id = |c: &Value| c.get("user_id").and_then(Value::as_str).and_then(|u| WaUserId::parse(u).ok());
    let contact_wa_id = |c: &Value| c.get("wa_id").and_then(Value::as_str).and_then(|w| WaId::parse(w).ok());
    let contact = contacts
        .iter()
        .find(|c| {
            (wa_id.is_some() && contact_wa_id(c) == wa_id) || (user_id.is_some() && contact_user_id(c) == user_id)
        })
        .or_else(|| match contacts {
            [only] if wa_id.is_none() && user_id.is_none() => Some(only),
            _ => None,
        });
    let mut profile_name = None;
    if let Some(contact) = contact {
        wa_id = wa_id.or_else(|| contact_wa_id(contact));
        user_id = user_id.or_else(|| contact_user_id(contact));
        profile_name =
            contact.get("profile").and_then(|p| p.get("name")).and_then(Value::as_str).map(|n| Pii::new(n.to_owned()));
    }
    ContactRef { wa_id, user_id, profile_name }
}

fn content(message: &Value) -> InboundContent {
    let type_name = message.get("type").and_then(Value::as_str).unwrap_or_default();
    let object = message.get(type_name).filter(|o| !o.is_null());
    let parsed = match (type_name, object) {
        ("text", Some(text)) => text_content(text),
        ("button", Some(button)) => button_content(button),
        ("interactive", Some(interactive)) => interactive_content(interactive),
        ("image", Some(media)) => media_content(MediaKind::Image, media),
        ("document", Some(media)) => media_content(MediaKind::Document, media),
        ("audio", Some(media)) => media_content(MediaKind::Audio, media),
        ("video", Some(media)) => media_content(MediaKind::Video, media),
        ("sticker", Some(media)) => media_content(MediaKind::Sticker, media),
        ("location" | "contacts" | "reaction" | "order" | "system", Some(json)) => {
            Some(InboundContent::Structured { type_name: type_name.to_owned(), json: Pii::new(json.to_string()) })
        }
        _ => None,
    };
    parsed.unwrap_or_else(|| InboundContent::Unsupported {
        type_name: safe_type_name(type_name),
        error_code: message
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|errors| errors.iter().find_map(|e| e.get("code").and_then(json_i64))),
    })
}

fn text_content(text: &Value) -> Option<InboundContent> {
    let body = text.get("body")?.as_str()?;
    Some(InboundContent::Text { body: Pii::new(body.to_owned()) })
}

fn button_content(button: &Value) -> Option<InboundContent> {
    let payload = button.get("payload").and_then(Value::as_str).map(str::to_owned);
    let text = button.get("text").and_then(Value::as_str);
    if payload.is_none() && text.is_none() {
        return None;
    }
    Some(InboundContent::Button { payload, text: Pii::new(text.unwrap_or_default().to_owned()) })
}

fn interactive_content(interactive: &Value) -> Option<InboundContent> {
    let sub_type = interactive.get("type").and_then(Value::as_str).unwrap_or_default();
    match sub_type {
        "button_reply" | "list_reply" => {
            let reply = interactive.get(sub_type)?;
            let id = reply.get("id")?.as_str()?.to_owned();
            let title = reply.get("title").and_then(Value::as_str).unwrap_or_default().to_owned();
            Some(InboundContent::InteractiveReply { id, title: Pii::new(title) })
        }
        // nfm_reply (WhatsApp Flows) and future sub-types: kept whole.
        _ => Some(InboundContent::Structured {
            type_name: "interactive".to_owned(),
            json: Pii::new(interactive.to_string()),
        }),
    }
}

fn media_content(kind: MediaKind, media: &Value) -> Option<InboundContent> {
    let text = |name: &str| media.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(InboundContent::Media {
        kind,
        media_id: text("id").filter(|id| !id.is_empty())?,
        mime_type: text("mime_type"),
        sha256: text("sha256").map(Pii::new),
        caption: text("caption").map(Pii::new),
        filename: text("filename").map(Pii::new),
    })
}

/// A type name as received if it looks like one (`[a-z0-9_]{1,32}`), else `unknown`: it ends up
/// in storage and metric labels, so it must not carry arbitrary input.
fn safe_type_name(type_name: &str) -> String {
    let plausible = (1..=32).contains(&type_name.len())
        && type_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plausible { type_name.to_owned() } else { "unknown".to_owned() }
}

fn parse_status(status: &Value) -> Option<StatusUpdate> {
    let provider_id = status.get("id").and_then(Value::as_str).and_then(|id| Wamid::parse(id).ok())?;
    let delivery = match status.get("status").and_then(Value::as_str)?.to_ascii_lowercase().as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    };
    let timestamp = status.get("timestamp").and_then(timestamp)?;
    let recipient = status.get("recipient_id").and_then(Value::as_str).and_then(|r| WaId::parse(r).ok());
    let recipient_user_id =
        status.get("recipient_user_id").and_then(Value::as_str).and_then(|u| WaUserId::parse(u.trim()).ok());
    let errors = status
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().filter_map(provider_error).collect())
        .unwrap_or_default();
    let pricing = status.get("pricing").filter(|p| p.is_object()).map(|p| Pricing {
        billable: p.get("billable").and_then(Value::as_bool),
        model: p.get("pricing_model").and_then(Value::as_str).map(str::to_owned),
        category: p.get("category").and_then(Value::as_str).map(str::to_owned),
    });
    // echoed from our send (the outbox tag); anything longer than WhatsApp allows is not ours
    let callback_data = status
        .get("biz_opaque_callback_data")
        .and_then(Value::as_str)
        .filter(|data| !data.is_empty() && data.chars().count() <= crate::payload::MAX_CALLBACK_DATA)
        .map(str::to_owned);
    Some(StatusUpdate {
        provider_id,
        status: delivery,
        timestamp,
        recipient,
        recipient_user_id,
        errors,
        pricing,
        callback_data,
    })
}

fn provider_error(error: &Value) -> Option<ProviderError> {
    let code = error.get("code").and_then(json_i64)?;
    let title = error.get("title").or_else(|| error.get("message")).and_then(Value::as_str).map(str::to_owned);
    Some(ProviderError { code, title })
}

/// Unix seconds as a string (the documented form) or a number.
fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(json_i64(value)?).ok()
}

/// An id that may come as a string or a number.
fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_and_not_a_webhook_are_typed_errors() {
        assert!(matches!(parse_webhook(b"{nope"), Err(ParseError::Json { .. })));
        assert_eq!(parse_webhook(b"[]"), Err(ParseError::Structure("not a JSON object")));
        assert_eq!(parse_webhook(b"{}"), Err(ParseError::Structure("no entry array")));
        assert_eq!(parse_webhook(br#"{"entry":[]}"#), Ok(ParsedWebhook::default()));
    }

    #[test]
    fn parse_errors_do_not_echo_content() {
        let err = parse_webhook(br#"{"entry": "Anna Mueller +4917012345678"#).unwrap_err();
        let printed = format!("{err} {err:?}");
        assert!(!printed.contains("Anna") && !printed.contains("4917012345678"), "{printed}");
    }

    #[test]
    fn type_names_are_sanitised() {
        assert_eq!(safe_type_name("request_welcome"), "request_welcome");
        assert_eq!(safe_type_name(""), "unknown");
        assert_eq!(safe_type_name("Robert'); DROP TABLE"), "unknown");
        assert_eq!(safe_type_name(&"a".repeat(33)), "unknown");
    }

    #[test]
    fn an_overlong_number_is_not_taken_for_a_user_id() {
        let body = br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[
            {"from":"4917612345678901234567","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}"#;
        let parsed = parse_webhook(body).unwrap();
        match &parsed.events[..] {
            [RoutedEvent { event: InboundEvent::Message(m), .. }] => {
                assert_eq!(m.from.wa_id, None);
                assert_eq!(m.from.user_id, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_webhook(deep.as_bytes()).is_err());
    }
}
