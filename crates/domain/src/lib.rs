//! # hoheit-domain — the heart of the hexagon
//!
//! Pure Rust, no I/O: every compliance rule of hoheit that can be decided without a database or
//! a network is decided here, and tested here. Adapters plug into the [`ports`]; the server wires
//! them together.
//!
//! - Values and ids: [`values`], [`ids`] (parse, don't validate; personal data is [`values::Pii`]
//!   and never prints in `Debug`).
//! - Who acts (roles, the actor of every change): [`actor`]. Tenant, channel and the DPO's
//!   approval: [`tenant`] (R1, R2).
//! - Legal texts and their versions: [`legal`] (R5-R7).
//! - The candidate aggregate: [`candidate`] (lifecycle, process, legal holds).
//! - Consent per purpose: [`consent`] (R3-R10). Objection and its classifier: [`objection`],
//!   [`classifier`] (R11-R18).
//! - Conversations, message status and the 24-hour window: [`conversation`] (R15, R20); the kind
//!   and delivery status every message shares: [`message`]; webhook input: [`inbound`]. Media
//!   files: [`media`] (stored sealed, erased with the candidate).
//! - The send decision: [`policy`] (RULES.md "Send decision"). Exactly-once sends across
//!   crashes (the attempt recorded before the call, the status webhook as receipt): [`attempt`].
//! - Retention: [`retention`] (R23-R28). Subject requests: [`subject_request`] (R29-R32).
//! - Events for the audit log: [`events`] (R34). Rule ids: [`rules`].
//! - Ports and use cases: [`ports`], [`usecases`] (each use case: load -> decide -> commit,
//!   retried from a fresh load when a commit loses an optimistic-lock race).
//! - Staff accounts, sessions, sign-in throttling (issue 16): [`staff`].
//! - A tenant's identity provider for staff sign-in (issuer, client, e-mail domains, group ->
//!   role mapping): [`idp`].
//! - Accountability documents from the configuration: [`accountability`] (R2, R35). Who may do
//!   what: [`access`].
//!
//! Module dependencies form no cycle (`tests/module_graph.rs` checks it): `actor`, `message`,
//! `values` and `ids` are leaves, the model modules depend on each other one way, and no module
//! but [`usecases`] (and the test support) uses the use cases.
//!
//! A backend developer decides a send like this (see also `examples/decide_send.rs`):
//!
//! ```
//! use hoheit_domain::policy::{Draft, OutboundPolicy, RefusalCode, SendContext};
//! use hoheit_domain::conversation::{Intent, OutboundContent};
//! use hoheit_domain::testing::fixtures;
//!
//! let world = fixtures::World::new();
//! let candidate = world.candidate(); // no consent yet
//! let content = OutboundContent::Text { body: "Hallo!".into() };
//! let draft = Draft { content: &content, intent: Intent::Regular, notice_appended: true, queued: false };
//! let refusal = OutboundPolicy::decide(&world.send_context(&candidate), &draft, world.now).unwrap_err();
//! assert_eq!(refusal.code, RefusalCode::ConsentMissing);
//! assert_eq!(refusal.code.as_str(), "consent_missing");
//! ```

#![warn(missing_docs)]

/// Implements the stable name of every variant of an enum from one table (`Variant => "name"`):
/// the names go into storage, audit entries and the API, so each is written once. Data in a
/// variant does not change its name. `fn as_str(self)` for `Copy` enums, `fn as_str(&self)` for
/// the others; with `parse: "kind", "expected ..."` also the inverse `parse` (unit variants only),
/// refusing any other text with an [`InvalidValue`](values::InvalidValue) of that kind.
macro_rules! stable_names {
    ($t:ident, $(#[doc = $doc:literal])* fn $f:ident(self) { $($v:ident => $name:literal,)* } parse: $kind:literal, $expected:literal) => {
        stable_names!($t, $(#[doc = $doc])* fn $f(self) { $($v => $name,)* });
        stable_names!(@parse $t, $kind, $expected, $($v => $name,)*);
    };
    ($t:ident, $(#[doc = $doc:literal])* fn $f:ident(self) { $($v:ident => $name:literal,)* }) => {
        impl $t {
            $(#[doc = $doc])*
            pub const fn $f(self) -> &'static str {
                match self { $(Self::$v { .. } => $name,)* }
            }
        }
    };
    ($t:ident, $(#[doc = $doc:literal])* fn $f:ident(&self) { $($v:ident => $name:literal,)* }) => {
        impl $t {
            $(#[doc = $doc])*
            pub const fn $f(&self) -> &'static str {
                match self { $(Self::$v { .. } => $name,)* }
            }
        }
    };
    (@parse $t:ident, $kind:literal, $expected:literal, $($v:ident => $name:literal,)*) => {
        impl $t {
            /// Parses the stable name.
            pub fn parse(value: &str) -> Result<Self, $crate::values::InvalidValue> {
                match value {
                    $($name => Ok(Self::$v),)*
                    _ => Err($crate::values::InvalidValue::new($kind, $expected)),
                }
            }
        }
    };
}

pub mod access;
pub mod accountability;
pub mod actor;
pub mod attempt;
pub mod calendar;
pub mod candidate;
pub mod classifier;
pub mod composer;
pub mod consent;
pub mod conversation;
pub mod credential;
pub mod events;
pub mod idp;
pub mod ids;
pub mod inbound;
pub mod legal;
pub mod media;
pub mod message;
pub mod names;
pub mod objection;
pub mod policy;
pub mod ports;
pub mod retention;
pub mod rules;
pub mod staff;
pub mod subject_request;
pub mod template;
pub mod tenant;
pub mod usecases;
pub mod values;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod stable_names_tests {
    use crate::actor::Role;
    use crate::consent::{CaptureChannel, Purpose};
    use crate::credential::{BreakGlassReason, InvitationOrigin};

    #[test]
    fn every_stable_name_parses_back_and_other_text_is_refused_with_its_kind() {
        for role in [Role::Operator, Role::Admin, Role::Dpo, Role::Recruiter] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Ok(purpose));
        }
        assert_eq!(CaptureChannel::parse("in_person"), Ok(CaptureChannel::InPerson));
        assert_eq!(CaptureChannel::InPerson.as_str(), "in_person");
        assert_eq!(InvitationOrigin::parse(InvitationOrigin::BreakGlass.as_str()), Ok(InvitationOrigin::BreakGlass));
        assert_eq!(BreakGlassReason::parse("admin_left"), Ok(BreakGlassReason::AdminLeft));
        let refused = Role::parse("Admin").unwrap_err();
        assert_eq!(
            (refused.kind(), refused.to_string().as_str()),
            ("role", "invalid role: expected operator, admin, dpo or recruiter")
        );
        assert_eq!(CaptureChannel::parse("fax").unwrap_err().kind(), "channel");
    }
}
