//! The objection classifier v2 (RULES.md "Classifier", R8, R11, R14, R16): a pure, explainable
//! function over the text or button payload of an inbound message.
//!
//! - Normalisation ([`normalise`], [`fold`]): NFKC, case, umlauts, punctuation and emoji, and on
//!   top for matching: stretched letters, digits for letters, spaced-out words, accents and
//!   Arabic forms (see `normalise.rs`).
//! - Tier 1 (applied automatically): the whole message is an opt-out keyword with politeness
//!   words ("Stop bitte", "СТОП!!!"), the opt-out button, or a grammar pattern
//!   (`languages.rs`): negated contact with its verb anywhere ("kontaktieren Sie mich bitte nicht
//!   mehr", "don't text me again"), imperatives to stop ("hören Sie auf", "leave me alone"),
//!   unsubscribe in any inflection ("tragen Sie mich aus", "abgemeldet werden", "opt me out"),
//!   erasure and objection phrases, and the same kinds of explicit phrases in Turkish, Polish,
//!   Romanian, Russian, Ukrainian and Arabic. A consent withdrawal ("ich widerrufe meine
//!   Einwilligung") is its own result, [`Classification::Withdrawal`]: the inbound use case
//!   withdraws consent (R8) and applies the objection.
//! - Tier 2 (blocks proactive sending and opens a human review): a tier-1 pattern that is asked
//!   about ("?"), negated ("ich widerspreche nicht"), turned around ("keine Nachrichten mehr
//!   verpassen") or said by the candidate about themselves ("ich will aufhören"); an ambiguous
//!   pattern ("nicht mehr interessiert", "too many messages"); or a keyword or keyword stem in a
//!   longer message ("Ich will meine Bewerbung nicht stoppen"). When unsure: tier 2.
//! - Harmless senses do not block: compounds ("Stoppuhr", "Kündigungsfrist", "Entfernung"), a
//!   stop on a journey ("ein Stopp in Fulda", "bus stop"), the candidate's own notice ("ich
//!   kündige bei meinem Arbeitgeber", "quit my job"), rescheduling with a new day proposed
//!   ("cancel the appointment, can we do Tuesday?"), a thing deregistered ("meine alte Nummer
//!   ist abgemeldet"), the candidate's own file ("soll ich die Datei löschen?"). They never
//!   override a tier-1 pattern elsewhere in the message.
//! - Opt-in: the bare keyword START / ANMELDEN, only while the candidate is opted out.
//! - Help: HELP / HILFE.
//!
//! Every result names what fired: the keyword, or the stable pattern id (`de.negated_contact`,
//! `keyword_in_sentence:stop`); never the candidate's words. "Ja"/"yes" in a conversation is
//! never consent: consent comes from the consent request's buttons only.

mod grammar;
mod languages;
mod normalise;

#[cfg(feature = "testing")]
pub mod corpus;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use grammar::{Compiled, Effect, Match, compiled};
pub use normalise::{fold, fold_tokens, normalise};

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
/// The grammar (`languages.rs`) is tried first; these keep the v1 behaviour for what it misses.
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

/// Question marks (Latin, full-width, Spanish opening, Arabic).
const QUESTION_MARKS: [char; 4] = ['?', '\u{ff1f}', '\u{bf}', '\u{61f}'];

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
    /// Tier 1: the candidate withdraws consent (R8); withdrawn at once, and the objection is
    /// applied too (no further proactive messages).
    Withdrawal {
        /// Why.
        reason: ObjectionReason,
    },
    /// Tier 2: possibly an objection; block proactive sending and ask a human.
    PossibleObjection {
        /// The pattern id, keyword or stem that matched (a fixed list entry, never the
        /// candidate's words), e.g. `de.not_interested` or `keyword_in_sentence:stop`.
        matched: String,
    },
    /// The bare opt-in keyword while opted out: a new consent.
    OptIn,
    /// A request for help (how to object, privacy contact).
    Help,
}

impl Classification {
    /// Tier 1: applied automatically (objection or withdrawal).
    pub const fn is_automatic(&self) -> bool {
        matches!(self, Self::Objection { .. } | Self::Withdrawal { .. })
    }

    /// Blocks proactive sending (tier 1 or tier 2).
    pub const fn blocks(&self) -> bool {
        matches!(self, Self::Objection { .. } | Self::Withdrawal { .. } | Self::PossibleObjection { .. })
    }
}

