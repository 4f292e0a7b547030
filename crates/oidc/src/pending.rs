//! An in-memory store of pending sign-ins (single use, expiring): for one process, tests and the
//! stand-in journeys. Several replicas need a shared store (the server keeps them in the
//! database); the contract is the same: `take` hands a pending sign-in out at most once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::client::PendingLogin;

/// Pending sign-ins by state.
#[derive(Debug, Default)]
pub struct MemoryPendingStore {
    inner: Mutex<HashMap<String, PendingLogin>>,
}

impl MemoryPendingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `pending` under its state.
    pub fn insert(&self, pending: PendingLogin) {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(pending.state().to_owned(), pending);
    }

    /// Removes and returns the pending sign-in with this state: a second call with the same state
    /// returns `None` (a replayed callback fails).
    pub fn take(&self, state: &str) -> Option<PendingLogin> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).remove(state)
    }

    /// Forgets pending sign-ins older than `ttl` at `now`; returns how many.
    pub fn purge(&self, now: OffsetDateTime, ttl: Duration) -> usize {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let before = map.len();
        map.retain(|_, p| now - p.created_at() <= ttl);
        before - map.len()
    }

    /// How many are pending.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether none is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
