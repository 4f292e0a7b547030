//! Legal texts shown to candidates (R5-R7): terms, privacy notice and the consent request, each
//! published in versions. Consent evidence stores the version and SHA-256 of exactly what was
//! shown; a materially new terms or privacy-notice version makes earlier consents outdated.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::LegalTextId;
use crate::values::{InvalidValue, LanguageCode, Sha256Digest};

/// Which legal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalTextKind {
    /// Terms of use of the WhatsApp channel.
    Terms,
    /// The privacy notice (Art. 13).
    PrivacyNotice,
    /// The consent request text (must satisfy R6).
    ConsentRequest,
}

impl LegalTextKind {
    /// Stable name used in APIs and audit details.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Terms => "terms",
            Self::PrivacyNotice => "privacy_notice",
            Self::ConsentRequest => "consent_request",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "terms" => Ok(Self::Terms),
            "privacy_notice" => Ok(Self::PrivacyNotice),
            "consent_request" => Ok(Self::ConsentRequest),
            _ => Err(InvalidValue::new("legal text kind", "expected terms, privacy_notice or consent_request")),
        }
    }
}

/// A version label as the tenant names it (`2025-06`, `v3`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LegalTextVersion(String);

impl LegalTextVersion {
    /// Parses a non-empty label of at most 64 printable characters.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() || value.len() > 64 || value.chars().any(char::is_control) {
            return Err(InvalidValue::new("legal text version", "1-64 printable characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::values::text_conversions!(LegalTextVersion, InvalidValue, LegalTextVersion::parse, |v: LegalTextVersion| v.0);

/// What the evidence records about a text that was shown: kind, version and hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LegalTextRef {
    /// Which text.
    pub kind: LegalTextKind,
    /// The version label.
    pub version: LegalTextVersion,
    /// SHA-256 of the exact body.
    pub sha256: Sha256Digest,
    /// The language it was shown in.
    pub language: LanguageCode,
}

/// Terms `v1` in German, as unit tests record them in consent evidence.
#[cfg(test)]
pub(crate) fn terms_v1_shown() -> LegalTextRef {
    LegalTextRef {
        kind: LegalTextKind::Terms,
        version: LegalTextVersion::parse("v1").unwrap(),
        sha256: Sha256Digest::of(b"t"),
        language: LanguageCode::german(),
    }
}

/// A published legal text. Legal texts are the employer's documents, not personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalText {
    /// Id of this version.
    pub id: LegalTextId,
    /// Which text.
    pub kind: LegalTextKind,
    /// Version label.
    pub version: LegalTextVersion,
    /// Language.
    pub language: LanguageCode,
    /// The exact text.
    pub body: String,
    /// Where the full text is published, if anywhere.
    pub url: Option<String>,
    /// Whether this version changes the substance, so consents given on earlier versions must be
    /// renewed (R7). Editorial fixes are not material.
    pub material: bool,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// SHA-256 of `body`.
    pub sha256: Sha256Digest,
}

impl LegalText {
    /// Reference for consent evidence.
    pub fn reference(&self) -> LegalTextRef {
        LegalTextRef {
            kind: self.kind,
            version: self.version.clone(),
            sha256: self.sha256,
            language: self.language.clone(),
        }
    }
}

/// Why a text cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegalTextError {
    /// Empty or absurdly long.
    #[error("legal text body must be 1 to 20000 characters")]
    InvalidBody,
    /// The same kind, version and language exists already (published texts are immutable).
    #[error("this version of the text is already published")]
    VersionExists,
    /// A consent request that lacks what R6 requires.
    #[error("the consent request text lacks required elements: {}", missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))]
    ConsentRequestIncomplete {
        /// The missing elements.
        missing: Vec<ConsentRequestElement>,
    },
}

/// Elements a consent request must contain (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRequestElement {
    /// The employer's name.
    EmployerName,
    /// The purpose (the application process).
    Purpose,
    /// That WhatsApp / Meta is involved.
    WhatsAppMeta,
    /// That data may be transferred to the US.
    UsTransfer,
    /// How to withdraw or object (the keyword).
    WithdrawalInstruction,
}

impl ConsentRequestElement {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmployerName => "employer_name",
            Self::Purpose => "purpose",
            Self::WhatsAppMeta => "whatsapp_meta",
            Self::UsTransfer => "us_transfer",
            Self::WithdrawalInstruction => "withdrawal_instruction",
        }
    }
}

