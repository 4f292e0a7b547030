//! The client side of the inbox's live stream (`GET /inbox/live`, issue 17 item 6): a small
//! Server-Sent Events line parser over the response's byte chunks (the WHATWG event-stream
//! rules: `CRLF`, `LF` or `CR` line ends, comments, `event`/`data`/`id` fields, an event per
//! blank line), and the bookkeeping of the fan-out measurement: for one webhook, when each open
//! stream first saw the `inbox` event naming its candidate.

use std::time::Instant;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` name (`message` when the event named none).
    pub(crate) event: String,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
    /// The last event id seen on the stream (`id:` persists across events), if any.
    pub(crate) id: Option<String>,
}

/// Incremental parser: feed it the chunks as they arrive, in any split.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF at the start of the next one belongs to it.
    after_cr: bool,
    /// The first line has not started yet (a leading byte-order mark is dropped).
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// Comment lines (`: ...`, keep-alives) seen.
    pub(crate) comments: u64,
}

impl SseParser {
    /// Parses a chunk; returns the events it completed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut bytes = chunk;
        if !self.started && !bytes.is_empty() {
            // the BOM may itself be split; only a whole one at the very start is handled
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
                bytes = rest;
            }
            self.started = true;
        }
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.end_line(&mut out);
                    self.after_cr = true;
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            self.comments += 1;
            return;
        }
        let line = String::from_utf8_lossy(&line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {} // retry and unknown fields
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            // no data: nothing is dispatched, the event name is reset
            return;
        }
        self.has_data = false;
        out.push(SseEvent {
            event: if event.is_empty() { "message".to_owned() } else { event },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        });
    }
}

/// One webhook's fan-out: which of the open streams got the `inbox` event for `target`, and
/// when (the first such event per stream counts).
#[derive(Debug)]
pub(crate) struct Round {
    target: String,
    arrivals: Vec<Option<Instant>>,
    missing: usize,
}

impl Round {
    /// A round for the candidate `target` over `streams` streams.
    pub(crate) fn new(target: &str, streams: usize) -> Self {
        Self { target: target.to_owned(), arrivals: vec![None; streams], missing: streams }
    }

    /// An event arrived on `stream` at `at`; returns whether it was the round's first for that
    /// stream (an `inbox` event whose data is the target).
    pub(crate) fn record(&mut self, stream: usize, event: &SseEvent, at: Instant) -> bool {
        if event.event != "inbox" || event.data.trim() != self.target {
            return false;
        }
        match self.arrivals.get_mut(stream) {
            Some(slot @ None) => {
                *slot = Some(at);
                self.missing -= 1;
                true
            }
            _ => false,
        }
    }

    /// Every stream got it.
    pub(crate) fn complete(&self) -> bool {
        self.missing == 0
    }

    /// Streams that did not get it (yet).
    pub(crate) fn missing(&self) -> usize {
        self.missing
    }

    /// Latency per stream that got it, from `t0` (the webhook's 200), in microseconds; an event
    /// that arrived before the 200 counts as 0.
    pub(crate) fn latencies_us(&self, t0: Instant) -> Vec<u32> {
        self.arrivals
            .iter()
            .flatten()
            .map(|at| u32::try_from(at.saturating_duration_since(t0).as_micros()).unwrap_or(u32::MAX))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<SseEvent>, u64) {
        let mut p = SseParser::default();
        let events = chunks.iter().flat_map(|c| p.feed(c)).collect();
        (events, p.comments)
    }

    fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent { event: event.into(), data: data.into(), id: id.map(str::to_owned) }
    }

    #[test]
    fn named_events_with_ids_and_comments() {
        let text = b": keep-alive\n\nevent: message-1\ndata: x\nid: 7\n\nevent: inbox\ndata: abc\nid: 8\n\n";
        let (events, comments) = parse_all(&[text]);
        assert_eq!(events, vec![ev("message-1", "x", Some("7")), ev("inbox", "abc", Some("8"))]);
        assert_eq!(comments, 1);
    }

    #[test]
    fn any_split_and_any_line_end_give_the_same_events() {
        let lf = b"event: inbox\ndata: a\nid: 1\n\n: ping\n\nevent: inbox\ndata:b\n\n".to_vec();
        let crlf = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n").into_bytes();
        let cr = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r").into_bytes();
        let want = vec![ev("inbox", "a", Some("1")), ev("inbox", "b", Some("1"))];
        for text in [lf, crlf, cr] {
            for split in 0..=text.len() {
                let (a, b) = text.split_at(split);
                assert_eq!(parse_all(&[a, b]).0, want, "split at {split} of {:?}", String::from_utf8_lossy(&text));
            }
            let bytes: Vec<&[u8]> = text.chunks(1).collect();
            assert_eq!(parse_all(&bytes).0, want);
        }
    }

    #[test]
    fn a_crlf_split_between_chunks_is_one_line_end() {
        // CR ends a chunk, LF starts the next: one line end, not an empty line that dispatches
        let (events, _) = parse_all(&[b"data: a\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(events, vec![ev("message", "a\nb", None)]);
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_reset_the_name() {
        let (events, _) = parse_all(&[b"event: inbox\n\ndata: x\n\nid\ndata\n\n"]);
        assert_eq!(events, vec![ev("message", "x", None), ev("message", "", Some(""))]);
    }

    #[test]
    fn an_unfinished_event_is_held_back_and_a_bom_is_dropped() {
        let mut p = SseParser::default();
        assert!(p.feed(b"\xEF\xBB\xBFevent: inbox\ndata: z").is_empty());
        assert!(p.feed(b"\n").is_empty());
        assert_eq!(p.feed(b"\n"), vec![ev("inbox", "z", None)]);
    }

    #[test]
    fn fields_without_a_space_and_unknown_fields() {
        let (events, _) = parse_all(&[b"event:inbox\nretry: 10\nfoo: bar\ndata:  two spaces\n\n"]);
        assert_eq!(events, vec![ev("inbox", " two spaces", None)]);
    }

    #[test]
    fn a_round_counts_the_first_matching_inbox_event_per_stream() {
        let t0 = Instant::now();
        let mut round = Round::new("cand-1", 3);
        assert!(!round.record(0, &ev("message-cand-1", "cand-1", None), t0), "other event names do not count");
        assert!(!round.record(0, &ev("inbox", "cand-2", None), t0), "another candidate does not count");
        assert!(round.record(0, &ev("inbox", "cand-1", None), t0 + Duration::from_millis(5)));
        assert!(!round.record(0, &ev("inbox", "cand-1", None), t0 + Duration::from_millis(9)), "only the first");
        assert!(!round.record(7, &ev("inbox", "cand-1", None), t0), "no such stream");
        assert_eq!(round.missing(), 2);
        assert!(!round.complete());
        assert!(round.record(2, &ev("inbox", "cand-1\n", None), t0 + Duration::from_millis(20)));
        assert!(round.record(1, &ev("inbox", "cand-1", None), t0));
        assert!(round.complete());
        let mut l = round.latencies_us(t0);
        l.sort_unstable();
        assert_eq!(l, vec![0, 5_000, 20_000]);
    }

    #[test]
    fn an_event_before_the_200_counts_as_zero() {
        let early = Instant::now();
        let t0 = early + Duration::from_millis(3);
        let mut round = Round::new("c", 2);
        round.record(0, &ev("inbox", "c", None), early);
        round.record(1, &ev("inbox", "c", None), t0 + Duration::from_micros(1500));
        assert_eq!(round.latencies_us(t0), vec![0, 1500]);
        let partial = Round::new("c", 4);
        assert_eq!(partial.missing(), 4);
        assert!(partial.latencies_us(t0).is_empty());
    }
}
