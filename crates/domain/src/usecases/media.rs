//! Media use cases: the fetched file of an inbound media message is checked and stored sealed;
//! a recruiter's document is decided by the send policy, uploaded to the provider and sent by
//! its media id; reading a file is audited (R33). Files are erased with the candidate (R27).

use std::sync::{Arc, OnceLock};

use time::{Duration, OffsetDateTime};

use super::candidates::STAFF_ONLY;
use super::outbound::{Queued, Sending, queue_or_refuse, refusal_record, send_context};
use super::transact::{Decided, Retry, stage_candidate};
use super::{Hoheit, Recorder, UseCaseError};
use super::{may_read, permitted};
use crate::access::Action;
use crate::actor::Actor;
use crate::candidate::Candidate;
use crate::conversation::{Direction, Intent, OutboundContent};
use crate::events::{ContentKind, DomainEvent};
use crate::ids::{CandidateId, ChannelId, MediaId, TenantId};
use crate::inbound::MediaKind;
use crate::media::{
    MAX_CAPTION_CHARS, MAX_FETCH_ATTEMPTS, MediaFetch, MediaLimits, MediaRecord, MediaRejection, MediaStatus,
    OutboundDocument, mime_allowed, sha256_hex,
};
use crate::policy::{Draft, OutboundPolicy};
use crate::ports::{ChangeSet, GatewayError, MediaChange, StoreError, TenantConfig};
use crate::rules::Rule;
use crate::values::Pii;

/// When an announced file is tried again after `attempts` transient failures: 30 s, 1 min, 2 min,
/// ... capped at one hour.
pub fn fetch_backoff(attempts: u32) -> Duration {
    Duration::seconds(30_i64.saturating_mul(2_i64.saturating_pow(attempts.min(10))).min(3_600))
}

fn upload_error(e: &GatewayError) -> UseCaseError {
    match e {
        GatewayError::Rejected { .. } | GatewayError::TemplateRejected { .. } | GatewayError::Undeliverable { .. } => {
            UseCaseError::Invalid("the provider refused the document".into())
        }
        GatewayError::WindowClosed { .. }
        | GatewayError::RateLimited { .. }
        | GatewayError::ChannelFailure { .. }
        | GatewayError::Transient { .. }
        | GatewayError::OutcomeUnknown
        | GatewayError::NotConfigured => UseCaseError::Unavailable("the provider did not take the upload; retry later"),
    }
}

/// What [`Hoheit::send_document`] decides on: configuration, candidate, time, channel, whether the
/// notice is appended, the caption, and the provider's media id of the uploaded file.
type Loaded = (Arc<TenantConfig>, Candidate, OffsetDateTime, ChannelId, bool, Option<Pii<String>>, String);

/// The document message for a provider media id.
fn document_content(document: &OutboundDocument, media_id: String, caption: Option<Pii<String>>) -> OutboundContent {
    OutboundContent::Document { media_id, filename: document.filename.clone(), caption }
}

