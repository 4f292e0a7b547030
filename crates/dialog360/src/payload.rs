//! Request bodies of the Cloud API, built from domain values. Personal data is exposed here and
//! only here, on its way into the request body.

use hoheit_domain::conversation::OutboundContent;
use hoheit_domain::ports::Recipient;
use hoheit_domain::values::Wamid;
use serde_json::{Map, Value, json};

use crate::config::UserRecipientField;

/// The recipient's id as sent (digits of the number, or the BSUID). Personal data.
pub(crate) fn recipient_id(to: &Recipient) -> &str {
    match to {
        Recipient::Phone(number) => number.digits(),
        Recipient::User(user) => user.as_str(),
    }
}

/// The JSON body of a send.
pub(crate) fn message_body(to: &Recipient, content: &OutboundContent, user_field: &UserRecipientField) -> Value {
    let mut body = Map::new();
    body.insert("messaging_product".to_owned(), json!("whatsapp"));
    body.insert("recipient_type".to_owned(), json!("individual"));
    let field = match (to, user_field) {
        (Recipient::User(_), UserRecipientField::Named(name)) => name.as_str(),
        (Recipient::Phone(_), UserRecipientField::To | UserRecipientField::Named(_))
        | (Recipient::User(_), UserRecipientField::To) => "to",
    };
    body.insert(field.to_owned(), json!(recipient_id(to)));
    let (kind, object) = content_object(content);
    body.insert("type".to_owned(), json!(kind));
    body.insert(kind.to_owned(), object);
    Value::Object(body)
}

/// Most characters WhatsApp accepts in `biz_opaque_callback_data`.
pub(crate) const MAX_CALLBACK_DATA: usize = 512;

/// Adds `biz_opaque_callback_data` to a send body: WhatsApp echoes it in the message's status
/// webhooks (our outbox tag, no personal data). A tag longer than WhatsApp allows is left out.
pub(crate) fn tag_body(body: &mut Value, tag: &str) {
    if let Some(map) = body.as_object_mut()
        && !tag.is_empty()
        && tag.chars().count() <= MAX_CALLBACK_DATA
    {
        map.insert("biz_opaque_callback_data".to_owned(), json!(tag));
    }
}

fn content_object(content: &OutboundContent) -> (&'static str, Value) {
    match content {
        OutboundContent::Text { body } => ("text", json!({ "body": body.expose(), "preview_url": false })),
        OutboundContent::Template { name, language, body_parameters, button_payloads } => {
            let mut components = Vec::new();
            if !body_parameters.is_empty() {
                let parameters: Vec<Value> =
                    body_parameters.iter().map(|p| json!({ "type": "text", "text": p.expose() })).collect();
                components.push(json!({ "type": "body", "parameters": parameters }));
            }
            for (index, payload) in button_payloads.iter().enumerate() {
                components.push(json!({
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": index.to_string(),
                    "parameters": [{ "type": "payload", "payload": payload }],
                }));
            }
            let mut template = json!({ "name": name.as_str(), "language": { "code": language.as_str() } });
            if !components.is_empty()
                && let Some(object) = template.as_object_mut()
            {
                object.insert("components".to_owned(), Value::Array(components));
            }
            ("template", template)
        }
        OutboundContent::Interactive { body, buttons } => {
            let buttons: Vec<Value> =
                buttons.iter().map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } })).collect();
            (
                "interactive",
                json!({ "type": "button", "body": { "text": body.expose() }, "action": { "buttons": buttons } }),
            )
        }
        OutboundContent::Document { media_id, filename, caption } => {
            // by the uploaded media's id, never by a public link
            let mut document = Map::new();
            document.insert("id".to_owned(), json!(media_id));
            document.insert("filename".to_owned(), json!(filename.expose()));
            if let Some(caption) = caption {
                document.insert("caption".to_owned(), json!(caption.expose()));
            }
            ("document", Value::Object(document))
        }
    }
}

