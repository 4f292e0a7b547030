//! The labelled objection corpus (`crates/domain/tests/data/objection_corpus.tsv`) and its
//! evaluation, behind the `testing` feature: the report command
//! (`cargo run -p hoheit-domain --example objection_report --features testing`) and the floor
//! tests (`crates/domain/tests/objection_corpus.rs`) share it. Nothing here is for production.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Classification, ClassifierInput, classify};

/// The corpus file, embedded so the report and the tests read exactly the same rows.
pub const CORPUS_TSV: &str = include_str!("../../tests/data/objection_corpus.tsv");

/// The held-out set: written after classifier v2 was built and committed before it was first
/// run on them. Reported separately; not used to tune the patterns.
pub const HOLDOUT_TSV: &str = include_str!("../../tests/data/objection_corpus_holdout.tsv");

/// What a human labelled a message as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    /// A clear objection: should be applied automatically (tier 1).
    Objection,
    /// A clear consent withdrawal: should be applied automatically as a withdrawal.
    Withdrawal,
    /// A human should decide: blocking (tier 1 or 2) is right, letting it through is not.
    Review,
    /// Ordinary recruiting chat: must not block.
    None,
}

impl Expected {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "objection" => Some(Self::Objection),
            "withdrawal" => Some(Self::Withdrawal),
            "review" => Some(Self::Review),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The label as written in the corpus.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Objection => "objection",
            Self::Withdrawal => "withdrawal",
            Self::Review => "review",
            Self::None => "none",
        }
    }

    /// Whether the message is a clear objection or withdrawal.
    pub const fn is_clear(self) -> bool {
        matches!(self, Self::Objection | Self::Withdrawal)
    }
}

/// One labelled message.
#[derive(Debug, Clone)]
pub struct Sample {
    /// ISO 639-1 code (de, en, tr, pl, ro, ru, uk, ar).
    pub language: String,
    /// What kind of message (stop, withdrawal, ambiguous, scheduling, ...).
    pub category: String,
    /// The label.
    pub expected: Expected,
    /// The message as a candidate would write it.
    pub text: String,
}

/// Parses the embedded corpus. Lines starting with `#` and the header are skipped.
pub fn samples() -> Result<Vec<Sample>, String> {
    parse(CORPUS_TSV)
}

/// Parses the embedded held-out set.
pub fn holdout() -> Result<Vec<Sample>, String> {
    parse(HOLDOUT_TSV)
}

/// Parses corpus text in the TSV format of [`CORPUS_TSV`].
pub fn parse(tsv: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("language\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [language, category, expected, text] = cols.as_slice() else {
            return Err(format!("line {}: expected 4 tab-separated columns", n + 1));
        };
        let expected = Expected::parse(expected).ok_or_else(|| format!("line {}: unknown label {expected}", n + 1))?;
        out.push(Sample {
            language: (*language).to_owned(),
            category: (*category).to_owned(),
            expected,
            text: (*text).to_owned(),
        });
    }
    Ok(out)
}

/// What the classifier made of a message, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Tier 1 objection.
    Objection,
    /// Tier 1 consent withdrawal.
    Withdrawal,
    /// Tier 2: blocked, sent to review.
    Review,
    /// Not blocked (nothing, help, opt-in).
    Pass,
}

impl Outcome {
    /// Coarse outcome of a classification.
    pub fn of(c: &Classification) -> Self {
        match c {
            Classification::Objection { .. } => Self::Objection,
            Classification::Withdrawal { .. } => Self::Withdrawal,
            Classification::PossibleObjection { .. } => Self::Review,
            Classification::None | Classification::OptIn | Classification::Help => Self::Pass,
        }
    }

    /// Applied automatically (tier 1).
    pub const fn automatic(self) -> bool {
        matches!(self, Self::Objection | Self::Withdrawal)
    }

    /// Blocks proactive sending (tier 1 or 2).
    pub const fn blocks(self) -> bool {
        !matches!(self, Self::Pass)
    }
}

/// Counts for one group of samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Clear objections and withdrawals.
    pub clear: usize,
    /// ... of which applied automatically.
    pub clear_automatic: usize,
    /// ... of which blocked (automatically or by review).
    pub clear_blocked: usize,
    /// Withdrawals.
    pub withdrawals: usize,
    /// ... recognised as withdrawals.
    pub withdrawals_recognised: usize,
    /// Ambiguous messages.
    pub ambiguous: usize,
    /// ... of which blocked.
    pub ambiguous_blocked: usize,
    /// Ordinary messages.
    pub ordinary: usize,
    /// ... of which blocked (false blocks).
    pub ordinary_blocked: usize,
}

impl Tally {
    fn add(&mut self, expected: Expected, got: Outcome) {
        match expected {
            Expected::Objection | Expected::Withdrawal => {
                self.clear += 1;
                self.clear_automatic += usize::from(got.automatic());
                self.clear_blocked += usize::from(got.blocks());
                if expected == Expected::Withdrawal {
                    self.withdrawals += 1;
                    self.withdrawals_recognised += usize::from(got == Outcome::Withdrawal);
                }
            }
            Expected::Review => {
                self.ambiguous += 1;
                self.ambiguous_blocked += usize::from(got.blocks());
            }
            Expected::None => {
                self.ordinary += 1;
                self.ordinary_blocked += usize::from(got.blocks());
            }
        }
    }

