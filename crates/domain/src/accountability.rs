//! Accountability documents generated from the tenant's configuration (R2, R35): the Art. 30
//! record of processing activities and the WhatsApp section of the candidate-facing privacy
//! notice (Art. 13, 21(4)). Both are pure functions of [`TenantConfig`], so what the documents
//! say is what hoheit is configured to do: the retention periods are the tenant's settings, the
//! recipients are the fixed processor chain ([`recipients`]), the channels are
//! the registered numbers with their DPO approvals.
//!
//! The texts are a starting point the controller's DPO reviews; they do not replace legal advice.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ports::TenantConfig;
use crate::template::TemplateCategory;
use crate::values::InvalidValue;

/// A recipient of personal data, as stated in the export.
#[derive(Debug, Clone, Serialize)]
pub struct DataRecipient {
    /// Who.
    pub name: &'static str,
    /// Role.
    pub role: &'static str,
    /// Where.
    pub location: &'static str,
    /// Transfer mechanism, where outside the EU/EEA.
    pub transfer: Option<&'static str>,
}

/// The fixed processor chain of hoheit (R2).
pub fn recipients() -> Vec<DataRecipient> {
    vec![
        DataRecipient {
            name: "hoheit platform operator",
            role: "processor (Art. 28 GDPR)",
            location: "EU",
            transfer: None,
        },
        DataRecipient {
            name: "360dialog GmbH",
            role: "sub-processor (WhatsApp Business Solution Provider)",
            location: "Berlin, Germany",
            transfer: None,
        },
        DataRecipient {
            name: "Meta Platforms Ireland Ltd. (WhatsApp)",
            role: "sub-processor (WhatsApp Business Platform)",
            location: "Ireland, with possible transfer to the USA",
            transfer: Some("EU-US Data Privacy Framework (adequacy decision (EU) 2023/1795)"),
        },
    ]
}

/// Schema version of [`RecordOfProcessing`] (bump on incompatible changes).
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// The language of a generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLanguage {
    /// German.
    German,
    /// English.
    English,
}

impl NoticeLanguage {
    /// Parses `de` or `en` (also `de_DE`, `en_US`, case-insensitive).
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let primary = value.trim().split(['_', '-']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "de" => Ok(Self::German),
            "en" => Ok(Self::English),
            _ => Err(InvalidValue::new("language", "expected de or en")),
        }
    }

    /// The ISO 639-1 code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::German => "de",
            Self::English => "en",
        }
    }
}

/// The controller (Art. 30(1)(a)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerEntry {
    /// The employer's name.
    pub name: String,
    /// Privacy contact (the DPO's mailbox), as configured.
    pub privacy_contact: Option<String>,
    /// Where the privacy notice is published.
    pub privacy_notice_url: Option<String>,
}

/// A purpose with its legal basis (Art. 30(1)(b)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeEntry {
    /// Stable id (`application_process`, `whatsapp_channel`, `talent_pool`, `defence_of_claims`,
    /// `accountability`).
    pub id: &'static str,
    /// What is done.
    pub description: &'static str,
    /// The legal basis.
    pub legal_basis: &'static str,
    /// Whether the processing needs the candidate's consent.
    pub consent: bool,
}

/// A category of personal data (Art. 30(1)(c)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataCategoryEntry {
    /// Stable id.
    pub id: &'static str,
    /// What it contains.
    pub description: &'static str,
    /// How hoheit stores it.
    pub storage: &'static str,
}

/// A transfer to a third country (Art. 30(1)(e)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferEntry {
    /// The recipient.
    pub recipient: &'static str,
    /// The country.
    pub country: &'static str,
    /// The transfer mechanism (Art. 45 ff.).
    pub mechanism: &'static str,
    /// What the DPO should watch.
    pub note: &'static str,
}

/// A retention rule (Art. 30(1)(f), R23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionEntry {
    /// Stable id.
    pub id: &'static str,
    /// Which data.
    pub data: &'static str,
    /// What starts the period.
    pub trigger: &'static str,
    /// How long, from the tenant's settings (`null` where no period applies).
    pub period: Option<String>,
    /// What happens at the end (`erase`, `restrict`, `keep`).
    pub action: &'static str,
    /// Why.
    pub basis: &'static str,
}

/// A technical or organisational measure (Art. 30(1)(g), Art. 32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityEntry {
    /// Stable id.
    pub id: &'static str,
    /// The measure.
    pub description: &'static str,
}

