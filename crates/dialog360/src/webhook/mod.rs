//! What 360Dialog posts to us: verification on the raw bytes ([`verify`]) and parsing into
//! domain events ([`parse`]). The server checks the route token, then [`WebhookVerifier::verify`],
//! then [`parse_webhook`], then hands the events to the domain.

pub mod parse;
pub mod verify;

pub use parse::{ParseError, ParsedWebhook, RoutedEvent, parse_webhook};
pub use verify::{SIGNATURE_HEADER, VerifyError, WebhookVerifier, route_token_matches, sign};