    /// Share of clear objections/withdrawals applied automatically (1.0 when there are none).
    pub fn automatic_recall(&self) -> f64 {
        ratio(self.clear_automatic, self.clear)
    }

    /// Share of clear objections/withdrawals blocked (1.0 when there are none).
    pub fn blocked_recall(&self) -> f64 {
        ratio(self.clear_blocked, self.clear)
    }

    /// Share of ordinary messages blocked (0.0 when there are none).
    pub fn false_block_rate(&self) -> f64 {
        if self.ordinary == 0 { 0.0 } else { ratio(self.ordinary_blocked, self.ordinary) }
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// A sample the classifier got wrong (or only half right: a withdrawal applied as a plain
/// objection, an ambiguous message applied without review).
#[derive(Debug, Clone)]
pub struct Miss {
    /// The sample.
    pub sample: Sample,
    /// What the classifier said.
    pub got: Classification,
}

/// The evaluation of the whole corpus.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Per (language, category).
    pub by_group: BTreeMap<(String, String), Tally>,
    /// Per language.
    pub by_language: BTreeMap<String, Tally>,
    /// Everything.
    pub total: Tally,
    /// Misclassified samples.
    pub misses: Vec<Miss>,
}

/// Classifies every sample (as a text message from a candidate who is not opted out).
pub fn evaluate(samples: &[Sample]) -> Evaluation {
    let mut ev = Evaluation::default();
    for s in samples {
        let got = classify(ClassifierInput::Text(&s.text), false);
        let outcome = Outcome::of(&got);
        ev.by_group.entry((s.language.clone(), s.category.clone())).or_default().add(s.expected, outcome);
        ev.by_language.entry(s.language.clone()).or_default().add(s.expected, outcome);
        ev.total.add(s.expected, outcome);
        let wrong = match s.expected {
            Expected::Objection => !outcome.automatic(),
            Expected::Withdrawal => outcome != Outcome::Withdrawal,
            Expected::Review => outcome != Outcome::Review,
            Expected::None => outcome.blocks(),
        };
        if wrong {
            ev.misses.push(Miss { sample: s.clone(), got });
        }
    }
    ev
}

fn pct(x: f64) -> String {
    format!("{:5.1}%", x * 100.0)
}

fn row(out: &mut String, label: &str, t: &Tally) {
    let clear = if t.clear == 0 {
        format!("{:>5} {:>7} {:>7}", "-", "-", "-")
    } else {
        format!("{:>5} {} {}", t.clear, pct(t.automatic_recall()), pct(t.blocked_recall()))
    };
    let withdrawal = if t.withdrawals == 0 {
        format!("{:>7}", "-")
    } else {
        format!("{:>3}/{:<3}", t.withdrawals_recognised, t.withdrawals)
    };
    let ambiguous =
        if t.ambiguous == 0 { format!("{:>7}", "-") } else { format!("{:>3}/{:<3}", t.ambiguous_blocked, t.ambiguous) };
    let ordinary = if t.ordinary == 0 {
        format!("{:>5} {:>7}", "-", "-")
    } else {
        format!("{:>5} {}", t.ordinary, pct(t.false_block_rate()))
    };
    let _ = writeln!(out, "{label:<22} {clear}  {withdrawal}  {ambiguous}  {ordinary}");
}

/// The report as printed by the `objection_report` example, under a title.
pub fn report(title: &str, ev: &Evaluation) -> String {
    let mut out = String::new();
    let header = format!(
        "{:<22} {:>5} {:>7} {:>7}  {:>7}  {:>7}  {:>5} {:>7}",
        "group", "clear", "auto", "blocked", "wdr-ok", "amb-blk", "ord", "f-block"
    );
    let _ = writeln!(out, "{title} ({} messages)", ev.total.clear + ev.total.ambiguous + ev.total.ordinary);
    let _ = writeln!(
        out,
        "clear = clear objections + withdrawals; auto = applied automatically (tier 1); blocked = tier 1 or 2;\n\
         wdr-ok = withdrawals recognised as withdrawals; amb-blk = ambiguous blocked; ord = ordinary messages;\n\
         f-block = ordinary messages blocked (false-block rate)\n"
    );
    let _ = writeln!(out, "By language and category");
    let _ = writeln!(out, "{header}");
    for ((lang, cat), t) in &ev.by_group {
        row(&mut out, &format!("{lang} {cat}"), t);
    }
    let _ = writeln!(out, "\nBy language");
    let _ = writeln!(out, "{header}");
    for (lang, t) in &ev.by_language {
        row(&mut out, lang, t);
    }
    row(&mut out, "all", &ev.total);
    let _ = writeln!(out, "\nMisclassified ({})", ev.misses.len());
    for m in &ev.misses {
        let _ = writeln!(
            out,
            "{} {:<11} expected {:<10} got {:<60} {}",
            m.sample.language,
            m.sample.category,
            m.sample.expected.as_str(),
            describe(&m.got),
            m.sample.text
        );
    }
    out
}

fn describe(c: &Classification) -> String {
    match c {
        Classification::Objection { reason } => format!("objection({reason:?})"),
        Classification::Withdrawal { reason } => format!("withdrawal({reason:?})"),
        Classification::PossibleObjection { matched } => format!("review({matched})"),
        Classification::None => "none".to_owned(),
        Classification::OptIn => "opt_in".to_owned(),
        Classification::Help => "help".to_owned(),
    }
}