/// Why a message was classified as an objection. Safe to audit: these are fixed list entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "matched", rename_all = "snake_case")]
pub enum ObjectionReason {
    /// The message is a keyword (plus politeness words).
    Keyword(String),
    /// The message contains a clear phrase (v1 phrase list).
    Phrase(String),
    /// A grammar pattern fired: its stable id (`de.negated_contact`).
    Pattern(String),
    /// The opt-out button was tapped.
    OptOutButton,
}

impl ObjectionReason {
    /// Stable short name for audit details.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Keyword(_) => "keyword",
            Self::Phrase(_) => "phrase",
            Self::Pattern(_) => "pattern",
            Self::OptOutButton => "opt_out_button",
        }
    }

    /// What the audit entry records as the classifier's reason: the pattern id for a grammar
    /// pattern (a fixed id, never content), else [`Self::code`].
    pub fn audit_code(&self) -> &'static str {
        match self {
            Self::Pattern(id) => pattern_id(id).unwrap_or("pattern"),
            Self::Keyword(_) | Self::Phrase(_) | Self::OptOutButton => self.code(),
        }
    }
}

/// The tables, each compiled once, on first use (one `OnceLock` per table).
macro_rules! compiled_tables {
    ($($table:expr),+ $(,)?) => {
        [$({
            static TABLE: OnceLock<Vec<Compiled>> = OnceLock::new();
            compiled(&TABLE, $table)
        }),+]
    };
}

/// All pattern tables, tier 1 first.
fn tier1_tables() -> [&'static [Compiled]; 8] {
    compiled_tables![
        languages::DE,
        languages::EN,
        languages::TR,
        languages::PL,
        languages::RO,
        languages::RU,
        languages::UK,
        languages::AR,
    ]
}

fn review_tables() -> [&'static [Compiled]; 3] {
    compiled_tables![languages::DE_REVIEW, languages::EN_REVIEW, languages::OTHER_REVIEW]
}

fn harmless_tables() -> [&'static [Compiled]; 3] {
    compiled_tables![languages::DE_HARMLESS, languages::EN_HARMLESS, languages::RESCHEDULE]
}

/// The static id of a known pattern (for audit details, which hold only fixed strings).
pub fn pattern_id(id: &str) -> Option<&'static str> {
    tier1_tables()
        .into_iter()
        .chain(review_tables())
        .flatten()
        .map(|c| c.pattern.id)
        .chain(KEYWORD_SENTENCE_IDS)
        .find(|known| *known == id)
}

/// The ids of the keyword-in-a-sentence rules (see `keyword_sentence`).
const KEYWORD_SENTENCE_IDS: [&str; 2] = ["any.keyword_first", "any.keyword_repeated"];

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
    let question = text.contains(QUESTION_MARKS);
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

/// Negations in all languages, checked right around a positive pattern (see
/// `grammar::Pattern::positive`).
const NEAR_NEGATIONS: &[&str] = &[
    "nicht", "nie", "niemals", "not", "never", "don", "dont", "doesn", "doesnt", "didn", "didnt", "won", "wont", "nu",
    "не", "ни", "لا", "لن", "لم",
];

/// Words inside a negated-contact match that limit it ("bitte nicht mehr so spät schreiben",
/// "don't text me after 8pm"): the candidate wants less contact, maybe not none (review).
const QUALIFIERS: &[&str] = &[
    "so", "nach", "vor", "bis", "nachts", "abends", "morgens", "frueh", "spaet", "late", "early", "after", "before",
    "during", "until", "till",
];

/// Words that turn a stop pattern around: "keine Nachrichten mehr verpassen", "I don't want to
/// miss any messages".
const REVERSALS: &[&str] = &[
    "verpass*",
    "vergess*",
    "verlier*",
    "entgeh*",
    "ueberseh*",
    "miss",
    "missing",
    "missed",
    "forget*",
    "lose",
    "losing",
];

/// Folds a list entry, keeping its `*` (prefix) mark.
fn fold_stem(word: &str) -> String {
    match word.strip_suffix('*') {
        Some(stem) => format!("{}*", fold(stem)),
        None => fold(word),
    }
}

fn matches_stem_list(list: &[String], token: &str) -> bool {
    list.iter().any(|w| match w.strip_suffix('*') {
        Some(stem) => token.starts_with(stem),
        None => token == *w,
    })
}

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