/// Checks a consent-request text against R6 for the given employer. Matching is on the
/// normalised text (case, umlauts), in German or English.
pub fn missing_consent_request_elements(body: &str, employer_name: &str) -> Vec<ConsentRequestElement> {
    let text = crate::classifier::normalise(body);
    let employer = crate::classifier::normalise(employer_name);
    let has_word = |w: &str| text.split(' ').any(|t| t == w);
    let has_any = |ws: &[&str]| ws.iter().any(|w| has_word(w) || (w.contains(' ') && text.contains(w)));
    let mut missing = Vec::new();
    if employer.is_empty() || !text.contains(&employer) {
        missing.push(ConsentRequestElement::EmployerName);
    }
    if !text.split(' ').any(|t| t.starts_with("bewerb") || t.starts_with("application") || t.starts_with("recruit")) {
        missing.push(ConsentRequestElement::Purpose);
    }
    if !(has_word("whatsapp") && has_word("meta")) {
        missing.push(ConsentRequestElement::WhatsAppMeta);
    }
    // "us" alone is the English pronoun ("let us know"), not the United States; "U.S." counts
    let raw = body.to_lowercase();
    let us_abbreviation = raw.contains("u.s.") || raw.contains("u. s.");
    if !us_abbreviation
        && !has_any(&[
            "usa",
            "vereinigte staaten",
            "vereinigten staaten",
            "united states",
            "drittland",
            "drittlaender",
            "drittstaat",
            "drittstaaten",
            "third country",
            "third countries",
        ])
    {
        missing.push(ConsentRequestElement::UsTransfer);
    }
    if !has_any(&["stopp", "stop"])
        || !text.split(' ').any(|t| {
            t.starts_with("widerruf")
                || t.starts_with("widersprech")
                || t.starts_with("widerspruch")
                || t.starts_with("withdraw")
                || t.starts_with("object")
        })
    {
        missing.push(ConsentRequestElement::WithdrawalInstruction);
    }
    missing
}

/// All published texts of a tenant, oldest first (ties broken by id, so the order is stable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalTextCatalogue {
    texts: Vec<LegalText>,
}

impl LegalTextCatalogue {
    /// Builds the catalogue (sorted by publication time).
    pub fn new(mut texts: Vec<LegalText>) -> Self {
        texts.sort_by_key(|t| (t.published_at, t.id));
        Self { texts }
    }

    /// All texts, oldest first.
    pub fn texts(&self) -> &[LegalText] {
        &self.texts
    }

