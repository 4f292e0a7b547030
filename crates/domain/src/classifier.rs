//! The objection classifier (RULES.md "Classifier", R11, R14, R16): a pure function over the
//! text or button payload of an inbound message, German and English.
//!
//! - Tier 1 (applied automatically): the whole message is an opt-out keyword, possibly with
//!   politeness words ("Stop bitte"), or a clear phrase with nothing around it but politeness
//!   and context words ("Bitte keine Nachrichten mehr", "Ich widerspreche der Verarbeitung
//!   meiner Daten"), or the opt-out button.
//! - Tier 2 (blocks proactive sending and opens a human review): a longer message that contains a
//!   keyword or a keyword's stem ("Ich will meine Bewerbung nicht stoppen"), or a clear phrase
//!   that is negated, asked about or embedded in other words ("Ich widerspreche nicht", "Wie kann
//!   ich meine Daten löschen?", "Ich möchte keine Nachrichten mehr verpassen").
//! - Opt-in: the bare keyword START / ANMELDEN, only while the candidate is opted out.
//! - Help: HELP / HILFE.
//!
//! "Ja"/"yes" in a conversation is never consent: consent comes from the consent request's
//! buttons only.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Tier-1 keywords (normalised).
const KEYWORDS: &[&str] = &[
    "stop",
    "stopp",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "optout",
    "revoke",
    "abmelden",
    "abbestellen",
    "austragen",
    "widerspruch",
    "widersprechen",
    "widerruf",
    "widerrufen",
    "loeschen",
    "entfernen",
];

/// Words that may surround a keyword without making the message "longer" ("Stop bitte").
const FILLERS: &[&str] = &[
    "bitte", "please", "pls", "plz", "danke", "thanks", "thank", "you", "thx", "jetzt", "sofort", "now", "ich", "i",
    "will", "want", "to", "hiermit", "ok", "okay", "hallo", "hi", "hello", "nein", "no", "alle", "all", "mich", "me",
    "mir", "sie", "es", "auf",
];

/// Clear opt-out phrases (normalised). Alone (with politeness and context words) they apply at once;
/// negated, asked about or embedded in other words they go to a human review (see `phrase_fit`).
const PHRASES: &[&str] = &[
    "bitte keine nachrichten mehr",
    "keine nachrichten mehr",
    "keine whatsapp mehr",
    "keine weiteren nachrichten",
    "schreiben sie mir nicht mehr",
    "nicht mehr schreiben",
    "nicht mehr kontaktieren",
    "ich widerspreche",
    "ich moechte keine nachrichten",
    "ich will keine nachrichten",
    "loeschen sie meine daten",
    "meine daten loeschen",
    "stop messaging me",
    "stop texting me",
    "stop contacting me",
    "do not contact me",
    "dont contact me",
    "don t contact me",
    "no more messages",
    "remove me",
    "opt out",
    "delete my data",
    "i object",
];

/// Stems whose appearance in a longer message suggests an objection (tier 2).
const STEMS: &[&str] = &[
    "stop",
    "abmeld",
    "abbestell",
    "austrag",
    "widersp",
    "widerruf",
    "loesch",
    "losch",
    "entfern",
    "unsubscrib",
    "optout",
    "kuendig",
];

/// Short English keywords that only count as whole words in tier 2 ("end" must not match "endlich").
const TIER2_WHOLE_WORDS: &[&str] = &["end", "quit", "cancel", "revoke", "remove", "delete"];

const OPT_IN: &[&str] = &["start", "anmelden"];
const HELP: &[&str] = &["help", "hilfe"];

/// The reply button payload of the opt-out button (templates and interactive messages).
pub const OPT_OUT_PAYLOAD: &str = "hoheit:optout";

