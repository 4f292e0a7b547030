//! The inbox benchmark (issue 17, "Done when"): a tenant with 10,000 conversations (on
//! PostgreSQL followed by `ANALYZE`, the statistics autovacuum would gather shortly after), then
//!
//! 1. **list**: signed-in recruiters (8 by default, each its own session and connection) page
//!    through `GET /inbox` in a closed loop: the first page and the following ones through the
//!    page's "next" link, the view `needs_reply` and the filter `window_open`; latency
//!    percentiles, requests/s, server RSS. A second short phase asks for a filter that matches
//!    nothing (`objected`), the worst case of a filtered view (the domain reads up to its scan
//!    limit of candidates before it answers), reported on its own;
//! 2. **live**: 500 open SSE streams at `GET /inbox/live` (at most 6 per session, so over at
//!    least 84 sessions), then webhooks one after another, each an inbound text message of a
//!    candidate; per (webhook, stream) the time from the webhook's 200 to the stream's first
//!    `inbox` event naming that candidate (0 if it came before the 200); lost = not there within
//!    the timeout; server RSS with the streams open.
//!
//! The candidates are created the fast way the other scenarios use: inbound webhooks with many
//! messages per POST (each new sender becomes a candidate with one message), and the live
//! targets through `POST /api/v1/candidates` (their ids are what the `inbox` events carry).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{self, Plan};
use crate::procfs::{self, CpuMeter, CpuSplit};
use crate::server::{Db, ServerProc, ServerSpec};
use crate::session::{self, Session};
use crate::setup::{self, Api, ChannelSetup, TenantSetup};
use crate::sse::{Round, SseParser};
use crate::util::{Context as _, Res, fail, ms, note, percentile, say, unix_now};
use crate::workload::Workload;

/// What the benchmark does.
#[derive(Debug, Clone)]
pub(crate) struct InboxOptions {
    /// Conversations in the tenant (candidates with one inbound message each).
    pub(crate) conversations: u64,
    /// Signed-in recruiters paging through the list at once.
    pub(crate) users: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Seconds of the filter that matches nothing (0: skipped).
    pub(crate) scan: Duration,
    /// Open SSE streams.
    pub(crate) streams: usize,
    /// Streams per session (the server allows 6).
    pub(crate) per_session: usize,
    /// Webhooks sent one after another while the streams are open.
    pub(crate) webhooks: u64,
    /// How long a webhook's event may take to reach every stream before the missing ones count
    /// as lost.
    pub(crate) timeout: Duration,
    pub(crate) list: bool,
    pub(crate) live: bool,
}

impl Default for InboxOptions {
    /// The issue's benchmark (the defaults of `hoheit-load inbox`).
    fn default() -> Self {
        Self {
            conversations: 10_000,
            users: 8,
            warmup: Duration::from_secs(5),
            duration: Duration::from_secs(30),
            scan: Duration::from_secs(10),
            streams: 500,
            per_session: 6,
            webhooks: 100,
            timeout: Duration::from_secs(5),
            list: true,
            live: true,
        }
    }
}

/// Aborts the stream tasks when the live phase ends, however it ends.
struct Streams(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Streams {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Percentiles of one set of latencies (microseconds).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct Spread {
    pub(crate) count: usize,
    pub(crate) p50_us: u32,
    pub(crate) p95_us: u32,
    pub(crate) p99_us: u32,
    pub(crate) max_us: u32,
}

impl Spread {
    /// Sorts the latencies and takes their percentiles (nearest rank).
    pub(crate) fn of(latencies: &mut [u32]) -> Self {
        latencies.sort_unstable();
        Self {
            count: latencies.len(),
            p50_us: percentile(latencies, 50.0),
            p95_us: percentile(latencies, 95.0),
            p99_us: percentile(latencies, 99.0),
            max_us: latencies.last().copied().unwrap_or(0),
        }
    }
}

/// The list phase.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct ListFigures {
    pub(crate) users: usize,
    pub(crate) secs: f64,
    pub(crate) all: Spread,
    /// Per kind of request ("all, page 1", ...).
    pub(crate) kinds: Vec<(String, Spread)>,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) cpu: CpuSplit,
    pub(crate) peak_rss_mib: f64,
    /// The filter that matches nothing, measured on its own.
    pub(crate) scan: Option<(String, Spread, f64)>,
}

