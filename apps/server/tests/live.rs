//! The inbox's live updates (issue 17 item 6) over real HTTP: `GET /inbox/live` streams, per
//! committed change, the candidate's event (`c-<id>` for content, `s-<id>` for delivery
//! statuses) and an `inbox` event with the cursor; a client resumes with `Last-Event-ID`
//! without losing or repeating a change; streams need a session and are limited per session;
//! and on PostgreSQL a stream on one replica sees what another replica committed. The parts the
//! thread page refreshes: new messages (an audited content read), ticks and state (none).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::web::{Session, by_id, content_reads};
use common::*;
use hoheit_server::harness::Harness;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

/// One SSE frame.
#[derive(Debug, Clone, Default, PartialEq)]
struct Frame {
    event: String,
    data: String,
    id: Option<String>,
}

/// An open event stream.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(s: &Session, path: &str, last_event_id: Option<&str>) -> Result<Stream, u16> {
        let mut req = s.http.get(format!("{}{path}", s.base)).header("cookie", &s.cookie);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await.unwrap();
        if response.status() != 200 {
            return Err(response.status().as_u16());
        }
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Ok(Stream { response, buffer: String::new() })
    }

    /// The next frame with an event name (comments and keep-alives skipped), within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame::default();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        frame.data = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_owned());
                    }
                }
                if !frame.event.is_empty() {
                    return Some(frame);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Frames until the `inbox` event of `candidate` (inclusive).
    async fn until_inbox(&mut self, candidate: &str) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(f) = self.next(WAIT).await {
            let done = f.event == "inbox" && f.data == candidate;
            frames.push(f);
            if done {
                return frames;
            }
        }
        panic!("no inbox event for {candidate}: {frames:?}");
    }
}

/// The `after=` cursor a thread page hands its stream.
fn page_cursor(html: &str) -> String {
    let start = html.find("sse-connect=\"/inbox/live?after=").expect("the thread connects its stream") + 31;
    html[start..].split('"').next().unwrap().to_owned()
}