/// Folded forms of a word list, computed once.
fn folded(cell: &'static OnceLock<Vec<String>>, words: &[&str]) -> &'static [String] {
    cell.get_or_init(|| words.iter().map(|w| fold(w)).collect())
}

fn is_filler(token: &str) -> bool {
    static F: OnceLock<Vec<String>> = OnceLock::new();
    static O: OnceLock<Vec<String>> = OnceLock::new();
    folded(&F, FILLERS).iter().any(|f| f == token) || folded(&O, languages::OTHER_FILLERS).iter().any(|f| f == token)
}

/// The keyword a token is, if it is one (folded comparison: "STOOOPP", "st0p").
fn keyword(token: &str) -> Option<&'static str> {
    static K: OnceLock<Vec<String>> = OnceLock::new();
    static O: OnceLock<Vec<String>> = OnceLock::new();
    let own = folded(&K, KEYWORDS).iter().position(|k| k == token).and_then(|i| KEYWORDS.get(i).copied());
    own.or_else(|| {
        folded(&O, languages::OTHER_KEYWORDS)
            .iter()
            .position(|k| k == token)
            .and_then(|i| languages::OTHER_KEYWORDS.get(i).copied())
    })
}

/// How a pattern match stands once its surroundings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Clean,
    Downgraded,
}

/// Reads the words around a tier-1 match: asked about, turned around, negated, or said by the
/// candidate about themselves -> a review instead.
fn standing(c: &Compiled, m: &Match, tokens: &[String], question: bool) -> Standing {
    let p = c.pattern;
    static R: OnceLock<Vec<String>> = OnceLock::new();
    let reversals = R.get_or_init(|| REVERSALS.iter().map(|w| fold_stem(w)).collect());
    if question || tokens.iter().any(|t| matches_stem_list(reversals, t)) {
        return Standing::Downgraded;
    }
    let negation_at =
        |i: usize| tokens.get(i).is_some_and(|t| NEAR_NEGATIONS.contains(&t.as_str())) && !m.tokens.contains(&i);
    if p.positive {
        if (m.start.saturating_sub(2)..=m.end + 1).any(negation_at) {
            return Standing::Downgraded;
        }
    } else if (m.end..=m.end + 1).any(negation_at)
        || (m.start..m.end + 2)
            .any(|i| !m.tokens.contains(&i) && tokens.get(i).is_some_and(|t| QUALIFIERS.contains(&t.as_str())))
    {
        // "nicht mehr so spät schreiben", "don't text me after 8": less contact, not none
        return Standing::Downgraded;
    }
    if (m.start.saturating_sub(2)..m.start)
        .any(|i| tokens.get(i).is_some_and(|t| p.subject_blockers.contains(&t.as_str())))
    {
        return Standing::Downgraded;
    }
    Standing::Clean
}