/// A WhatsApp number of the tenant and the DPO's sign-off (R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelEntry {
    /// Channel id.
    pub id: String,
    /// The business number (E.164).
    pub display_phone_number: String,
    /// Whether a valid DPO approval is in force at the time of the record.
    pub approved: bool,
    /// When the DPO approved it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub approved_at: Option<OffsetDateTime>,
    /// DPIA or threshold-analysis reference.
    pub dpia_reference: Option<String>,
    /// When the approval must be reviewed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub review_at: Option<OffsetDateTime>,
    /// Documents reviewed, as `name@version`.
    pub documents_reviewed: Vec<String>,
    /// Synced templates per category (`UTILITY`, `MARKETING`, `AUTHENTICATION`).
    pub templates: Vec<(&'static str, u32)>,
}

/// The tenant's Art. 30 record for the WhatsApp processing.
#[derive(Debug, Clone, Serialize)]
pub struct RecordOfProcessing {
    /// [`RECORD_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When it was generated.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Name of the processing activity.
    pub activity: &'static str,
    /// The controller.
    pub controller: ControllerEntry,
    /// Purposes and legal bases.
    pub purposes: Vec<PurposeEntry>,
    /// Categories of data subjects.
    pub data_subjects: Vec<&'static str>,
    /// Categories of personal data.
    pub data_categories: Vec<DataCategoryEntry>,
    /// Recipients: the operator, 360dialog and Meta (R2), plus the controller's own staff.
    pub recipients: Vec<DataRecipient>,
    /// Internal recipients (roles of the controller's staff).
    pub internal_recipients: Vec<&'static str>,
    /// Transfers to third countries.
    pub transfers: Vec<TransferEntry>,
    /// Retention rules.
    pub retention: Vec<RetentionEntry>,
    /// Technical and organisational measures.
    pub security_measures: Vec<SecurityEntry>,
    /// The WhatsApp numbers and their approvals.
    pub channels: Vec<ChannelEntry>,
    /// How the DPO approving the numbers is appointed (R1's separation of duties):
    /// `independent` (default: a DPO credential created by the registering admin may not
    /// approve) or `appointed_by_admin` (the tenant allowed it explicitly; audited).
    pub dpo_appointment: &'static str,
}

fn months(n: u32) -> String {
    if n == 1 { "1 month".to_owned() } else { format!("{n} months") }
}

fn purposes() -> Vec<PurposeEntry> {
    vec![
        PurposeEntry {
            id: "application_process",
            description: "Communicating with candidates about their application (questions, appointments, status)",
            legal_basis: "Art. 6(1)(b) GDPR (steps prior to an employment contract at the candidate's request), \
                          Art. 88 GDPR with § 26 BDSG",
            consent: false,
        },
        PurposeEntry {
            id: "whatsapp_channel",
            description: "Using WhatsApp (through 360dialog and Meta) as the channel for that communication",
            legal_basis: "Art. 6(1)(a), Art. 7 GDPR (consent, withdrawable at any time); \
                          nothing but the consent request is sent before it is given",
            consent: true,
        },
        PurposeEntry {
            id: "talent_pool",
            description: "Keeping the candidate's data to offer other vacancies",
            legal_basis: "Art. 6(1)(a), Art. 7 GDPR (separate consent; off by default)",
            consent: true,
        },
        PurposeEntry {
            id: "defence_of_claims",
            description: "Keeping the data after a rejection while claims under the AGG can be brought",
            legal_basis: "Art. 6(1)(f), Art. 17(3)(e) GDPR; § 15(4) AGG, § 61b ArbGG",
            consent: false,
        },
        PurposeEntry {
            id: "accountability",
            description: "Proving lawful processing: consent and objection evidence, audit log, register of \
                          data-subject requests, suppression list of objections",
            legal_basis: "Art. 6(1)(c) GDPR with Art. 5(2), 7(1), 12, 21(3) GDPR",
            consent: false,
        },
    ]
}

fn data_categories() -> Vec<DataCategoryEntry> {
    const SEALED: &str = "encrypted at rest with a per-candidate key; destroyed on erasure";
    vec![
        DataCategoryEntry {
            id: "contact",
            description: "Phone number, WhatsApp user id, name, WhatsApp profile name, preferred language",
            storage: "encrypted at rest with a per-candidate key; found through a keyed hash (blind index); \
                      destroyed on erasure",
        },
        DataCategoryEntry {
            id: "message_content",
            description: "Texts, button replies, locations, contacts and media (images, documents, audio, video) \
                          exchanged on WhatsApp",
            storage: SEALED,
        },
        DataCategoryEntry {
            id: "communication_metadata",
            description: "Times, direction, message type, delivery status and WhatsApp message ids",
            storage: "in clear (no content); deleted on erasure",
        },
        DataCategoryEntry {
            id: "consent_and_objection_evidence",
            description: "Purpose, method, time, versions and SHA-256 of the texts shown, web-form IP address and \
                          user agent, objections and their source",
            storage: "encrypted at rest; on erasure only a content-free record stays (no IP address, user agent \
                      or notes)",
        },
        DataCategoryEntry {
            id: "application_status",
            description: "Process end and its reason, legal holds, restriction",
            storage: SEALED,
        },
        DataCategoryEntry {
            id: "special_categories",
            description: "Not asked for; may occur in what a candidate writes or sends (Art. 9 GDPR)",
            storage: "treated like all message content",
        },
    ]
}

