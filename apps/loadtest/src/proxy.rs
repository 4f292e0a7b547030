//! A recording pass-through in front of the 360Dialog simulator: it notes when each
//! `POST /messages` arrives (the moment WhatsApp's throughput limit is judged) and forwards
//! everything unchanged, one upstream connection per server connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::util::Res;

/// One `POST /messages` as it arrived, with the provider's answer.
#[derive(Debug, Clone)]
pub(crate) struct Send {
    pub(crate) at: Instant,
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// Arrival times, bodies and answers of the sends.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    sends: Mutex<Vec<Send>>,
}

impl Recorder {
    fn push(&self, send: Send) {
        self.sends.lock().unwrap_or_else(PoisonError::into_inner).push(send);
    }

    /// The sends the provider accepted (200), in arrival order.
    pub(crate) fn accepted_sends(&self) -> Vec<Send> {
        let mut sends: Vec<Send> = self
            .sends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|s| s.status == 200)
            .cloned()
            .collect();
        sends.sort_by_key(|s| s.at);
        sends
    }

    /// Arrival times of the sends that were accepted (200), sorted.
    pub(crate) fn accepted(&self) -> Vec<Instant> {
        self.accepted_sends().iter().map(|s| s.at).collect()
    }

    /// Number of accepted sends so far.
    pub(crate) fn accepted_count(&self) -> usize {
        self.sends.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|s| s.status == 200).count()
    }
}

/// Starts the proxy to `upstream`; returns its address. A connection the simulator drops, or a
/// request it holds, is dropped or held for the server in the same way.
pub(crate) async fn start(upstream: SocketAddr, recorder: Arc<Recorder>) -> Res<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let recorder = recorder.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let Ok(up) = TcpStream::connect(upstream).await else { return };
                let _ = up.set_nodelay(true);
                let Ok((sender, conn)) =
                    hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(up)).await
                else {
                    return;
                };
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let sender = Arc::new(tokio::sync::Mutex::new(sender));
                let service = service_fn(move |request: Request<Incoming>| {
                    let sender = sender.clone();
                    let recorder = recorder.clone();
                    async move {
                        let is_send = request.method() == Method::POST && request.uri().path() == "/messages";
                        let at = Instant::now();
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let forward = Request::from_parts(parts, Full::new(body.clone()));
                        let response = {
                            let mut s = sender.lock().await;
                            s.ready().await?;
                            s.send_request(forward)
                        }
                        .await?;
                        if is_send {
                            recorder.push(Send { at, status: response.status().as_u16(), body });
                        }
                        Ok::<_, hyper::Error>(response)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(addr)
}

/// Throughput figures of a series of send times.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct Rate {
    pub(crate) sends: usize,
    /// From the first to the last send.
    pub(crate) overall: f64,
    /// Between the 5% and the 95% send (the backlogged middle, without ramp-up and tail).
    pub(crate) steady: f64,
    /// Most sends in any window of one second.
    pub(crate) max_1s: usize,
}

/// Computes [`Rate`] of sorted times.
pub(crate) fn rate(times: &[Instant]) -> Rate {
    let n = times.len();
    let (Some(first), Some(last)) = (times.first(), times.last()) else { return Rate::default() };
    let span = last.duration_since(*first).as_secs_f64();
    let overall = if span > 0.0 { (n - 1) as f64 / span } else { 0.0 };
    let lo = n / 20;
    let hi = (n * 19 / 20).max(lo + 1).min(n - 1);
    let steady = match (times.get(lo), times.get(hi)) {
        (Some(a), Some(b)) if b > a => (hi - lo) as f64 / b.duration_since(*a).as_secs_f64(),
        _ => overall,
    };
    let mut max_1s = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while times.get(start).is_some_and(|s| t.duration_since(*s) >= Duration::from_secs(1)) {
            start += 1;
        }
        max_1s = max_1s.max(end + 1 - start);
    }
    Rate { sends: n, overall, steady, max_1s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_counts_the_busiest_second() {
        let t0 = Instant::now();
        let times: Vec<Instant> = (0..200).map(|i| t0 + Duration::from_millis(i * 10)).collect();
        let r = rate(&times);
        assert_eq!(r.sends, 200);
        assert_eq!(r.max_1s, 100);
        assert!((r.overall - 100.5).abs() < 1.0, "{}", r.overall);
    }
}