fn classify_normalised(text: &str, opted_out: bool, question: bool) -> Classification {
    let tokens = fold_tokens(text);
    if tokens.is_empty() {
        return Classification::None;
    }

    // 1. the whole message is a keyword (plus politeness words)
    let mut bare: Option<&'static str> = None;
    let mut only_keywords = true;
    for t in &tokens {
        if let Some(k) = keyword(t) {
            bare.get_or_insert(k);
        } else if !is_filler(t) {
            only_keywords = false;
            break;
        }
    }
    if let (true, Some(k)) = (only_keywords, bare) {
        return Classification::Objection { reason: ObjectionReason::Keyword(k.to_owned()) };
    }

    // 2. harmless senses: the words they cover are not keywords
    let filler = |t: &str| is_filler(t);
    let mut explained = vec![false; tokens.len()];
    for c in harmless_tables().into_iter().flatten() {
        if let Some(m) = c.find(&tokens, filler) {
            for i in m.tokens {
                if let Some(e) = explained.get_mut(i) {
                    *e = true;
                }
            }
        }
    }
    let is_explained = |m: &Match| m.tokens.iter().any(|i| explained.get(*i).copied().unwrap_or(false));

    // 3. tier-1 grammar: a clean withdrawal beats a clean objection beats a downgraded match
    let mut objection: Option<&'static str> = None;
    let mut downgraded: Option<&'static str> = None;
    for c in tier1_tables().into_iter().flatten() {
        let Some(m) = c.find(&tokens, filler) else { continue };
        if is_explained(&m) {
            continue;
        }
        match (standing(c, &m, &tokens, question), c.pattern.effect) {
            (Standing::Clean, Effect::Withdrawal) => {
                return Classification::Withdrawal { reason: ObjectionReason::Pattern(c.pattern.id.to_owned()) };
            }
            (Standing::Clean, Effect::Objection) => {
                objection.get_or_insert(c.pattern.id);
            }
            (Standing::Downgraded, _) | (Standing::Clean, Effect::Review | Effect::Harmless) => {
                downgraded.get_or_insert(c.pattern.id);
            }
        }
    }
    if let Some(id) = objection {
        return Classification::Objection { reason: ObjectionReason::Pattern(id.to_owned()) };
    }

    // 3b. when no grammar pattern spoke: a stop keyword that opens the message ("STOPP, ich
    // habe mich nie beworben") or is repeated ("I asked you to stop. Stop.")
    if downgraded.is_none()
        && let Some(id) = keyword_sentence(&tokens, &explained, question)
    {
        return Classification::Objection { reason: ObjectionReason::Pattern(id.to_owned()) };
    }

    // 4. the v1 phrase list, on the plain normalised words
    let plain: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
    let mut possible: Option<String> = downgraded.map(str::to_owned);
    for phrase in PHRASES {
        match phrase_fit(&plain, phrase, question) {
            Some(true) if downgraded.is_none() => {
                return Classification::Objection { reason: ObjectionReason::Phrase((*phrase).to_owned()) };
            }
            Some(_) => {
                possible.get_or_insert_with(|| (*phrase).to_owned());
            }
            None => {}
        }
    }
    if let Some(matched) = possible {
        return Classification::PossibleObjection { matched };
    }

    // 5. ambiguous patterns
    for c in review_tables().into_iter().flatten() {
        if let Some(m) = c.find(&tokens, filler)
            && !is_explained(&m)
        {
            return Classification::PossibleObjection { matched: c.pattern.id.to_owned() };
        }
    }

    if opted_out && tokens.len() == 1 && tokens.iter().all(|t| OPT_IN.contains(&t.as_str())) {
        return Classification::OptIn;
    }
    if tokens.iter().all(|t| HELP.contains(&t.as_str()) || is_filler(t))
        && tokens.iter().any(|t| HELP.contains(&t.as_str()))
    {
        return Classification::Help;
    }

    // 6. a keyword or its stem in a longer message, unless a harmless sense explains it
    keyword_in_sentence(&tokens, &explained).map_or(Classification::None, |stem| Classification::PossibleObjection {
        matched: format!("keyword_in_sentence:{stem}"),
    })
}

/// Keywords that, opening a message, are a request on their own (not "cancel", "end", "quit",
/// "löschen": those take an object: "cancel the appointment").
const OPENING_KEYWORDS: &[&str] = &[
    "stop",
    "stopp",
    "stopall",
    "unsubscribe",
    "optout",
    "abmelden",
    "austragen",
    "abbestellen",
    "стоп",
    "ستوب",
    "توقف",
];

/// Words after an opening keyword that make it part of a sentence ("stop by", "Stopp in Fulda",
/// "stop the interview", "stop not", "stop?"): then it is not a request on its own.
const OPENING_CONTINUATIONS: &[&str] = &[
    "by", "at", "in", "over", "the", "a", "my", "your", "this", "that", "it", "and", "or", "if", "when", "den", "die",
    "das", "dem", "der", "meine", "meinen", "mein", "ihre", "bei", "am", "im", "und", "oder", "wenn", "nicht", "not",
    "nie", "never", "don", "dont", "kein", "keine", "ist", "is", "was", "war", "hier", "here", "there", "da", "dort",
    "and",
];

fn keyword_sentence(tokens: &[String], explained: &[bool], question: bool) -> Option<&'static str> {
    if question {
        return None;
    }
    static K: OnceLock<Vec<String>> = OnceLock::new();
    let opening = folded(&K, OPENING_KEYWORDS);
    let is_opening = |t: &String| opening.iter().any(|k| k == t);
    let first = tokens.first()?;
    if is_opening(first) && !explained.first().copied().unwrap_or(false) {
        let rest: Vec<&str> = tokens.iter().skip(1).map(String::as_str).collect();
        let not_interested = matches!(
            rest.as_slice(),
            ["not", "interested", ..] | ["nicht", "interessiert", ..] | ["kein", "interesse", ..]
        );
        let continues = rest.first().is_some_and(|t| OPENING_CONTINUATIONS.contains(t) || is_opening(&(*t).to_owned()));
        if not_interested || !continues {
            return Some(KEYWORD_SENTENCE_IDS[0]);
        }
    }
    let unexplained = tokens.iter().enumerate().filter(|(i, _)| !explained.get(*i).copied().unwrap_or(false));
    if unexplained.filter(|(_, t)| is_opening(t)).count() >= 2 {
        return Some(KEYWORD_SENTENCE_IDS[1]);
    }
    None
}

