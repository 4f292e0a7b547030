//! One module per table (or family of tables): its column list, how a domain change becomes
//! statements (applied by the writer inside a group commit, see [`crate::batch::Write`]), and
//! how its rows become domain values again (used by the store's reads). A value read from a row
//! that this version does not know is corruption ([`StoreError::Corrupt`]), never a default.
//!
//! [`StoreError::Corrupt`]: hoheit_domain::ports::StoreError::Corrupt

pub(crate) mod audit;
pub(crate) mod candidates;
pub(crate) mod config;
pub(crate) mod inbox;
pub(crate) mod media;
pub(crate) mod messages;
pub(crate) mod outbox;
pub(crate) mod subject_requests;
pub(crate) mod suppressions;
