//! Live updates for the browser (issue 17 item 6): after each commit the writer hands the hub
//! which conversations changed, and the hub tells every open stream of that tenant, in order,
//! with a cursor a reconnecting client resumes from (`Last-Event-ID`).
//!
//! - What an event says: only that a candidate's conversation changed, and whether the change
//!   has content (a new message, a consent, an objection, an assignment: [`LiveKind::Content`])
//!   or is a delivery status ([`LiveKind::Status`]). No content, no number, no name: the page
//!   fetches what changed through its own authorised (and, for content, audited) request.
//! - One process (SQLite): the hub is fed in process. Several replicas (PostgreSQL): each
//!   replica sends what its commits changed with `pg_notify` on the channel [`CHANNEL`] after the
//!   commit, and every replica (itself included) `LISTEN`s and feeds its hub from there, so a
//!   stream on any replica sees the changes of all of them.
//! - Delivery statuses arrive keyed by the provider id's keyed hash (the candidate is not loaded
//!   on that hot path); the hub looks the candidates up, one query per batch, and only for
//!   tenants with open streams. Without viewers a commit costs the hub nothing but a channel
//!   send (plus one `pg_notify` per batch on PostgreSQL). A tenant counts as watched while a
//!   stream is open and for [`GRACE`] after the last one closed or a page took a cursor; then
//!   its ring is dropped (a later stream with an old cursor resyncs).
//! - Resuming: every tenant with viewers has a ring of its last [`RING`] events, numbered within
//!   an epoch (a random number drawn when the ring starts). A cursor is `<epoch>.<seq>`; a client
//!   that presents a cursor of the current epoch still in the ring gets exactly the events after
//!   it, then the live ones, without gap or repetition. Anything else (another replica's or an
//!   older process's epoch, a cursor the ring has dropped, a stream too slow to keep up, a
//!   `LISTEN` connection that was lost) answers [`LiveItem::Resync`]: the page reloads what it
//!   shows, which is always correct because the page shows stored state, never the events.
//! - R25: each change is marked `restricted` when its candidate is restricted, or its state cannot
//!   be read when the change is published (one query per published batch, failing safe); the
//!   web layer does not pass such changes to a role that does not see restricted candidates.
//! - Known limit: a replica that dies between its commit and its `pg_notify` does not announce
//!   that commit; streams on other replicas show it with the next change of that conversation or
//!   after a reload.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Value};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::codec::uuid_from;
use crate::shared::stmt;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "hoheit_live";
/// How many events each tenant's ring keeps for resuming clients.
pub const RING: usize = 1024;
/// How many events a stream may fall behind before it is told to resync.
const LAG: usize = 1024;
/// `pg_notify` payloads stay below PostgreSQL's 8000-byte limit.
const PAYLOAD: usize = 7800;

/// What changed in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveKind {
    /// Messages or the candidate's state (consent, objection, assignment, process): the page
    /// reloads the thread (an audited content read).
    Content,
    /// Only delivery statuses: the page reloads the ticks.
    Status,
}

/// One item of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveItem {
    /// A conversation changed.
    Change {
        /// Where a client resumes after this item.
        cursor: String,
        /// The candidate (pseudonymous id).
        candidate: Uuid,
        /// What changed.
        kind: LiveKind,
        /// The candidate is restricted (R25, Art. 18), or its state could not be read when the
        /// change was published: only for streams of roles that see restricted candidates.
        restricted: bool,
    },
    /// The client may have missed changes: reload what is shown.
    Resync {
        /// Where a client resumes after this item.
        cursor: String,
    },
}

/// What a commit changed, as the writer knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Raw {
    /// A candidate's conversation.
    Candidate(Uuid, Uuid, LiveKind),
    /// A delivery status of the message with this id (tenant, message).
    Message(Uuid, Uuid),
    /// A delivery status keyed by the provider id's keyed hash (tenant, hash).
    Provider(Uuid, String),
}

