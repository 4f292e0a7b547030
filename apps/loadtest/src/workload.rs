//! The webhook workload: deterministic Cloud API webhook bodies, each event unique.
//!
//! Events are numbered per channel. With an inbound share of 1/4 (the default), three of every
//! four events are delivery statuses: 360Dialog's sizing rule says webhooks ≈ 3 × outgoing +
//! 1 × incoming, and the mix stands for one reply per candidate message. Inbound messages cycle
//! through `candidates` senders (the first message of each sender creates the candidate, later
//! ones update it). Statuses carry `sent`, `delivered` and `read` for outgoing wamids that the
//! generator makes up: the server stores statuses as blind upserts keyed by wamid and status
//! (`MessageChange::StatusByProviderId`), without looking the message up, so an unknown wamid
//! costs the server exactly what a known one costs.

use bytes::Bytes;

use crate::setup::ChannelSetup;

/// One webhook POST.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    /// Index of the channel it goes to.
    pub(crate) channel: usize,
    pub(crate) body: Bytes,
    /// What a 200 acknowledges: `m <wamid>` or `s <wamid> <status>`, one per event.
    pub(crate) ids: Vec<String>,
}

/// The workload definition.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) channels: Vec<ChannelSetup>,
    /// Distinct senders over all channels.
    pub(crate) candidates: u64,
    /// Inbound messages per 1000 events (250 = one in four).
    pub(crate) inbound_per_mille: u64,
    /// Events per POST (1 = one event per webhook, as 360Dialog usually delivers).
    pub(crate) events_per_post: u64,
    /// Distinguishes the ids of different runs against the same database.
    pub(crate) run: String,
    /// Unix time put into the events.
    pub(crate) timestamp: i64,
    /// First sender number offset (so separate workloads can use separate senders).
    pub(crate) sender_offset: u64,
}

const STATUSES: [&str; 3] = ["sent", "delivered", "read"];

impl Workload {
    fn channel_count(&self) -> u64 {
        (self.channels.len() as u64).max(1)
    }

    fn candidates_per_channel(&self) -> u64 {
        (self.candidates / self.channel_count()).max(1)
    }

    /// Inbound messages among the first `n` events of a channel.
    fn inbound_before(&self, n: u64) -> u64 {
        n * self.inbound_per_mille / 1000
    }

    /// The sender (wa_id digits) of candidate `c`.
    pub(crate) fn sender(&self, c: u64) -> String {
        format!("49170{:07}", self.sender_offset + c)
    }

    /// The candidate that sent the inbound event `local` of channel `ch`.
    pub(crate) fn candidate_of(&self, ch: u64, local: u64) -> u64 {
        (self.inbound_before(local) % self.candidates_per_channel()) * self.channel_count() + ch
    }

    /// The events of the `p`-th POST and its channel index.
    pub(crate) fn events(&self, p: u64) -> (u64, Vec<Event>) {
        let channels = self.channel_count();
        let ch = p % channels;
        let first = (p / channels) * self.events_per_post;
        let mut events = Vec::with_capacity(self.events_per_post as usize);
        for local in first..first + self.events_per_post {
            let before = self.inbound_before(local);
            if self.inbound_before(local + 1) > before {
                let c = (before % self.candidates_per_channel()) * channels + ch;
                events.push(Event::Inbound {
                    candidate: c,
                    first: before < self.candidates_per_channel(),
                    wamid: format!("wamid.LOAD.{}.{ch}.{local:010}", self.run),
                    local,
                });
            } else {
                let s = local - before;
                let k = s / 3;
                let c = (k % self.candidates_per_channel()) * channels + ch;
                events.push(Event::Status {
                    candidate: c,
                    wamid: format!("wamid.OUT.{}.{ch}.{k:010}", self.run),
                    status: STATUSES.get((s % 3) as usize).copied().unwrap_or("sent"),
                });
            }
        }
        (ch, events)
    }

