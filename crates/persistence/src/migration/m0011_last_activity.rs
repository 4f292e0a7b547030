//! Issue 17 (the inbox lists newest activity first): `candidates.last_activity_at`, the
//! candidate's last activity ([`hoheit_domain::retention::last_activity`]: the last message in
//! either direction, or the creation), in clear (a time, no personal data) so the inbox is read
//! in that order, keyset-paged by (last activity, id), without unsealing candidates; indexed per
//! tenant. `updated_at` is not that time: it moves on every write of the candidate (an
//! assignment, a consent recorded, a retention run). The candidate writer sets the column on every
//! insert and update and clears it on erasure. The conversation lives in the sealed state, which
//! a migration cannot read, so rows written before take the newest of their messages' times (the
//! provider's time, else the stored time) or their creation, until their next write sets the
//! exact value.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE candidates ADD COLUMN last_activity_at BIGINT",
    "CREATE INDEX candidates_activity ON candidates (tenant_id, last_activity_at, id)",
    "UPDATE candidates SET last_activity_at = COALESCE((SELECT MAX(COALESCE(m.provider_at, m.created_at)) \
     FROM messages m WHERE m.tenant_id = candidates.tenant_id AND m.candidate_id = candidates.id), created_at) \
     WHERE tombstone IS NULL",
    "UPDATE candidates SET last_activity_at = created_at WHERE tombstone IS NULL AND last_activity_at < created_at",
];

const DOWN: &[&str] =
    &["DROP INDEX IF EXISTS candidates_activity", "ALTER TABLE candidates DROP COLUMN last_activity_at"];

statements!(up: |_| UP, down: |_| DOWN);
