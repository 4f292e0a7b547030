//! A test-only failpoint for the crash drill (`hoheit-load crash-send`, docs/reliability.md):
//! with `HOHEIT_TEST_ABORT_AFTER_SEND=<n>` in the environment the process aborts right after the
//! n-th send that 360Dialog accepted, before the acceptance is committed — the one moment where a
//! plain retry would send a message twice. The drill restarts the server with a new `n` each
//! time. Without the variable (always in production) the gateway is used as it is. `HOHEIT_TEST_*`
//! variables are not configuration keys; the server logs a loud warning when this one is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use hoheit_domain::conversation::OutboundContent;
use hoheit_domain::ids::ChannelId;
use hoheit_domain::ports::{GatewayError, MessagingGateway, Recipient, SendReceipt};
use hoheit_domain::values::{Pii, Wamid};

/// The environment variable of the failpoint.
pub const ABORT_AFTER_SEND: &str = "HOHEIT_TEST_ABORT_AFTER_SEND";

/// `gateway`, wrapped in [`AbortAfterSend`] if [`ABORT_AFTER_SEND`] is set to a positive number.
pub fn abort_after_send_from_env(gateway: Arc<dyn MessagingGateway>) -> Arc<dyn MessagingGateway> {
    match std::env::var(ABORT_AFTER_SEND).ok().and_then(|v| v.trim().parse::<u64>().ok()).filter(|n| *n > 0) {
        Some(n) => {
            tracing::warn!(
                after = n,
                "TEST FAILPOINT {ABORT_AFTER_SEND} is set: the process aborts after that many accepted sends"
            );
            Arc::new(AbortAfterSend::new(gateway, n))
        }
        None => gateway,
    }
}

fn abort_process() {
    std::process::abort()
}

/// Aborts the process (like `kill -9`: no shutdown, no further commit) right after the n-th
/// accepted send, between the provider's acceptance and the commit that records it.
pub struct AbortAfterSend {
    inner: Arc<dyn MessagingGateway>,
    remaining: AtomicU64,
    then: Then,
}

/// What happens after the n-th accepted send.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// This is called: the process's abort, or a test's stand-in.
    Call(fn()),
    /// The send never returns: the dispatch "dies" while the process goes on (in-process tests).
    Hang,
}

impl std::fmt::Debug for AbortAfterSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbortAfterSend").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl AbortAfterSend {
    /// Aborts after `n` accepted sends.
    pub fn new(inner: Arc<dyn MessagingGateway>, n: u64) -> Self {
        Self { inner, remaining: AtomicU64::new(n), then: Then::Call(abort_process) }
    }

    /// Calls `abort` instead of aborting the process (tests).
    #[must_use]
    pub fn with_abort(mut self, abort: fn()) -> Self {
        self.then = Then::Call(abort);
        self
    }

    /// Instead of aborting the process, the n-th accepted send never returns, so nothing after it
    /// is committed (tests that crash one dispatch in a running server).
    #[must_use]
    pub fn hanging(mut self) -> Self {
        self.then = Then::Hang;
        self
    }
}

#[async_trait]
impl MessagingGateway for AbortAfterSend {
    async fn pace(&self, channel: ChannelId, to: &Recipient) -> Result<(), GatewayError> {
        self.inner.pace(channel, to).await
    }

    async fn depart(&self, channel: ChannelId) {
        self.inner.depart(channel).await;
    }

    async fn send(
        &self,
        channel: ChannelId,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError> {
        let result = self.inner.send(channel, to, content, tag).await;
        if result.is_ok()
            && self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) == Ok(1)
        {
            tracing::warn!("TEST FAILPOINT: aborting after an accepted send, before it is recorded");
            match self.then {
                Then::Call(abort) => abort(),
                Then::Hang => std::future::pending::<()>().await,
            }
        }
        result
    }

    async fn mark_read(&self, channel: ChannelId, provider_id: &Wamid) -> Result<(), GatewayError> {
        self.inner.mark_read(channel, provider_id).await
    }

    async fn upload_media(
        &self,
        channel: ChannelId,
        content: &Pii<Vec<u8>>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GatewayError> {
        self.inner.upload_media(channel, content, mime_type, filename).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use hoheit_domain::testing::FakeGateway;
    use hoheit_domain::values::PhoneNumber;

    use super::*;

    static ABORTS: AtomicUsize = AtomicUsize::new(0);

    fn count_abort() {
        ABORTS.fetch_add(1, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn it_fires_once_after_the_nth_accepted_send_only() {
        let fake = Arc::new(FakeGateway::default());
        let gateway = AbortAfterSend::new(fake.clone(), 2).with_abort(count_abort);
        let to = Recipient::Phone(PhoneNumber::parse("+49 170 1234567").unwrap());
        let text = OutboundContent::Text { body: "x".into() };
        let channel = ChannelId::from_uuid(uuid::Uuid::from_u128(1));
        fake.script([Err(GatewayError::Transient { code: None })]);
        assert!(gateway.send(channel, &to, &text, "t").await.is_err(), "a refused send does not count");
        gateway.send(channel, &to, &text, "t").await.unwrap();
        assert_eq!(ABORTS.load(Ordering::SeqCst), 0);
        gateway.send(channel, &to, &text, "t").await.unwrap();
        assert_eq!(ABORTS.load(Ordering::SeqCst), 1, "after the second accepted send");
        gateway.send(channel, &to, &text, "t").await.unwrap();
        assert_eq!(ABORTS.load(Ordering::SeqCst), 1, "once");
        assert_eq!(fake.sent().len(), 4);
    }
}