fn retention(config: &TenantConfig) -> Vec<RetentionEntry> {
    let r = &config.tenant.retention;
    let m = &config.tenant.messaging;
    vec![
        RetentionEntry {
            id: "candidate_data",
            data: "Contact data, messages, media, application status",
            trigger: "end of the application process (rejection delivered, withdrawal, vacancy closed, hire)",
            period: Some(months(r.erase_after_months)),
            action: "erase (the candidate key is destroyed)",
            basis: "Art. 5(1)(e), 17 GDPR; § 15(4) AGG, § 61b ArbGG",
        },
        RetentionEntry {
            id: "process_end_by_inactivity",
            data: "Candidates whose process end was never recorded, including those created by an unknown \
                   sender writing in",
            trigger: "the last activity: the process counts as ended by inactivity after this period, then the \
                      candidate_data period runs",
            period: Some(months(r.process_end_after_inactive_months)),
            action: "the process counts as ended; erase after the candidate_data period (R24)",
            basis: "Art. 5(1)(c), 5(1)(e), 17 GDPR",
        },
        RetentionEntry {
            id: "legal_claims_window",
            data: "All data of a rejected candidate who asks for erasure",
            trigger: "the rejection",
            period: Some(months(r.claims_window_months)),
            action: "restrict now, erase when the period ends",
            basis: "Art. 17(3)(e), 18 GDPR",
        },
        RetentionEntry {
            id: "talent_pool",
            data: "Candidate data kept for other vacancies",
            trigger: "the talent-pool consent",
            period: Some(months(r.talent_pool_months)),
            action: "consent expires; the data is erased unless another purpose applies",
            basis: "Art. 6(1)(a), 7(3) GDPR",
        },
        RetentionEntry {
            id: "inactive_conversation",
            data: "Conversations without activity",
            trigger: "the last activity",
            period: r.archive_after_days.map(|d| format!("{d} days")),
            action: if r.archive_after_days.is_some() { "restrict" } else { "none (not configured)" },
            basis: "Art. 5(1)(c), 18 GDPR",
        },
        RetentionEntry {
            id: "legal_hold",
            data: "Data of a candidate under a legal hold (claim asserted, authority inquiry)",
            trigger: "the hold",
            period: Some(format!("until released; reviewed every {}", months(m.legal_hold_review_months))),
            action: "keep, no messaging",
            basis: "Art. 17(3)(e) GDPR",
        },
        RetentionEntry {
            id: "suppression_list",
            data: "Keyed hash of the phone number, scope and date of an objection",
            trigger: "the objection",
            period: None,
            action: "keep after erasure, so the objection is honoured if the number returns",
            basis: "Art. 21(3) GDPR, Art. 5(2) GDPR",
        },
        RetentionEntry {
            id: "evidence_and_register",
            data: "Content-free consent and objection evidence, subject-request register",
            trigger: "erasure of the candidate",
            period: None,
            action: "keep (no content, no contact data)",
            basis: "Art. 5(2), 7(1) GDPR",
        },
        RetentionEntry {
            id: "audit_log",
            data: "Audit entries: actions, pseudonymous ids, rule codes, times (no content, numbers or names)",
            trigger: "the action",
            period: None,
            action: "keep for the life of the tenant (hash-chained, tamper-evident)",
            basis: "Art. 5(2), 24 GDPR",
        },
        RetentionEntry {
            id: "provider_transit",
            data: "Messages and media in transit at 360dialog and Meta",
            trigger: "sending or receiving",
            period: Some("as stated by the providers (Meta: up to 30 days for delivery and retries)".to_owned()),
            action: "deleted by the provider",
            basis: "Art. 28 GDPR data processing agreements",
        },
    ]
}

