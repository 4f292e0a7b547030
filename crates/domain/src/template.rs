//! WhatsApp templates as synced from 360Dialog (R21): status and category decide whether a
//! template may be sent; the tenant marks which templates carry the Art. 13 / 21(4) notice.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::ChannelId;
use crate::values::{LanguageCode, Pii, TemplateName};

/// Template category at WhatsApp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    /// Marketing: needs talent-pool consent (R21).
    Marketing,
    /// Utility: the running application.
    Utility,
    /// Authentication codes.
    Authentication,
}

impl TemplateCategory {
    /// Parses WhatsApp's name (case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "MARKETING" => Some(Self::Marketing),
            "UTILITY" => Some(Self::Utility),
            "AUTHENTICATION" => Some(Self::Authentication),
            _ => None,
        }
    }

    /// WhatsApp's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        }
    }
}

/// Template status at WhatsApp. Only `Approved` may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    /// Approved.
    Approved,
    /// In review.
    Pending,
    /// Rejected.
    Rejected,
    /// Paused (quality).
    Paused,
    /// Disabled.
    Disabled,
    /// Anything else WhatsApp reports.
    Other,
}

impl TemplateStatus {
    /// Parses WhatsApp's name (case-insensitive; unknown values become `Other`).
    pub fn parse(value: &str) -> Self {
        match value.to_ascii_uppercase().as_str() {
            "APPROVED" => Self::Approved,
            "PENDING" | "IN_APPEAL" | "PENDING_DELETION" | "SUBMITTED" => Self::Pending,
            "REJECTED" => Self::Rejected,
            "PAUSED" => Self::Paused,
            "DISABLED" | "DELETED" => Self::Disabled,
            _ => Self::Other,
        }
    }

    /// WhatsApp's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "APPROVED",
            Self::Pending => "PENDING",
            Self::Rejected => "REJECTED",
            Self::Paused => "PAUSED",
            Self::Disabled => "DISABLED",
            Self::Other => "OTHER",
        }
    }
}

/// A template of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The channel (number) it belongs to.
    pub channel: ChannelId,
    /// Name.
    pub name: TemplateName,
    /// Language.
    pub language: LanguageCode,
    /// Category.
    pub category: TemplateCategory,
    /// Status at the last sync.
    pub status: TemplateStatus,
    /// Number of `{{n}}` placeholders in the body.
    pub body_parameters: u8,
    /// Number of quick-reply buttons.
    pub quick_replies: u8,
    /// Whether it carries the Art. 13 / Art. 21(4) notice (R15): confirmed by the tenant, and for
    /// the channel's consent-request template derived from its synced text ([`notice_in_text`]).
    pub carries_notice: bool,
    /// The template's components as WhatsApp returned them (JSON text; not personal data).
    pub components_json: String,
    /// The text of the BODY component as synced (read by the adapter; templates synced before
    /// it was recorded have none). The consent-request template is checked against it (R6, R15).
    #[serde(default)]
    pub body_text: Option<String>,
    /// What the components need besides positional body parameters (read by the adapter at sync;
    /// templates synced before it was recorded have the default: nothing else).
    #[serde(default)]
    pub shape: TemplateShape,
    /// When it was synced.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

/// What a template's components need at send time beyond `{{1}}`, `{{2}}`, ... in the body.
/// hoheit sends positional body parameters and quick-reply payloads; a template that needs more
/// cannot be sent correctly, and is refused before queueing instead of failing at WhatsApp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateShape {
    /// The body uses named placeholders (`{{first_name}}`) instead of positional ones.
    #[serde(default)]
    pub named_body_parameters: bool,
    /// The header needs a parameter: a text header with a placeholder, or an image, video,
    /// document or location header.
    #[serde(default)]
    pub header_parameter: bool,
    /// Buttons that need a parameter (a URL with a dynamic suffix, a copy code, a flow).
    #[serde(default)]
    pub dynamic_buttons: u8,
}

