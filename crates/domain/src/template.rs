//! WhatsApp templates as synced from 360Dialog (R21): status and category decide whether a
//! template may be sent; the tenant marks which templates carry the Art. 13 / 21(4) notice.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::ChannelId;
use crate::values::{LanguageCode, TemplateName};

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
    /// Whether the tenant confirmed that it carries the Art. 13 / Art. 21(4) notice (R15).
    pub carries_notice: bool,
    /// The template's components as WhatsApp returned them (JSON text; not personal data).
    pub components_json: String,
    /// When it was synced.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
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
