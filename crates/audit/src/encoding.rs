//! The canonical, versioned byte encoding of an entry (format v1, layout in the crate docs) and
//! its decoder.
//!
//! The encoding is a bijection: [`decode`] accepts exactly the bytes the encoder produces and
//! rejects everything else (unknown version or tags, non-0/1 flags, invalid UTF-8, nanoseconds
//! out of range, unsorted or duplicate detail keys, trailing bytes) with a [`DecodeError`], never
//! a panic. So `encode(decode(b)) == b` for every `b` that decodes, and an entry has exactly one
//! byte representation, which is what the hash chain is computed over.

use std::collections::BTreeMap;

use hoheit_domain::ids::{CandidateId, StaffId, TenantId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The format version byte at offset 0 of every entry written by this release.
pub const FORMAT_VERSION: u8 = 1;

/// Longest action, role, rule or code string (bytes); longer `&'static str`s are cut at a UTF-8
/// character boundary when drafted (no code in hoheit comes near this).
pub const MAX_STR_LEN: usize = u16::MAX as usize;

/// Longest detail key name (bytes).
pub const MAX_KEY_LEN: usize = u8::MAX as usize;

const ACTOR_SYSTEM: u8 = 0;
const ACTOR_STAFF: u8 = 1;
const ACTOR_CANDIDATE: u8 = 2;

const VALUE_ID: u8 = 1;
const VALUE_CODE: u8 = 2;
const VALUE_INT: u8 = 3;
const VALUE_COUNT: u8 = 4;
const VALUE_BOOL: u8 = 5;
const VALUE_TIME: u8 = 6;

/// Why bytes are not a canonical v1 entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before the field at `offset` is complete.
    #[error("entry ends early (field at byte {offset})")]
    UnexpectedEnd {
        /// Where the incomplete field starts.
        offset: usize,
    },
    /// The first byte is not a known format version.
    #[error("unknown entry format version {0}")]
    UnknownVersion(u8),
    /// A tag or flag byte has a value the format does not define.
    #[error("invalid {field} byte {value} at byte {offset}")]
    InvalidTag {
        /// Which tag.
        field: &'static str,
        /// The byte found.
        value: u8,
        /// Where.
        offset: usize,
    },
    /// A string is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// A time is out of range or its nanoseconds are not below one second.
    #[error("invalid time at byte {offset}")]
    InvalidTime {
        /// Where the time starts.
        offset: usize,
    },
    /// A detail key is empty, or not strictly greater than the previous one (keys are sorted by
    /// their bytes and unique).
    #[error("detail keys not sorted, duplicate or empty at byte {offset}")]
    UnsortedDetails {
        /// Where the key starts.
        offset: usize,
    },
    /// Bytes follow the last field.
    #[error("{count} trailing bytes after the entry")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// Who acted, as read back from an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DecodedActor {
    /// hoheit itself.
    System,
    /// A staff member in a role.
    Staff {
        /// Staff id.
        id: StaffId,
        /// Role name (`dpo`, `recruiter`, ...).
        role: String,
    },
    /// The candidate, through WhatsApp.
    Candidate,
}

/// A detail value as read back from an entry. Serialized untagged: ids, codes and times as JSON
/// strings (times in RFC 3339), numbers and booleans as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DecodedValue {
    /// An id (UUID).
    Id(Uuid),
    /// A code.
    Code(String),
    /// A signed number.
    Int(i64),
    /// A count.
    Count(u64),
    /// A flag.
    Bool(bool),
    /// A time (UTC).
    Time(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
}

/// An entry decoded from its canonical bytes: what a DPO is shown (serialize it to JSON).
/// Strings are owned here because they come from storage, not from code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedEntry {
    /// Format version of the bytes.
    pub version: u8,
    /// Tenant.
    pub tenant: TenantId,
    /// Sequence number in the tenant's chain, from 1.
    pub seq: u64,
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who.
    pub actor: DecodedActor,
    /// What (`consent.granted`, ...).
    pub action: String,
    /// About which candidate (pseudonymous id).
    pub subject: Option<CandidateId>,
    /// The rule that decided (`R12`).
    pub rule: Option<String>,
    /// Detail fields by key name.
    pub details: BTreeMap<String, DecodedValue>,
}

impl DecodedEntry {
    /// The canonical bytes of this entry: `encode(decode(b)) == b`.
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        let actor = match &self.actor {
            DecodedActor::System => ActorRef::System,
            DecodedActor::Staff { id, role } => ActorRef::Staff { id: id.as_uuid(), role },
            DecodedActor::Candidate => ActorRef::Candidate,
        };
        let header = Header {
            tenant: self.tenant.as_uuid(),
            seq: self.seq,
            at: self.at,
            actor,
            action: &self.action,
            subject: self.subject.map(|s| s.as_uuid()),
            rule: self.rule.as_deref(),
        };
        let details = self.details.iter().map(|(key, value)| {
            let value = match value {
                DecodedValue::Id(id) => ValueRef::Id(*id),
                DecodedValue::Code(code) => ValueRef::Code(code),
                DecodedValue::Int(v) => ValueRef::Int(*v),
                DecodedValue::Count(v) => ValueRef::Count(*v),
                DecodedValue::Bool(v) => ValueRef::Bool(*v),
                DecodedValue::Time(t) => ValueRef::Time(*t),
            };
            (key.as_str(), value)
        });
        encode(&header, details)
    }
}

