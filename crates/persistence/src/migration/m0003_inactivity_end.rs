//! R24 (issue 15): a process with no recorded end now ends by inactivity, so every candidate has
//! a retention due time. Candidates written before had none when their process was running (the
//! retention run never looked at them); this makes each of them due at once, so the next run
//! decides them under the new rule and stores their next due time. Data only, no schema change.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const UP: &str = "UPDATE candidates SET retention_due_at = 0 WHERE tombstone IS NULL AND retention_due_at IS NULL";

// nothing to undo: a due time is recomputed by every retention decision
statements!(up: |_| [UP], down: |_| Vec::<String>::new());