/// Most characters of one body parameter (WhatsApp limits the whole body to 1024).
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// Why template parameters do not fit the template. The messages name positions, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateParameterError {
    /// Wrong number of body parameters.
    #[error("template expects {expected} body parameters, got {got}")]
    Count {
        /// Placeholders in the body.
        expected: u8,
        /// Parameters given.
        got: usize,
    },
    /// A parameter is empty or only whitespace.
    #[error("body parameter {0} is empty")]
    Empty(usize),
    /// WhatsApp refuses line breaks, tabs and more than four consecutive spaces in parameters.
    #[error("body parameter {0} contains a line break, a tab or more than four consecutive spaces")]
    Layout(usize),
    /// Longer than [`MAX_PARAMETER_CHARS`].
    #[error("body parameter {0} is longer than 1024 characters")]
    TooLong(usize),
    /// The template needs something hoheit does not send.
    #[error("the template needs {0}, which hoheit does not send; use another template")]
    Unsupported(&'static str),
}

impl Template {
    /// Checks body parameters against the template's placeholders before a message is queued
    /// (R21): right count, no empty values, no layout WhatsApp refuses (132000/131008), and no
    /// header or button parameters the template would need.
    pub fn check_parameters(&self, parameters: &[Pii<String>]) -> Result<(), TemplateParameterError> {
        if self.shape.named_body_parameters {
            return Err(TemplateParameterError::Unsupported("named body parameters"));
        }
        if self.shape.header_parameter {
            return Err(TemplateParameterError::Unsupported("a header parameter"));
        }
        if self.shape.dynamic_buttons > 0 {
            return Err(TemplateParameterError::Unsupported("button parameters"));
        }
        if usize::from(self.body_parameters) != parameters.len() {
            return Err(TemplateParameterError::Count { expected: self.body_parameters, got: parameters.len() });
        }
        for (index, parameter) in parameters.iter().enumerate() {
            let position = index + 1;
            let text = parameter.expose();
            if text.trim().is_empty() {
                return Err(TemplateParameterError::Empty(position));
            }
            if text.chars().count() > MAX_PARAMETER_CHARS {
                return Err(TemplateParameterError::TooLong(position));
            }
            if text.contains(['\n', '\r', '\t']) || text.contains("     ") {
                return Err(TemplateParameterError::Layout(position));
            }
        }
        Ok(())
    }
}

/// The consent-request template's body as the candidate sees it: `{{1}}` is the employer's name
/// and `{{2}}` the privacy-notice link, the parameters hoheit sends with it
/// (`Hoheit::request_consent`). `None` when the synced text is unknown.
pub fn rendered_consent_body(template: &Template, employer: &str, notice_url: Option<&str>) -> Option<String> {
    let body = template.body_text.as_deref()?;
    Some(body.replace("{{1}}", employer).replace("{{2}}", notice_url.unwrap_or_default()))
}

/// Whether a text carries the first-message notice of R15: the privacy-notice link (non-empty)
/// and the Art. 21(4) objection hint (the keyword STOPP or STOP to reply with).
pub fn notice_in_text(text: &str, notice_url: Option<&str>) -> bool {
    let Some(link) = notice_url.map(str::trim).filter(|l| !l.is_empty()) else {
        return false;
    };
    let lower = text.to_lowercase();
    let hint = lower.split(|c: char| !c.is_alphanumeric()).any(|w| w == "stopp" || w == "stop");
    hint && text.contains(link)
}

/// The templates of a tenant's channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCatalogue {
    templates: Vec<Template>,
}

impl TemplateCatalogue {
    /// Builds a catalogue.
    pub fn new(templates: Vec<Template>) -> Self {
        Self { templates }
    }

    /// All templates.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Finds a channel's template by name and language.
    pub fn find(&self, channel: ChannelId, name: &TemplateName, language: &LanguageCode) -> Option<&Template> {
        self.templates.iter().find(|t| t.channel == channel && t.name == *name && t.language == *language)
    }

    /// Replaces a channel's templates after a sync, keeping the tenant's `carries_notice` marks,
    /// except for the consent-request template, whose mark follows its synced text (R15): it
    /// carries the notice only if the text, as sent, contains the link and the objection hint.
    pub fn replace_channel_with_consent(
        &mut self,
        channel: ChannelId,
        synced: Vec<Template>,
        consent: (&TemplateName, &LanguageCode),
        employer: &str,
        notice_url: Option<&str>,
    ) {
        self.replace_channel(channel, synced);
        for t in &mut self.templates {
            if t.channel == channel && t.name == *consent.0 && t.language == *consent.1 {
                t.carries_notice = rendered_consent_body(t, employer, notice_url)
                    .is_some_and(|body| notice_in_text(&body, notice_url));
            }
        }
    }

