//! Media files (issue 8): inbound images, documents, audio and video fetched from the provider
//! and outbound documents, sealed with the candidate key like message bodies and deleted with the
//! candidate. Also indexes for the deadline gauges (open reviews, subject requests).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

/// `record` (the sealed metadata: provider media id, MIME type, file name, hashes) and
/// `content` (the sealed bytes) are AEAD ciphertexts under the candidate key; kind, direction,
/// status, size and times stay in clear so the fetch worker and the gauges can work on them.
const SCHEMA: &str = r"
CREATE TABLE media (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    message_id {blob} NOT NULL,
    channel_id {blob} NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    size BIGINT,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    settled_at BIGINT,
    record {blob} NOT NULL,
    content {blob}
);
CREATE INDEX media_candidate ON media (tenant_id, candidate_id, created_at);
CREATE INDEX media_pending ON media (status, next_attempt_at);
CREATE INDEX subject_requests_deadline ON subject_requests (status, due_at);
CREATE INDEX candidates_review_due ON candidates (review_due_at);
";

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS candidates_review_due",
    "DROP INDEX IF EXISTS subject_requests_deadline",
    "DROP TABLE IF EXISTS media",
];

statements!(up: |backend| super::script(SCHEMA, backend), down: |_| DOWN);