/// The JSON body that marks an inbound message as read.
pub(crate) fn mark_read_body(message: &Wamid) -> Value {
    json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message.as_str() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoheit_domain::conversation::ReplyButton;
    use hoheit_domain::values::{LanguageCode, PhoneNumber, Pii, TemplateName, WaUserId};

    fn phone() -> Recipient {
        Recipient::Phone(PhoneNumber::parse("+49 170 1234567").unwrap())
    }

    #[test]
    fn text() {
        let body = message_body(&phone(), &OutboundContent::Text { body: "Hallo".into() }, &UserRecipientField::To);
        assert_eq!(
            body,
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"491701234567",
                   "type":"text","text":{"body":"Hallo","preview_url":false}})
        );
    }

    #[test]
    fn template_with_parameters_and_quick_replies() {
        let content = OutboundContent::Template {
            name: TemplateName::parse("consent_request").unwrap(),
            language: LanguageCode::german(),
            body_parameters: vec![Pii::from("Anna"), Pii::from("ACME")],
            button_payloads: vec!["consent:yes:1".to_owned(), "consent:no:1".to_owned()],
        };
        let body = message_body(&phone(), &content, &UserRecipientField::To);
        assert_eq!(
            body["template"],
            json!({"name":"consent_request","language":{"code":"de"},"components":[
                {"type":"body","parameters":[{"type":"text","text":"Anna"},{"type":"text","text":"ACME"}]},
                {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"consent:yes:1"}]},
                {"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"consent:no:1"}]}
            ]})
        );
    }

    #[test]
    fn template_without_components() {
        let content = OutboundContent::Template {
            name: TemplateName::parse("hello").unwrap(),
            language: LanguageCode::parse("en_US").unwrap(),
            body_parameters: vec![],
            button_payloads: vec![],
        };
        let body = message_body(&phone(), &content, &UserRecipientField::To);
        assert_eq!(body["template"], json!({"name":"hello","language":{"code":"en_US"}}));
    }

    #[test]
    fn interactive_buttons() {
        let content = OutboundContent::Interactive {
            body: "Einverstanden?".into(),
            buttons: vec![
                ReplyButton { id: "consent_yes".into(), title: "Ja".into() },
                ReplyButton { id: "consent_no".into(), title: "Nein".into() },
            ],
        };
        let body = message_body(&phone(), &content, &UserRecipientField::To);
        assert_eq!(
            body["interactive"],
            json!({"type":"button","body":{"text":"Einverstanden?"},"action":{"buttons":[
                {"type":"reply","reply":{"id":"consent_yes","title":"Ja"}},
                {"type":"reply","reply":{"id":"consent_no","title":"Nein"}}]}})
        );
    }

    #[test]
    fn documents_go_by_media_id_never_by_link() {
        let content = OutboundContent::Document {
            media_id: "900000000000001".into(),
            filename: Pii::from("Einladung.pdf"),
            caption: Some(Pii::from("Ihre Einladung")),
        };
        let body = message_body(&phone(), &content, &UserRecipientField::To);
        assert_eq!(body["type"], json!("document"));
        assert_eq!(
            body["document"],
            json!({"id":"900000000000001","filename":"Einladung.pdf","caption":"Ihre Einladung"})
        );
        assert!(body["document"].get("link").is_none());
        let plain = OutboundContent::Document { media_id: "1".into(), filename: Pii::from("a.pdf"), caption: None };
        assert_eq!(
            message_body(&phone(), &plain, &UserRecipientField::To)["document"],
            json!({"id":"1","filename":"a.pdf"})
        );
    }

    #[test]
    fn user_ids_go_to_the_configured_field() {
        let user = Recipient::User(WaUserId::parse("BR.1502576394655843").unwrap());
        let content = OutboundContent::Text { body: "Hi".into() };
        let default = message_body(&user, &content, &UserRecipientField::To);
        assert_eq!(default["to"], json!("BR.1502576394655843"));
        let named = message_body(&user, &content, &UserRecipientField::Named("recipient".into()));
        assert_eq!(named["recipient"], json!("BR.1502576394655843"));
        assert!(named.get("to").is_none());
        // numbers always go to `to`
        let number = message_body(&phone(), &content, &UserRecipientField::Named("recipient".into()));
        assert_eq!(number["to"], json!("491701234567"));
    }

    #[test]
    fn mark_read() {
        let body = mark_read_body(&Wamid::parse("wamid.ABC").unwrap());
        assert_eq!(body, json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.ABC"}));
    }

    #[test]
    fn a_tag_goes_into_biz_opaque_callback_data_at_the_top_level() {
        let mut body = message_body(&phone(), &OutboundContent::Text { body: "Hallo".into() }, &UserRecipientField::To);
        tag_body(&mut body, "hoheit.outbox.0190");
        assert_eq!(body["biz_opaque_callback_data"], "hoheit.outbox.0190");
        assert_eq!(body["text"]["body"], "Hallo");
        let mut untagged = body.clone();
        tag_body(&mut untagged, &"x".repeat(MAX_CALLBACK_DATA + 1));
        assert_eq!(untagged["biz_opaque_callback_data"], "hoheit.outbox.0190", "too long: not replaced");
        let mut fresh =
            message_body(&phone(), &OutboundContent::Text { body: "Hallo".into() }, &UserRecipientField::To);
        tag_body(&mut fresh, "");
        assert!(fresh.get("biz_opaque_callback_data").is_none());
    }
}