impl Raw {
    fn tenant(&self) -> Uuid {
        match self {
            Raw::Candidate(t, ..) | Raw::Message(t, _) | Raw::Provider(t, _) => *t,
        }
    }

    fn encode(&self) -> String {
        match self {
            Raw::Candidate(t, c, LiveKind::Content) => format!("{} c {}", t.simple(), c.simple()),
            Raw::Candidate(t, c, LiveKind::Status) => format!("{} s {}", t.simple(), c.simple()),
            Raw::Message(t, m) => format!("{} m {}", t.simple(), m.simple()),
            Raw::Provider(t, h) => format!("{} p {h}", t.simple()),
        }
    }

    fn decode(line: &str) -> Option<Raw> {
        let mut parts = line.split(' ');
        let tenant = Uuid::try_parse(parts.next()?).ok()?;
        let kind = parts.next()?;
        let value = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        match kind {
            "c" => Some(Raw::Candidate(tenant, Uuid::try_parse(value).ok()?, LiveKind::Content)),
            "s" => Some(Raw::Candidate(tenant, Uuid::try_parse(value).ok()?, LiveKind::Status)),
            "m" => Some(Raw::Message(tenant, Uuid::try_parse(value).ok()?)),
            "p" if value.starts_with(crate::crypto::PROVIDER_HASH_PREFIX) && value.len() < 200 => {
                Some(Raw::Provider(tenant, value.to_owned()))
            }
            _ => None,
        }
    }
}

/// The `pg_notify` payloads for a batch: lines of [`Raw::encode`], each payload under
/// [`PAYLOAD`] bytes.
fn payloads(raw: &[Raw]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in raw.iter().map(Raw::encode) {
        if !current.is_empty() && current.len() + 1 + line.len() > PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// How long a tenant's ring is kept after its last stream closed or a page took its cursor
/// ([`LiveHub::cursor`]) while no stream is open: long enough for a page to open its stream or
/// a dropped stream to reconnect and resume; after that the tenant costs the writer nothing.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(120);

/// One tenant's ring and broadcast.
struct TenantLive {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<LiveItem>,
    /// The last time a page took the cursor or a stream ended (see [`GRACE`]).
    interest: Mutex<std::time::Instant>,
}

struct Ring {
    epoch: u64,
    seq: u64,
    items: VecDeque<(u64, LiveItem)>,
}

impl Ring {
    fn cursor(&self) -> String {
        format!("{:016x}.{:x}", self.epoch, self.seq)
    }
}

impl TenantLive {
    fn new() -> Self {
        let (tx, _) = broadcast::channel(LAG);
        TenantLive {
            ring: Mutex::new(Ring { epoch: rand::random(), seq: 0, items: VecDeque::new() }),
            tx,
            interest: Mutex::new(std::time::Instant::now()),
        }
    }

    fn touch(&self) {
        *self.interest.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = std::time::Instant::now();
    }

    /// Whether a stream is open, or one may open or come back soon (within `grace`).
    fn watched(&self, grace: std::time::Duration) -> bool {
        self.tx.receiver_count() > 0
            || self.interest.lock().unwrap_or_else(std::sync::PoisonError::into_inner).elapsed() < grace
    }

    fn publish(&self, changes: impl IntoIterator<Item = (Uuid, LiveKind)>, restricted: &HashSet<Uuid>) {
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (candidate, kind) in changes {
            ring.seq += 1;
            let restricted = restricted.contains(&candidate);
            let item = LiveItem::Change { cursor: ring.cursor(), candidate, kind, restricted };
            let seq = ring.seq;
            if ring.items.len() == RING {
                ring.items.pop_front();
            }
            ring.items.push_back((seq, item.clone()));
            // no receiver is fine: the ring keeps it for a client that reconnects
            let _ = self.tx.send(item);
        }
    }

    /// Starts a new epoch: every stream and every cursor of the old one resyncs.
    fn restart(&self) {
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.epoch = rand::random();
        ring.seq = 0;
        ring.items.clear();
        let _ = self.tx.send(LiveItem::Resync { cursor: ring.cursor() });
    }
}

/// A tenant's stream: the missed items first, then the live ones.
pub struct LiveSubscription {
    replay: VecDeque<LiveItem>,
    rx: broadcast::Receiver<LiveItem>,
    tenant: Arc<TenantLive>,
}

impl std::fmt::Debug for LiveSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSubscription").field("replay", &self.replay.len()).finish_non_exhaustive()
    }
}