fn keyword_in_sentence(tokens: &[String], explained: &[bool]) -> Option<&'static str> {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    static W: OnceLock<Vec<String>> = OnceLock::new();
    static O: OnceLock<Vec<String>> = OnceLock::new();
    let stems = folded(&S, STEMS);
    let whole = folded(&W, TIER2_WHOLE_WORDS);
    let other = folded(&O, languages::OTHER_STEMS);
    for (i, t) in tokens.iter().enumerate() {
        if explained.get(i).copied().unwrap_or(false) {
            continue;
        }
        if let Some(i) = stems.iter().position(|s| t.starts_with(s.as_str())) {
            return STEMS.get(i).copied();
        }
        if let Some(i) = whole.iter().position(|w| w == t) {
            return TIER2_WHOLE_WORDS.get(i).copied();
        }
        if let Some(i) = other.iter().position(|s| t.starts_with(s.as_str())) {
            return languages::OTHER_STEMS.get(i).copied();
        }
    }
    None
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

    fn keyword() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(KEYWORDS)
    }

    proptest! {
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
            let question = if s.contains(['?', '\u{ff1f}', '\u{bf}', '\u{61f}']) { "?" } else { "" };
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

#[cfg(test)]
mod v2_tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Classification {
        classify(ClassifierInput::Text(s), false)
    }

    #[test]
    fn the_stop_requests_of_issue_15_are_applied_automatically_and_name_their_pattern() {
        for (case, id) in [
            ("Kontaktieren Sie mich bitte nicht mehr", "de.negated_contact"),
            ("Ich will nicht mehr angeschrieben werden", "de.negated_contact"),
            ("Hören Sie auf, mir zu schreiben", "de.stop_imperative"),
            ("Lassen Sie mich in Ruhe", "de.leave_alone"),
            ("Tragen Sie mich bitte aus", "de.unsubscribe"),
            ("Ich möchte abgemeldet werden", "de.unsubscribe"),
            ("don't text me anymore", "en.negated_contact"),
            ("I don't want any more messages", "en.no_more_contact"),
            ("opt me out", "en.unsubscribe"),
            ("leave me alone", "en.leave_alone"),
            ("Bana bir daha mesaj atmayın", "tr.negated_contact"),
            ("Proszę do mnie więcej nie pisać", "pl.negated_contact"),
            ("Vă rog nu-mi mai scrieți", "ro.negated_contact"),
            ("Пожалуйста, не пишите мне больше", "ru.negated_contact"),
            ("Будь ласка, не пишіть мені більше", "uk.negated_contact"),
            ("توقفوا عن مراسلتي", "ar.stop_imperative"),
        ] {
            let c = text(case);
            assert_eq!(c, Classification::Objection { reason: ObjectionReason::Pattern(id.to_owned()) }, "{case}");
            assert_eq!(pattern_id(id), Some(id));
        }
    }

    #[test]
    fn obfuscated_keywords_are_keywords() {
        for case in
            ["stoooopp", "ST0P", "S T O P P", "S.T.O.P", "st0pp!!", "5TOPP", "ａｂｍｅｌｄｅｎ", "СТОП!!!", "ستوب"]
        {
            assert!(
                matches!(text(case), Classification::Objection { reason: ObjectionReason::Keyword(_) }),
                "{case}: {:?}",
                text(case)
            );
        }
    }

    #[test]
    fn consent_withdrawal_is_its_own_result() {
        for case in [
            "Ich widerrufe meine Einwilligung",
            "Ich ziehe meine Zustimmung zurück",
            "I withdraw my consent",
            "Rızamı geri çekiyorum",
            "Wycofuję zgodę",
            "Îmi retrag consimțământul",
            "Отзываю своё согласие на обработку данных",
            "Відкликаю свою згоду",
            "أسحب موافقتي",
        ] {
            let c = text(case);
            assert!(matches!(c, Classification::Withdrawal { reason: ObjectionReason::Pattern(_) }), "{case}: {c:?}");
            assert!(c.is_automatic() && c.blocks());
        }
        // asked about or negated: a human decides
        for case in ["Kann ich die Einwilligung später widerrufen?", "Ich widerrufe meine Einwilligung nicht"] {
            assert!(matches!(text(case), Classification::PossibleObjection { .. }), "{case}: {:?}", text(case));
        }
    }

    #[test]
    fn harmless_senses_do_not_block() {
        for case in [
            "Wird die Zeit mit der Stoppuhr gemessen?",
            "Meine Kündigungsfrist beträgt 4 Wochen",
            "Ich kündige morgen bei meinem Arbeitgeber",
            "Wie groß ist die Entfernung vom Bahnhof?",
            "Can I cancel the appointment on Thursday? Can we do Tuesday instead?",
            "Ich habe einen kurzen Stopp in Fulda, bin gegen 11 da",
            "Is there a bus stop near the warehouse?",
            "I'll stop by the office tomorrow",
            "Do I need to stop my current job before I start?",
            "Ich kann nicht mehr am Montag, aber Dienstag geht",
            "Ich habe heute keine Zeit mehr, ich schreibe Ihnen morgen",
            "Meine alte Nummer ist abgemeldet, bitte nur noch diese benutzen",
            "Otobüs durağından ne kadar uzak?",
            "Остановка автобуса рядом?",
        ] {
            assert_eq!(text(case), Classification::None, "{case}");
        }
        // a harmless sense never hides a request elsewhere in the message
        assert!(text("Meine Kündigungsfrist ist egal, schreiben Sie mir nicht mehr").is_automatic());
        assert!(text("Stoppuhr? Lassen Sie mich in Ruhe").blocks());
    }

    #[test]
    fn qualified_or_self_directed_stop_patterns_go_to_review() {
        for case in [
            "Bitte nicht mehr so spät schreiben",
            "Please don't text me after 8pm",
            "Ich will aufhören",
            "Ich möchte keine Nachrichten mehr verpassen",
            "I don't want to miss any messages",
        ] {
            assert!(matches!(text(case), Classification::PossibleObjection { .. }), "{case}: {:?}", text(case));
        }
    }

    #[test]
    fn a_review_names_a_fixed_reason() {
        assert_eq!(
            text("Ich will meine Bewerbung nicht stoppen"),
            Classification::PossibleObjection { matched: "de.application_withdrawal".into() }
        );
        assert_eq!(
            text("Was passiert, wenn ich STOPP schreibe?"),
            Classification::PossibleObjection { matched: "keyword_in_sentence:stop".into() }
        );
        assert_eq!(ObjectionReason::Pattern("de.negated_contact".into()).audit_code(), "de.negated_contact");
        assert_eq!(ObjectionReason::Pattern("not a pattern".into()).audit_code(), "pattern");
        assert_eq!(ObjectionReason::Keyword("stop".into()).audit_code(), "keyword");
    }

    fn all_ids() -> Vec<&'static str> {
        tier1_tables().into_iter().chain(review_tables()).flatten().map(|c| c.pattern.id).collect()
    }

    /// The reason of a review is a fixed string: a pattern id, a v1 phrase, or a keyword stem.
    fn is_fixed_reason(matched: &str) -> bool {
        all_ids().contains(&matched)
            || PHRASES.contains(&matched)
            || matched.strip_prefix("keyword_in_sentence:").is_some_and(|stem| {
                STEMS.contains(&stem) || TIER2_WHOLE_WORDS.contains(&stem) || languages::OTHER_STEMS.contains(&stem)
            })
    }

    /// A stretched, spaced or leet spelling of a keyword.
    fn disguise(kw: &str, how: u8, seed: &[u8]) -> String {
        let chars: Vec<char> = kw.chars().collect();
        let pick = |i: usize| seed.get(i % seed.len().max(1)).copied().unwrap_or(0);
        match how % 3 {
            0 => chars.iter().enumerate().map(|(i, c)| c.to_string().repeat(1 + usize::from(pick(i) % 4))).collect(),
            1 => chars.iter().map(char::to_string).collect::<Vec<_>>().join(if pick(0) % 2 == 0 { " " } else { "." }),
            _ => chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let leet = match c {
                        'o' => '0',
                        'i' => '1',
                        'e' => '3',
                        'a' => '4',
                        's' => '5',
                        't' => '7',
                        other => *other,
                    };
                    // the first letter stays a letter, so the word is still a word
                    if i > 0 && pick(i) % 2 == 0 { leet } else { *c }
                })
                .collect(),
        }
    }

    /// Words of ordinary recruiting chat, none a keyword or part of a stop pattern.
    const ORDINARY: &[&str] = &[
        "termin",
        "morgen",
        "uhr",
        "wann",
        "wo",
        "lager",
        "bewerbung",
        "lebenslauf",
        "danke",
        "gerne",
        "interview",
        "tomorrow",
        "where",
        "when",
        "shift",
        "salary",
        "lohn",
        "adresse",
        "address",
        "bus",
        "bahnhof",
        "ja",
        "yes",
        "gut",
        "passt",
        "kommen",
        "come",
        "arbeiten",
        "work",
        "woche",
        "week",
        "montag",
        "friday",
        "bitte",
        "please",
        "ich",
        "i",
        "sie",
        "you",
        "mir",
        "me",
        "the",
        "die",
        "der",
        "und",
        "and",
    ];
    /// Contact words without any negation or stop word.
    const CONTACT: &[&str] = &[
        "schreiben",
        "kontaktieren",
        "melden",
        "nachrichten",
        "whatsapp",
        "message",
        "text",
        "contact",
        "call",
        "anrufen",
    ];
    /// Negations without any contact word.
    const NEGATION: &[&str] =
        &["nicht", "mehr", "keine", "nie", "wieder", "don't", "never", "no", "more", "anymore", "again"];

    proptest! {
        #[test]
        fn stretched_spaced_and_leet_keywords_classify_like_the_keyword(
            kw in proptest::sample::select(KEYWORDS),
            how in any::<u8>(),
            seed in proptest::collection::vec(any::<u8>(), 1..12),
            upper in any::<bool>(),
        ) {
            let disguised = disguise(kw, how, &seed);
            let disguised = if upper { disguised.to_uppercase() } else { disguised };
            prop_assert_eq!(text(&disguised), text(kw), "{}", disguised);
        }

        #[test]
        fn ordinary_words_with_contact_words_but_no_negation_are_never_tier1(
            words in proptest::collection::vec(proptest::sample::select([ORDINARY, CONTACT].concat()), 1..10),
        ) {
            let s = words.join(" ");
            prop_assert!(!text(&s).is_automatic(), "{} -> {:?}", s, text(&s));
        }

        #[test]
        fn ordinary_words_with_negations_but_no_contact_word_are_never_tier1(
            words in proptest::collection::vec(proptest::sample::select([ORDINARY, NEGATION].concat()), 1..10),
        ) {
            let s = words.join(" ");
            prop_assert!(!text(&s).is_automatic(), "{} -> {:?}", s, text(&s));
        }

        #[test]
        fn every_result_names_a_fixed_reason_never_the_message(s in "\\PC{0,80}") {
            match text(&s) {
                Classification::PossibleObjection { matched } => prop_assert!(is_fixed_reason(&matched), "{}", matched),
                Classification::Objection { reason: ObjectionReason::Pattern(id) }
                | Classification::Withdrawal { reason: ObjectionReason::Pattern(id) } => {
                    prop_assert!(pattern_id(&id).is_some(), "{}", id);
                }
                Classification::Objection { reason: ObjectionReason::Keyword(k) } => {
                    prop_assert!(KEYWORDS.contains(&k.as_str()) || languages::OTHER_KEYWORDS.contains(&k.as_str()));
                }
                Classification::Objection { reason: ObjectionReason::Phrase(p) } => prop_assert!(PHRASES.contains(&p.as_str())),
                Classification::Objection { reason: ObjectionReason::OptOutButton }
                | Classification::Withdrawal { reason: ObjectionReason::Keyword(_) | ObjectionReason::Phrase(_) | ObjectionReason::OptOutButton } => {
                    prop_assert!(false, "a text is never the button, a withdrawal always a pattern");
                }
                Classification::None | Classification::OptIn | Classification::Help => {}
            }
        }

        #[test]
        fn normalisation_and_folding_are_idempotent(s in "\\PC{0,60}") {
            let n = normalise(&s);
            prop_assert_eq!(normalise(&n), n.clone());
            let f = fold(&s);
            prop_assert_eq!(fold(&f), f.clone());
        }
    }
}
