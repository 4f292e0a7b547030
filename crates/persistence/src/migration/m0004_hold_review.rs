//! R26 (issue 15): `candidates.hold_review_at`, the earliest review date of the candidate's legal
//! holds in force (NULL when none), in clear (a time, no personal data) so due reviews are listed
//! and counted without unsealing candidates. The candidate writer sets it on every insert and
//! update. The holds live in the sealed state, which a migration cannot read (it has no keys),
//! so rows written before stay NULL until their next write. To make that write come soon, the
//! candidates without a retention due time (after m0003 only the held ones) become due at once:
//! the next retention run examines them, keeps them (a hold always keeps, R26) and rewrites them,
//! which fills the column.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE candidates ADD COLUMN hold_review_at BIGINT",
    "CREATE INDEX candidates_hold_review ON candidates (tenant_id, hold_review_at)",
    "UPDATE candidates SET retention_due_at = 0 WHERE tombstone IS NULL AND retention_due_at IS NULL",
];

const DOWN: &[&str] =
    &["DROP INDEX IF EXISTS candidates_hold_review", "ALTER TABLE candidates DROP COLUMN hold_review_at"];

statements!(up: |_| UP, down: |_| DOWN);
