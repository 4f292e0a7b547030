//! Issue 17 (the inbox's unread counts and the search by name):
//! - `thread_reads`: each staff member's read marker per conversation (the time up to which they
//!   read it; ids and a time, no content), upserted when they open the thread; the inbox counts
//!   the inbound messages stored after it. Deleted with the candidate's erasure.
//! - `name_tokens`: keyed hashes (HMAC with the tenant's blind-index key, domain-separated from
//!   the contact index by a `name:` prefix) of the normalised tokens of a candidate's name and
//!   profile name and of their prefixes of three characters or more
//!   (`hoheit_domain::names::index_terms`); no plaintext. Written when a candidate is created or
//!   its name changes, deleted with its erasure.
//! - `candidates.names_pending`: set for the candidates written before this migration, whose
//!   names a migration cannot read (sealed); `SeaStore::migrate` indexes them in bounded batches
//!   with the keys and clears the flag (idempotent).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const SCHEMA: &str = r"
CREATE TABLE thread_reads (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    staff_id {blob} NOT NULL,
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, candidate_id)
);
CREATE INDEX thread_reads_candidate ON thread_reads (tenant_id, candidate_id);
CREATE TABLE name_tokens (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    hash {blob} NOT NULL,
    candidate_id {blob} NOT NULL REFERENCES candidates(id),
    PRIMARY KEY (tenant_id, hash, candidate_id)
);
CREATE INDEX name_tokens_candidate ON name_tokens (tenant_id, candidate_id);
ALTER TABLE candidates ADD COLUMN names_pending {bool} NOT NULL DEFAULT FALSE;
UPDATE candidates SET names_pending = TRUE WHERE tombstone IS NULL;
CREATE INDEX candidates_names_pending ON candidates (names_pending)
";

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS candidates_names_pending",
    "ALTER TABLE candidates DROP COLUMN names_pending",
    "DROP TABLE IF EXISTS name_tokens",
    "DROP TABLE IF EXISTS thread_reads",
];

statements!(up: |backend| super::script(SCHEMA, backend), down: |_| DOWN);