impl Drop for LiveSubscription {
    fn drop(&mut self) {
        // a client that reconnects within the grace period resumes from its cursor
        self.tenant.touch();
    }
}

impl LiveSubscription {
    /// The next item; `None` once the hub is gone. A stream that fell more than the channel's
    /// capacity behind gets a [`LiveItem::Resync`] and continues with the live items.
    pub async fn next(&mut self) -> Option<LiveItem> {
        if let Some(item) = self.replay.pop_front() {
            return Some(item);
        }
        match self.rx.recv().await {
            Ok(item) => Some(item),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let ring = self.tenant.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                // continue after the ring's end: what is still queued in the receiver is newer
                // than the resync only if it came after this point, so drop it
                self.rx = self.rx.resubscribe();
                Some(LiveItem::Resync { cursor: ring.cursor() })
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The per-process hub (see the module documentation).
pub struct LiveHub {
    tenants: RwLock<HashMap<Uuid, Arc<TenantLive>>>,
    feed: mpsc::UnboundedSender<Vec<Raw>>,
    /// PostgreSQL: every commit is announced (another replica may have viewers).
    announce_all: std::sync::atomic::AtomicBool,
    /// See [`GRACE`].
    grace: std::time::Duration,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub").finish_non_exhaustive()
    }
}

impl LiveHub {
    /// A hub and the receiver its task reads (see [`LiveHub::start`]).
    pub(crate) fn new() -> (Arc<LiveHub>, mpsc::UnboundedReceiver<Vec<Raw>>) {
        let (feed, rx) = mpsc::unbounded_channel();
        let hub = LiveHub { tenants: RwLock::new(HashMap::new()), feed, announce_all: false.into(), grace: GRACE };
        (Arc::new(hub), rx)
    }

    /// Starts the hub's task: on SQLite it resolves and publishes what the writer committed; on
    /// PostgreSQL it sends it with `pg_notify` and a second task publishes what `LISTEN` hears.
    pub(crate) fn start(self: &Arc<Self>, db: DatabaseConnection, rx: mpsc::UnboundedReceiver<Vec<Raw>>) {
        let backend = db.get_database_backend();
        if backend == DbBackend::Postgres {
            self.announce_all.store(true, std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(notify_loop(db.clone(), rx));
            tokio::spawn(listen_loop(Arc::downgrade(self), db));
        } else {
            tokio::spawn(publish_loop(Arc::downgrade(self), db, rx));
        }
    }

    /// Whether the writer should note what a commit of this tenant changed: on SQLite only while
    /// the tenant is watched, on PostgreSQL always.
    pub(crate) fn wanted(&self, tenant: Uuid) -> bool {
        self.announce_all.load(std::sync::atomic::Ordering::Relaxed) || self.watched(tenant)
    }

    /// Whether the tenant's streams need its changes: a stream is open or may open soon (see
    /// [`GRACE`]). A tenant nobody watches any more is dropped here, so its commits cost neither
    /// the writer nor the hub anything.
    fn watched(&self, tenant: Uuid) -> bool {
        match self.tenant(tenant) {
            None => false,
            Some(live) if live.watched(self.grace) => true,
            Some(_) => {
                let mut tenants = self.tenants.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                // checked again under the write lock: streams subscribe under the read lock
                if tenants.get(&tenant).is_some_and(|live| !live.watched(self.grace)) {
                    tenants.remove(&tenant);
                }
                tenants.contains_key(&tenant)
            }
        }
    }

    /// Hands the hub what a commit changed (never blocks the writer).
    pub(crate) fn committed(&self, raw: Vec<Raw>) {
        if !raw.is_empty() {
            let _ = self.feed.send(raw);
        }
    }

    fn tenant(&self, tenant: Uuid) -> Option<Arc<TenantLive>> {
        self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&tenant).cloned()
    }

    /// Runs `f` on the tenant's entry (created if missing) while the map is locked, so that
    /// [`LiveHub::watched`] cannot drop the entry between the look-up and what `f` does.
    fn with_tenant<R>(&self, tenant: Uuid, f: impl FnOnce(&Arc<TenantLive>) -> R) -> R {
        {
            let tenants = self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(live) = tenants.get(&tenant) {
                return f(live);
            }
        }
        let mut tenants = self.tenants.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(tenants.entry(tenant).or_insert_with(|| Arc::new(TenantLive::new())))
    }

    /// The tenant's current cursor: a page rendered now passes it to its stream, so nothing
    /// committed between the rendering and the stream's start is missed. From the first call on
    /// the hub keeps the tenant's events, while a stream is open and for [`GRACE`] after the
    /// last call or the last stream.
    pub fn cursor(&self, tenant: Uuid) -> String {
        self.with_tenant(tenant, |live| {
            live.touch();
            let ring = live.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            ring.cursor()
        })
    }

    /// A stream of the tenant's changes after `after` (a cursor from [`LiveHub::cursor`] or an
    /// item); without one, only the changes from now on.
    pub fn subscribe(&self, tenant: Uuid, after: Option<&str>) -> LiveSubscription {
        self.with_tenant(tenant, |live| {
            let ring = live.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // subscribed under the ring's lock: every item published later is in the receiver,
            // every earlier one in the ring (no gap, no repetition)
            let rx = live.tx.subscribe();
            let replay = match after.map(|cursor| replay(&ring, cursor)) {
                None => VecDeque::new(),
                Some(Some(missed)) => missed,
                Some(None) => VecDeque::from([LiveItem::Resync { cursor: ring.cursor() }]),
            };
            drop(ring);
            LiveSubscription { replay, rx, tenant: live.clone() }
        })
    }

    /// Publishes resolved changes to a tenant's streams (only tenants someone watches or
    /// watched: the others are not kept); those of `restricted` candidates are marked so.
    fn publish(&self, tenant: Uuid, changes: Vec<(Uuid, LiveKind)>, restricted: &HashSet<Uuid>) {
        if let Some(live) = self.tenant(tenant) {
            live.publish(changes, restricted);
        }
    }

    /// Every tenant's streams resync (changes may have been missed).
    fn restart_all(&self) {
        let tenants: Vec<_> =
            self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect();
        for live in tenants {
            live.restart();
        }
    }
}

/// The items after `cursor`, or `None` if the ring cannot say (another epoch, dropped from the
/// ring, malformed): then the client resyncs.
fn replay(ring: &Ring, cursor: &str) -> Option<VecDeque<LiveItem>> {
    let (epoch, seq) = cursor.split_once('.')?;
    let epoch = u64::from_str_radix(epoch, 16).ok()?;
    let seq = u64::from_str_radix(seq, 16).ok()?;
    if epoch != ring.epoch || seq > ring.seq {
        return None;
    }
    let oldest = ring.items.front().map_or(ring.seq + 1, |(s, _)| *s);
    if seq + 1 < oldest {
        return None;
    }
    Some(ring.items.iter().filter(|(s, _)| *s > seq).map(|(_, item)| item.clone()).collect())
}

/// SQLite: resolves each committed batch and publishes it.
async fn publish_loop(
    hub: std::sync::Weak<LiveHub>,
    db: DatabaseConnection,
    mut rx: mpsc::UnboundedReceiver<Vec<Raw>>,
) {
    while let Some(mut raw) = rx.recv().await {
        // take what else is waiting: one lookup for many commits under load
        while let Ok(more) = rx.try_recv() {
            raw.extend(more);
        }
        let Some(hub) = hub.upgrade() else { return };
        resolve_and_publish(&hub, &db, raw).await;
    }
}

/// PostgreSQL: announces each committed batch to every replica.
async fn notify_loop(db: DatabaseConnection, mut rx: mpsc::UnboundedReceiver<Vec<Raw>>) {
    while let Some(mut raw) = rx.recv().await {
        while let Ok(more) = rx.try_recv() {
            raw.extend(more);
        }
        for payload in payloads(&raw) {
            let sent = db
                .execute_raw(stmt(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    vec![CHANNEL.into(), payload.into()],
                ))
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %crate::codec::db_error(&e), "live update not announced");
            }
        }
    }
}