    /// Validates and builds a new text version; does not add it.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &self,
        id: LegalTextId,
        kind: LegalTextKind,
        version: LegalTextVersion,
        language: LanguageCode,
        body: String,
        url: Option<String>,
        material: bool,
        employer_name: &str,
        now: OffsetDateTime,
    ) -> Result<LegalText, LegalTextError> {
        if body.trim().is_empty() || body.chars().count() > 20_000 {
            return Err(LegalTextError::InvalidBody);
        }
        if self.texts.iter().any(|t| t.kind == kind && t.version == version && t.language == language) {
            return Err(LegalTextError::VersionExists);
        }
        if kind == LegalTextKind::ConsentRequest {
            let missing = missing_consent_request_elements(&body, employer_name);
            if !missing.is_empty() {
                return Err(LegalTextError::ConsentRequestIncomplete { missing });
            }
        }
        let sha256 = Sha256Digest::of(body.as_bytes());
        Ok(LegalText { id, kind, version, language, body, url, material, published_at: now, sha256 })
    }

    /// Adds a prepared text.
    pub fn push(&mut self, text: LegalText) {
        self.texts.push(text);
        self.texts.sort_by_key(|t| (t.published_at, t.id));
    }

    /// The newest text of a kind, preferring the given language, then German, then any.
    pub fn current(&self, kind: LegalTextKind, language: &LanguageCode) -> Option<&LegalText> {
        let newest = |pred: &dyn Fn(&LegalText) -> bool| self.texts.iter().rev().find(|t| t.kind == kind && pred(t));
        newest(&|t| t.language == *language)
            .or_else(|| newest(&|t| t.language.primary() == language.primary()))
            .or_else(|| newest(&|t| t.language.primary() == "de"))
            .or_else(|| newest(&|_| true))
    }

    /// The texts a consent request shows: terms, privacy notice and the request itself.
    /// `None` when one of them has not been published yet.
    pub fn consent_bundle(&self, language: &LanguageCode) -> Option<Vec<LegalTextRef>> {
        [LegalTextKind::Terms, LegalTextKind::PrivacyNotice, LegalTextKind::ConsentRequest]
            .into_iter()
            .map(|k| self.current(k, language).map(LegalText::reference))
            .collect()
    }

    /// Whether a consent given on the shown texts is still current (R7): for terms and privacy
    /// notice, the version shown must be the latest material version of that kind or newer.
    pub fn consent_is_current(&self, shown: &[LegalTextRef]) -> bool {
        [LegalTextKind::Terms, LegalTextKind::PrivacyNotice].into_iter().all(|kind| {
            let Some(last_material) = self.texts.iter().rposition(|t| t.kind == kind && t.material) else {
                return true;
            };
            shown.iter().filter(|r| r.kind == kind).any(|r| {
                self.texts
                    .iter()
                    .position(|t| t.kind == kind && t.sha256 == r.sha256 && t.version == r.version)
                    .is_some_and(|pos| pos >= last_material)
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    pub(crate) const CONSENT_DE: &str = "Die Beispiel GmbH möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. \
        WhatsApp gehört zu Meta; Daten können in die USA übermittelt werden. Sie können jederzeit widersprechen \
        oder Ihre Einwilligung widerrufen: antworten Sie einfach STOPP.";

    /// A German text of Beispiel GmbH prepared in `cat`, without URL.
    fn prepare(
        cat: &LegalTextCatalogue,
        id: u128,
        kind: LegalTextKind,
        version: &str,
        body: &str,
        material: bool,
        at: OffsetDateTime,
    ) -> Result<LegalText, LegalTextError> {
        let version = LegalTextVersion::parse(version).unwrap();
        let id = LegalTextId::from_uuid(Uuid::from_u128(id));
        cat.prepare(id, kind, version, LanguageCode::german(), body.into(), None, material, "Beispiel GmbH", at)
    }

    fn catalogue_with(material_second: bool) -> (LegalTextCatalogue, LegalTextRef, LegalTextRef) {
        let mut cat = LegalTextCatalogue::default();
        let versions =
            [("v1", true, datetime!(2025-01-01 00:00 UTC)), ("v2", material_second, datetime!(2025-06-01 00:00 UTC))];
        let mut refs = Vec::new();
        for (id, (version, material, at)) in (1..).zip(versions) {
            let body = format!("Datenschutzhinweise {version}");
            let text = prepare(&cat, id, LegalTextKind::PrivacyNotice, version, &body, material, at).unwrap();
            refs.push(text.reference());
            cat.push(text);
        }
        let [r1, r2] = <[LegalTextRef; 2]>::try_from(refs).unwrap();
        (cat, r1, r2)
    }

    #[test]
    fn material_new_version_outdates_consent() {
        let (cat, r1, r2) = catalogue_with(true);
        assert!(!cat.consent_is_current(std::slice::from_ref(&r1)));
        assert!(cat.consent_is_current(&[r2]));
    }

    #[test]
    fn editorial_new_version_keeps_consent_current() {
        let (cat, r1, r2) = catalogue_with(false);
        assert!(cat.consent_is_current(&[r1]));
        assert!(cat.consent_is_current(&[r2]));
    }

    #[test]
    fn a_complete_consent_request_passes_r6() {
        assert!(missing_consent_request_elements(CONSENT_DE, "Beispiel GmbH").is_empty());
        let en = "Example Ltd would like to contact you about your application via WhatsApp (a Meta service); \
                  data may be transferred to the United States. Reply STOP to object or withdraw consent at any time.";
        assert!(missing_consent_request_elements(en, "Example Ltd").is_empty());
    }

    #[test]
    fn the_word_us_is_not_the_us_transfer() {
        // R6: "let us know" names no transfer to the United States
        let text = "Beispiel GmbH would like to contact you about your application via WhatsApp, a Meta \
            service. Let us know if you agree. You can withdraw or object at any time: reply STOP.";
        assert_eq!(missing_consent_request_elements(text, "Beispiel GmbH"), vec![ConsentRequestElement::UsTransfer]);
        for transfer in ["data may go to the USA", "data may go to the U.S.", "data may go to the United States"] {
            let complete = format!("{text} {transfer}");
            assert!(missing_consent_request_elements(&complete, "Beispiel GmbH").is_empty(), "{transfer}");
        }
    }

    #[test]
    fn an_incomplete_consent_request_names_what_is_missing() {
        let missing = missing_consent_request_elements("Dürfen wir Ihnen schreiben?", "Beispiel GmbH");
        assert_eq!(
            missing,
            vec![
                ConsentRequestElement::EmployerName,
                ConsentRequestElement::Purpose,
                ConsentRequestElement::WhatsAppMeta,
                ConsentRequestElement::UsTransfer,
                ConsentRequestElement::WithdrawalInstruction,
            ]
        );
        let cat = LegalTextCatalogue::default();
        let err = prepare(
            &cat,
            9,
            LegalTextKind::ConsentRequest,
            "v1",
            "Dürfen wir Ihnen schreiben?",
            true,
            datetime!(2025-01-01 00:00 UTC),
        )
        .unwrap_err();
        assert!(matches!(err, LegalTextError::ConsentRequestIncomplete { .. }));
    }

    #[test]
    fn a_published_version_cannot_be_published_again() {
        let (cat, _, _) = catalogue_with(true);
        let err =
            prepare(&cat, 3, LegalTextKind::PrivacyNotice, "v1", "changed", true, datetime!(2025-07-01 00:00 UTC))
                .unwrap_err();
        assert_eq!(err, LegalTextError::VersionExists);
    }
}