impl ListFigures {
    pub(crate) fn requests_per_second(&self) -> f64 {
        if self.secs > 0.0 { self.all.count as f64 / self.secs } else { 0.0 }
    }
}

/// The live phase.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct LiveFigures {
    pub(crate) streams: usize,
    pub(crate) sessions: usize,
    pub(crate) webhooks: u64,
    /// Over all (webhook, stream) pairs that arrived.
    pub(crate) pairs: Spread,
    /// Per webhook: until the last stream had it.
    pub(crate) slowest: Spread,
    pub(crate) lost: u64,
    pub(crate) webhook_errors: u64,
    /// Streams that ended during the run.
    pub(crate) dropped: u64,
    /// Comment lines (keep-alives) and events seen over all streams.
    pub(crate) comments: u64,
    pub(crate) events: u64,
    pub(crate) resyncs: u64,
    /// Missing after the unmeasured first webhook.
    pub(crate) warmup_missing: usize,
    pub(crate) rss_open_mib: f64,
    pub(crate) peak_rss_mib: f64,
    pub(crate) cpu: CpuSplit,
    /// Status of a 7th stream on a session that has 6.
    pub(crate) seventh: Option<u16>,
}

/// The whole run on one database.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct InboxResult {
    pub(crate) db: String,
    pub(crate) conversations: u64,
    pub(crate) setup_secs: f64,
    pub(crate) list: Option<ListFigures>,
    pub(crate) live: Option<Result<LiveFigures, String>>,
    /// The server's RSS (MiB) and threads at the steps of the run, in order.
    pub(crate) memory: Vec<(String, f64, u64)>,
}

/// Runs the benchmark on a fresh server.
pub(crate) async fn run(bin: &Path, work: &Path, db: &Db, opts: &InboxOptions) -> Res<InboxResult> {
    let started = Instant::now();
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_load_inbox").await?),
    };
    let spec = ServerSpec::new(bin, &crate::util::fresh_dir(work, &format!("inbox-{}", db.label())), database_url)?;
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Inbox GmbH", 1, None).await?;
    let channel = tenant.channels.first().context("no channel")?.clone();
    conversations(&spec, &tenant, opts.conversations).await?;
    let targets = if opts.live { live_targets(&spec, &tenant, opts.webhooks + 1).await? } else { Vec::new() };
    let admin = Api::new(&spec.base(), &tenant.admin)?;
    if let Some(url) = &spec.database_url {
        // the steady state of a tenant with this many conversations: PostgreSQL's planner has
        // statistics (autovacuum gathers them within a minute or so of a bulk load; right after
        // the set-up it has none, and the list's reads took bitmap scans of every candidate)
        let conn = sea_orm::Database::connect(url.as_str()).await.context("cannot connect to PostgreSQL")?;
        sea_orm::ConnectionTrait::execute_unprepared(&conn, "ANALYZE").await.context("ANALYZE")?;
        conn.close().await.ok();
    }
    let setup_secs = started.elapsed().as_secs_f64();
    note(&format!("inbox on {}: set up in {setup_secs:.0} s", db.label()));
    let memory = Mutex::new(Vec::new());
    let pid = server.pid;
    let checkpoint = |step: &str| {
        let rss = rss_now_mib(pid);
        let threads = procfs::threads(pid).unwrap_or(0);
        note(&format!("server RSS {rss:.0} MiB, {threads} threads: {step}"));
        if let Ok(mut m) = memory.lock() {
            m.push((step.to_owned(), rss, threads));
        }
    };
    checkpoint("after the set-up (conversations, live targets)");
    let list = if opts.list {
        let users = session::recruiters(&admin, "list", opts.users, 2).await?;
        checkpoint(&format!("after {} recruiters signed in", opts.users));
        let list = list_phase(&spec.base(), server.pid, &users, opts).await?;
        checkpoint("after the list");
        Some(list)
    } else {
        None
    };
    let live = if opts.live {
        Some(live_phase(&spec.base(), &server, &admin, &channel, &targets, opts, &checkpoint).await.map_err(|e| e.0))
    } else {
        None
    };
    let memory = memory.into_inner().unwrap_or_default();
    if !server.running() {
        return Err(fail!("the server died during the inbox run; see {}", spec.log.display()));
    }
    server.stop(Duration::from_secs(30)).await;
    Ok(InboxResult { db: db.label().to_owned(), conversations: opts.conversations, setup_secs, list, live, memory })
}