fn security_measures() -> Vec<SecurityEntry> {
    vec![
        SecurityEntry {
            id: "encryption_at_rest",
            description: "Envelope encryption (XChaCha20-Poly1305): master key, per-tenant keys, per-candidate \
                          keys; the associated data binds each ciphertext to tenant, table, row and column",
        },
        SecurityEntry {
            id: "crypto_shredding",
            description: "Erasure deletes the content rows and destroys the candidate key in one transaction",
        },
        SecurityEntry {
            id: "blind_index",
            description: "Phone numbers are looked up by keyed hash (HMAC-SHA256), never stored in clear",
        },
        SecurityEntry {
            id: "transport",
            description: "TLS (rustls) to 360dialog; webhooks authenticated by an opaque route token plus a secret \
                          header and/or HMAC-SHA256 before they are parsed; media only from 360dialog hosts, \
                          checked against the announced SHA-256",
        },
        SecurityEntry {
            id: "access_control",
            description: "Bearer tokens per role (admin, DPO, recruiter; operator without access to content), \
                          stored as SHA-256, tenant isolation on every query, rate limits",
        },
        SecurityEntry {
            id: "audited_reads",
            description: "Every read of message content, media, a message under review and every export is \
                          recorded in the audit log with the reader",
        },
        SecurityEntry {
            id: "audit_log",
            description: "Per-tenant SHA-256 hash chain written in the same transaction as the change, with \
                          ed25519-signed checkpoints the DPO keeps outside hoheit",
        },
        SecurityEntry {
            id: "send_policy",
            description: "Every message is decided against consent, objection, restriction, legal hold, the \
                          24-hour window, template status and the DPO's channel approval, at request and again \
                          right before sending",
        },
        SecurityEntry {
            id: "data_minimisation",
            description: "No content, numbers or names in logs, errors or audit entries; automatic retention runs",
        },
    ]
}

impl RecordOfProcessing {
    /// Generates the record from the tenant's configuration at `now`.
    pub fn generate(config: &TenantConfig, now: OffsetDateTime) -> Self {
        let tenant = &config.tenant;
        let channels = config
            .channels
            .iter()
            .map(|c| {
                let approval = c.approval.as_ref();
                let templates =
                    [TemplateCategory::Utility, TemplateCategory::Marketing, TemplateCategory::Authentication]
                        .into_iter()
                        .map(|cat| {
                            let n =
                                config.templates.templates().iter().filter(|t| t.channel == c.id && t.category == cat);
                            (cat.as_str(), u32::try_from(n.count()).unwrap_or(u32::MAX))
                        })
                        .collect();
                ChannelEntry {
                    id: c.id.to_string(),
                    display_phone_number: c.display_phone_number.as_e164().to_owned(),
                    approved: c.is_approved_at(now),
                    approved_at: approval.map(|a| a.approved_at),
                    dpia_reference: approval.map(|a| a.dpia_reference.clone()),
                    review_at: approval.map(|a| a.review_at),
                    documents_reviewed: approval
                        .map(|a| a.documents.iter().map(|d| format!("{}@{}", d.name, d.version)).collect())
                        .unwrap_or_default(),
                    templates,
                }
            })
            .collect();
        Self {
            schema_version: RECORD_SCHEMA_VERSION,
            generated_at: now,
            activity: "WhatsApp communication with job candidates (hoheit)",
            controller: ControllerEntry {
                name: tenant.name.clone(),
                privacy_contact: tenant.privacy_contact.clone(),
                privacy_notice_url: tenant.privacy_notice_url.clone(),
            },
            purposes: purposes(),
            dpo_appointment: if tenant.credentials.dpo_appointed_by_admin {
                "appointed_by_admin"
            } else {
                "independent"
            },
            data_subjects: vec![
                "Job candidates (applicants) who communicate with the controller on WhatsApp",
                "People who write to the controller's WhatsApp number before they are candidates",
            ],
            data_categories: data_categories(),
            recipients: recipients(),
            internal_recipients: vec![
                "recruiters of the controller (conversations of running applications)",
                "the controller's administrators",
                "the controller's data-protection officer (reviews, exports, erasure, audit log)",
            ],
            transfers: vec![TransferEntry {
                recipient: "Meta Platforms Ireland Ltd. (WhatsApp)",
                country: "USA (Meta Platforms, Inc. and its sub-processors)",
                mechanism: "EU-US Data Privacy Framework, adequacy decision (EU) 2023/1795 (Art. 45 GDPR)",
                note: "The adequacy decision is challenged before the CJEU (C-703/25 P); review this transfer \
                       when the court decides",
            }],
            retention: retention(config),
            security_measures: security_measures(),
            channels,
        }
    }

