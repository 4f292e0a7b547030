//! Live updates in the browser (issue 17 item 6): `GET /inbox/live` is a Server-Sent-Events
//! stream of which conversations of the signed-in person's tenant changed. An event names the
//! candidate (pseudonymous id) and whether the change has content; never the content itself:
//! the page fetches what changed through its ordinary, authorised routes (a thread's new
//! messages as an audited content read, its delivery ticks without content).
//!
//! Per change the stream sends two events: `c-<candidate>` (content: messages, consent,
//! objection, assignment) or `s-<candidate>` (delivery statuses only), then `inbox` with the
//! candidate as data and the event id (the cursor). A `resync` event means changes may have been
//! missed: the page reloads what it shows. Pages pass the cursor of the moment they were
//! rendered (`?after=`), so nothing between rendering and connecting is lost; a reconnecting
//! browser sends `Last-Event-ID`, which wins over `after`. A recruiter's stream leaves out the
//! changes of restricted candidates (R25: the source marks them, and marks any whose state it
//! could not read); admin and DPO streams have them.
//!
//! The stream checks the session when it starts and every 30 seconds, without counting as
//! activity (an open tab does not keep a session from its idle time-out), and ends with it. At
//! most [`STREAMS_PER_SESSION`] streams per session (more answer 429).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::staff::SecretText;
use serde::Deserialize;
use uuid::Uuid;

use crate::WebState;
use crate::identity::Client;

/// How many live streams one session may hold open (a few tabs).
pub const STREAMS_PER_SESSION: usize = 6;
/// How often an open stream re-checks its session.
const SESSION_CHECK: Duration = Duration::from_secs(30);

/// One item of a tenant's live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A conversation changed.
    Changed {
        /// Where a client resumes after this event.
        cursor: String,
        /// The candidate.
        candidate: CandidateId,
        /// Only delivery statuses changed (no new content).
        status_only: bool,
        /// The candidate is restricted (R25), or the source could not tell: not passed to a
        /// stream whose role does not see restricted candidates.
        restricted: bool,
    },
    /// Changes may have been missed: reload what is shown.
    Resync {
        /// Where a client resumes after this event.
        cursor: String,
    },
}

/// The source of live events (implemented by the server over the store's hub).
pub trait LiveFeed: Send + Sync {
    /// The tenant's current cursor, for a page rendered now.
    fn cursor(&self, tenant: TenantId) -> String;
    /// The tenant's events after `after` (or from now on).
    fn subscribe(&self, tenant: TenantId, after: Option<&str>) -> Box<dyn LiveStream>;
}

/// An open subscription.
#[async_trait]
pub trait LiveStream: Send {
    /// The next event; `None` when the source is gone.
    async fn next(&mut self) -> Option<LiveEvent>;
}

/// Open streams per session.
#[derive(Debug, Default, Clone)]
pub(crate) struct StreamCount(Arc<Mutex<HashMap<Uuid, usize>>>);

/// Holds one of a session's stream slots until dropped.
struct Slot {
    count: StreamCount,
    session: Uuid,
}

impl StreamCount {
    fn take(&self, session: Uuid) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(session).or_insert(0);
        if *n >= STREAMS_PER_SESSION {
            return None;
        }
        *n += 1;
        Some(Slot { count: self.clone(), session })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.count.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.session);
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LiveQuery {
    after: Option<String>,
}

/// The cursor a page rendered now hands its stream (`None` without a live source).
pub(crate) fn cursor(state: &WebState, tenant: TenantId) -> Option<String> {
    state.live().map(|live| live.cursor(tenant))
}

/// `GET /inbox/live`.
pub(crate) async fn stream(State(state): State<WebState>, client: Client, Query(q): Query<LiveQuery>) -> Response {
    let (Some(app), Some(live)) = (state.app(), state.live()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(cookie) = client.cookie() else { return StatusCode::UNAUTHORIZED.into_response() };
    let Ok(principal) = app.session_untouched(&cookie).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !Action::ReadCandidates.allows(principal.role) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(slot) = state.streams.take(principal.session_id) else {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    };
    let last = client
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.after)
        .filter(|c| c.len() <= 64);
    let subscription = live.subscribe(principal.tenant, last.as_deref());
    let open = Open {
        subscription,
        sees_restricted: hoheit_domain::access::sees_restricted(principal.role),
        app: app.clone(),
        cookie,
        checked: tokio::time::Instant::now(),
        pending: None,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(open, |mut open| async move {
        let event = open.next_event().await?;
        Some((Ok::<Event, Infallible>(event), open))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// One open stream's state.
struct Open {
    subscription: Box<dyn LiveStream>,
    /// Whether the role sees restricted candidates (R25): else their changes are left out.
    sees_restricted: bool,
    app: hoheit_domain::usecases::Hoheit,
    cookie: SecretText,
    checked: tokio::time::Instant,
    /// The `inbox` event that follows a conversation's own event.
    pending: Option<Event>,
    _slot: Slot,
}

impl Open {
    /// The next SSE event, or `None` when the stream ends (session over, source gone).
    async fn next_event(&mut self) -> Option<Event> {
        if let Some(event) = self.pending.take() {
            return Some(event);
        }
        loop {
            let wait = SESSION_CHECK.saturating_sub(self.checked.elapsed());
            match tokio::time::timeout(wait, self.subscription.next()).await {
                Ok(Some(LiveEvent::Changed { restricted: true, .. })) if !self.sees_restricted => {}
                Ok(Some(LiveEvent::Changed { cursor, candidate, status_only, .. })) => {
                    let name = format!("{}-{candidate}", if status_only { "s" } else { "c" });
                    self.pending = Some(Event::default().event("inbox").id(cursor).data(candidate.to_string()));
                    return Some(Event::default().event(name).data(if status_only { "status" } else { "content" }));
                }
                Ok(Some(LiveEvent::Resync { cursor })) => {
                    return Some(Event::default().event("resync").id(cursor).data("resync"));
                }
                Ok(None) => return None,
                Err(_) => {
                    if self.app.session_untouched(&self.cookie).await.is_err() {
                        return None;
                    }
                    self.checked = tokio::time::Instant::now();
                }
            }
        }
    }
}