/// What an inbound message means for objection handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Classification {
    /// Nothing to do.
    None,
    /// Tier 1: an objection, applied at once.
    Objection {
        /// Why.
        reason: ObjectionReason,
    },
    /// Tier 2: possibly an objection; block proactive sending and ask a human.
    PossibleObjection {
        /// The keyword or stem that matched (a fixed list entry, not the candidate's words).
        matched: String,
    },
    /// The bare opt-in keyword while opted out: a new consent.
    OptIn,
    /// A request for help (how to object, privacy contact).
    Help,
}

/// Why a message was classified as an objection. Safe to audit: these are fixed list entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "matched", rename_all = "snake_case")]
pub enum ObjectionReason {
    /// The message is a keyword (plus politeness words).
    Keyword(String),
    /// The message contains a clear phrase.
    Phrase(String),
    /// The opt-out button was tapped.
    OptOutButton,
}

impl ObjectionReason {
    /// Stable short name for audit details.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Keyword(_) => "keyword",
            Self::Phrase(_) => "phrase",
            Self::OptOutButton => "opt_out_button",
        }
    }
}

/// Normalises text for matching: trim, Unicode NFKC, lowercase, ä->ae ö->oe ü->ue ß->ss, every
/// character that is not a letter or digit becomes a space, runs of spaces collapse.
/// Idempotent: `normalise(normalise(x)) == normalise(x)`.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc().flat_map(char::to_lowercase).nfkc() {
        let mapped: &[char] = match c {
            'ä' => &['a', 'e'],
            'ö' => &['o', 'e'],
            'ü' => &['u', 'e'],
            'ß' => &['s', 's'],
            _ => &[],
        };
        if !mapped.is_empty() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(mapped);
        } else if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// The input to the classifier: what the candidate sent.
#[derive(Debug, Clone, Copy)]
pub enum ClassifierInput<'a> {
    /// A text message.
    Text(&'a str),
    /// A reply button: its payload (ours) and visible title.
    Button {
        /// The payload set by us when the button was sent.
        payload: Option<&'a str>,
        /// The button's visible text.
        title: &'a str,
    },
}

/// Classifies an inbound message. `opted_out` says whether the candidate is currently opted out
/// (objection in effect); only then does START / ANMELDEN mean opt-in.
pub fn classify(input: ClassifierInput<'_>, opted_out: bool) -> Classification {
    let text = match input {
        ClassifierInput::Button { payload: Some(OPT_OUT_PAYLOAD), .. } => {
            return Classification::Objection { reason: ObjectionReason::OptOutButton };
        }
        // Other buttons are ours (consent yes/no, ...) and handled by the consent flow; a
        // button's title is our text, but a custom button titled "STOPP" still means stop.
        ClassifierInput::Button { title, .. } => title,
        ClassifierInput::Text(text) => text,
    };
    let question = text.contains(['?', '\u{ff1f}', '\u{bf}']);
    classify_normalised(&normalise(text), opted_out, question)
}

/// Words that may surround a clear phrase without changing its meaning ("Ich widerspreche der
/// Verarbeitung meiner Daten", "Remove me from your list").
const PHRASE_CONTEXT: &[&str] = &[
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "mein",
    "meine",
    "meiner",
    "meinen",
    "meines",
    "ihre",
    "ihrer",
    "ihren",
    "verarbeitung",
    "nutzung",
    "speicherung",
    "daten",
    "personenbezogenen",
    "whatsapp",
    "nachrichten",
    "kontakt",
    "kontaktaufnahme",
    "ab",
    "mehr",
    "weiteren",
    "zu",
    "und",
    "moechte",
    "wuensche",
    "gegen",
    "the",
    "my",
    "of",
    "processing",
    "data",
    "personal",
    "from",
    "your",
    "list",
    "this",
    "number",
    "messages",
    "any",
    "more",
    "immediately",
    "and",
    "use",
];

/// Words that turn a phrase around ("Ich widerspreche nicht", "don't remove me").
const NEGATIONS: &[&str] =
    &["nicht", "nie", "niemals", "not", "never", "don", "dont", "doesn", "doesnt", "didn", "didnt"];