impl Hoheit {
    /// Sends a document (e.g. an interview invitation PDF). The send policy decides first, so
    /// nothing is uploaded for a message that may not be sent; the file is then uploaded to the
    /// provider and the message queued with the provider's media id (decided again, and once
    /// more at dispatch). The sent file is kept sealed with the candidate's data. The first
    /// message of a conversation gets the notice appended to the caption (R15).
    pub async fn send_document(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        document: OutboundDocument,
        limits: MediaLimits,
    ) -> Result<Queued, UseCaseError> {
        permitted(actor, Action::SendMessages, "only a recruiter or an admin can send a document")?;
        document.check(limits).map_err(|e| UseCaseError::Invalid(e.to_string()))?;
        let media_record: MediaId = self.new_id();
        let uploaded: OnceLock<String> = OnceLock::new();
        let (uploaded, document) = (&uploaded, &document);
        // load, and upload the file once: the policy decides before anything leaves hoheit
        let load = || async move {
            let (config, candidate, now) = self.load_for(tenant, id).await?;
            let channel = config.channel(candidate.channel).ok_or(UseCaseError::NotFound("channel"))?;
            let notice_appended = candidate.conversation.needs_notice();
            let caption = if notice_appended {
                let notice = config.tenant.first_message_notice(&candidate.language);
                let text = match &document.caption {
                    Some(c) => format!("{}{notice}", c.expose()),
                    None => notice.trim_start().to_owned(),
                };
                if text.chars().count() > MAX_CAPTION_CHARS {
                    return Err(UseCaseError::Invalid(
                        "the caption is too long to carry the first-message notice (1024 characters)".into(),
                    ));
                }
                Some(Pii::new(text))
            } else {
                document.caption.clone()
            };
            let media_id = match uploaded.get() {
                Some(m) => m.clone(),
                None => {
                    let draft_content = document_content(document, String::new(), caption.clone());
                    let ctx = send_context(&config, channel, &candidate);
                    let draft =
                        Draft { content: &draft_content, intent: Intent::Regular, notice_appended, queued: false };
                    if let Err(refusal) = OutboundPolicy::decide(&ctx, &draft, now) {
                        let send = Sending { actor, intent: Intent::Regular, notice_appended, now };
                        self.store.commit(tenant, refusal_record(tenant, id, send, refusal)).await?;
                        return Err(UseCaseError::Refused(refusal));
                    }
                    let media_id = self
                        .gateway
                        .upload_media(channel.id, &document.content, &document.mime_type, document.filename.expose())
                        .await
                        .map_err(|e| upload_error(&e))?;
                    // set only here, once: a failed set cannot happen and would only mean "already set"
                    let _ = uploaded.set(media_id.clone());
                    media_id
                }
            };
            let channel = channel.id;
            Ok((config, candidate, now, channel, notice_appended, caption, media_id))
        };
        let decide = |(config, mut candidate, now, channel, notice_appended, caption, media_id): Loaded| {
            let expected_version = candidate.version;
            let content = document_content(document, media_id.clone(), caption);
            let mut changes = ChangeSet::default();
            let send = Sending { actor, intent: Intent::Regular, notice_appended, now };
            let queued = match queue_or_refuse(self, &config, &mut candidate, content, send, &mut changes)? {
                Ok(queued) => queued,
                Err(refused) => return Ok(refused),
            };
            let bytes = document.content.expose();
            let record = MediaRecord {
                id: media_record,
                tenant,
                candidate: id,
                channel,
                message: queued.message,
                direction: Direction::Outbound,
                kind: MediaKind::Document,
                provider_media_id: Pii::new(media_id),
                mime_type: Some(crate::media::essence(&document.mime_type)),
                filename: Some(document.filename.clone()),
                announced_sha256: None,
                sha256: Some(sha256_hex(bytes)),
                size: Some(u64::try_from(bytes.len()).unwrap_or(u64::MAX)),
                status: MediaStatus::Stored,
                rejection: None,
                attempts: 0,
                next_attempt_at: None,
                created_at: now,
                settled_at: Some(now),
            };
            changes
                .media
                .push(MediaChange::Insert { record: Box::new(record), content: Some(document.content.clone()) });
            changes.events.push(
                Recorder::new(tenant, Some(id), actor, now)
                    .note(DomainEvent::MediaStored { media: media_record, kind: MediaKind::Document }),
            );
            stage_candidate(&mut changes, &config, candidate, expected_version, now);
            Ok(Decided::Commit(changes, queued))
        };
        self.transact(tenant, Retry::CONFLICT, load, decide).await
    }

