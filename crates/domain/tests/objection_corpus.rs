//! Floors the objection classifier must hold on the labelled corpus
//! (`crates/domain/tests/data/objection_corpus.tsv`, issue 15): on German and English every
//! clear objection and withdrawal is blocked and at least 95% are applied automatically, and at
//! most 3% of ordinary messages are blocked; in Turkish, Polish, Romanian, Russian, Ukrainian and
//! Arabic every explicit stop phrase is blocked. The report command prints the details:
//! `cargo run -p hoheit-domain --example objection_report --features testing`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoheit_domain::classifier::corpus::{self, Evaluation, Expected, Sample, Tally};
use hoheit_domain::classifier::{Classification, ClassifierInput, classify};

fn corpus() -> Vec<Sample> {
    corpus::samples().expect("the corpus parses")
}

fn tally(ev: &Evaluation, languages: &[&str]) -> Tally {
    let mut t = Tally::default();
    for (lang, l) in &ev.by_language {
        if languages.contains(&lang.as_str()) {
            t.clear += l.clear;
            t.clear_automatic += l.clear_automatic;
            t.clear_blocked += l.clear_blocked;
            t.ordinary += l.ordinary;
            t.ordinary_blocked += l.ordinary_blocked;
        }
    }
    t
}

/// German and English, where the floors are strictest.
const DE_EN: &[&str] = &["de", "en"];

/// The corpus evaluated, and the tally over `languages`.
fn evaluated(languages: &[&str]) -> (Evaluation, Tally) {
    let ev = corpus::evaluate(&corpus());
    let t = tally(&ev, languages);
    (ev, t)
}

fn misses(ev: &Evaluation, languages: &[&str], expected: &[Expected]) -> String {
    ev.misses
        .iter()
        .filter(|m| languages.contains(&m.sample.language.as_str()) && expected.contains(&m.sample.expected))
        .map(|m| format!("\n  {} {:?}: {}", m.sample.language, m.got, m.sample.text))
        .collect()
}

#[test]
fn the_corpus_is_large_labelled_and_covers_every_language_and_kind() {
    let samples = corpus();
    assert!(samples.len() >= 400, "{} messages", samples.len());
    for lang in ["de", "en", "tr", "pl", "ro", "ru", "uk", "ar"] {
        for expected in [Expected::Objection, Expected::Withdrawal, Expected::Review, Expected::None] {
            assert!(
                samples.iter().any(|s| s.language == lang && s.expected == expected),
                "{lang} has no {expected:?} example"
            );
        }
    }
    assert!(corpus::parse("de\tstop\tmaybe\tSTOPP").is_err(), "unknown labels are refused");
    assert!(corpus::parse("de\tstop\tobjection").is_err(), "missing columns are refused");
}

#[test]
fn german_and_english_clear_objections_are_all_blocked_and_almost_all_applied_automatically() {
    let (ev, t) = evaluated(DE_EN);
    assert!(t.clear >= 100, "{} clear objections", t.clear);
    assert_eq!(
        t.clear_blocked,
        t.clear,
        "every clear objection or withdrawal blocks; not blocked:{}",
        misses(&ev, DE_EN, &[Expected::Objection, Expected::Withdrawal])
    );
    assert!(
        t.automatic_recall() >= 0.95,
        "automatic recall {:.3} < 0.95; not automatic:{}",
        t.automatic_recall(),
        misses(&ev, DE_EN, &[Expected::Objection, Expected::Withdrawal])
    );
}

#[test]
fn german_and_english_ordinary_messages_are_rarely_blocked() {
    let (ev, t) = evaluated(DE_EN);
    assert!(t.ordinary >= 100, "{} ordinary messages", t.ordinary);
    assert!(
        t.false_block_rate() <= 0.03,
        "false-block rate {:.3} > 0.03; blocked:{}",
        t.false_block_rate(),
        misses(&ev, DE_EN, &[Expected::None])
    );
}

#[test]
fn explicit_stop_phrases_in_other_languages_are_all_blocked() {
    let ev = corpus::evaluate(&corpus());
    let others = ["tr", "pl", "ro", "ru", "uk", "ar"];
    for lang in others {
        let t = tally(&ev, &[lang]);
        assert!(t.clear >= 10, "{lang}: {} explicit stop phrases", t.clear);
        assert_eq!(
            t.clear_blocked,
            t.clear,
            "{lang}: not blocked:{}",
            misses(&ev, &[lang], &[Expected::Objection, Expected::Withdrawal])
        );
    }
}

#[test]
fn withdrawals_in_the_corpus_are_recognised_as_withdrawals_not_only_as_objections() {
    for s in
        corpus().iter().filter(|s| s.expected == Expected::Withdrawal && ["de", "en"].contains(&s.language.as_str()))
    {
        let got = classify(ClassifierInput::Text(&s.text), false);
        assert!(matches!(got, Classification::Withdrawal { .. }), "{}: {got:?}", s.text);
    }
}

#[test]
fn ambiguous_messages_are_blocked_for_review() {
    let ev = corpus::evaluate(&corpus());
    assert_eq!(
        ev.total.ambiguous_blocked,
        ev.total.ambiguous,
        "{}",
        misses(&ev, &["de", "en", "tr", "pl", "ro", "ru", "uk", "ar"], &[Expected::Review])
    );
}

#[test]
fn the_report_names_every_group_and_every_miss() {
    let samples = corpus();
    let ev = corpus::evaluate(&samples);
    let report = corpus::report("title", &ev);
    assert!(report.starts_with("title ("));
    for lang in ["de", "en", "tr", "pl", "ro", "ru", "uk", "ar"] {
        assert!(report.contains(&format!("\n{lang} stop")), "{lang} missing in the report");
    }
    for m in &ev.misses {
        assert!(report.contains(&m.sample.text), "miss not listed: {}", m.sample.text);
    }
    // a classifier that blocks nothing would be caught by these figures
    let nothing = Tally { clear: 10, ordinary: 10, ..Tally::default() };
    assert!(nothing.automatic_recall() < 0.95 && nothing.blocked_recall() < 1.0);
}