/// How a clear phrase sits in a message: alone (tier 1), or with other words, a negation or as a
/// question (tier 2: a human decides).
fn phrase_fit(tokens: &[&str], phrase: &str, question: bool) -> Option<bool> {
    let words: Vec<&str> = phrase.split(' ').collect();
    let start = tokens.windows(words.len()).position(|w| w == words.as_slice())?;
    let outside = tokens.iter().enumerate().filter(|(i, _)| *i < start || *i >= start + words.len()).map(|(_, t)| *t);
    let mut clean = !question;
    for t in outside {
        if NEGATIONS.contains(&t) || !(FILLERS.contains(&t) || PHRASE_CONTEXT.contains(&t)) {
            clean = false;
        }
    }
    Some(clean)
}

fn classify_normalised(text: &str, opted_out: bool, question: bool) -> Classification {
    let tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return Classification::None;
    }
    // Some(word) when every token is a filler or in `set`, and at least one is in `set`.
    let only = |set: &[&'static str]| -> Option<&'static str> {
        let mut hit = None;
        for t in &tokens {
            if let Some(k) = set.iter().find(|k| **k == *t) {
                hit.get_or_insert(*k);
            } else if !FILLERS.contains(t) {
                return None;
            }
        }
        hit
    };
    if let Some(keyword) = only(KEYWORDS) {
        return Classification::Objection { reason: ObjectionReason::Keyword(keyword.to_owned()) };
    }
    let mut possible: Option<&str> = None;
    for phrase in PHRASES {
        match phrase_fit(&tokens, phrase, question) {
            Some(true) => return Classification::Objection { reason: ObjectionReason::Phrase((*phrase).to_owned()) },
            Some(false) => {
                possible.get_or_insert(phrase);
            }
            None => {}
        }
    }
    if let Some(phrase) = possible {
        return Classification::PossibleObjection { matched: phrase.to_owned() };
    }
    if opted_out && tokens.len() == 1 && tokens.iter().all(|t| OPT_IN.contains(t)) {
        return Classification::OptIn;
    }
    if only(HELP).is_some() {
        return Classification::Help;
    }
    for t in &tokens {
        if let Some(stem) = STEMS.iter().find(|s| t.starts_with(**s)) {
            return Classification::PossibleObjection { matched: (*stem).to_owned() };
        }
        if let Some(word) = TIER2_WHOLE_WORDS.iter().find(|w| **w == *t) {
            return Classification::PossibleObjection { matched: (*word).to_owned() };
        }
    }
    Classification::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Classification {
        classify(ClassifierInput::Text(s), false)
    }

    fn is_tier1(c: &Classification) -> bool {
        matches!(c, Classification::Objection { .. })
    }

    #[test]
    fn examples_from_rules_md() {
        assert!(is_tier1(&text("STOPP!")));
        assert!(is_tier1(&text("Stop bitte")));
        assert!(matches!(text("Ich will meine Bewerbung nicht stoppen"), Classification::PossibleObjection { .. }));
        assert_eq!(text("Ja"), Classification::None);
    }

    #[test]
    fn tier1_keywords_in_many_spellings() {
        let cases = [
            "STOP",
            "stop",
            " Stop. ",
            "STOPP!!!",
            "stopp 🛑",
            "🛑 STOPP 🛑",
            "Stopall",
            "UNSUBSCRIBE",
            "cancel",
            "END",
            "quit",
            "OPTOUT",
            "opt-out",
            "Opt out",
            "revoke",
            "Abmelden",
            "ABBESTELLEN",
            "austragen",
            "Widerspruch!",
            "widersprechen",
            "Widerruf",
            "widerrufen",
            "Löschen",
            "LOESCHEN",
            "LÖSCHEN!",
            "Entfernen",
            "Stop please",
            "bitte stopp",
            "STOPP. Danke",
            "Hallo, STOPP bitte!",
            "ｓｔｏｐｐ",
            "Widerspruch.",
            "Stop, thanks",
            "sto\u{0070}p",
        ];
        for case in cases {
            assert!(is_tier1(&text(case)), "{case} -> {:?}", text(case));
        }
    }

    #[test]
    fn tier1_phrases() {
        for case in [
            "Bitte keine Nachrichten mehr",
            "bitte keine Nachrichten mehr!!",
            "Hallo, bitte keine Nachrichten mehr. Danke",
            "Ich widerspreche",
            "ich widerspreche der Verarbeitung",
            "Löschen Sie meine Daten",
            "Bitte löschen Sie meine Daten sofort",
            "Stop messaging me",
            "please STOP MESSAGING ME",
            "remove me",
            "Remove me from your list",
            "I object",
            "Schreiben Sie mir nicht mehr",
            "Keine WhatsApp mehr bitte",
        ] {
            assert!(is_tier1(&text(case)), "{case} -> {:?}", text(case));
        }
    }

    #[test]
    fn phrases_negated_asked_or_embedded_go_to_review_not_to_objection() {
        for case in [
            "Ich widerspreche nicht",
            "Wie kann ich meine Daten löschen?",
            "how do I opt out later?",
            "Ich möchte keine Nachrichten mehr verpassen",
            "Please don't remove me from the shortlist",
            "Soll ich Ihnen keine Nachrichten mehr schicken?",
        ] {
            assert!(matches!(text(case), Classification::PossibleObjection { .. }), "{case} -> {:?}", text(case));
        }
        for case in [
            "Ich widerspreche der Verarbeitung meiner Daten",
            "Ich möchte keine Nachrichten mehr",
            "Remove me from your list",
        ] {
            assert!(is_tier1(&text(case)), "{case} -> {:?}", text(case));
        }
    }

    #[test]
    fn tier2_longer_messages() {
        for case in [
            "Ich will meine Bewerbung nicht stoppen",
            "Können Sie das Gespräch stoppen?",
            "Wie kann ich mich abmelden, falls nötig?",
            "Ich überlege, meine Bewerbung zu widerrufen",
            "Can you cancel my interview tomorrow",
            "Stopping by tomorrow at 10?",
            "Kann ich meine Unterlagen löschen lassen oder nicht",
            "loschen bitte",
        ] {
            assert!(matches!(text(case), Classification::PossibleObjection { .. }), "{case} -> {:?}", text(case));
        }
    }

    #[test]
    fn normal_conversation_is_nothing() {
        for case in [
            "Ja",
            "ja!",
            "Yes",
            "ok",
            "Danke!",
            "Endlich eine Antwort",
            "Wann ist das Gespräch?",
            "Ich freue mich auf den Termin",
            "Can we meet at 10?",
            "",
            "   ",
            "👍",
            "Start",
            "ANMELDEN",
        ] {
            assert_eq!(text(case), Classification::None, "{case}");
        }
    }

    #[test]
    fn opt_in_only_bare_and_only_while_opted_out() {
        assert_eq!(classify(ClassifierInput::Text("START"), true), Classification::OptIn);
        assert_eq!(classify(ClassifierInput::Text("anmelden!"), true), Classification::OptIn);
        assert_eq!(classify(ClassifierInput::Text("START"), false), Classification::None);
        assert_eq!(classify(ClassifierInput::Text("Ja"), true), Classification::None);
        assert_eq!(classify(ClassifierInput::Text("Yes"), true), Classification::None);
        assert_eq!(classify(ClassifierInput::Text("start the interview"), true), Classification::None);
    }

    #[test]
    fn help_keywords() {
        assert_eq!(text("HILFE"), Classification::Help);
        assert_eq!(text("help!"), Classification::Help);
        assert_eq!(text("Hilfe bitte"), Classification::Help);
        assert_eq!(text("I need help with my CV"), Classification::None);
    }

    #[test]
    fn opt_out_button_is_tier1_and_other_buttons_are_read_by_title() {
        let c = classify(ClassifierInput::Button { payload: Some(OPT_OUT_PAYLOAD), title: "Keine Nachrichten" }, false);
        assert_eq!(c, Classification::Objection { reason: ObjectionReason::OptOutButton });
        let c = classify(ClassifierInput::Button { payload: Some("hoheit:consent:yes:x"), title: "Zustimmen" }, false);
        assert_eq!(c, Classification::None);
        let c = classify(ClassifierInput::Button { payload: None, title: "STOPP" }, false);
        assert!(is_tier1(&c));
    }

    #[test]
    fn normalisation_examples() {
        assert_eq!(normalise("  Löschen Sie MEINE Daten!! "), "loeschen sie meine daten");
        assert_eq!(normalise("Straße"), "strasse");
        assert_eq!(normalise("STRASSE"), "strasse");
        assert_eq!(normalise("a\u{0308}"), "ae");
        assert_eq!(normalise("ＳＴＯＰＰ"), "stopp");
        assert_eq!(normalise("🛑stop🛑"), "stop");
        assert_eq!(normalise("opt-out"), "opt out");
    }

    fn keyword() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(KEYWORDS)
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(s in "\\PC{0,60}") {
            let once = normalise(&s);
            prop_assert_eq!(normalise(&once), once.clone());
        }

        #[test]
        fn text_without_any_keyword_is_never_tier1(words in proptest::collection::vec("[a-z]{1,8}", 0..8)) {
            let s = words.join(" ");
            let n = normalise(&s);
            let has_keyword = n.split(' ').any(|t| KEYWORDS.contains(&t));
            let has_phrase = PHRASES.iter().any(|p| format!(" {n} ").contains(&format!(" {p} ")));
            prop_assume!(!has_keyword && !has_phrase);
            prop_assert!(!is_tier1(&text(&s)));
        }

        #[test]
        fn a_bare_keyword_with_decoration_is_always_tier1(
            kw in keyword(),
            upper in any::<bool>(),
            prefix in "[ \\.!?🛑👋]{0,3}",
            suffix in "[ \\.!?🛑👋]{0,3}",
        ) {
            let word = if upper { kw.to_uppercase() } else { kw.to_owned() };
            let msg = format!("{prefix}{word}{suffix}");
            prop_assert!(is_tier1(&text(&msg)), "{} -> {:?}", msg, text(&msg));
        }

        #[test]
        fn classification_depends_only_on_normalised_text_and_the_question_mark(s in "\\PC{0,40}", opted_out in any::<bool>()) {
            let question = if s.contains(['?', '\u{ff1f}', '\u{bf}']) { "?" } else { "" };
            prop_assert_eq!(
                classify(ClassifierInput::Text(&s), opted_out),
                classify(ClassifierInput::Text(&format!("{}{question}", normalise(&s))), opted_out)
            );
        }

        #[test]
        fn a_negated_or_questioned_phrase_is_never_applied_automatically(
            phrase in proptest::sample::select(PHRASES),
            negate in any::<bool>(),
        ) {
            prop_assume!(!phrase.split(' ').any(|w| NEGATIONS.contains(&w)));
            let msg = if negate { format!("{phrase} nicht") } else { format!("{phrase}?") };
            let c = text(&msg);
            prop_assert!(!is_tier1(&c), "{} -> {:?}", msg, c);
            prop_assert!(matches!(c, Classification::PossibleObjection { .. }), "{} -> {:?}", msg, c);
        }

        #[test]
        fn a_bare_phrase_is_always_applied(phrase in proptest::sample::select(PHRASES), upper in any::<bool>()) {
            let msg = if upper { phrase.to_uppercase() } else { (*phrase).to_owned() };
            prop_assert!(is_tier1(&text(&msg)), "{} -> {:?}", msg, text(&msg));
        }

        #[test]
        fn classifier_never_panics(s in any::<String>(), opted_out in any::<bool>()) {
            let _ = classify(ClassifierInput::Text(&s), opted_out);
        }
    }
}

#[cfg(feature = "testing")]
pub mod corpus;