/// PostgreSQL: feeds the hub from `LISTEN`; a lost connection restarts every tenant's epoch
/// (notifications sent meanwhile are lost, so streams resync).
async fn listen_loop(hub: std::sync::Weak<LiveHub>, db: DatabaseConnection) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e.to_string().chars().take(200).collect::<String>(), "live updates: LISTEN failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e.to_string().chars().take(200).collect::<String>(), "live updates: LISTEN failed");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        // anything committed before this LISTEN took effect may be unannounced here
        match hub.upgrade() {
            Some(hub) => hub.restart_all(),
            None => return,
        }
        loop {
            let notification = match listener.try_recv().await {
                Ok(Some(n)) => n,
                // the connection was lost: reconnect (and resync) in the outer loop
                Ok(None) | Err(_) => break,
            };
            let raw: Vec<Raw> = notification.payload().lines().filter_map(Raw::decode).collect();
            let Some(hub) = hub.upgrade() else { return };
            resolve_and_publish(&hub, &db, raw).await;
        }
    }
}

/// Resolves statuses to their candidates (for watched tenants only) and publishes, per tenant,
/// each candidate once per kind in the order first seen; content wins over status.
async fn resolve_and_publish(hub: &LiveHub, db: &DatabaseConnection, raw: Vec<Raw>) {
    let mut by_tenant: HashMap<Uuid, Vec<Raw>> = HashMap::new();
    let mut watched: HashMap<Uuid, bool> = HashMap::new();
    for r in raw {
        if *watched.entry(r.tenant()).or_insert_with(|| hub.watched(r.tenant())) {
            by_tenant.entry(r.tenant()).or_default().push(r);
        }
    }
    for (tenant, raw) in by_tenant {
        let mut messages = Vec::new();
        let mut hashes = Vec::new();
        for r in &raw {
            match r {
                Raw::Message(_, m) => messages.push(*m),
                Raw::Provider(_, h) => hashes.push(h.clone()),
                Raw::Candidate(..) => {}
            }
        }
        let by_message = lookup(db, tenant, messages.into_iter().map(Key::Id).collect()).await;
        let by_hash = lookup(db, tenant, hashes.into_iter().map(Key::Hash).collect()).await;
        let mut order: Vec<(Uuid, LiveKind)> = Vec::new();
        let mut content: HashSet<Uuid> = HashSet::new();
        let mut status: HashSet<Uuid> = HashSet::new();
        let mut push = |candidate: Uuid, kind: LiveKind| match kind {
            LiveKind::Content if content.insert(candidate) => order.push((candidate, kind)),
            LiveKind::Status if !content.contains(&candidate) && status.insert(candidate) => {
                order.push((candidate, kind))
            }
            LiveKind::Content | LiveKind::Status => {}
        };
        for r in &raw {
            match r {
                Raw::Candidate(_, c, kind) => push(*c, *kind),
                Raw::Message(_, m) => {
                    if let Some(c) = by_message.get(&Key::Id(*m)) {
                        push(*c, LiveKind::Status);
                    }
                }
                Raw::Provider(_, h) => {
                    if let Some(c) = by_hash.get(&Key::Hash(h.clone())) {
                        push(*c, LiveKind::Status);
                    }
                }
            }
        }
        // a status announced before a content change of the same candidate in this batch is
        // covered by the content reload
        order.retain(|(c, kind)| *kind == LiveKind::Content || !content.contains(c));
        let restricted = restricted_among(db, tenant, &order).await;
        hub.publish(tenant, order, &restricted);
    }
}

