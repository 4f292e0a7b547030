//! The load generator's HTTP client: hyper's HTTP/1.1 connection directly, one keep-alive
//! connection per worker and no pool, so the client costs as little CPU as possible (its limit
//! is measured against the no-database sink in the same run).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use crate::workload::Workload;

/// One HTTP/1.1 keep-alive connection.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

/// Why a request did not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Connect,
    Timeout,
    Io,
}

impl Failure {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Connect => "connect refused/failed",
            Self::Timeout => "timeout",
            Self::Io => "connection closed/io",
        }
    }
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Self, Failure> {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|_| Failure::Connect)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).unwrap_or(HeaderValue::from_static("localhost"));
        Ok(Self { sender, host })
    }

    /// POSTs JSON; returns the status after reading the whole answer.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        secret: &HeaderValue,
        body: Bytes,
        timeout: Duration,
    ) -> Result<u16, Failure> {
        let request = hyper::Request::post(path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(hoheit_server::state::WEBHOOK_SECRET_HEADER, secret.clone())
            .body(Full::new(body))
            .map_err(|_| Failure::Io)?;
        let exchange = async {
            self.sender.ready().await.map_err(|_| Failure::Io)?;
            let response = self.sender.send_request(request).await.map_err(|_| Failure::Io)?;
            let status = response.status().as_u16();
            response.into_body().collect().await.map_err(|_| Failure::Io)?;
            Ok(status)
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| Failure::Timeout)?
    }
}

/// How to drive the load.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Connections (closed loop: each sends its next POST when the last one was answered).
    pub(crate) concurrency: usize,
    /// Stop after this many POSTs (`None`: run for `duration`).
    pub(crate) posts: Option<u64>,
    /// Measured time after the warm-up (`None`: until `posts` are done).
    pub(crate) duration: Option<Duration>,
    /// Not measured.
    pub(crate) warmup: Duration,
    /// Open loop: start POSTs at this rate (POSTs/s), latency measured from the intended start.
    pub(crate) rate: Option<f64>,
    /// 360Dialog's delivery timeout is 5 s.
    pub(crate) timeout: Duration,
    /// Re-deliver a POST until it is acknowledged (like 360Dialog), giving up after this long.
    pub(crate) retry_for: Option<Duration>,
    /// Record (time, status) of every answer.
    pub(crate) timeline: bool,
}

impl Plan {
    pub(crate) fn closed(concurrency: usize, warmup: Duration, duration: Duration) -> Self {
        Self {
            concurrency,
            posts: None,
            duration: Some(duration),
            warmup,
            rate: None,
            timeout: Duration::from_secs(5),
            retry_for: None,
            timeline: false,
        }
    }
}

/// What a load run measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Events acknowledged (200) inside the measured window.
    pub(crate) acked_events: u64,
    /// Events acknowledged overall (warm-up included).
    pub(crate) acked_events_total: u64,
    pub(crate) posts_sent: u64,
    /// Answers other than 200 and transport failures, by kind (re-deliveries included).
    pub(crate) errors: BTreeMap<String, u64>,
    /// POSTs given up after `retry_for`.
    pub(crate) given_up: u64,
    /// Latency of each acknowledged POST of the window, microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// Length of the measured window, seconds.
    pub(crate) window_secs: f64,
    /// (attempt sent, answered: milliseconds since the epoch; status, 0 = no answer) of every
    /// attempt, when `timeline` was asked.
    pub(crate) timeline: Vec<(u32, u32, u16)>,
}

impl Outcome {
    pub(crate) fn events_per_second(&self) -> f64 {
        if self.window_secs > 0.0 { self.acked_events as f64 / self.window_secs } else { 0.0 }
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub(crate) fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".into();
        }
        self.errors.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Default)]
struct WorkerResult {
    acked_events: u64,
    acked_events_total: u64,
    posts: u64,
    errors: BTreeMap<String, u64>,
    given_up: u64,
    latencies: Vec<u32>,
    timeline: Vec<(u32, u32, u16)>,
}

/// Appends acknowledged ids to a file, one per line, in the order the answers arrived.
pub(crate) struct AckLog {
    tx: mpsc::UnboundedSender<Vec<String>>,
    task: tokio::task::JoinHandle<std::io::Result<u64>>,
}

impl std::fmt::Debug for AckLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckLog").finish_non_exhaustive()
    }
}

impl AckLog {
    pub(crate) async fn create(path: &std::path::Path) -> std::io::Result<Self> {
        let file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<String>>();
        let task = tokio::spawn(async move {
            let mut out = tokio::io::BufWriter::new(file);
            let mut n = 0;
            while let Some(ids) = rx.recv().await {
                for id in ids {
                    out.write_all(id.as_bytes()).await?;
                    out.write_all(b"\n").await?;
                    n += 1;
                }
            }
            out.flush().await?;
            out.into_inner().sync_all().await?;
            Ok(n)
        });
        Ok(Self { tx, task })
    }