/// Messages per webhook POST while the conversations are created: each message of a new sender
/// inserts a candidate, and a POST must be stored within the server's ingest deadline (800 ms),
/// also on PostgreSQL on a busy machine.
const SETUP_EVENTS_PER_POST: u64 = 4;

/// `count` candidates with one inbound text message each, from senders seen for the first time.
async fn conversations(spec: &ServerSpec, tenant: &TenantSetup, count: u64) -> Res<()> {
    note(&format!("creating {count} conversations (inbound webhooks, {SETUP_EVENTS_PER_POST} messages per POST)"));
    let workload = Workload {
        channels: tenant.channels.clone(),
        candidates: count,
        inbound_per_mille: 1000,
        events_per_post: SETUP_EVENTS_PER_POST,
        run: "inbox".into(),
        timestamp: unix_now(),
        sender_offset: 0,
    };
    let posts = count.div_ceil(SETUP_EVENTS_PER_POST);
    // re-delivered until stored, as 360Dialog does (a 503 past the deadline is no failure here)
    let plan = Plan {
        posts: Some(posts),
        duration: None,
        retry_for: Some(Duration::from_secs(120)),
        ..Plan::closed(16, Duration::ZERO, Duration::ZERO)
    };
    let addr = format!("127.0.0.1:{}", spec.port).parse()?;
    let done =
        client::run(vec![addr], Arc::new(workload), plan, None, Arc::new(AtomicBool::new(false)), Instant::now()).await;
    if done.error_count() > 0 {
        note(&format!("set-up webhooks re-delivered after: {}", done.errors_text()));
    }
    if done.acked_events_total != posts * SETUP_EVENTS_PER_POST {
        return Err(fail!(
            "conversations not all stored: {} of {} messages acknowledged, errors {}",
            done.acked_events_total,
            posts * SETUP_EVENTS_PER_POST,
            done.errors_text()
        ));
    }
    Ok(())
}

/// A candidate the live phase writes as: its id (what the `inbox` event carries) and number.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    from: String,
}

/// `count` candidates added through the API (senders apart from the conversations').
async fn live_targets(spec: &ServerSpec, tenant: &TenantSetup, count: u64) -> Res<Vec<Target>> {
    let recruiter = Api::new(&spec.base(), &tenant.recruiter)?;
    let channel = tenant.channels.first().context("no channel")?.id.clone();
    let slots = Arc::new(Mutex::new(vec![None; usize::try_from(count).unwrap_or(0)]));
    let (failed, first) = {
        let slots = slots.clone();
        setup::parallel(count, 8, move |n| {
            let (recruiter, channel, slots) = (recruiter.clone(), channel.clone(), slots.clone());
            async move {
                let from = format!("49171{:07}", 5_000_000 + n);
                let body = json!({"phone": format!("+{from}"), "channel_id": channel});
                let created = recruiter.expect("/api/v1/candidates", &body, 201).await?;
                let id = created.get("id").and_then(|v| v.as_str()).context("candidate id")?.to_owned();
                if let Ok(mut s) = slots.lock()
                    && let Some(slot) = s.get_mut(usize::try_from(n).unwrap_or(usize::MAX))
                {
                    *slot = Some(Target { id, from });
                }
                Ok(())
            }
        })
        .await
    };
    if failed > 0 {
        return Err(fail!("{failed} live targets not created: {}", first.unwrap_or_default()));
    }
    let targets: Vec<Target> = slots.lock().map(|s| s.iter().flatten().cloned().collect()).unwrap_or_default();
    Ok(targets)
}

/// Samples the server's RSS (VmRSS) while running; `stop` returns the highest sample in MiB.
struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Some((rss, _)) = procfs::memory_kib(pid) {
                    peak = peak.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        });
        Self { stop, task }
    }

    async fn stop(self, pid: u32) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.task.await.unwrap_or(0);
        // VmHWM catches a peak between two samples (reset at the start of the phase)
        let hwm = procfs::memory_kib(pid).map_or(0, |(_, hwm)| hwm);
        sampled.max(hwm) as f64 / 1024.0
    }
}

fn rss_now_mib(pid: u32) -> f64 {
    procfs::memory_kib(pid).map_or(0.0, |(rss, _)| rss as f64 / 1024.0)
}