/// Which of the changed candidates a recruiter's stream must not name (R25): the restricted
/// ones, and, failing safe, any whose state cannot be read now (gone, or the read failed).
async fn restricted_among(db: &DatabaseConnection, tenant: Uuid, changes: &[(Uuid, LiveKind)]) -> HashSet<Uuid> {
    let mut restricted: HashSet<Uuid> = changes.iter().map(|(c, _)| *c).collect();
    let backend = db.get_database_backend();
    let ids: Vec<Uuid> = restricted.iter().copied().collect();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id FROM candidates WHERE {} = $1 AND id IN ({}) AND lifecycle <> 'restricted'",
            crate::shared::tenant_term(backend),
            crate::shared::numbered(2, chunk.len())
        );
        let mut values = vec![Value::from(crate::codec::id_bytes(tenant))];
        values.extend(chunk.iter().map(|id| Value::from(crate::codec::id_bytes(*id))));
        match db.query_all_raw(stmt(backend, &sql, values)).await {
            Ok(rows) => {
                for row in rows {
                    if let Some(id) = row.try_get::<Vec<u8>>("", "id").ok().and_then(|b| uuid_from(&b).ok()) {
                        restricted.remove(&id);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %crate::codec::db_error(&e), "live updates: lifecycle lookup failed"),
        }
    }
    restricted
}