/// Decodes canonical entry bytes. Never panics; any deviation from the v1 layout is an error.
pub fn decode(bytes: &[u8]) -> Result<DecodedEntry, DecodeError> {
    let mut details = BTreeMap::new();
    let parsed = parse(bytes, |key, value| {
        let value = match value {
            ValueRef::Id(id) => DecodedValue::Id(id),
            ValueRef::Code(code) => DecodedValue::Code(code.to_owned()),
            ValueRef::Int(v) => DecodedValue::Int(v),
            ValueRef::Count(v) => DecodedValue::Count(v),
            ValueRef::Bool(v) => DecodedValue::Bool(v),
            ValueRef::Time(t) => DecodedValue::Time(t),
        };
        details.insert(key.to_owned(), value);
    })?;
    let actor = match parsed.actor {
        ActorRef::System => DecodedActor::System,
        ActorRef::Staff { id, role } => DecodedActor::Staff { id: StaffId::from_uuid(id), role: role.to_owned() },
        ActorRef::Candidate => DecodedActor::Candidate,
    };
    Ok(DecodedEntry {
        version: FORMAT_VERSION,
        tenant: TenantId::from_uuid(parsed.tenant),
        seq: parsed.seq,
        at: parsed.at,
        actor,
        action: parsed.action.to_owned(),
        subject: parsed.subject.map(CandidateId::from_uuid),
        rule: parsed.rule.map(str::to_owned),
        details,
    })
}

// ----- shared representation -------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub(crate) enum ActorRef<'a> {
    System,
    Staff { id: Uuid, role: &'a str },
    Candidate,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ValueRef<'a> {
    Id(Uuid),
    Code(&'a str),
    Int(i64),
    Count(u64),
    Bool(bool),
    Time(OffsetDateTime),
}

/// The fixed part of an entry, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    pub(crate) tenant: Uuid,
    pub(crate) seq: u64,
    pub(crate) at: OffsetDateTime,
    pub(crate) actor: ActorRef<'a>,
    pub(crate) action: &'a str,
    pub(crate) subject: Option<Uuid>,
    pub(crate) rule: Option<&'a str>,
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn clamp_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or("")
}

/// A code string as the encoding stores it (see [`MAX_STR_LEN`]).
pub(crate) fn clamp_str(s: &str) -> &str {
    clamp_to(s, MAX_STR_LEN)
}

/// The same instant in UTC, if UTC can represent it (times near the year ±9999 limit may not).
pub(crate) fn to_utc(t: OffsetDateTime) -> Option<OffsetDateTime> {
    utc_from_parts(t.unix_timestamp(), t.nanosecond())
}

fn utc_from_parts(secs: i64, nanos: u32) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()?.replace_nanosecond(nanos).ok()
}

// ----- encoder ---------------------------------------------------------------------------