/// One browsing sequence of a recruiter: (first page, pages to read, kind of the first page,
/// kind of the following ones).
const SCRIPT: [(&str, usize, &str, &str); 3] = [
    ("/inbox", 4, "all, page 1", "all, pages 2-4"),
    ("/inbox?view=needs_reply", 2, "needs_reply, page 1", "needs_reply, page 2"),
    ("/inbox?view=all&filter=window_open", 1, "filter window_open, page 1", ""),
];

/// Where a list page's "next" link points (`id="inbox-next"`), entities decoded.
pub(crate) fn next_link(html: &str) -> Option<String> {
    let at = html.find("id=\"inbox-next\"")?;
    let start = html.get(..at)?.rfind('<')?;
    let end = at + html.get(at..)?.find('>')?;
    let tag = html.get(start..end)?;
    let href = tag.split_once("href=\"")?.1.split_once('"')?.0;
    Some(unescape(href))
}

/// The rows (conversations) on a list page.
pub(crate) fn row_count(html: &str) -> usize {
    html.matches("<tr id=\"row-").count()
}

/// Decodes the HTML entities a template escapes an attribute with (`&amp;`, `&quot;`, `&#39;`,
/// `&lt;`, `&gt;` and numeric ones).
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        rest = rest.get(amp..).unwrap_or_default();
        let decoded = rest.find(';').filter(|semi| *semi <= 10).and_then(|semi| {
            let name = rest.get(1..semi)?;
            let ch = match name {
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                "lt" => '<',
                "gt" => '>',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((ch, semi))
        });
        match decoded {
            Some((ch, semi)) => {
                out.push(ch);
                rest = rest.get(semi + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// A browser for the list: no redirects followed (a signed-out answer is a 303 to /signin).
fn browser() -> Res<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}

/// GETs a list page: (status, html).
async fn get_page(http: &reqwest::Client, base: &str, path: &str, cookie: &str) -> Result<(u16, String), String> {
    let r = http
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| if e.is_timeout() { "timeout".to_owned() } else { "transport".to_owned() })?;
    let status = r.status().as_u16();
    let html = r.text().await.map_err(|_| "body".to_owned())?;
    Ok((status, html))
}

#[derive(Default)]
struct UserResult {
    latencies: BTreeMap<&'static str, Vec<u32>>,
    errors: BTreeMap<String, u64>,
}

/// The recruiters page through the list in a closed loop; requests that start after `window`
/// and end before `end` are measured. `script` is the sequence each repeats.
async fn browse(
    base: &str,
    users: &[Session],
    script: &'static [(&'static str, usize, &'static str, &'static str)],
    window: Instant,
    end: Instant,
) -> Res<UserResult> {
    let mut tasks = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let http = browser()?;
        let (base, cookie) = (base.to_owned(), user.cookie.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = UserResult::default();
            // the users start at different places of the script, so the mix is even at any time
            let mut step = u % script.len();
            'run: while Instant::now() < end {
                let Some(&(first, pages, kind_first, kind_next)) = script.get(step % script.len()) else { break };
                step += 1;
                let mut path = first.to_owned();
                for page in 0..pages {
                    let kind = if page == 0 { kind_first } else { kind_next };
                    let sent = Instant::now();
                    if sent >= end {
                        break 'run;
                    }
                    let answer = get_page(&http, &base, &path, &cookie).await;
                    let done = Instant::now();
                    let measured = sent >= window && done <= end;
                    let html = match answer {
                        Ok((200, html)) => html,
                        Ok((status, _)) => {
                            *r.errors.entry(format!("HTTP {status}")).or_default() += u64::from(measured);
                            break;
                        }
                        Err(e) => {
                            *r.errors.entry(e).or_default() += u64::from(measured);
                            break;
                        }
                    };
                    if row_count(&html) == 0 && !kind.starts_with("scan") {
                        *r.errors.entry("page without rows".into()).or_default() += u64::from(measured);
                    }
                    if measured {
                        let us = u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX);
                        r.latencies.entry(kind).or_default().push(us);
                    }
                    match next_link(&html) {
                        Some(next) => path = next,
                        None => break,
                    }
                }
            }
            r
        }));
    }
    let mut all = UserResult::default();
    for t in tasks {
        let r = t.await.map_err(|e| fail!("a browsing task failed: {e}"))?;
        for (k, v) in r.latencies {
            all.latencies.entry(k).or_default().extend(v);
        }
        for (k, v) in r.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    all.errors.retain(|_, v| *v > 0);
    Ok(all)
}

