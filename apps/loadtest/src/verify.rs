//! Checks against the database after a drill: every acknowledged event stored exactly once,
//! each sender one candidate, and the audit chain's entries for them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::util::{Context as _, Res};
use crate::workload::Workload;

/// What the database holds for the acknowledged events.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub(crate) struct AckCheck {
    pub(crate) acked_messages: u64,
    pub(crate) acked_statuses: u64,
    /// Acknowledged but not stored.
    pub(crate) missing_messages: u64,
    pub(crate) missing_statuses: u64,
    /// Stored more than once.
    pub(crate) duplicate_messages: u64,
    pub(crate) duplicate_statuses: u64,
    /// Stored although never acknowledged (allowed: the answer was lost; a re-delivery dedupes).
    pub(crate) stored_unacked: u64,
    /// Distinct senders among the stored messages.
    pub(crate) senders: u64,
    pub(crate) candidates: u64,
    pub(crate) contact_keys: u64,
    pub(crate) candidate_created_entries: u64,
}

impl AckCheck {
    pub(crate) fn passed(&self) -> bool {
        self.missing_messages == 0
            && self.missing_statuses == 0
            && self.duplicate_messages == 0
            && self.duplicate_statuses == 0
            && self.senders == self.candidates
            && self.candidates == self.contact_keys
            && self.candidates == self.candidate_created_entries
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "{} messages and {} statuses acknowledged; missing {}/{}; duplicated {}/{}; stored but unacknowledged {}; \
             {} senders -> {} candidates, {} contact keys, {} candidate.created audit entries",
            self.acked_messages,
            self.acked_statuses,
            self.missing_messages,
            self.missing_statuses,
            self.duplicate_messages,
            self.duplicate_statuses,
            self.stored_unacked,
            self.senders,
            self.candidates,
            self.contact_keys,
            self.candidate_created_entries
        )
    }
}

pub(crate) async fn count(conn: &DatabaseConnection, sql: &str) -> Res<u64> {
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned())).await?;
    let n: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Compares the acknowledgement log with the database (the tenant must hold only this workload's
/// candidates).
pub(crate) async fn acks(database_url: &str, log: &Path, workload: &Workload) -> Res<AckCheck> {
    let text = std::fs::read_to_string(log).context("cannot read the acknowledgement log")?;
    let mut acked_m = HashSet::new();
    let mut acked_s = HashSet::new();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("m", id)) => {
                acked_m.insert(id.to_owned());
            }
            Some(("s", rest)) => {
                acked_s.insert(rest.to_owned());
            }
            _ => {}
        }
    }
    let conn = sea_orm::Database::connect(database_url).await.context("cannot open the database")?;
    let b = conn.get_database_backend();
    let run = &workload.run;
    let rows = conn
        .query_all_raw(Statement::from_string(
            b,
            format!(
                "SELECT provider_id, COUNT(*) AS n FROM messages WHERE provider_id LIKE 'wamid.LOAD.{run}.%' GROUP BY provider_id"
            ),
        ))
        .await?;
    let mut stored_m: HashMap<String, i64> = HashMap::new();
    for r in rows {
        stored_m.insert(r.try_get("", "provider_id")?, r.try_get("", "n")?);
    }
    let rows = conn
        .query_all_raw(Statement::from_string(
            b,
            format!(
                "SELECT provider_id, status, COUNT(*) AS n FROM message_statuses WHERE provider_id LIKE 'wamid.OUT.{run}.%' \
                 GROUP BY provider_id, status"
            ),
        ))
        .await?;
    let mut stored_s: HashMap<String, i64> = HashMap::new();
    for r in rows {
        let id: String = r.try_get("", "provider_id")?;
        let status: String = r.try_get("", "status")?;
        stored_s.insert(format!("{id} {status}"), r.try_get("", "n")?);
    }
    let mut check =
        AckCheck { acked_messages: acked_m.len() as u64, acked_statuses: acked_s.len() as u64, ..AckCheck::default() };
    for id in &acked_m {
        match stored_m.get(id) {
            None => check.missing_messages += 1,
            Some(n) if *n > 1 => check.duplicate_messages += 1,
            Some(_) => {}
        }
    }
    for id in &acked_s {
        match stored_s.get(id) {
            None => check.missing_statuses += 1,
            Some(n) if *n > 1 => check.duplicate_statuses += 1,
            Some(_) => {}
        }
    }
    check.stored_unacked = stored_m.keys().filter(|k| !acked_m.contains(*k)).count() as u64
        + stored_s.keys().filter(|k| !acked_s.contains(*k)).count() as u64;
    let mut senders = HashSet::new();
    for wamid in stored_m.keys() {
        // wamid.LOAD.<run>.<channel>.<local>
        let mut parts = wamid.rsplit('.');
        if let (Some(local), Some(ch)) = (parts.next(), parts.next())
            && let (Ok(local), Ok(ch)) = (local.parse::<u64>(), ch.parse::<u64>())
        {
            senders.insert(workload.candidate_of(ch, local));
        }
    }
    check.senders = senders.len() as u64;
    check.candidates = count(&conn, "SELECT COUNT(*) FROM candidates").await?;
    check.contact_keys = count(&conn, "SELECT COUNT(*) FROM contact_index").await?;
    check.candidate_created_entries =
        count(&conn, "SELECT COUNT(*) FROM audit_entries WHERE action = 'candidate.created'").await?;
    conn.close().await.ok();
    Ok(check)
}