/// Encodes an entry. `details` must come sorted by key bytes without duplicates (a `BTreeMap`
/// of [`crate::DetailKey`] or of `String` iterates that way). Strings longer than the format
/// allows are cut at a character boundary; drafts are clamped before, so this never happens for
/// appended entries.
pub(crate) fn encode<'a>(
    header: &Header<'a>,
    details: impl ExactSizeIterator<Item = (&'a str, ValueRef<'a>)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + details.len() * 24);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(header.tenant.as_bytes());
    out.extend_from_slice(&header.seq.to_be_bytes());
    put_time(&mut out, header.at);
    match header.actor {
        ActorRef::System => out.push(ACTOR_SYSTEM),
        ActorRef::Staff { id, role } => {
            out.push(ACTOR_STAFF);
            out.extend_from_slice(id.as_bytes());
            put_str(&mut out, role);
        }
        ActorRef::Candidate => out.push(ACTOR_CANDIDATE),
    }
    put_str(&mut out, header.action);
    match header.subject {
        None => out.push(0),
        Some(subject) => {
            out.push(1);
            out.extend_from_slice(subject.as_bytes());
        }
    }
    match header.rule {
        None => out.push(0),
        Some(rule) => {
            out.push(1);
            put_str(&mut out, rule);
        }
    }
    let count = u16::try_from(details.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for (key, value) in details.take(usize::from(count)) {
        let key = clamp_to(key, MAX_KEY_LEN);
        out.push(u8::try_from(key.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(key.as_bytes());
        match value {
            ValueRef::Id(id) => {
                out.push(VALUE_ID);
                out.extend_from_slice(id.as_bytes());
            }
            ValueRef::Code(code) => {
                out.push(VALUE_CODE);
                put_str(&mut out, code);
            }
            ValueRef::Int(v) => {
                out.push(VALUE_INT);
                out.extend_from_slice(&v.to_be_bytes());
            }
            ValueRef::Count(v) => {
                out.push(VALUE_COUNT);
                out.extend_from_slice(&v.to_be_bytes());
            }
            ValueRef::Bool(v) => {
                out.push(VALUE_BOOL);
                out.push(u8::from(v));
            }
            ValueRef::Time(t) => {
                out.push(VALUE_TIME);
                put_time(&mut out, t);
            }
        }
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let s = clamp_str(s);
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_time(out: &mut Vec<u8>, t: OffsetDateTime) {
    out.extend_from_slice(&t.unix_timestamp().to_be_bytes());
    out.extend_from_slice(&t.nanosecond().to_be_bytes());
}

// ----- parser ----------------------------------------------------------------------------

/// The fixed part of a parsed entry, borrowing from the bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    pub(crate) tenant: Uuid,
    pub(crate) seq: u64,
    pub(crate) at: OffsetDateTime,
    pub(crate) actor: ActorRef<'a>,
    pub(crate) action: &'a str,
    pub(crate) subject: Option<Uuid>,
    pub(crate) rule: Option<&'a str>,
}

/// Parses and fully validates entry bytes without allocating; each detail field is handed to
/// `on_detail` in order. The verifier uses this with a no-op sink.
pub(crate) fn parse<'a>(
    bytes: &'a [u8],
    mut on_detail: impl FnMut(&'a str, ValueRef<'a>),
) -> Result<Parsed<'a>, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let tenant = r.uuid()?;
    let seq = r.u64()?;
    let at = r.time()?;
    let tag_at = r.pos;
    let actor = match r.u8()? {
        ACTOR_SYSTEM => ActorRef::System,
        ACTOR_STAFF => {
            let id = r.uuid()?;
            let role = r.str16()?;
            ActorRef::Staff { id, role }
        }
        ACTOR_CANDIDATE => ActorRef::Candidate,
        value => return Err(DecodeError::InvalidTag { field: "actor", value, offset: tag_at }),
    };
    let action = r.str16()?;
    let subject = if r.flag("subject presence")? { Some(r.uuid()?) } else { None };
    let rule = if r.flag("rule presence")? { Some(r.str16()?) } else { None };
    let count = r.u16()?;
    let mut previous: Option<&[u8]> = None;
    for _ in 0..count {
        let key_at = r.pos;
        let key_len = r.u8()?;
        let key_bytes = r.take(usize::from(key_len))?;
        let in_order = match previous {
            None => true,
            Some(previous) => previous < key_bytes,
        };
        if key_bytes.is_empty() || !in_order {
            return Err(DecodeError::UnsortedDetails { offset: key_at });
        }
        previous = Some(key_bytes);
        let key = std::str::from_utf8(key_bytes).map_err(|_| DecodeError::InvalidUtf8 { offset: key_at })?;
        let tag_at = r.pos;
        let value = match r.u8()? {
            VALUE_ID => ValueRef::Id(r.uuid()?),
            VALUE_CODE => ValueRef::Code(r.str16()?),
            VALUE_INT => ValueRef::Int(i64::from_be_bytes(r.array()?)),
            VALUE_COUNT => ValueRef::Count(r.u64()?),
            VALUE_BOOL => ValueRef::Bool(r.flag("bool value")?),
            VALUE_TIME => ValueRef::Time(r.time()?),
            value => return Err(DecodeError::InvalidTag { field: "value type", value, offset: tag_at }),
        };
        on_detail(key, value);
    }
    let rest = bytes.len().saturating_sub(r.pos);
    if rest != 0 {
        return Err(DecodeError::TrailingBytes { count: rest });
    }
    Ok(Parsed { tenant, seq, at, actor, action, subject, rule })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::UnexpectedEnd { offset: self.pos })?;
        let slice = self.bytes.get(self.pos..end).ok_or(DecodeError::UnexpectedEnd { offset: self.pos })?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let at = self.pos;
        self.take(N)?.try_into().map_err(|_| DecodeError::UnexpectedEnd { offset: at })
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidTag { field, value, offset: at }),
        }
    }

    fn str16(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let len = self.u16()?;
        let bytes = self.take(usize::from(len))?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { offset: at })
    }

    fn time(&mut self) -> Result<OffsetDateTime, DecodeError> {
        let at = self.pos;
        let secs = i64::from_be_bytes(self.array()?);
        let nanos = u32::from_be_bytes(self.array()?);
        utc_from_parts(secs, nanos).ok_or(DecodeError::InvalidTime { offset: at })
    }
}