/// The filter that matches none of the conversations: every page reads up to the scan limit.
const SCAN: [(&str, usize, &str, &str); 1] = [("/inbox?view=all&filter=objected", 1, "scan: filter objected", "")];

async fn list_phase(base: &str, pid: u32, users: &[Session], opts: &InboxOptions) -> Res<ListFigures> {
    note(&format!("list: {} recruiters, {:?} warm-up + {:?}", users.len(), opts.warmup, opts.duration));
    let start = Instant::now();
    let window = start + opts.warmup;
    let end = window + opts.duration;
    let meter = {
        let warmup = opts.warmup;
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            procfs::reset_peak(pid);
            let sampler = RssSampler::start(pid);
            (CpuMeter::start(&[pid]), sampler)
        })
    };
    let result = browse(base, users, &SCRIPT, window, end).await?;
    let (cpu_meter, sampler) = meter.await.map_err(|e| fail!("meter: {e}"))?;
    let cpu = cpu_meter.stop();
    let peak_rss_mib = sampler.stop(pid).await;
    let mut everything: Vec<u32> = result.latencies.values().flatten().copied().collect();
    let kinds = result.latencies.into_iter().map(|(k, mut v)| (k.to_owned(), Spread::of(&mut v))).collect();
    let mut figures = ListFigures {
        users: users.len(),
        secs: opts.duration.as_secs_f64(),
        all: Spread::of(&mut everything),
        kinds,
        errors: result.errors,
        cpu,
        peak_rss_mib,
        scan: None,
    };
    if !opts.scan.is_zero() {
        note(&format!("list: the filter that matches nothing, {:?}", opts.scan));
        let window = Instant::now();
        let end = window + opts.scan;
        let scan = browse(base, users, &SCAN, window, end).await?;
        let mut l: Vec<u32> = scan.latencies.values().flatten().copied().collect();
        let spread = Spread::of(&mut l);
        figures.scan =
            Some(("filter objected (no match)".into(), spread, spread.count as f64 / opts.scan.as_secs_f64()));
        for (k, v) in scan.errors {
            *figures.errors.entry(format!("scan: {k}")).or_default() += v;
        }
    }
    Ok(figures)
}

/// What the stream tasks share with the driver.
struct Shared {
    round: Mutex<Option<Round>>,
    complete: tokio::sync::Notify,
    dropped: AtomicU64,
    comments: AtomicU64,
    events: AtomicU64,
    /// `resync` events (the server says changes may have been missed).
    resyncs: AtomicU64,
}

/// Opens one stream; returns its status, and on 200 keeps reading it into `shared`.
async fn stream(
    http: reqwest::Client,
    url: String,
    cookie: String,
    index: usize,
    shared: Arc<Shared>,
    opened: tokio::sync::mpsc::UnboundedSender<Result<u16, String>>,
) {
    let answer = http.get(url).header("cookie", cookie).header("accept", "text/event-stream").send().await;
    let mut response = match answer {
        Ok(r) => r,
        Err(e) => {
            let _ = opened.send(Err(e.to_string()));
            return;
        }
    };
    let status = response.status().as_u16();
    let _ = opened.send(Ok(status));
    if status != 200 {
        return;
    }
    let mut parser = SseParser::default();
    let mut comments = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let at = Instant::now();
                let events = parser.feed(&chunk);
                if parser.comments > comments {
                    shared.comments.fetch_add(parser.comments - comments, Ordering::Relaxed);
                    comments = parser.comments;
                }
                if events.is_empty() {
                    continue;
                }
                shared.events.fetch_add(events.len() as u64, Ordering::Relaxed);
                let resyncs = events.iter().filter(|e| e.event == "resync").count() as u64;
                if resyncs > 0 {
                    shared.resyncs.fetch_add(resyncs, Ordering::Relaxed);
                }
                let mut completed = false;
                if let Ok(mut round) = shared.round.lock()
                    && let Some(round) = round.as_mut()
                {
                    for event in &events {
                        if round.record(index, event, at) && round.complete() {
                            completed = true;
                        }
                    }
                }
                if completed {
                    shared.complete.notify_one();
                }
            }
            Ok(None) | Err(_) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Where and how the live phase sends its webhooks and sees their events.
