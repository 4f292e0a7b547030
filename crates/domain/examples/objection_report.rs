//! Prints how the objection classifier does on the labelled corpus
//! (`crates/domain/tests/data/objection_corpus.tsv`): per language and category the share of clear
//! objections and withdrawals applied automatically and blocked, the false-block rate on ordinary
//! messages, and every misclassified example.
//!
//! `cargo run -p hoheit-domain --example objection_report --features testing`

use hoheit_domain::classifier::corpus;

// An example program prints its result; the library itself never prints.
#[allow(clippy::print_stdout)]
fn main() -> Result<(), String> {
    let samples = corpus::samples()?;
    print!("{}", corpus::report(&corpus::evaluate(&samples)));
    Ok(())
}
