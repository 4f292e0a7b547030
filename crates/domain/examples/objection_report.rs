//! Prints how the objection classifier does on the labelled corpus
//! (`crates/domain/tests/data/objection_corpus.tsv`): per language and category the share of clear
//! objections and withdrawals applied automatically and blocked, the false-block rate on ordinary
//! messages, and every misclassified example; then the same for the held-out set
//! (`objection_corpus_holdout.tsv`).
//!
//! `cargo run -p hoheit-domain --example objection_report --features testing`

use hoheit_domain::classifier::corpus;

// An example program prints its result; the library itself never prints.
#[allow(clippy::print_stdout)]
fn main() -> Result<(), String> {
    let samples = corpus::samples()?;
    print!("{}", corpus::report("Objection classifier on the labelled corpus", &corpus::evaluate(&samples)));
    let holdout = corpus::holdout()?;
    println!();
    print!("{}", corpus::report("Objection classifier on the held-out set", &corpus::evaluate(&holdout)));
    Ok(())
}