    /// The `p`-th POST.
    pub(crate) fn post(&self, p: u64) -> Post {
        let (ch, events) = self.events(p);
        let pnid = self.channels.get(ch as usize).map_or("0", |c| c.phone_number_id.as_str());
        let mut contacts = String::new();
        let mut messages = String::new();
        let mut statuses = String::new();
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            match event {
                Event::Inbound { candidate: c, wamid, local, .. } => {
                    let from = self.sender(c);
                    if !contacts.is_empty() {
                        contacts.push(',');
                        messages.push(',');
                    }
                    contacts.push_str(&format!(r#"{{"profile":{{"name":"Kandidat {c}"}},"wa_id":"{from}"}}"#));
                    messages.push_str(&format!(
                        r#"{{"from":"{from}","id":"{wamid}","timestamp":"{}","type":"text","text":{{"body":"Guten Tag, wann findet das Gespraech statt? Nachricht {local} von Kandidat {c}."}}}}"#,
                        self.timestamp
                    ));
                    ids.push(format!("m {wamid}"));
                }
                Event::Status { candidate: c, wamid, status } => {
                    if !statuses.is_empty() {
                        statuses.push(',');
                    }
                    statuses.push_str(&format!(
                        r#"{{"id":"{wamid}","status":"{status}","timestamp":"{}","recipient_id":"{}"}}"#,
                        self.timestamp,
                        self.sender(c)
                    ));
                    ids.push(format!("s {wamid} {status}"));
                }
            }
        }
        let mut value = format!(
            r#"{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4930901820","phone_number_id":"{pnid}"}}"#
        );
        if !messages.is_empty() {
            value.push_str(&format!(r#","contacts":[{contacts}],"messages":[{messages}]"#));
        }
        if !statuses.is_empty() {
            value.push_str(&format!(r#","statuses":[{statuses}]"#));
        }
        value.push('}');
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000001","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        );
        Post { channel: ch as usize, body: Bytes::from(body), ids }
    }
}

/// One event of the workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A candidate's text message; `first` = the sender is new (creates the candidate).
    Inbound { candidate: u64, first: bool, wamid: String, local: u64 },
    /// A delivery status of an outgoing message to `candidate`.
    Status { candidate: u64, wamid: String, status: &'static str },
}

/// A webhook body with one inbound text message (setup and drills).
pub(crate) fn inbound_text(phone_number_id: &str, from: &str, wamid: &str, text: &str, timestamp: i64) -> Bytes {
    Bytes::from(
        serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "4930901820", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Kandidat"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "text", "text": {"body": text}}]
        }}]}]})
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(events_per_post: u64) -> Workload {
        let channels = (0..3)
            .map(|n| ChannelSetup {
                id: format!("c{n}"),
                phone_number_id: format!("pn{n}"),
                webhook_path: format!("/w/{n}"),
                webhook_secret: "s".into(),
            })
            .collect();
        Workload {
            channels,
            candidates: 30,
            inbound_per_mille: 250,
            events_per_post,
            run: "t".into(),
            timestamp: 1_700_000_000,
            sender_offset: 0,
        }
    }

    #[test]
    fn events_are_unique_valid_json_and_mixed_one_in_four() {
        for per_post in [1, 7] {
            let w = workload(per_post);
            let mut ids = std::collections::HashSet::new();
            for p in 0..400 {
                let post = w.post(p);
                let json: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
                let value = &json["entry"][0]["changes"][0]["value"];
                assert_eq!(value["metadata"]["phone_number_id"], format!("pn{}", post.channel));
                assert_eq!(post.ids.len() as u64, per_post);
                for id in post.ids {
                    assert!(ids.insert(id), "ids repeat");
                }
            }
            let inbound = ids.iter().filter(|i| i.starts_with("m ")).count();
            // one in four per channel (up to rounding in each of the 3 channels)
            assert!((inbound * 4).abs_diff(ids.len()) <= 3 * 4, "{inbound} of {}", ids.len());
            let parsed = hoheit_dialog360::webhook::parse_webhook(&w.post(5).body).unwrap();
            assert_eq!(parsed.events.len() as u64, per_post);
        }
    }

    #[test]
    fn a_candidate_always_writes_to_the_same_channel() {
        let w = workload(1);
        let mut seen = std::collections::HashMap::new();
        for p in 0..600 {
            let post = w.post(p);
            let json: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
            if let Some(from) = json["entry"][0]["changes"][0]["value"]["messages"][0]["from"].as_str() {
                assert_eq!(*seen.entry(from.to_owned()).or_insert(post.channel), post.channel);
            }
        }
        assert_eq!(seen.len(), 30);
    }
}