    /// A handle for [`run`].
    pub(crate) fn sender(&self) -> AckSender {
        AckSender(self.tx.clone())
    }

    /// Flushes and closes; returns the number of ids written.
    pub(crate) async fn close(self) -> std::io::Result<u64> {
        drop(self.tx);
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
    }
}

/// Where [`run`] reports acknowledged ids.
#[derive(Debug, Clone)]
pub(crate) struct AckSender(mpsc::UnboundedSender<Vec<String>>);

/// Runs the workload against the servers (`targets`, POSTs spread over them by worker); times
/// in the timeline count from `epoch`.
pub(crate) async fn run(
    targets: Vec<SocketAddr>,
    workload: Arc<Workload>,
    plan: Plan,
    acks: Option<AckSender>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let start = epoch;
    let window_start = start + plan.warmup;
    let window_end = plan.duration.map(|d| window_start + d);
    let secrets: Arc<Vec<HeaderValue>> = Arc::new(
        workload
            .channels
            .iter()
            .map(|c| HeaderValue::from_str(&c.webhook_secret).unwrap_or(HeaderValue::from_static("invalid")))
            .collect(),
    );
    let mut tasks = Vec::new();
    for w in 0..plan.concurrency.max(1) {
        let Some(addr) = targets.get(w % targets.len().max(1)).copied() else { break };
        let workload = workload.clone();
        let next = next.clone();
        let secrets = secrets.clone();
        let plan = plan.clone();
        let acks = acks.clone().map(|a| a.0);
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = WorkerResult::default();
            let mut conn: Option<Conn> = None;
            loop {
                if stop.load(Ordering::Relaxed) || window_end.is_some_and(|end| Instant::now() >= end) {
                    break;
                }
                let p = next.fetch_add(1, Ordering::Relaxed);
                if plan.posts.is_some_and(|n| p >= n) {
                    break;
                }
                let intended = match plan.rate {
                    Some(rate) => {
                        let at = start + Duration::from_secs_f64(p as f64 / rate);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let post = workload.post(p);
                let Some(channel) = workload.channels.get(post.channel) else { break };
                let secret = secrets.get(post.channel).cloned().unwrap_or(HeaderValue::from_static("invalid"));
                r.posts += 1;
                let first_try = Instant::now();
                let mut backoff = Duration::from_millis(50);
                loop {
                    let sent = Instant::now();
                    let answer = match conn.as_mut() {
                        Some(c) => c.post(&channel.webhook_path, &secret, post.body.clone(), plan.timeout).await,
                        None => match Conn::connect(addr).await {
                            Ok(mut c) => {
                                let a = c.post(&channel.webhook_path, &secret, post.body.clone(), plan.timeout).await;
                                conn = Some(c);
                                a
                            }
                            Err(e) => Err(e),
                        },
                    };
                    let now = Instant::now();
                    if plan.timeline {
                        let ms = |t: Instant| {
                            u32::try_from(t.saturating_duration_since(start).as_millis()).unwrap_or(u32::MAX)
                        };
                        r.timeline.push((ms(sent), ms(now), *answer.as_ref().unwrap_or(&0)));
                    }
                    match answer {
                        Ok(200) => {
                            let events = post.ids.len() as u64;
                            r.acked_events_total += events;
                            if intended >= window_start && window_end.is_none_or(|end| now <= end) {
                                r.acked_events += events;
                                let us = u32::try_from(now.duration_since(intended).as_micros()).unwrap_or(u32::MAX);
                                r.latencies.push(us);
                            }
                            if let Some(tx) = &acks {
                                let _ = tx.send(post.ids.clone());
                            }
                            break;
                        }
                        Ok(status) => {
                            *r.errors.entry(format!("HTTP {status}")).or_default() += 1;
                        }
                        Err(failure) => {
                            conn = None;
                            *r.errors.entry(failure.label().to_owned()).or_default() += 1;
                        }
                    }
                    let Some(limit) = plan.retry_for else { break };
                    if first_try.elapsed() > limit || stop.load(Ordering::Relaxed) {
                        r.given_up += 1;
                        break;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
            r
        }));
    }
    let mut out = Outcome::default();
    for t in tasks {
        if let Ok(r) = t.await {
            out.acked_events += r.acked_events;
            out.acked_events_total += r.acked_events_total;
            out.posts_sent += r.posts;
            out.given_up += r.given_up;
            for (k, v) in r.errors {
                *out.errors.entry(k).or_default() += v;
            }
            out.latencies_us.extend(r.latencies);
            out.timeline.extend(r.timeline);
        }
    }
    let end = Instant::now();
    let measured_end = window_end.map_or(end, |w| w.min(end));
    out.window_secs = measured_end.saturating_duration_since(window_start).as_secs_f64();
    out.latencies_us.sort_unstable();
    out.timeline.sort_unstable();
    out
}
