//! Cloud API webhook bodies and answers as the simulator produces them.

use std::time::UNIX_EPOCH;

use hoheit_domain::values::Wamid;
use serde_json::{Value, json};

use super::{SimStatus, SimulatorConfig};
use crate::clock::wall_clock_now;

/// A template as `GET /v1/configs/templates` lists it.
pub fn template_json(
    name: &str,
    language: &str,
    category: &str,
    status: &str,
    body_text: &str,
    quick_replies: &[&str],
) -> Value {
    let mut components = vec![json!({ "type": "BODY", "text": body_text })];
    if !quick_replies.is_empty() {
        let buttons: Vec<Value> = quick_replies.iter().map(|t| json!({ "type": "QUICK_REPLY", "text": t })).collect();
        components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
    }
    json!({
        "id": format!("tpl-{name}-{language}"),
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "components": components,
        "namespace": "sim_namespace",
        "rejected_reason": "NONE",
    })
}

pub(crate) fn unix_now() -> String {
    wall_clock_now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default().to_string()
}

pub(crate) fn is_phone(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Meta's wrapper around one change value.
pub(crate) fn envelope(config: &SimulatorConfig, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": config.waba_id, "changes": [{ "field": "messages", "value": value }] }],
    })
}

fn metadata(config: &SimulatorConfig) -> Value {
    json!({ "display_phone_number": config.display_phone_number, "phone_number_id": config.phone_number_id })
}

/// The change value of an inbound message, with the sender in `contacts`.
pub(crate) fn message_value(config: &SimulatorConfig, from: &str, message: Value) -> Value {
    let contact = if is_phone(from) {
        json!({ "profile": { "name": "Sim Candidate" }, "wa_id": from })
    } else {
        json!({ "profile": { "name": "Sim Candidate" }, "user_id": from })
    };
    json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(config),
        "contacts": [contact],
        "messages": [message],
    })
}

/// One inbound message object.
pub(crate) fn inbound_message(
    id: &Wamid,
    from: &str,
    kind: &str,
    object: Value,
    context: Option<(&Wamid, &str)>,
) -> Value {
    let mut message = json!({ "id": id.as_str(), "timestamp": unix_now(), "type": kind });
    if let Some(map) = message.as_object_mut() {
        if is_phone(from) {
            map.insert("from".to_owned(), json!(from));
        } else {
            map.insert("from_user_id".to_owned(), json!(from));
        }
        map.insert(kind.to_owned(), object);
        if let Some((context_id, business_number)) = context {
            map.insert("context".to_owned(), json!({ "from": business_number, "id": context_id.as_str() }));
        }
    }
    message
}

pub(crate) const fn status_name(status: SimStatus) -> &'static str {
    match status {
        SimStatus::Sent => "sent",
        SimStatus::Delivered => "delivered",
        SimStatus::Read => "read",
        SimStatus::Failed { .. } => "failed",
    }
}

/// The change value of a status; `callback` is the send's `biz_opaque_callback_data`, which
/// WhatsApp echoes in every status of the message.
pub(crate) fn status_value(
    config: &SimulatorConfig,
    message: &Wamid,
    status: SimStatus,
    recipient: &str,
    callback: Option<&str>,
) -> Value {
    let mut object = json!({
        "id": message.as_str(),
        "status": status_name(status),
        "timestamp": unix_now(),
    });
    if let Some(map) = object.as_object_mut() {
        let field = if is_phone(recipient) { "recipient_id" } else { "recipient_user_id" };
        map.insert(field.to_owned(), json!(recipient));
        if let Some(callback) = callback {
            map.insert("biz_opaque_callback_data".to_owned(), json!(callback));
        }
        match status {
            SimStatus::Sent | SimStatus::Delivered => {
                map.insert(
                    "conversation".to_owned(),
                    json!({ "id": "sim-conversation", "origin": { "type": "utility" } }),
                );
                map.insert(
                    "pricing".to_owned(),
                    json!({ "billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular" }),
                );
            }
            SimStatus::Read => {}
            SimStatus::Failed { code } => {
                map.insert(
                    "errors".to_owned(),
                    json!([{ "code": code, "title": "Simulated failure", "message": "Simulated failure",
                             "error_data": { "details": "simulated by hoheit-360sim" } }]),
                );
            }
        }
    }
    json!({ "messaging_product": "whatsapp", "metadata": metadata(config), "statuses": [object] })
}

/// Meta's error body.
pub(crate) fn meta_error(code: i64, message: &str, details: &str) -> Value {
    json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": { "messaging_product": "whatsapp", "details": details },
            "fbtrace_id": "SIMtrace",
        }
    })
}

/// 360Dialog's own error body.
pub(crate) fn dialog360_error(http_code: u16, message: &str) -> Value {
    json!({ "meta": { "success": false, "http_code": http_code, "developer_message": message, "360dialog_trace_id": "SIMtrace" } })
}
