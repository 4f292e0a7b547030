//! The two baselines of the headline ratio.
//!
//! (a) Storage: the rows a webhook event makes the server write, inserted by a minimal program
//! into the same schema (`hoheit_persistence::migrate`), through the same driver with the same
//! connection settings (`SeaStore::connect`: WAL, `synchronous=FULL`, on the same disk; or a
//! fresh database on the same PostgreSQL server), without HTTP, JSON, domain logic, encryption,
//! reads or savepoints. Per event: a new sender's first message inserts the candidate (sealed
//! state of the measured size), its contact-index row, the message and one audit entry (the
//! `candidate.created` entry; the chain head is updated once per transaction); a known sender's
//! message updates the candidate and inserts the message; a status upserts one
//! `message_statuses` row. Measured with one commit per event and with one commit per batch of
//! events (one writer, like the server's group commit). A diagnostic variant adds the statements
//! the server's writer issues on top of these rows (a savepoint per change set, and the owner
//! check after re-indexing a known sender's contact key) to show what they cost.
//!
//! (b) HTTP: a handler that reads the webhook body and answers 200 without touching any
//! database (`hoheit-load http-sink`, its own process, axum on hyper like the server), driven by
//! the same client with the same concurrency. This is also the client's own limit.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use rand::RngCore as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};

use crate::util::{Context as _, Res, fail};
use crate::workload::{Event, Workload};

/// Sizes of the sealed columns (bytes), measured on the server's database after an ingest run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Sizes {
    pub(crate) candidate_state: usize,
    pub(crate) wrapped_key: usize,
    pub(crate) message_body: usize,
    pub(crate) timeline: usize,
    pub(crate) audit_canonical: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self { candidate_state: 700, wrapped_key: 73, message_body: 250, timeline: 2, audit_canonical: 160 }
    }
}

async fn avg(conn: &DatabaseConnection, sql: &str) -> Option<usize> {
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned())).await.ok()??;
    let n: i64 = row.try_get_by_index(0).ok()?;
    usize::try_from(n).ok().filter(|n| *n > 0)
}

/// Average sizes of the columns the ingest run wrote.
pub(crate) async fn measure_sizes(database_url: &str) -> Res<Sizes> {
    let conn = sea_orm::Database::connect(database_url).await.context("cannot open the server's database")?;
    let d = Sizes::default();
    let sizes = Sizes {
        candidate_state: avg(
            &conn,
            "SELECT CAST(AVG(LENGTH(state)) AS BIGINT) FROM candidates WHERE state IS NOT NULL",
        )
        .await
        .unwrap_or(d.candidate_state),
        wrapped_key: avg(&conn, "SELECT CAST(AVG(LENGTH(wrapped_key)) AS BIGINT) FROM candidates")
            .await
            .unwrap_or(d.wrapped_key),
        message_body: avg(&conn, "SELECT CAST(AVG(LENGTH(body)) AS BIGINT) FROM messages WHERE direction = 'inbound'")
            .await
            .unwrap_or(d.message_body),
        timeline: avg(&conn, "SELECT CAST(AVG(LENGTH(timeline)) AS BIGINT) FROM messages WHERE direction = 'inbound'")
            .await
            .unwrap_or(d.timeline),
        audit_canonical: avg(&conn, "SELECT CAST(AVG(LENGTH(canonical)) AS BIGINT) FROM audit_entries")
            .await
            .unwrap_or(d.audit_canonical),
    };
    conn.close().await.ok();
    Ok(sizes)
}

/// One baseline measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct StorageResult {
    pub(crate) batch: usize,
    pub(crate) events: u64,
    pub(crate) secs: f64,
    pub(crate) commits: u64,
}

impl StorageResult {
    pub(crate) fn events_per_second(&self) -> f64 {
        self.events as f64 / self.secs.max(1e-9)
    }
}

fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres { sql.to_owned() } else { sql.replace('$', "?") };
    Statement::from_sql_and_values(backend, sql, values)
}

