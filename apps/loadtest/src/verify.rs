//! Checks against the database after a drill: every acknowledged event stored exactly once,
//! each sender one candidate, and the audit chain's entries for them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::util::{Context as _, Res, fail};
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

/// Every provider id the workload may have sent (the events of posts 0, 1, ... until every
/// acknowledged id is covered, and some posts beyond for deliveries stored but not acknowledged),
/// by its keyed hash in each tenant: the database keeps provider ids only as keyed hashes
/// (issue 13), so the check hashes what it sent with the tenants' keys.
async fn sent_ids_by_hash(
    database_url: &str,
    master_key: &str,
    workload: &Workload,
    acked: &HashSet<String>,
) -> Res<HashMap<String, String>> {
    let master =
        hoheit_persistence::crypto::MasterKey::from_secret(&secrecy::SecretBox::from(Box::<str>::from(master_key)), 1)
            .map_err(|e| fail!("master key: {e}"))?;
    let store =
        hoheit_persistence::SeaStore::connect(&hoheit_persistence::PersistenceConfig::new(database_url), master)
            .await
            .map_err(|e| fail!("cannot open the store: {e}"))?;
    let rows =
        store.connection().query_all_raw(Statement::from_string(store.backend(), "SELECT id FROM tenants")).await?;
    let mut hashers = Vec::new();
    for row in rows {
        let id: Vec<u8> = row.try_get("", "id")?;
        let tenant = uuid::Uuid::from_slice(&id).map_err(|e| fail!("tenant id: {e}"))?;
        hashers.push(
            store
                .provider_hasher(hoheit_domain::ids::TenantId::from_uuid(tenant))
                .await
                .map_err(|e| fail!("tenant key: {e}"))?,
        );
    }
    const BEYOND: u64 = 20_000;
    const MAX_POSTS: u64 = 10_000_000;
    let (mut names, mut seen, mut extra) = (HashMap::new(), HashSet::new(), 0u64);
    for p in 0..MAX_POSTS {
        for event in workload.events(p).1 {
            let wamid = match event {
                crate::workload::Event::Inbound { wamid, .. } | crate::workload::Event::Status { wamid, .. } => wamid,
            };
            if acked.contains(&wamid) {
                seen.insert(wamid.clone());
            }
            for h in &hashers {
                names.insert(h.hash(&wamid), wamid.clone());
            }
        }
        if seen.len() >= acked.len() {
            extra += 1;
            if extra > BEYOND {
                break;
            }
        }
    }
    Ok(names)
}

/// Compares the acknowledgement log with the database (the tenant must hold only this workload's
/// candidates). `master_key` is the server's (provider ids are stored as keyed hashes).
pub(crate) async fn acks(database_url: &str, master_key: &str, log: &Path, workload: &Workload) -> Res<AckCheck> {
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
    let acked_ids: HashSet<String> = acked_m
        .iter()
        .cloned()
        .chain(acked_s.iter().filter_map(|s| s.split_once(' ').map(|(id, _)| id.to_owned())))
        .collect();
    let names = sent_ids_by_hash(database_url, master_key, workload, &acked_ids).await?;
    let conn = sea_orm::Database::connect(database_url).await.context("cannot open the database")?;
    let b = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            b,
            "SELECT provider_id, COUNT(*) AS n FROM messages WHERE direction = 'inbound' AND provider_id IS NOT NULL \
             GROUP BY provider_id",
        ))
        .await?;
    let mut stored_m: HashMap<String, i64> = HashMap::new();
    let mut unknown_m = 0u64;
    for r in rows {
        let hash: String = r.try_get("", "provider_id")?;
        match names.get(&hash) {
            Some(id) => {
                stored_m.insert(id.clone(), r.try_get("", "n")?);
            }
            None => unknown_m += 1,
        }
    }
    let rows = conn
        .query_all_raw(Statement::from_string(
            b,
            "SELECT provider_id, status, COUNT(*) AS n FROM message_statuses GROUP BY provider_id, status",
        ))
        .await?;
    let mut stored_s: HashMap<String, i64> = HashMap::new();
    for r in rows {
        let hash: String = r.try_get("", "provider_id")?;
        let Some(id) = names.get(&hash) else { continue };
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
        + stored_s.keys().filter(|k| !acked_s.contains(*k)).count() as u64
        + unknown_m;
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