async fn recruiter(h: &Harness) -> (Tenant, String, Session) {
    let (t, c) = consenting(h).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@live.example").await;
    (t, c, rita)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_announces_changes_and_resumes_after_the_last_event_without_gap_or_repetition() {
    let (h, _dir) = sqlite().await;
    let (t, c, rita) = recruiter(&h).await;
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert_eq!(thread.status, 200);
    let cursor = page_cursor(&thread.html);
    // the list's first page follows live too; a later page stays as it was read
    let list = rita.get("/inbox").await;
    assert!(list.html.contains("sse-connect=\"/inbox/live?after=") && list.html.contains("sse:inbox"));
    assert!(!rita.get("/inbox?after=x").await.html.contains("sse-connect"));

    // something changes between the page and the stream's start: not lost
    assert_eq!(candidate_writes(&h, &t, "wamid.live-1", "Guten Tag").await, 200);
    let mut stream = Stream::open(&rita, &format!("/inbox/live?after={cursor}"), None).await.unwrap();
    let frames = stream.until_inbox(&c).await;
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!((frames[0].event.as_str(), frames[0].data.as_str()), (format!("c-{c}").as_str(), "content"));
    let first = frames[1].id.clone().expect("the inbox event carries the cursor");
    // nothing else: the change is announced once
    assert_eq!(stream.next(Duration::from_millis(300)).await, None);

    // the connection drops; two changes happen meanwhile; the browser comes back with the id
    drop(stream);
    assert_eq!(candidate_writes(&h, &t, "wamid.live-2", "Noch eine Frage").await, 200);
    let other = candidate(&t, "+49 170 5550999").await;
    let mut stream = Stream::open(&rita, "/inbox/live", Some(&first)).await.unwrap();
    let missed = stream.until_inbox(&other).await;
    let events: Vec<_> = missed.iter().map(|f| (f.event.clone(), f.data.clone())).collect();
    assert_eq!(
        events,
        vec![
            (format!("c-{c}"), "content".to_owned()),
            ("inbox".to_owned(), c.clone()),
            (format!("c-{other}"), "content".to_owned()),
            ("inbox".to_owned(), other.clone()),
        ],
        "exactly the missed changes, in order"
    );
    assert_eq!(stream.next(Duration::from_millis(300)).await, None);

    // a cursor this server cannot vouch for (another replica's, a restarted process's): resync
    let mut stale = Stream::open(&rita, "/inbox/live", Some("0123456789abcdef.5")).await.unwrap();
    assert_eq!(stale.next(WAIT).await.unwrap().event, "resync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_statuses_are_announced_apart_and_the_thread_refreshes_its_parts() {
    let (h, _dir) = sqlite().await;
    let (t, c, rita) = recruiter(&h).await;
    assert_eq!(candidate_writes(&h, &t, "wamid.live-in", "Hallo, ist die Stelle frei?").await, 200);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    let cursor = page_cursor(&thread.html);
    let after = thread.html.split("id=\"thread-after\" name=\"after\" value=\"").nth(1).unwrap();
    let after = after.split('"').next().unwrap().to_owned();
    let mut stream = Stream::open(&rita, &format!("/inbox/live?after={cursor}"), None).await.unwrap();

    // the recruiter answers: the new message is content; the provider's statuses are statuses
    let sent = rita.post(&format!("/inbox/{c}/text"), &[("text", "Ja, gern!")], true).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let mut kinds = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(f) = stream.next(WAIT).await {
            if f.event.ends_with(&c) {
                kinds.push(f.event.clone());
            }
            if f.event == format!("s-{c}") {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "a status event follows the send: {kinds:?}");
    assert_eq!(kinds.first().map(String::as_str), Some(format!("c-{c}").as_str()), "{kinds:?}");

    // ticks: the delivery states by message, without content and without a content read
    let reads = content_reads(&t).await;
    let ticks = rita.get(&format!("/inbox/{c}?part=ticks")).await;
    assert_eq!(ticks.status, 200);
    assert!(ticks.html.contains("hx-swap-oob=\"true\"") && ticks.html.contains("id=\"st-"), "{}", ticks.html);
    assert!(!ticks.html.contains("Ja, gern!") && !ticks.html.contains("Stelle frei"), "{}", ticks.html);
    // the state: composer and panel, no messages, no content read
    let state = rita.get(&format!("/inbox/{c}?part=state")).await;
    assert!(by_id(&state.html, "thread-state").is_some() && by_id(&state.html, "composer").is_some());
    assert!(!state.html.contains("Stelle frei"), "the state part reads no messages");
    assert_eq!(content_reads(&t).await, reads, "ticks and state are not content reads");
    // the new messages after the last one shown: only those, as an audited content read
    let more = rita.get(&format!("/inbox/{c}?part=messages&after={after}")).await;
    assert_eq!(more.status, 200);
    assert!(more.html.contains("Ja, gern!") && !more.html.contains("Stelle frei"), "{}", more.html);
    assert!(more.html.contains("id=\"thread-after\"") && more.html.contains("hx-swap-oob"), "{}", more.html);
    assert_eq!(content_reads(&t).await, reads + 1);
    // nothing new after the newest: no content
    let newest = more.html.split("id=\"thread-after\" name=\"after\" value=\"").nth(1).unwrap();
    let newest = newest.split('"').next().unwrap();
    let none = rita.get(&format!("/inbox/{c}?part=messages&after={newest}")).await;
    assert_eq!(none.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_need_a_session_are_limited_per_session_and_other_tenants_see_nothing() {
    let (h, _dir) = sqlite().await;
    let (t, c, rita) = recruiter(&h).await;
    let anonymous = reqwest::get(format!("{}/inbox/live", h.base)).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let name = rita.cookie.split('=').next().unwrap();
    let forged = Session {
        http: rita.http.clone(),
        base: rita.base.clone(),
        cookie: format!("{name}=forged"),
        csrf: String::new(),
    };
    assert_eq!(Stream::open(&forged, "/inbox/live", None).await.err(), Some(401));

    let mut open = Vec::new();
    for _ in 0..6 {
        open.push(Stream::open(&rita, "/inbox/live", None).await.unwrap());
    }
    assert_eq!(Stream::open(&rita, "/inbox/live", None).await.err(), Some(429), "a seventh stream of one session");
    drop(open.pop());
    // the slot is free again once the stream is gone
    let mut again = None;
    for _ in 0..100 {
        if let Ok(stream) = Stream::open(&rita, "/inbox/live", None).await {
            again = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ours = again.expect("a closed stream frees its slot");

    // another tenant's recruiter hears nothing of this tenant; this tenant's does
    let other = tenant(&h, "Andere GmbH", "999000111").await;
    let olga = Session::staff(&h, &other, "recruiter", "olga@andere.example").await;
    let mut theirs = Stream::open(&olga, "/inbox/live", None).await.unwrap();
    assert_eq!(candidate_writes(&h, &t, "wamid.live-x", "Hallo").await, 200);
    assert!(ours.until_inbox(&c).await.iter().any(|f| f.event == format!("c-{c}")));
    assert_eq!(theirs.next(Duration::from_millis(500)).await, None);
}

/// R25 on the stream: a recruiter's stream leaves out a restricted candidate's changes (not even
/// its id), the DPO's has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiters_stream_leaves_out_restricted_candidates_and_the_dpos_has_them() {
    let (h, _dir) = sqlite().await;
    let (t, c, rita) = recruiter(&h).await;
    let dana = Session::staff(&h, &t, "dpo", "dana@live.example").await;
    let mut hers = Stream::open(&rita, "/inbox/live", None).await.unwrap();
    let mut dpos = Stream::open(&dana, "/inbox/live", None).await.unwrap();
    // restricted on the candidate's request (Art. 18), and the candidate writes
    assert_eq!(t.recruiter.post(&format!("/api/v1/candidates/{c}/restriction"), json!({})).await.status, 200);
    assert_eq!(candidate_writes(&h, &t, "wamid.live-r", "Hallo, ist noch etwas offen?").await, 200);
    // then another candidate's change: the recruiter's stream has that one, and nothing before it
    let later = candidate(&t, "+49 170 5550997").await;
    let frames = hers.until_inbox(&later).await;
    assert_eq!(frames.len(), 2, "only the later candidate's change: {frames:?}");
    assert!(frames.iter().all(|f| !f.event.contains(&c) && !f.data.contains(&c)), "{frames:?}");
    let seen = dpos.until_inbox(&later).await;
    assert!(seen.iter().any(|f| f.event == format!("c-{c}")), "the DPO sees restricted candidates: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_stream_on_one_replica_sees_what_another_committed() {
    if postgres_database().await.is_none() {
        eprintln!("skipped: set HOHEIT_TEST_POSTGRES_URL to run the PostgreSQL variant");
        return;
    }
    let (one, two, _dir) = two_replicas().await;
    let (t, c) = consenting(&one).await;
    let rita = Session::staff(&two, &t, "recruiter", "rita@replica.example").await;
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert_eq!(thread.status, 200, "{}", thread.html);
    let mut stream =
        Stream::open(&rita, &format!("/inbox/live?after={}", page_cursor(&thread.html)), None).await.unwrap();
    // the webhook lands on replica one; the stream is on replica two
    assert_eq!(candidate_writes(&one, &t, "wamid.replica-1", "Guten Morgen").await, 200);
    let frames = stream.until_inbox(&c).await;
    assert!(frames.iter().any(|f| f.event == format!("c-{c}")), "{frames:?}");
    let last = frames.last().unwrap().id.clone().unwrap();
    // resuming on the same replica with its own cursor: exactly what was missed
    drop(stream);
    assert_eq!(candidate_writes(&one, &t, "wamid.replica-2", "Noch etwas").await, 200);
    let mut again = Stream::open(&rita, "/inbox/live", Some(&last)).await.unwrap();
    let missed = again.until_inbox(&c).await;
    assert_eq!(missed.iter().filter(|f| f.event == "inbox").count(), 1, "{missed:?}");
}
