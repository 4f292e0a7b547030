//! What a recruiter may send to a candidate right now (the inbox composer, issue 17), asked of
//! the send policy ([`OutboundPolicy`]) once for each kind of message. The browser shows exactly
//! what this returns; the send itself is decided again by the policy when it is submitted, so a
//! page that is out of date can never send what the rules forbid.

use time::OffsetDateTime;

use crate::candidate::Candidate;
use crate::consent::Purpose;
use crate::conversation::{Intent, OutboundContent};
use crate::objection::Objection;
use crate::policy::{Draft, OutboundPolicy, Refusal, RefusalCode, SendContext};
use crate::template::{Template, TemplateCategory, TemplateStatus};
use crate::values::{LanguageCode, Pii, TemplateName};

/// An approved template the policy allows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateChoice {
    /// Name.
    pub name: TemplateName,
    /// Language.
    pub language: LanguageCode,
    /// Utility, marketing or authentication.
    pub category: TemplateCategory,
    /// How many `{{n}}` values the recruiter fills in.
    pub body_parameters: u8,
    /// The body text as synced (for the preview), if known.
    pub body_text: Option<String>,
}

/// What the composer offers now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerOptions {
    /// A free-text message (the first one of a conversation gets the notice appended): allowed,
    /// or the refusal that stands in its way.
    pub text: Result<(), Refusal>,
    /// The consent-request template, when it may be sent: the number of requests left (this one
    /// included). `None` once the candidate consented on the current texts, or when the policy
    /// refuses it (the limit of R10, an objection, ...).
    pub consent_request: Option<u32>,
    /// The approved templates that may be sent now.
    pub templates: Vec<TemplateChoice>,
    /// What stops regular messages before any template or the window is looked at (approval,
    /// restriction, legal hold, objection, review, consent): the banner. `None` if nothing does.
    pub blocked: Option<Refusal>,
    /// The objection in effect, for the banner (date and source).
    pub objection: Option<Objection>,
    /// Until when the 24-hour customer-service window is open (`None`: closed).
    pub window_until: Option<OffsetDateTime>,
}

impl ComposerOptions {
    /// Asks the policy about each kind of message for `ctx.candidate` at `now`.
    pub fn decide(ctx: &SendContext<'_>, now: OffsetDateTime) -> Self {
        let candidate: &Candidate = ctx.candidate;
        let ask = |content: &OutboundContent, intent: Intent, notice_appended: bool| {
            OutboundPolicy::decide(ctx, &Draft { content, intent, notice_appended, queued: false }, now)
        };
        // free text as `send_message` sends it: with the notice where the conversation needs it
        let text = OutboundContent::Text { body: Pii::new(String::from("-")) };
        let text = ask(&text, Intent::Regular, candidate.conversation.needs_notice()).map(|_| ());
        // a template no catalogue holds walks every step before the template checks: its refusal
        // is what stands in the way of regular messages as such
        let language = ctx.channel.consent_template.language.clone();
        let blocked = match unknown_template(ctx, &language) {
            Some(name) => match ask(&template_content(name, language), Intent::Regular, false) {
                Err(r) if r.code == RefusalCode::TemplateNotApproved => None,
                Err(r) => Some(r),
                Ok(_) => None,
            },
            None => text.err(),
        };
        let consent = &ctx.channel.consent_template;
        let request = template_content(consent.name.clone(), consent.language.clone());
        let months = ctx.tenant.retention.talent_pool_months;
        let consented = candidate.consents.state(Purpose::WhatsAppChannel, now, months).is_granted()
            && candidate.consents.is_current(Purpose::WhatsAppChannel, ctx.legal_texts, now, months);
        let consent_request = (!consented && ask(&request, Intent::ConsentRequest, false).is_ok()).then(|| {
            let sent = candidate.consents.requests_pending(Purpose::WhatsAppChannel);
            u32::from(ctx.tenant.messaging.consent_request_limit.saturating_sub(sent))
        });
        let templates = ctx
            .templates
            .templates()
            .iter()
            .filter(|t| t.channel == ctx.channel.id && t.status == TemplateStatus::Approved)
            .filter(|t| !(t.name == consent.name && t.language == consent.language))
            .filter(|t| ask(&template_content(t.name.clone(), t.language.clone()), Intent::Regular, false).is_ok())
            .map(|t| TemplateChoice {
                name: t.name.clone(),
                language: t.language.clone(),
                category: t.category,
                body_parameters: t.body_parameters,
                body_text: t.body_text.clone(),
            })
            .collect();
        let window_until = candidate.conversation.window_open_until().filter(|until| *until > now);
        ComposerOptions {
            text,
            consent_request,
            templates,
            blocked,
            objection: candidate.objection.active.clone(),
            window_until,
        }
    }

    /// Whether anything at all may be sent now.
    pub fn anything(&self) -> bool {
        self.text.is_ok() || self.consent_request.is_some() || !self.templates.is_empty()
    }
}

/// A template name the channel's catalogue does not hold (so the policy's template step refuses
/// it, and only the steps before it decide).
fn unknown_template(ctx: &SendContext<'_>, language: &LanguageCode) -> Option<TemplateName> {
    (0..32).find_map(|n| {
        let name = TemplateName::parse(&format!("hoheit_composer_probe_{n}")).ok()?;
        ctx.templates.find(ctx.channel.id, &name, language).is_none().then_some(name)
    })
}

fn template_content(name: TemplateName, language: LanguageCode) -> OutboundContent {
    OutboundContent::Template { name, language, body_parameters: Vec::new(), button_payloads: Vec::new() }
}

/// A template's body with `{{1}}`, `{{2}}`, ... filled in: the value at that position, or
/// `placeholder(n)` where there is none (a preview before the values are typed). `None` when the
/// synced text is unknown (templates synced before it was recorded).
pub fn render_body(template: &Template, values: &[&str], placeholder: impl Fn(u8) -> String) -> Option<String> {
    let mut body = template.body_text.clone()?;
    // from the highest number down, so that `{{1}}` is never read inside `{{12}}`
    for n in (1..=template.body_parameters.max(1)).rev() {
        let value = values.get(usize::from(n) - 1).map_or_else(|| placeholder(n), |v| (*v).to_owned());
        body = body.replace(&format!("{{{{{n}}}}}"), &value);
    }
    Some(body)
}
