//! Finding candidates by name without a plaintext index (issue 17): names are cut into
//! normalised tokens here, in the domain, and the store keeps only keyed hashes of them (the
//! persistence adapter hashes with the tenant key, like the phone number's blind index; the
//! domain never sees a key). A candidate is indexed under every token of its name and its
//! WhatsApp profile name and under each token's prefixes of at least [`MIN_PREFIX`] characters,
//! so "must" finds "Mustermann"; a search matches when every token typed is among them (AND).
//!
//! Normalisation, the same for the index and for the search:
//! - Unicode NFKC, then lower case (Unicode-aware);
//! - `ß` becomes `ss` ("Straße" = "Strasse"); diacritics are dropped (NFD without the combining
//!   marks: "José" = "Jose", "Müller" = "Muller");
//! - the German transliterations `ae`, `oe`, `ue` are folded to `a`, `o`, `u`, so "Mueller" =
//!   "Müller" = "Muller". A side effect, accepted: a few names with these letter pairs meet
//!   others ("Manuel" is also found by "Manul"); a search finds more, never less;
//! - apostrophes are dropped ("O'Brien" = "obrien"); any other character that is not a letter
//!   or a digit separates tokens ("Hans-Peter" = "hans peter").
//!
//! Bounded: at most [`MAX_TOKENS`] tokens of at most [`MAX_TOKEN_CHARS`] characters each are
//! indexed per name (longer tokens are cut), so a candidate has a bounded number of index rows.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization as _;

use crate::candidate::Candidate;

/// The shortest prefix that is indexed (and so the shortest search token that finds a longer
/// name by its beginning).
pub const MIN_PREFIX: usize = 3;
/// The most tokens indexed per name (name and profile name each).
pub const MAX_TOKENS: usize = 8;
/// The longest token indexed; a longer one is cut to this length.
pub const MAX_TOKEN_CHARS: usize = 32;

/// The normalised tokens of a text (a name or what was typed into the search), in order, without
/// repeats, at most [`MAX_TOKENS`], each at most [`MAX_TOKEN_CHARS`] characters.
pub fn tokens(text: &str) -> Vec<String> {
    let lowered: String = text.nfkc().collect::<String>().to_lowercase();
    let mut folded = String::with_capacity(lowered.len());
    for c in lowered.replace('ß', "ss").nfd() {
        if is_combining(c) || matches!(c, '\'' | '’' | '`' | '´' | 'ʼ') {
            continue;
        }
        folded.push(if c.is_alphanumeric() { c } else { ' ' });
    }
    let mut out: Vec<String> = Vec::new();
    for word in folded.split_whitespace() {
        let word = fold_transliterations(word);
        let word: String = word.chars().take(MAX_TOKEN_CHARS).collect();
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
            if out.len() == MAX_TOKENS {
                break;
            }
        }
    }
    out
}

/// Whether a character is a combining mark (the diacritics NFD splits off).
fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

/// `ae`, `oe`, `ue` to `a`, `o`, `u` (the German transliterations of ä, ö, ü).
fn fold_transliterations(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if matches!(c, 'a' | 'o' | 'u') && chars.peek() == Some(&'e') {
            chars.next();
        }
    }
    out
}

/// What a candidate is indexed under: every token of its name and profile name and each token's
/// prefixes of at least [`MIN_PREFIX`] characters. Empty for an erased candidate (no name).
pub fn index_terms(candidate: &Candidate) -> BTreeSet<String> {
    let contact = &candidate.contact;
    let mut terms = BTreeSet::new();
    for name in [&contact.name, &contact.profile_name].into_iter().flatten() {
        for token in tokens(name.expose()) {
            let chars: Vec<char> = token.chars().collect();
            for end in MIN_PREFIX..chars.len() {
                terms.insert(chars.iter().take(end).collect());
            }
            terms.insert(token);
        }
    }
    terms
}

/// Whether a candidate's index terms hold every search token (the rule every store applies).
pub fn matches(candidate: &Candidate, search: &[String]) -> bool {
    let terms = index_terms(candidate);
    !search.is_empty() && search.iter().all(|t| terms.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_for_german_spellings_and_diacritics() {
        assert_eq!(tokens("Müller"), ["muller"]);
        assert_eq!(tokens("Mueller"), ["muller"]);
        assert_eq!(tokens("MULLER"), ["muller"]);
        assert_eq!(tokens("Straße"), tokens("Strasse"));
        assert_eq!(tokens("José Ñúñez"), ["jose", "nunez"]);
        assert_eq!(tokens("Hans-Peter  O'Brien"), ["hans", "peter", "obrien"]);
        assert_eq!(tokens("Özdemir Öztürk"), tokens("Oezdemir Oeztuerk"));
        assert_eq!(tokens("Анна Петрова"), ["анна", "петрова"], "other scripts are lower-cased, kept");
        assert_eq!(tokens("ＥＲＩＫＡ"), ["erika"], "NFKC: full-width letters");
        assert!(tokens(" -- ").is_empty());
        assert_eq!(tokens("anna anna Anna"), ["anna"]);
    }

    #[test]
    fn tokens_are_bounded() {
        let long = "a".repeat(100);
        assert_eq!(tokens(&long)[0].chars().count(), MAX_TOKEN_CHARS);
        let many = (0..20).map(|i| format!("n{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(tokens(&many).len(), MAX_TOKENS);
    }

    #[test]
    fn a_candidate_is_indexed_under_tokens_and_prefixes() {
        let mut c = crate::testing::fixtures::World::new().candidate();
        c.contact.name = Some(crate::values::Pii::new("Erika Mustermann".into()));
        c.contact.profile_name = Some(crate::values::Pii::new("Eri".into()));
        let terms = index_terms(&c);
        for t in ["erika", "eri", "erik", "mustermann", "mus", "must", "mustermann", "eri"] {
            assert!(terms.contains(t), "{t}");
        }
        assert!(!terms.contains("er") && !terms.contains("mann"), "no short prefixes, no infixes");
        assert!(matches(&c, &tokens("must erika")));
        assert!(!matches(&c, &tokens("must anna")), "every token must match");
        assert!(!matches(&c, &[]), "nothing typed finds nothing");
    }
}