    /// The record as Markdown (for the DPO's documentation).
    pub fn to_markdown(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let c = &self.controller;
        let _ = writeln!(out, "# Record of processing activities (Art. 30 GDPR)\n");
        let _ = writeln!(out, "**Processing activity:** {}  ", self.activity);
        let _ =
            writeln!(out, "**Generated:** {} (schema version {})\n", rfc3339(self.generated_at), self.schema_version);
        let _ = writeln!(out, "## 1. Controller\n");
        let _ = writeln!(out, "- Name: {}", c.name);
        let _ = writeln!(out, "- Privacy contact: {}", c.privacy_contact.as_deref().unwrap_or("(not configured)"));
        let _ = writeln!(out, "- Privacy notice: {}\n", c.privacy_notice_url.as_deref().unwrap_or("(not configured)"));
        let _ = writeln!(out, "## 2. Purposes and legal bases\n");
        let _ = writeln!(out, "| purpose | description | legal basis | consent |\n|---|---|---|---|");
        for p in &self.purposes {
            let consent = if p.consent { "yes" } else { "no" };
            let _ = writeln!(out, "| `{}` | {} | {} | {consent} |", p.id, p.description, p.legal_basis);
        }
        let _ = writeln!(out, "\n## 3. Categories of data subjects\n");
        for s in &self.data_subjects {
            let _ = writeln!(out, "- {s}");
        }
        let _ = writeln!(out, "\n## 4. Categories of personal data\n");
        let _ = writeln!(out, "| category | content | storage |\n|---|---|---|");
        for d in &self.data_categories {
            let _ = writeln!(out, "| `{}` | {} | {} |", d.id, d.description, d.storage);
        }
        let _ = writeln!(out, "\n## 5. Recipients\n");
        let _ = writeln!(out, "| recipient | role | location | transfer mechanism |\n|---|---|---|---|");
        for r in &self.recipients {
            let _ = writeln!(out, "| {} | {} | {} | {} |", r.name, r.role, r.location, r.transfer.unwrap_or("-"));
        }
        let _ = writeln!(out, "\nInternal recipients:\n");
        for r in &self.internal_recipients {
            let _ = writeln!(out, "- {r}");
        }
        let _ = writeln!(out, "\n## 6. Transfers to third countries\n");
        for t in &self.transfers {
            let _ = writeln!(out, "- {} -> {}: {}. {}", t.recipient, t.country, t.mechanism, t.note);
        }
        let _ = writeln!(out, "\n## 7. Retention\n");
        let _ = writeln!(out, "| data | trigger | period | action | basis |\n|---|---|---|---|---|");
        for r in &self.retention {
            let period = r.period.as_deref().unwrap_or("-");
            let _ = writeln!(out, "| {} | {} | {period} | {} | {} |", r.data, r.trigger, r.action, r.basis);
        }
        let _ = writeln!(out, "\n## 8. Technical and organisational measures (Art. 32 GDPR)\n");
        for s in &self.security_measures {
            let _ = writeln!(out, "- **{}**: {}", s.id, s.description);
        }
        let _ = writeln!(out, "\n## 9. WhatsApp numbers and the DPO's approval\n");
        let _ = writeln!(
            out,
            "DPO appointment: {} (a DPO whose credential the registering admin created {} approve).\n",
            self.dpo_appointment,
            if self.dpo_appointment == "independent" { "may not" } else { "may" }
        );
        if self.channels.is_empty() {
            let _ = writeln!(out, "No number registered.");
        } else {
            let _ = writeln!(
                out,
                "| number | approved | approved at | DPIA | review at | documents |\n|---|---|---|---|---|---|"
            );
            for ch in &self.channels {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    ch.display_phone_number,
                    if ch.approved { "yes" } else { "no" },
                    ch.approved_at.map_or_else(|| "-".to_owned(), rfc3339),
                    ch.dpia_reference.as_deref().unwrap_or("-"),
                    ch.review_at.map_or_else(|| "-".to_owned(), rfc3339),
                    if ch.documents_reviewed.is_empty() { "-".to_owned() } else { ch.documents_reviewed.join(", ") },
                );
            }
        }
        out
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The WhatsApp section of the tenant's privacy notice (Art. 13 GDPR, the Art. 21(4) hint), in
/// German or English, as Markdown.
pub fn privacy_notice_section(config: &TenantConfig, language: NoticeLanguage) -> String {
    let t = &config.tenant;
    let r = &t.retention;
    let contact = t.privacy_contact.as_deref();
    let mut out = String::with_capacity(4 * 1024);
    match language {
        NoticeLanguage::German => {
            let _ = writeln!(out, "## Kommunikation über WhatsApp\n");
            let _ = writeln!(
                out,
                "**Verantwortlicher** ist {}{}. Wenn Sie zustimmen, sprechen wir mit Ihnen über Ihre Bewerbung auch \
                 über WhatsApp (Fragen, Termine, Stand des Verfahrens).\n",
                t.name,
                contact.map(|c| format!(" (Datenschutzkontakt: {c})")).unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "**Zwecke und Rechtsgrundlagen.** Die Kommunikation über Ihre Bewerbung beruht auf Art. 6 Abs. 1 \
                 lit. b DSGVO (Anbahnung eines Beschäftigungsverhältnisses). Dass wir dafür WhatsApp nutzen, beruht \
                 auf Ihrer Einwilligung (Art. 6 Abs. 1 lit. a, Art. 7 DSGVO); vorher senden wir Ihnen nur die Bitte \
                 um diese Einwilligung. Für unseren Talentpool speichern wir Ihre Daten nur mit einer gesonderten \
                 Einwilligung.\n"
            );
            let _ = writeln!(
                out,
                "**Welche Daten.** Ihre Telefonnummer, Ihren Namen und WhatsApp-Profilnamen, die Nachrichten und \
                 Dateien, die wir austauschen, deren Zeitpunkte und Zustellstatus sowie Ihre Einwilligungen und \
                 Widersprüche. Wir speichern Inhalte verschlüsselt.\n"
            );
            let _ = writeln!(
                out,
                "**Empfänger.** Unsere Auftragsverarbeiter sind der Betreiber von hoheit, die 360dialog GmbH \
                 (Berlin, WhatsApp Business Solution Provider) und die Meta Platforms Ireland Ltd. (WhatsApp). Meta \
                 kann Daten in die USA übermitteln; Grundlage ist der Angemessenheitsbeschluss der EU-Kommission \
                 zum EU-US Data Privacy Framework (Art. 45 DSGVO).\n"
            );
            let archive = r
                .archive_after_days
                .map(|d| format!(" Unterhaltungen ohne Aktivität schränken wir nach {d} Tagen ein."))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "**Speicherdauer.** Wir löschen Ihre Daten {} nach Abschluss des Bewerbungsverfahrens; ist kein \
                 Abschluss erfasst, gilt das Verfahren {} nach Ihrer letzten Nachricht als abgeschlossen. Nach einer \
                 Absage bewahren wir sie bis zu {} auf, um uns gegen Ansprüche nach dem AGG verteidigen zu können \
                 (Art. 17 Abs. 3 lit. e DSGVO); in dieser Zeit ist die Verarbeitung eingeschränkt. Mit \
                 Talentpool-Einwilligung speichern wir sie {}.{archive} Damit wir Ihren Widerspruch auch später \
                 beachten, behalten wir nach der Löschung nur einen verschlüsselten Prüfwert (Hash) Ihrer Nummer. \
                 360dialog und Meta speichern Nachrichten für die Zustellung vorübergehend.\n",
                monate(r.erase_after_months),
                monate(r.process_end_after_inactive_months),
                monate(r.claims_window_months),
                monate(r.talent_pool_months)
            );
            let _ = writeln!(
                out,
                "**Ihr Widerspruchsrecht (Art. 21 DSGVO).** Sie können der Kommunikation über WhatsApp jederzeit \
                 formlos widersprechen: Antworten Sie einfach **STOPP** (oder „Widerspruch“, „abmelden“){}. Wir \
                 senden Ihnen danach keine WhatsApp-Nachrichten mehr, nur noch eine Bestätigung. Mit **START** \
                 können Sie sich wieder anmelden.\n",
                contact.map(|c| format!(" oder schreiben Sie an {c}")).unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "**Widerruf der Einwilligung.** Sie können Ihre Einwilligung jederzeit mit Wirkung für die Zukunft \
                 widerrufen, ebenso einfach wie Sie sie erteilt haben, z. B. mit der Antwort **STOPP**. Die \
                 Rechtmäßigkeit der bis dahin erfolgten Verarbeitung bleibt unberührt (Art. 7 Abs. 3 DSGVO).\n"
            );
            let _ = write!(
                out,
                "**Ihre weiteren Rechte.** Auskunft, Berichtigung, Löschung, Einschränkung der Verarbeitung und \
                 Datenübertragbarkeit (Art. 15-20 DSGVO) sowie Beschwerde bei einer Datenschutzaufsichtsbehörde \
                 (Art. 77 DSGVO)."
            );
            if let Some(url) = &t.privacy_notice_url {
                let _ = write!(out, " Unsere vollständigen Datenschutzhinweise: {url}");
            }
            out.push('\n');
        }
        NoticeLanguage::English => {
            let _ = writeln!(out, "## Communication on WhatsApp\n");
            let _ = writeln!(
                out,
                "**The controller** is {}{}. If you agree, we also talk with you about your application on WhatsApp \
                 (questions, appointments, status of the process).\n",
                t.name,
                contact.map(|c| format!(" (privacy contact: {c})")).unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "**Purposes and legal bases.** Communicating about your application is based on Art. 6(1)(b) GDPR \
                 (steps prior to an employment contract). Using WhatsApp for it is based on your consent \
                 (Art. 6(1)(a), Art. 7 GDPR); before you consent, the only message we send is the request for it. \
                 We keep your data in our talent pool only with a separate consent.\n"
            );
            let _ = writeln!(
                out,
                "**Which data.** Your phone number, your name and WhatsApp profile name, the messages and files we \
                 exchange, their times and delivery status, and your consents and objections. We store content \
                 encrypted.\n"
            );
            let _ = writeln!(
                out,
                "**Recipients.** Our processors are the operator of hoheit, 360dialog GmbH (Berlin, WhatsApp \
                 Business Solution Provider) and Meta Platforms Ireland Ltd. (WhatsApp). Meta may transfer data to \
                 the USA; this is based on the European Commission's adequacy decision for the EU-US Data Privacy \
                 Framework (Art. 45 GDPR).\n"
            );
            let archive = r
                .archive_after_days
                .map(|d| format!(" We restrict conversations without activity after {d} days."))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "**Retention.** We erase your data {} after the application process ends; if no end is recorded, \
                 the process counts as ended {} after your last message. After a rejection we keep \
                 it for up to {} to defend ourselves against claims under the German General Equal Treatment Act \
                 (AGG; Art. 17(3)(e) GDPR), with processing restricted. With a talent-pool consent we keep it for \
                 {}.{archive} So that we can honour your objection later, we keep only an encrypted check value \
                 (hash) of your number after erasure. 360dialog and Meta store messages temporarily for delivery.\n",
                months(r.erase_after_months),
                months(r.process_end_after_inactive_months),
                months(r.claims_window_months),
                months(r.talent_pool_months)
            );
            let _ = writeln!(
                out,
                "**Your right to object (Art. 21 GDPR).** You can object to communication on WhatsApp at any time, \
                 informally: just reply **STOP** (or \"unsubscribe\"){}. We will then send you no more WhatsApp \
                 messages except one confirmation. Reply **START** to opt in again.\n",
                contact.map(|c| format!(" or write to {c}")).unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "**Withdrawing consent.** You can withdraw your consent at any time with effect for the future, as \
                 easily as you gave it, for example by replying **STOP**. This does not affect the lawfulness of \
                 the processing before the withdrawal (Art. 7(3) GDPR).\n"
            );
            let _ = write!(
                out,
                "**Your other rights.** Access, rectification, erasure, restriction of processing and data \
                 portability (Art. 15-20 GDPR), and the right to lodge a complaint with a supervisory authority \
                 (Art. 77 GDPR)."
            );
            if let Some(url) = &t.privacy_notice_url {
                let _ = write!(out, " Our full privacy notice: {url}");
            }
            out.push('\n');
        }
    }
    out
}

