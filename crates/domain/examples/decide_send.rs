//! A backend developer embedding `hoheit-domain` decides a send without any I/O:
//! `cargo run -p hoheit-domain --example decide_send --features testing`.
//!
//! The fixture world is a tenant with a DPO-approved channel, published legal texts and synced
//! templates; in your code these come from your own storage.

use hoheit_domain::consent::Purpose;
use hoheit_domain::conversation::{Intent, OutboundContent};
use hoheit_domain::policy::{Draft, OutboundPolicy};
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::{LanguageCode, TemplateName};
use time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = World::new();
    let mut candidate = world.candidate();
    let text = OutboundContent::Text { body: "Wann passt Ihnen das Gespräch?".into() };
    let consent_request = OutboundContent::Template {
        name: TemplateName::parse("consent_request")?,
        language: LanguageCode::german(),
        body_parameters: vec!["Beispiel GmbH".into()],
        button_payloads: vec![],
    };

    let show = |label: &str, candidate: &hoheit_domain::candidate::Candidate, content: &OutboundContent, intent| {
        let draft = Draft { content, intent, notice_appended: true, queued: false };
        let decision = OutboundPolicy::decide(&world.send_context(candidate), &draft, world.now);
        let verdict = match decision {
            Ok(permit) => format!(
                "permitted{}",
                permit.exception.map(|e| format!(" (exception: {})", e.as_str())).unwrap_or_default()
            ),
            Err(refusal) => format!("refused: {} ({})", refusal.code, refusal.rule),
        };
        // An example program prints its result; the library itself never prints.
        #[allow(clippy::print_stdout)]
        {
            println!("{label:<45} -> {verdict}");
        }
    };

    show("free text, no consent yet", &candidate, &text, Intent::Regular);
    show("consent-request template, no consent yet", &candidate, &consent_request, Intent::ConsentRequest);
    world.grant(&mut candidate, Purpose::WhatsAppChannel);
    show("free text, consent, window closed", &candidate, &text, Intent::Regular);
    candidate.conversation.record_inbound(world.now - Duration::minutes(10));
    show("free text, consent, candidate wrote 10 min ago", &candidate, &text, Intent::Regular);
    Ok(())
}