    /// Records what fetching an announced inbound file gave: stored (after the size and type
    /// checks), rejected (audited with the reason), or tried again later. Idempotent: a file
    /// that is no longer pending is left alone. A file whose candidate was erased meanwhile is
    /// gone: `NotFound`.
    pub async fn record_media_fetch(
        &self,
        tenant: TenantId,
        media: MediaId,
        fetch: MediaFetch,
        limits: MediaLimits,
    ) -> Result<MediaStatus, UseCaseError> {
        let mut record = self.store.media(tenant, media).await?.ok_or(UseCaseError::NotFound("media"))?;
        if record.status != MediaStatus::Pending {
            return Ok(record.status);
        }
        let now = self.now();
        let mut content = None;
        let outcome = match fetch {
            MediaFetch::Fetched { content: bytes, mime_type } => {
                let size = u64::try_from(bytes.expose().len()).unwrap_or(u64::MAX);
                let mime = mime_type.or_else(|| record.mime_type.clone()).map(|m| crate::media::essence(&m));
                if size > limits.max_bytes {
                    Err(MediaRejection::TooLarge)
                } else if !mime.as_deref().is_some_and(|m| mime_allowed(record.kind, m)) {
                    Err(MediaRejection::TypeNotAllowed)
                } else {
                    record.sha256 = Some(sha256_hex(bytes.expose()));
                    record.size = Some(size);
                    record.mime_type = mime;
                    content = Some(bytes);
                    Ok(())
                }
            }
            MediaFetch::Refused(reason) => Err(reason),
            MediaFetch::Transient => {
                record.attempts = record.attempts.saturating_add(1);
                if record.attempts >= MAX_FETCH_ATTEMPTS {
                    Err(MediaRejection::Unavailable)
                } else {
                    record.next_attempt_at = Some(now + fetch_backoff(record.attempts));
                    let changes = ChangeSet {
                        media: vec![MediaChange::Update { record: Box::new(record), content: None }],
                        ..ChangeSet::default()
                    };
                    self.store.commit(tenant, changes).await?;
                    return Ok(MediaStatus::Pending);
                }
            }
        };
        let event_body = match outcome {
            Ok(()) => {
                record.status = MediaStatus::Stored;
                DomainEvent::MediaStored { media, kind: record.kind }
            }
            Err(reason) => {
                record.status = MediaStatus::Rejected;
                record.rejection = Some(reason);
                DomainEvent::MediaRejected { media, reason }
            }
        };
        record.settled_at = Some(now);
        record.next_attempt_at = None;
        let status = record.status;
        let candidate = record.candidate;
        let changes = ChangeSet {
            media: vec![MediaChange::Update { record: Box::new(record), content }],
            events: vec![Recorder::new(tenant, Some(candidate), Actor::System, now).note(event_body)],
            ..ChangeSet::default()
        };
        match self.store.commit(tenant, changes).await {
            Ok(_) => Ok(status),
            // erased between fetch and store: the file must not be kept
            Err(StoreError::NotFound(_)) => Err(UseCaseError::NotFound("media")),
            Err(e) => Err(e.into()),
        }
    }

    /// The candidate's media files (metadata, no content; not a content read).
    pub async fn media_files(&self, tenant: TenantId, id: CandidateId) -> Result<Vec<MediaRecord>, UseCaseError> {
        let candidate = self.load_candidate(tenant, id).await?;
        if candidate.is_erased() {
            return Ok(Vec::new());
        }
        Ok(self.store.candidate_media(tenant, id).await?)
    }

    /// Reads a stored file; the read is audited with the reader before the bytes are returned
    /// (R33). Restricted candidates are readable only by admin and DPO (R25, R32).
    pub async fn read_media(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        media: MediaId,
    ) -> Result<(MediaRecord, Pii<Vec<u8>>), UseCaseError> {
        permitted(actor, Action::ReadContent, STAFF_ONLY)?;
        let candidate = self.load_candidate(tenant, id).await?;
        if candidate.is_erased() {
            return Err(UseCaseError::NotFound("media"));
        }
        may_read(&candidate, actor)?;
        let record = self
            .store
            .media(tenant, media)
            .await?
            .filter(|m| m.candidate == id)
            .ok_or(UseCaseError::NotFound("media"))?;
        if record.status != MediaStatus::Stored {
            return Err(UseCaseError::Conflict("the media file is not stored (still pending, or rejected)"));
        }
        let read = Recorder::new(tenant, Some(id), actor, self.now())
            .rule(Rule::R33, DomainEvent::ContentRead { what: ContentKind::Media });
        self.commit_events(tenant, vec![read]).await?;
        let content = self.store.media_content(tenant, media).await?.ok_or(UseCaseError::NotFound("media"))?;
        Ok((record, content))
    }
}

/// The pending record of an inbound media message (fetched later by the adapter).
#[allow(clippy::too_many_arguments)] // the fields of one inbound media message
pub(crate) fn pending_media(
    id: MediaId,
    message: &crate::conversation::Message,
    kind: MediaKind,
    provider_media_id: &str,
    mime_type: Option<&String>,
    filename: Option<&Pii<String>>,
    announced_sha256: Option<&Pii<String>>,
    now: OffsetDateTime,
) -> MediaRecord {
    MediaRecord {
        id,
        tenant: message.tenant,
        candidate: message.candidate,
        channel: message.channel,
        message: message.id,
        direction: Direction::Inbound,
        kind,
        provider_media_id: Pii::new(provider_media_id.to_owned()),
        mime_type: mime_type.cloned(),
        filename: filename.cloned(),
        announced_sha256: announced_sha256.cloned(),
        sha256: None,
        size: None,
        status: MediaStatus::Pending,
        rejection: None,
        attempts: 0,
        next_attempt_at: Some(now),
        created_at: now,
        settled_at: None,
    }
}