struct Fanout<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    channel: &'a ChannelSetup,
    shared: &'a Shared,
    streams: usize,
}

impl Fanout<'_> {
    /// Sends one inbound text of `target` and waits until every stream had its `inbox` event or
    /// `timeout` passed; returns (latencies per stream that had it, missing, the webhook's
    /// status).
    async fn send(&self, target: &Target, n: u64, timeout: Duration) -> Res<(Vec<u32>, usize, u16)> {
        if let Ok(mut round) = self.shared.round.lock() {
            *round = Some(Round::new(&target.id, self.streams));
        }
        let body = crate::workload::inbound_text(
            &self.channel.phone_number_id,
            &target.from,
            &format!("wamid.LIVE.{n:06}"),
            "Guten Tag, ist die Stelle noch frei?",
            unix_now(),
        );
        let status = self.channel.post_webhook(self.http, self.base, body).await?;
        let t0 = Instant::now();
        let deadline = t0 + timeout;
        loop {
            let complete = self.shared.round.lock().map(|r| r.as_ref().is_none_or(Round::complete)).unwrap_or(true);
            if complete || status != 200 {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, self.shared.complete.notified()).await.is_err() {
                break;
            }
        }
        let round = self.shared.round.lock().ok().and_then(|mut r| r.take()).context("no round")?;
        Ok((round.latencies_us(t0), round.missing(), status))
    }
}

async fn live_phase(
    base: &str,
    server: &ServerProc,
    admin: &Api,
    channel: &ChannelSetup,
    targets: &[Target],
    opts: &InboxOptions,
    checkpoint: &dyn Fn(&str),
) -> Res<LiveFigures> {
    let pid = server.pid;
    let per_session = opts.per_session.max(1);
    let sessions_needed = opts.streams.div_ceil(per_session);
    note(&format!("live: signing in {sessions_needed} recruiters for {} streams", opts.streams));
    let sessions = session::recruiters(admin, "live", sessions_needed, 2).await?;
    checkpoint(&format!("after {sessions_needed} more recruiters signed in"));
    let shared = Arc::new(Shared {
        round: Mutex::new(None),
        complete: tokio::sync::Notify::new(),
        dropped: AtomicU64::new(0),
        comments: AtomicU64::new(0),
        events: AtomicU64::new(0),
        resyncs: AtomicU64::new(0),
    });
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build()?;
    let url = format!("{base}/inbox/live");
    // the first stream alone: is the endpoint there?
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Streams(Vec::new());
    let first = sessions.first().context("no session")?;
    tasks.0.push(tokio::spawn(stream(http.clone(), url.clone(), first.cookie.clone(), 0, shared.clone(), tx.clone())));
    match rx.recv().await {
        Some(Ok(200)) => {}
        Some(Ok(status)) => return Err(fail!("GET /inbox/live answered {status}: the live endpoint is not there")),
        Some(Err(e)) => return Err(fail!("GET /inbox/live failed: {e}")),
        None => return Err(fail!("GET /inbox/live: no answer")),
    }
    note(&format!("live: opening {} streams over {} sessions", opts.streams, sessions.len()));
    let opening = Instant::now();
    for index in 1..opts.streams {
        let session = sessions.get(index / per_session).context("sessions")?;
        tasks.0.push(tokio::spawn(stream(
            http.clone(),
            url.clone(),
            session.cookie.clone(),
            index,
            shared.clone(),
            tx.clone(),
        )));
        if index % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 1..opts.streams {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Ok(status))) => *statuses.entry(format!("HTTP {status}")).or_default() += 1,
            Ok(Some(Err(e))) => *statuses.entry(e).or_default() += 1,
            Ok(None) | Err(_) => {
                *statuses.entry("no answer in 60 s".into()).or_default() += 1;
                break;
            }
        }
    }
    let not_ok: u64 = statuses.iter().filter(|(k, _)| k.as_str() != "HTTP 200").map(|(_, v)| v).sum();
    if not_ok > 0 {
        return Err(fail!("{not_ok} of {} streams did not open: {statuses:?}", opts.streams));
    }
    note(&format!("live: {} streams open in {:.1} s", opts.streams, opening.elapsed().as_secs_f64()));
    let webhook_http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    // unmeasured first webhook: every stream is subscribed once it has seen an event
    let warmup_target = targets.first().context("no live target")?;
    let fanout = Fanout { http: &webhook_http, base, channel, shared: &shared, streams: opts.streams };
    let (_, warmup_missing, status) = fanout.send(warmup_target, 0, Duration::from_secs(10)).await?;
    if status != 200 {
        return Err(fail!("the first live webhook answered {status}"));
    }
    if warmup_missing > 0 {
        note(&format!("live: {warmup_missing} streams did not see the first (unmeasured) webhook in 10 s"));
    }
    checkpoint(&format!("with {} streams open", opts.streams));
    procfs::reset_peak(pid);
    let rss_open_mib = rss_now_mib(pid);
    let sampler = RssSampler::start(pid);
    let meter = CpuMeter::start(&[pid]);
    note(&format!("live: {} webhooks, one after another", opts.webhooks));
    let mut pairs = Vec::new();
    let mut slowest = Vec::new();
    let (mut lost, mut webhook_errors) = (0, 0);
    for (n, target) in (1..=opts.webhooks).zip(targets.iter().skip(1)) {
        let (latencies, missing, status) = fanout.send(target, n, opts.timeout).await?;
        if status != 200 {
            webhook_errors += 1;
            continue;
        }
        lost += missing as u64;
        if missing == 0 {
            slowest.push(latencies.iter().copied().max().unwrap_or(0));
        }
        pairs.extend(latencies);
    }
    let cpu = meter.stop();
    let peak_rss_mib = sampler.stop(pid).await;
    checkpoint(&format!("after {} webhooks to {} streams", opts.webhooks, opts.streams));
    // the limit per session: a 7th stream on the first session
    let seventh = if opts.streams >= per_session {
        let answer = http
            .get(&url)
            .header("cookie", &first.cookie)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        answer.ok().map(|r| r.status().as_u16())
    } else {
        None
    };
    drop(tasks);
    Ok(LiveFigures {
        streams: opts.streams,
        sessions: sessions.len(),
        webhooks: opts.webhooks,
        pairs: Spread::of(&mut pairs),
        slowest: Spread::of(&mut slowest),
        lost,
        webhook_errors,
        dropped: shared.dropped.load(Ordering::Relaxed),
        comments: shared.comments.load(Ordering::Relaxed),
        events: shared.events.load(Ordering::Relaxed),
        resyncs: shared.resyncs.load(Ordering::Relaxed),
        warmup_missing,
        rss_open_mib,
        peak_rss_mib,
        cpu,
        seventh,
    })
}