fn monate(n: u32) -> String {
    if n == 1 { "1 Monat".to_owned() } else { format!("{n} Monate") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixtures::World;

    #[test]
    fn languages_parse() {
        assert_eq!(NoticeLanguage::parse("de").unwrap(), NoticeLanguage::German);
        assert_eq!(NoticeLanguage::parse("EN_us").unwrap(), NoticeLanguage::English);
        assert_eq!(NoticeLanguage::parse("de-AT").unwrap(), NoticeLanguage::German);
        assert!(NoticeLanguage::parse("fr").is_err());
        assert!(NoticeLanguage::parse("").is_err());
    }

    #[test]
    fn the_record_names_the_processor_chain_and_the_us_transfer() {
        let w = World::new();
        let record = RecordOfProcessing::generate(&w.config, w.now);
        let names: Vec<&str> = record.recipients.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), 3);
        assert!(names.iter().any(|n| n.contains("operator")));
        assert!(names.iter().any(|n| n.contains("360dialog")));
        let meta = record.recipients.iter().find(|r| r.name.contains("Meta")).unwrap();
        assert!(meta.transfer.unwrap().contains("Data Privacy Framework"));
        assert!(record.transfers.iter().all(|t| t.mechanism.contains("2023/1795")));
        assert_eq!(record.controller.name, "Beispiel GmbH");
        let ids: Vec<&str> = record.purposes.iter().map(|p| p.id).collect();
        assert_eq!(
            ids,
            ["application_process", "whatsapp_channel", "talent_pool", "defence_of_claims", "accountability"]
        );
        assert!(record.purposes.iter().filter(|p| p.consent).all(|p| p.legal_basis.contains("6(1)(a)")));
        assert!(!record.security_measures.is_empty() && !record.data_categories.is_empty());
    }

    #[test]
    fn retention_rules_follow_the_tenant_settings() {
        let mut w = World::new();
        let record = RecordOfProcessing::generate(&w.config, w.now);
        let period = |r: &RecordOfProcessing, id: &str| r.retention.iter().find(|e| e.id == id).unwrap().period.clone();
        assert_eq!(period(&record, "candidate_data").as_deref(), Some("6 months"));
        assert_eq!(period(&record, "legal_claims_window").as_deref(), Some("3 months"));
        assert_eq!(period(&record, "talent_pool").as_deref(), Some("12 months"));
        assert_eq!(period(&record, "inactive_conversation"), None);
        w.config.tenant.retention.erase_after_months = 4;
        w.config.tenant.retention.archive_after_days = Some(90);
        let record = RecordOfProcessing::generate(&w.config, w.now);
        assert_eq!(period(&record, "candidate_data").as_deref(), Some("4 months"));
        assert_eq!(period(&record, "inactive_conversation").as_deref(), Some("90 days"));
        assert!(record.to_markdown().contains("| 4 months |"));
    }

    #[test]
    fn the_record_lists_channels_with_their_approval() {
        let w = World::new();
        let record = RecordOfProcessing::generate(&w.config, w.now);
        let ch = record.channels.first().unwrap();
        assert!(ch.approved);
        assert_eq!(ch.dpia_reference.as_deref(), Some("DSFA-2025-007"));
        assert_eq!(ch.documents_reviewed, ["privacy_notice@v1"]);
        assert_eq!(ch.templates, [("UTILITY", 2), ("MARKETING", 1), ("AUTHENTICATION", 0)]);
        // the approver's name is not part of the record
        let json = format!("{record:?}");
        assert!(!json.contains("Dr. Daten Schutz"));
    }

    #[test]
    fn markdown_has_every_section() {
        let w = World::new();
        let md = RecordOfProcessing::generate(&w.config, w.now).to_markdown();
        for heading in [
            "# Record of processing activities (Art. 30 GDPR)",
            "## 1. Controller",
            "## 2. Purposes and legal bases",
            "## 3. Categories of data subjects",
            "## 4. Categories of personal data",
            "## 5. Recipients",
            "## 6. Transfers to third countries",
            "## 7. Retention",
            "## 8. Technical and organisational measures",
            "## 9. WhatsApp numbers",
        ] {
            assert!(md.contains(heading), "{heading}");
        }
        assert!(md.contains("360dialog GmbH") && md.contains("Data Privacy Framework"));
        assert!(md.contains("datenschutz@beispiel.example"));
        assert!(md.contains("+49301234567"));
    }

    #[test]
    fn the_notice_section_says_what_article_13_needs_in_german() {
        let w = World::new();
        let de = privacy_notice_section(&w.config, NoticeLanguage::German);
        for needle in [
            "Beispiel GmbH",
            "datenschutz@beispiel.example",
            "360dialog GmbH",
            "Meta Platforms Ireland",
            "USA",
            "Data Privacy Framework",
            "6 Monate",
            "3 Monate",
            "12 Monate",
            "STOPP",
            "Art. 21",
            "widerrufen",
            "Art. 7 Abs. 3",
            "https://beispiel.example/datenschutz",
        ] {
            assert!(de.contains(needle), "missing {needle:?}");
        }
    }

    #[test]
    fn the_notice_section_says_what_article_13_needs_in_english() {
        let mut w = World::new();
        w.config.tenant.retention.erase_after_months = 3;
        w.config.tenant.retention.claims_window_months = 2;
        w.config.tenant.retention.archive_after_days = Some(60);
        let en = privacy_notice_section(&w.config, NoticeLanguage::English);
        for needle in [
            "Beispiel GmbH",
            "360dialog GmbH",
            "USA",
            "Data Privacy Framework",
            "erase your data 3 months",
            "up to 2 months",
            "after 60 days",
            "reply **STOP**",
            "Art. 21 GDPR",
            "withdraw your consent",
            "Art. 7(3)",
        ] {
            assert!(en.contains(needle), "missing {needle:?}");
        }
        assert!(!en.contains("STOPP"));
    }

    #[test]
    fn without_contact_or_link_the_notice_has_no_empty_placeholders() {
        let mut w = World::new();
        w.config.tenant.privacy_contact = None;
        w.config.tenant.privacy_notice_url = None;
        for lang in [NoticeLanguage::German, NoticeLanguage::English] {
            let text = privacy_notice_section(&w.config, lang);
            assert!(!text.contains("()") && !text.contains(": \n") && !text.contains("None"), "{text}");
        }
    }
}