fn id(n: u128) -> Vec<u8> {
    uuid::Uuid::from_u128(n).as_bytes().to_vec()
}

/// Random bytes of a given length, cut from a pool (generating them is not part of the test).
struct Blobs(Vec<u8>);

impl Blobs {
    fn new() -> Self {
        let mut pool = vec![0u8; 1 << 20];
        rand::thread_rng().fill_bytes(&mut pool);
        Self(pool)
    }

    fn get(&self, len: usize, seed: u64) -> Vec<u8> {
        let start = (seed as usize).wrapping_mul(7919) % (self.0.len() - len.min(self.0.len()) + 1);
        self.0.get(start..start + len).map(<[u8]>::to_vec).unwrap_or_else(|| vec![7u8; len])
    }
}

/// Inserts the rows of `workload`'s events for `duration` with `batch` events per commit into a
/// fresh schema at `database_url`.
pub(crate) async fn storage(
    database_url: &str,
    workload: &Workload,
    sizes: Sizes,
    batch: usize,
    duration: Duration,
    server_pattern: bool,
) -> Res<StorageResult> {
    let mut config = hoheit_persistence::PersistenceConfig::new(database_url);
    config.sqlite_sync = hoheit_persistence::SqliteSync::Full;
    let store = hoheit_persistence::SeaStore::connect(&config, hoheit_persistence::crypto::MasterKey::generate(1))
        .await
        .map_err(|e| fail!("cannot open the baseline database: {e}"))?;
    let db = store.connection().clone();
    hoheit_persistence::migrate(&db).await.context("baseline migrations")?;
    let b = db.get_database_backend();
    let tenant = id(u128::MAX);
    db.execute_raw(stmt(
        b,
        "INSERT INTO tenants (id, name, settings, created_at) VALUES ($1, 'Baseline GmbH', '{}', 0)",
        vec![tenant.clone().into()],
    ))
    .await?;
    db.execute_raw(stmt(
        b,
        "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)",
        vec![tenant.clone().into(), vec![0u8; 32].into()],
    ))
    .await?;
    let blobs = Blobs::new();
    let channel = id(u128::MAX - 1);
    let mut head: i64 = 0;
    let mut events: u64 = 0;
    let mut commits: u64 = 0;
    let mut p: u64 = 0;
    let mut pending: Vec<Event> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < duration {
        while pending.len() < batch {
            pending.extend(workload.events(p).1);
            p += 1;
        }
        let now = start.elapsed().as_micros() as i64 + 1_700_000_000_000_000;
        let txn = db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        let old_head = head;
        for event in pending.drain(..batch) {
            events += 1;
            if server_pattern {
                txn.execute_raw(stmt(b, "SAVEPOINT change_set", vec![])).await?;
            }
            let known = matches!(&event, Event::Inbound { first: false, .. });
            match event {
                Event::Inbound { candidate, first, wamid, .. } => {
                    let cid = id(u128::from(candidate) + 1);
                    if first {
                        txn.execute_raw(stmt(
                            b,
                            "INSERT INTO candidates (id, tenant_id, version, lifecycle, process_ended_at, retention_due_at, \
                             review_due_at, objected, created_at, updated_at, wrapped_key, state, tombstone) \
                             VALUES ($1, $2, 0, 'active', NULL, NULL, NULL, $3, $4, $4, $5, $6, NULL)",
                            vec![
                                cid.clone().into(),
                                tenant.clone().into(),
                                false.into(),
                                now.into(),
                                blobs.get(sizes.wrapped_key, candidate).into(),
                                blobs.get(sizes.candidate_state, candidate + 1).into(),
                            ],
                        ))
                        .await?;
                        head += 1;
                        txn.execute_raw(stmt(
                            b,
                            "INSERT INTO audit_entries (tenant_id, seq, at, action, subject, canonical, hash) \
                             VALUES ($1, $2, $3, 'candidate.created', $4, $5, $6)",
                            vec![
                                tenant.clone().into(),
                                head.into(),
                                now.into(),
                                cid.clone().into(),
                                blobs.get(sizes.audit_canonical, candidate + 2).into(),
                                blobs.get(32, candidate + 3).into(),
                            ],
                        ))
                        .await?;
                    } else {
                        txn.execute_raw(stmt(
                            b,
                            "UPDATE candidates SET version = version + 1, updated_at = $3, state = $4 \
                             WHERE tenant_id = $1 AND id = $2 AND tombstone IS NULL",
                            vec![
                                tenant.clone().into(),
                                cid.clone().into(),
                                now.into(),
                                blobs.get(sizes.candidate_state, candidate + events).into(),
                            ],
                        ))
                        .await?;
                    }
                    txn.execute_raw(stmt(
                        b,
                        "INSERT INTO contact_index (tenant_id, blind, candidate_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (tenant_id, blind) DO NOTHING",
                        vec![tenant.clone().into(), blobs.get(32, candidate * 31).into(), cid.clone().into()],
                    ))
                    .await?;
                    if server_pattern && known {
                        // the server checks the owner when the contact key was indexed before
                        txn.query_one_raw(stmt(
                            b,
                            "SELECT candidate_id FROM contact_index WHERE tenant_id = $1 AND blind = $2",
                            vec![tenant.clone().into(), blobs.get(32, candidate * 31).into()],
                        ))
                        .await?;
                    }
                    txn.execute_raw(stmt(
                        b,
                        "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, intent, provider_id, \
                         reply_to, created_at, provider_at, status, timeline, body) \
                         VALUES ($1, $2, $3, $4, 'inbound', 'text', NULL, $5, NULL, $6, $6, NULL, $7, $8)",
                        vec![
                            id(u128::from(events) << 64).into(),
                            tenant.clone().into(),
                            cid.into(),
                            channel.clone().into(),
                            wamid.into(),
                            now.into(),
                            "{}".repeat(sizes.timeline.max(2) / 2).into(),
                            blobs.get(sizes.message_body, events).into(),
                        ],
                    ))
                    .await?;
                }
                Event::Status { wamid, status, .. } => {
                    txn.execute_raw(stmt(
                        b,
                        "INSERT INTO message_statuses (tenant_id, provider_id, status, at, error_code) VALUES ($1, $2, $3, $4, NULL) \
                         ON CONFLICT (tenant_id, provider_id, status) DO UPDATE SET at = excluded.at, error_code = excluded.error_code \
                         WHERE excluded.at < message_statuses.at",
                        vec![tenant.clone().into(), wamid.into(), status.into(), now.into()],
                    ))
                    .await?;
                }
            }
            if server_pattern {
                txn.execute_raw(stmt(b, "RELEASE SAVEPOINT change_set", vec![])).await?;
            }
        }
        if head != old_head {
            txn.execute_raw(stmt(
                b,
                "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1 AND seq = $4",
                vec![tenant.clone().into(), head.into(), blobs.get(32, events).into(), old_head.into()],
            ))
            .await?;
        }
        txn.commit().await?;
        commits += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    db.close().await.ok();
    Ok(StorageResult { batch, events, secs, commits })
}

/// `hoheit-load http-sink`: answers every webhook with 200 after reading its body.
pub(crate) async fn http_sink(port: u16) -> Res<()> {
    async fn sink(Path(_route): Path<String>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        if headers.contains_key(hoheit_server::state::WEBHOOK_SECRET_HEADER) && !body.is_empty() {
            (StatusCode::OK, r#"{"status":"ok"}"#)
        } else {
            (StatusCode::UNAUTHORIZED, "{}")
        }
    }
    let app =
        Router::new().route("/webhooks/360dialog/{route}", post(sink)).route("/readyz", get(|| async { "ready" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.context("http-sink bind")?;
    axum::serve(listener, app).await.context("http-sink")?;
    Ok(())
}