    /// Replaces a channel's templates after a sync, keeping the tenant's `carries_notice` marks.
    pub fn replace_channel(&mut self, channel: ChannelId, synced: Vec<Template>) {
        let marks: Vec<(TemplateName, LanguageCode)> = self
            .templates
            .iter()
            .filter(|t| t.channel == channel && t.carries_notice)
            .map(|t| (t.name.clone(), t.language.clone()))
            .collect();
        self.templates.retain(|t| t.channel != channel);
        self.templates.extend(synced.into_iter().map(|mut t| {
            t.carries_notice = t.carries_notice || marks.iter().any(|(n, l)| *n == t.name && *l == t.language);
            t
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    fn template(body_parameters: u8, shape: TemplateShape) -> Template {
        Template {
            channel: ChannelId::from_uuid(Uuid::nil()),
            name: TemplateName::parse("interview_invite").unwrap(),
            language: LanguageCode::german(),
            category: TemplateCategory::Utility,
            status: TemplateStatus::Approved,
            body_parameters,
            quick_replies: 0,
            carries_notice: false,
            components_json: "[]".into(),
            body_text: None,
            shape,
            synced_at: datetime!(2025-03-01 00:00 UTC),
        }
    }

    fn params(values: &[&str]) -> Vec<Pii<String>> {
        values.iter().map(|v| Pii::new((*v).to_owned())).collect()
    }

    #[test]
    fn parameters_must_fit_the_placeholders() {
        let t = template(2, TemplateShape::default());
        assert_eq!(t.check_parameters(&params(&["Montag", "10 Uhr"])), Ok(()));
        assert_eq!(
            t.check_parameters(&params(&["Montag"])),
            Err(TemplateParameterError::Count { expected: 2, got: 1 })
        );
        assert_eq!(t.check_parameters(&params(&["Montag", " "])), Err(TemplateParameterError::Empty(2)));
        assert_eq!(t.check_parameters(&params(&["Mon\ntag", "x"])), Err(TemplateParameterError::Layout(1)));
        assert_eq!(t.check_parameters(&params(&["a\tb", "x"])), Err(TemplateParameterError::Layout(1)));
        assert_eq!(t.check_parameters(&params(&["x", "a     b"])), Err(TemplateParameterError::Layout(2)));
        assert_eq!(t.check_parameters(&params(&["x", "a    b"])), Ok(()));
        let long = "x".repeat(MAX_PARAMETER_CHARS + 1);
        assert_eq!(t.check_parameters(&params(&["x", &long])), Err(TemplateParameterError::TooLong(2)));
        assert_eq!(template(0, TemplateShape::default()).check_parameters(&[]), Ok(()));
    }

    #[test]
    fn templates_needing_more_than_body_parameters_are_refused() {
        for shape in [
            TemplateShape { named_body_parameters: true, ..TemplateShape::default() },
            TemplateShape { header_parameter: true, ..TemplateShape::default() },
            TemplateShape { dynamic_buttons: 1, ..TemplateShape::default() },
        ] {
            assert!(matches!(
                template(1, shape).check_parameters(&params(&["x"])),
                Err(TemplateParameterError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn error_messages_never_quote_a_value() {
        let t = template(1, TemplateShape::default());
        for value in ["Erika\nMustermann", "", "geheim     text"] {
            let e = t.check_parameters(&params(&[value])).unwrap_err().to_string();
            assert!(value.trim().is_empty() || !e.contains(value.trim()), "{e}");
        }
    }

    #[test]
    fn old_stored_templates_read_with_the_default_shape() {
        let t = template(1, TemplateShape::default());
        let mut json: serde_json::Value = serde_json::to_value(&t).unwrap();
        json.as_object_mut().unwrap().remove("shape");
        let back: Template = serde_json::from_value(json).unwrap();
        assert_eq!(back.shape, TemplateShape::default());
    }
}
