//! [`Dialog360Gateway`]: the domain's [`MessagingGateway`], routing each channel to its client.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use hoheit_domain::conversation::OutboundContent;
use hoheit_domain::ids::ChannelId;
use hoheit_domain::ports::{GatewayError, MessagingGateway, Recipient, SendReceipt};
use hoheit_domain::values::{Pii, Wamid};

use crate::client::Dialog360Client;

/// A registry of channel -> client that the server fills at start and changes at runtime (a
/// channel added, its key rotated, a channel removed). Unknown channels answer
/// [`GatewayError::NotConfigured`].
#[derive(Debug, Default)]
pub struct Dialog360Gateway {
    clients: RwLock<HashMap<ChannelId, Arc<Dialog360Client>>>,
    /// Processes sending through the same numbers (see [`Dialog360Gateway::set_throughput_share`]).
    share: std::sync::atomic::AtomicU32,
}

impl Dialog360Gateway {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the channel's client; returns the previous one. Sends already running
    /// finish on the old client.
    pub fn register(&self, channel: ChannelId, client: Dialog360Client) -> Option<Arc<Dialog360Client>> {
        client.set_throughput_share(self.share());
        self.write().insert(channel, Arc::new(client))
    }

    /// `share` processes send through these numbers at once (live replicas of the server): each
    /// channel's client takes `1/share` of its number's throughput, now and when registered later.
    pub fn set_throughput_share(&self, share: u32) {
        let share = share.max(1);
        if self.share.swap(share, std::sync::atomic::Ordering::Relaxed) != share {
            for client in self.clients.read().unwrap_or_else(PoisonError::into_inner).values() {
                client.set_throughput_share(share);
            }
        }
    }

    fn share(&self) -> u32 {
        self.share.load(std::sync::atomic::Ordering::Relaxed).max(1)
    }

    /// Removes the channel's client; returns it.
    pub fn remove(&self, channel: ChannelId) -> Option<Arc<Dialog360Client>> {
        self.write().remove(&channel)
    }

    /// The channel's client (for templates, webhook settings and media).
    pub fn client(&self, channel: ChannelId) -> Option<Arc<Dialog360Client>> {
        self.clients.read().unwrap_or_else(PoisonError::into_inner).get(&channel).cloned()
    }

    /// The channels with a client.
    pub fn channels(&self) -> Vec<ChannelId> {
        self.clients.read().unwrap_or_else(PoisonError::into_inner).keys().copied().collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<ChannelId, Arc<Dialog360Client>>> {
        self.clients.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl MessagingGateway for Dialog360Gateway {
    async fn pace(&self, channel: ChannelId, to: &Recipient) -> Result<(), GatewayError> {
        let client = self.client(channel).ok_or(GatewayError::NotConfigured)?;
        client.pace(to).await;
        Ok(())
    }

    async fn depart(&self, channel: ChannelId) {
        if let Some(client) = self.client(channel) {
            client.depart().await;
        }
    }

    async fn send(
        &self,
        channel: ChannelId,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError> {
        let client = self.client(channel).ok_or(GatewayError::NotConfigured)?;
        // the dispatcher waited for the ceiling before its last decision (`depart`)
        let result = client.send_departed_tagged(to, content, tag).await;
        match &result {
            Ok(_) => tracing::debug!(%channel, kind = content.kind().as_str(), "message accepted"),
            Err(error) => tracing::info!(%channel, code = error.code(), %error, "message not accepted"),
        }
        result
    }

    async fn mark_read(&self, channel: ChannelId, provider_id: &Wamid) -> Result<(), GatewayError> {
        let client = self.client(channel).ok_or(GatewayError::NotConfigured)?;
        client.mark_read(provider_id).await
    }

    async fn upload_media(
        &self,
        channel: ChannelId,
        content: &Pii<Vec<u8>>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GatewayError> {
        let client = self.client(channel).ok_or(GatewayError::NotConfigured)?;
        let bytes = bytes::Bytes::from(content.expose().clone());
        client.upload_media(bytes, mime_type, filename).await.map_err(|e| {
            tracing::info!(%channel, error = %e, "media upload not accepted");
            match e {
                crate::Dialog360Error::Provider(gateway) => gateway,
                crate::Dialog360Error::InvalidRequest(_) | crate::Dialog360Error::InvalidMediaId => {
                    GatewayError::Rejected { code: None }
                }
                crate::Dialog360Error::RefusedUrl
                | crate::Dialog360Error::TooLarge
                | crate::Dialog360Error::IntegrityMismatch
                | crate::Dialog360Error::InvalidResponse(_) => GatewayError::Transient { code: None },
                crate::Dialog360Error::NotAllowed => GatewayError::ChannelFailure { code: None },
            }
        })
    }
}