/// A message, by id or by the keyed hash of its provider id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(Uuid),
    Hash(String),
}

/// `candidate_id` of the tenant's messages with these keys (all of one variant).
async fn lookup(db: &DatabaseConnection, tenant: Uuid, keys: Vec<Key>) -> HashMap<Key, Uuid> {
    let mut found = HashMap::new();
    let backend = db.get_database_backend();
    for chunk in keys.chunks(500) {
        let column = if matches!(chunk.first(), Some(Key::Id(_))) { "id" } else { "provider_id" };
        let sql = format!(
            "SELECT {column} AS k, candidate_id FROM messages WHERE tenant_id = $1 AND {column} IN ({})",
            crate::shared::numbered(2, chunk.len())
        );
        let mut values = vec![Value::from(crate::codec::id_bytes(tenant))];
        values.extend(chunk.iter().map(|k| match k {
            Key::Id(id) => Value::from(crate::codec::id_bytes(*id)),
            Key::Hash(h) => Value::from(h.clone()),
        }));
        let rows = match db.query_all_raw(stmt(backend, &sql, values)).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %crate::codec::db_error(&e), "live updates: status lookup failed");
                continue;
            }
        };
        for row in rows {
            let candidate = row.try_get::<Vec<u8>>("", "candidate_id").ok().and_then(|b| uuid_from(&b).ok());
            let key = if column == "id" {
                row.try_get::<Vec<u8>>("", "k").ok().and_then(|b| uuid_from(&b).ok()).map(Key::Id)
            } else {
                row.try_get::<String>("", "k").ok().map(Key::Hash)
            };
            if let (Some(key), Some(candidate)) = (key, candidate) {
                found.insert(key, candidate);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn change(item: &LiveItem) -> (Uuid, LiveKind) {
        match item {
            LiveItem::Change { candidate, kind, .. } => (*candidate, *kind),
            LiveItem::Resync { .. } => panic!("unexpected resync"),
        }
    }

    fn cursor(item: &LiveItem) -> String {
        match item {
            LiveItem::Change { cursor, .. } | LiveItem::Resync { cursor } => cursor.clone(),
        }
    }

    #[tokio::test]
    async fn a_tenant_is_fed_while_watched_and_for_the_grace_period_after() {
        let (feed, _rx) = mpsc::unbounded_channel();
        let grace = std::time::Duration::from_millis(100);
        let hub = LiveHub { tenants: RwLock::new(HashMap::new()), feed, announce_all: false.into(), grace };
        let (tenant, a) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(!hub.wanted(tenant), "nobody asked");
        // a page took the cursor: kept for its stream to open
        let start = hub.cursor(tenant);
        assert!(hub.wanted(tenant));
        hub.publish(tenant, vec![(a, LiveKind::Content)], &HashSet::new());
        let mut stream = hub.subscribe(tenant, Some(&start));
        assert_eq!(change(&stream.next().await.unwrap()), (a, LiveKind::Content));
        // an open stream keeps it, however long
        tokio::time::sleep(grace * 2).await;
        assert!(hub.wanted(tenant));
        hub.publish(tenant, vec![(a, LiveKind::Status)], &HashSet::new());
        assert_eq!(change(&stream.next().await.unwrap()), (a, LiveKind::Status));
        // closed: kept for a reconnect within the grace period, which resumes
        let resume = cursor(&LiveItem::Change {
            cursor: hub.cursor(tenant),
            candidate: a,
            kind: LiveKind::Status,
            restricted: false,
        });
        drop(stream);
        assert!(hub.wanted(tenant));
        hub.publish(tenant, vec![(a, LiveKind::Content)], &HashSet::new());
        let mut again = hub.subscribe(tenant, Some(&resume));
        assert_eq!(change(&again.next().await.unwrap()), (a, LiveKind::Content));
        drop(again);
        // then dropped: commits cost nothing, and an old cursor resyncs
        tokio::time::sleep(grace + std::time::Duration::from_millis(20)).await;
        assert!(!hub.wanted(tenant));
        assert!(hub.tenant(tenant).is_none(), "the ring is gone");
        let mut late = hub.subscribe(tenant, Some(&resume));
        assert!(matches!(late.next().await.unwrap(), LiveItem::Resync { .. }));
    }

    #[tokio::test]
    async fn changes_of_restricted_candidates_are_marked() {
        let (hub, _rx) = LiveHub::new();
        let tenant = Uuid::new_v4();
        let (open, held) = (Uuid::new_v4(), Uuid::new_v4());
        let start = hub.cursor(tenant);
        hub.publish(tenant, vec![(open, LiveKind::Content), (held, LiveKind::Status)], &HashSet::from([held]));
        let mut stream = hub.subscribe(tenant, Some(&start));
        let marked = |item: LiveItem| match item {
            LiveItem::Change { candidate, restricted, .. } => (candidate, restricted),
            LiveItem::Resync { .. } => panic!("unexpected resync"),
        };
        assert_eq!(marked(stream.next().await.unwrap()), (open, false));
        assert_eq!(marked(stream.next().await.unwrap()), (held, true));
    }

    #[tokio::test]
    async fn a_client_resumes_after_its_cursor_without_gap_or_repetition() {
        let (hub, _rx) = LiveHub::new();
        let tenant = Uuid::new_v4();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let start = hub.cursor(tenant);
        hub.publish(tenant, vec![(a, LiveKind::Content)], &HashSet::new());
        let mut first = hub.subscribe(tenant, Some(&start));
        let seen = first.next().await.unwrap();
        assert_eq!(change(&seen), (a, LiveKind::Content));
        hub.publish(tenant, vec![(b, LiveKind::Status), (c, LiveKind::Content)], &HashSet::new());
        // the connection drops after b; the client comes back with b's cursor
        let b_item = first.next().await.unwrap();
        assert_eq!(change(&b_item), (b, LiveKind::Status));
        drop(first);
        let mut again = hub.subscribe(tenant, Some(&cursor(&b_item)));
        assert_eq!(change(&again.next().await.unwrap()), (c, LiveKind::Content));
        hub.publish(tenant, vec![(a, LiveKind::Status)], &HashSet::new());
        assert_eq!(change(&again.next().await.unwrap()), (a, LiveKind::Status));
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), again.next()).await.is_err());
    }

    #[tokio::test]
    async fn unknown_or_dropped_cursors_resync_and_other_tenants_are_not_seen() {
        let (hub, _rx) = LiveHub::new();
        let (tenant, other) = (Uuid::new_v4(), Uuid::new_v4());
        let start = hub.cursor(tenant);
        let _ = hub.cursor(other);
        for _ in 0..RING + 1 {
            hub.publish(tenant, vec![(Uuid::new_v4(), LiveKind::Content)], &HashSet::new());
        }
        for stale in [start.as_str(), "0123456789abcdef.1", "nonsense", "ffffffffffffffff.zz"] {
            let mut s = hub.subscribe(tenant, Some(stale));
            assert!(matches!(s.next().await.unwrap(), LiveItem::Resync { .. }), "{stale}");
        }
        let mut theirs = hub.subscribe(other, None);
        hub.publish(tenant, vec![(Uuid::new_v4(), LiveKind::Content)], &HashSet::new());
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), theirs.next()).await.is_err());
        // a cursor ahead of the ring is not trusted either
        let ahead = {
            let cur = hub.cursor(tenant);
            let (epoch, _) = cur.split_once('.').unwrap();
            format!("{epoch}.ffff")
        };
        let mut s = hub.subscribe(tenant, Some(&ahead));
        assert!(matches!(s.next().await.unwrap(), LiveItem::Resync { .. }));
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_resyncs_and_goes_on() {
        let (hub, _rx) = LiveHub::new();
        let tenant = Uuid::new_v4();
        let mut slow = hub.subscribe(tenant, None);
        for _ in 0..LAG + 10 {
            hub.publish(tenant, vec![(Uuid::new_v4(), LiveKind::Content)], &HashSet::new());
        }
        assert!(matches!(slow.next().await.unwrap(), LiveItem::Resync { .. }));
        let last = Uuid::new_v4();
        hub.publish(tenant, vec![(last, LiveKind::Content)], &HashSet::new());
        assert_eq!(change(&slow.next().await.unwrap()), (last, LiveKind::Content));
        // a restart (lost LISTEN) resyncs open streams and old cursors
        let before = hub.cursor(tenant);
        hub.restart_all();
        assert!(matches!(slow.next().await.unwrap(), LiveItem::Resync { .. }));
        let mut old = hub.subscribe(tenant, Some(&before));
        assert!(matches!(old.next().await.unwrap(), LiveItem::Resync { .. }));
    }

    #[test]
    fn notifications_round_trip_and_stay_under_the_payload_limit() {
        let tenant = Uuid::new_v4();
        let mut raw = vec![
            Raw::Candidate(tenant, Uuid::new_v4(), LiveKind::Content),
            Raw::Candidate(tenant, Uuid::new_v4(), LiveKind::Status),
            Raw::Message(tenant, Uuid::new_v4()),
        ];
        for i in 0..300 {
            raw.push(Raw::Provider(tenant, format!("{}{i:064x}", crate::crypto::PROVIDER_HASH_PREFIX)));
        }
        let payloads = payloads(&raw);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= PAYLOAD));
        let back: Vec<Raw> =
            payloads.iter().flat_map(|p| p.lines().filter_map(Raw::decode).collect::<Vec<_>>()).collect();
        assert_eq!(back, raw);
        for bad in [
            "",
            "x c y",
            &format!("{} p plain-wamid", tenant.simple()),
            &format!("{} q {}", tenant.simple(), tenant.simple()),
        ] {
            assert_eq!(Raw::decode(bad), None, "{bad}");
        }
    }
}