fn cpu(c: &CpuSplit) -> String {
    format!("{:.0}% / {:.0}% / {:.0}% / {:.0}%", c.server, c.tool, c.database, c.other)
}

fn errors(e: &BTreeMap<String, u64>) -> String {
    if e.is_empty() {
        return "0".into();
    }
    e.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
}

/// Prints the results as markdown tables.
pub(crate) fn print(results: &[InboxResult]) {
    let lists: Vec<(&InboxResult, &ListFigures)> =
        results.iter().filter_map(|r| r.list.as_ref().map(|l| (r, l))).collect();
    if !lists.is_empty() {
        say("#### Conversation list (`GET /inbox`), target p99 < 50 ms at 8 users, RSS < 300 MB");
        say("");
        say(
            "| database | conversations | users | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | CPU server / load tool / PostgreSQL / other | server peak RSS |",
        );
        say("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|");
        for (r, l) in &lists {
            say(&format!(
                "| {} | {} | {} | {:.0} | {} | {} | **{}** | {} | {} | {} | {:.0} MiB |",
                r.db,
                r.conversations,
                l.users,
                l.requests_per_second(),
                ms(l.all.p50_us),
                ms(l.all.p95_us),
                ms(l.all.p99_us),
                ms(l.all.max_us),
                errors(&l.errors),
                cpu(&l.cpu),
                l.peak_rss_mib
            ));
        }
        say("");
        say("| database | request | count | p50 ms | p95 ms | p99 ms | max ms |");
        say("|---|---|---:|---:|---:|---:|---:|");
        for (r, l) in &lists {
            let scan = l.scan.iter().map(|(k, s, _)| (k.clone(), *s));
            for (kind, s) in l.kinds.iter().cloned().chain(scan) {
                say(&format!(
                    "| {} | {kind} | {} | {} | {} | {} | {} |",
                    r.db,
                    s.count,
                    ms(s.p50_us),
                    ms(s.p95_us),
                    ms(s.p99_us),
                    ms(s.max_us)
                ));
            }
        }
        say("");
    }
    let lives: Vec<(&InboxResult, &Result<LiveFigures, String>)> =
        results.iter().filter_map(|r| r.live.as_ref().map(|l| (r, l))).collect();
    if !lives.is_empty() {
        say("#### Live fan-out (`GET /inbox/live`), target p99 < 300 ms from the webhook's 200, RSS < 300 MB");
        say("");
        say(
            "| database | streams (sessions) | webhooks | pairs | p50 ms | p95 ms | p99 ms | max ms | lost | last stream per webhook p50 / p99 ms | RSS with streams open | peak RSS | CPU server / load tool / PostgreSQL / other | 7th stream |",
        );
        say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|");
        for (r, l) in &lives {
            match l {
                Ok(l) => say(&format!(
                    "| {} | {} ({}) | {} | {} | {} | {} | **{}** | {} | {} | {} / {} | {:.0} MiB | {:.0} MiB | {} | {} |",
                    r.db,
                    l.streams,
                    l.sessions,
                    l.webhooks,
                    l.pairs.count,
                    ms(l.pairs.p50_us),
                    ms(l.pairs.p95_us),
                    ms(l.pairs.p99_us),
                    ms(l.pairs.max_us),
                    l.lost,
                    ms(l.slowest.p50_us),
                    ms(l.slowest.p99_us),
                    l.rss_open_mib,
                    l.peak_rss_mib,
                    cpu(&l.cpu),
                    l.seventh.map_or("-".into(), |s| format!("HTTP {s}"))
                )),
                Err(e) => say(&format!("| {} | not measured: {e} |", r.db)),
            }
        }
        say("");
        for (r, l) in &lives {
            if let Ok(l) = l {
                say(&format!(
                    "- {}: {} webhook errors, {} streams ended early, {} events ({} `resync`) and {} keep-alive comments received, {} streams missed the unmeasured first webhook",
                    r.db, l.webhook_errors, l.dropped, l.events, l.resyncs, l.comments, l.warmup_missing
                ));
            }
        }
        say("");
    }
    for r in results {
        say(&format!("Server memory on {} (set-up {:.0} s):", r.db, r.setup_secs));
        say("");
        for (step, rss, threads) in &r.memory {
            say(&format!("- {rss:.0} MiB RSS, {threads} threads: {step}"));
        }
        say("");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_and_decoded() {
        let html = r#"<table></table>
<p><a href="/inbox?view=needs_reply&amp;filter=window_open&amp;after=2026-12-07T10:00:00Z_0193" id="inbox-next">Weiter</a></p>"#;
        assert_eq!(
            next_link(html).as_deref(),
            Some("/inbox?view=needs_reply&filter=window_open&after=2026-12-07T10:00:00Z_0193")
        );
        let other_order = r#"<a id="inbox-next" class="x" href="/inbox?a=1&#38;b=&#x32;">n</a>"#;
        assert_eq!(next_link(other_order).as_deref(), Some("/inbox?a=1&b=2"));
        assert_eq!(next_link(r#"<a href="/inbox/1" id="add-candidate">x</a>"#), None);
    }

    #[test]
    fn rows_are_counted() {
        let html = r#"<tbody><tr id="row-a"><td>x</td></tr><tr id="row-b"></tr></tbody><tr id="rowless">"#;
        assert_eq!(row_count(html), 2);
        assert_eq!(row_count("<p id=\"inbox-empty\">"), 0);
    }

    #[test]
    fn entities_are_decoded_and_stray_ampersands_kept() {
        assert_eq!(unescape("a&amp;b&lt;c&gt;&quot;&#39;&apos;"), "a&b<c>\"''");
        assert_eq!(unescape("&#x2F;x&#47;"), "/x/");
        assert_eq!(unescape("fish & chips &unknown; &#xZZ; &"), "fish & chips &unknown; &#xZZ; &");
    }

    #[test]
    fn spreads_are_nearest_rank_percentiles() {
        let mut v: Vec<u32> = (1..=200).rev().collect();
        let s = Spread::of(&mut v);
        assert_eq!((s.count, s.p50_us, s.p95_us, s.p99_us, s.max_us), (200, 100, 190, 198, 200));
        let one = Spread::of(&mut [7]);
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (7, 7, 7));
        assert_eq!(Spread::of(&mut []).count, 0);
    }
}
