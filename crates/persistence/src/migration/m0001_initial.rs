//! The initial schema.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

/// DDL with two dialect tokens: `{blob}` (BLOB / BYTEA) and `{bool}` (INTEGER / BOOLEAN).
const SCHEMA: &str = r"
CREATE TABLE tenants (
    id {blob} PRIMARY KEY,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE tenant_keys (
    tenant_id {blob} PRIMARY KEY REFERENCES tenants(id),
    key_version INTEGER NOT NULL,
    master_version INTEGER NOT NULL,
    wrapped {blob} NOT NULL
);
CREATE TABLE channels (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    phone_number_id TEXT NOT NULL UNIQUE,
    data {blob} NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX channels_tenant ON channels (tenant_id);
CREATE TABLE channel_credentials (
    channel_id {blob} PRIMARY KEY REFERENCES channels(id),
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    route_hash {blob} NOT NULL UNIQUE,
    data {blob} NOT NULL
);
CREATE TABLE legal_texts (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    language TEXT NOT NULL,
    data TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, version, language)
);
CREATE TABLE templates (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    channel_id {blob} NOT NULL REFERENCES channels(id),
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (channel_id, name, language)
);
CREATE INDEX templates_tenant ON templates (tenant_id);
CREATE TABLE candidates (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    version BIGINT NOT NULL,
    lifecycle TEXT NOT NULL,
    process_ended_at BIGINT,
    retention_due_at BIGINT,
    review_due_at BIGINT,
    objected {bool} NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    wrapped_key {blob},
    state {blob},
    tombstone TEXT
);
CREATE INDEX candidates_tenant_due ON candidates (tenant_id, retention_due_at);
CREATE INDEX candidates_tenant_review ON candidates (tenant_id, review_due_at);
CREATE TABLE contact_index (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    blind {blob} NOT NULL,
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    PRIMARY KEY (tenant_id, blind)
);
CREATE INDEX contact_index_candidate ON contact_index (candidate_id);
CREATE TABLE suppressions (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    blind {blob} NOT NULL,
    scope TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, blind)
);
CREATE TABLE messages (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    channel_id {blob} NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    intent TEXT,
    provider_id TEXT,
    reply_to TEXT,
    created_at BIGINT NOT NULL,
    provider_at BIGINT,
    status TEXT,
    timeline TEXT NOT NULL,
    body {blob} NOT NULL
);
CREATE UNIQUE INDEX messages_provider_id ON messages (tenant_id, provider_id);
CREATE INDEX messages_candidate ON messages (tenant_id, candidate_id, created_at);
CREATE TABLE message_statuses (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    provider_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    error_code BIGINT,
    PRIMARY KEY (tenant_id, provider_id, status)
);
CREATE TABLE outbox (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    channel_id {blob} NOT NULL,
    message_id {blob} NOT NULL,
    intent TEXT NOT NULL,
    notice_appended {bool} NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    not_before BIGINT NOT NULL,
    lease_until BIGINT,
    content {blob} NOT NULL
);
CREATE INDEX outbox_due ON outbox (not_before);
CREATE INDEX outbox_candidate ON outbox (tenant_id, candidate_id);
CREATE TABLE subject_requests (
    id {blob} PRIMARY KEY,
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    candidate_id {blob},
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX subject_requests_tenant ON subject_requests (tenant_id, due_at);
CREATE TABLE audit_entries (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    subject {blob},
    canonical {blob} NOT NULL,
    hash {blob} NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_entries_subject ON audit_entries (tenant_id, subject, seq);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, at);
CREATE TABLE audit_heads (
    tenant_id {blob} PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash {blob} NOT NULL
);
CREATE TABLE audit_checkpoints (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    signed TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE TABLE api_tokens (
    id {blob} PRIMARY KEY,
    tenant_id {blob} REFERENCES tenants(id),
    role TEXT NOT NULL,
    token_hash {blob} NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_at BIGINT NOT NULL
);
";

const DROP: &[&str] = &[
    "leases",
    "api_tokens",
    "audit_checkpoints",
    "audit_heads",
    "audit_entries",
    "subject_requests",
    "outbox",
    "message_statuses",
    "messages",
    "suppressions",
    "contact_index",
    "candidates",
    "templates",
    "legal_texts",
    "channel_credentials",
    "channels",
    "tenant_keys",
    "tenants",
];

statements!(
    up: |backend| super::script(SCHEMA, backend),
    down: |_| DROP.iter().map(|table| format!("DROP TABLE IF EXISTS {table}")).collect::<Vec<_>>(),
);
