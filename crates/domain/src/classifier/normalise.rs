//! Normalisation for matching, in two steps.
//!
//! - [`normalise`]: trim, Unicode NFKC, lowercase, ä->ae ö->oe ü->ue ß->ss, combining marks
//!   dropped (Arabic harakat, the dot of Turkish İ), every other character that is not a letter
//!   or digit becomes a space (any script: Cyrillic and Arabic letters are letters), runs of
//!   spaces collapse. Also used for the R6 check of legal texts.
//! - [`fold`]: the classifier's matching form on top of that: script folding (Polish ł, Turkish
//!   dotless ı, accents of other Latin letters, Arabic tatweel and alef/ya/ta-marbuta forms),
//!   digits inside words read as letters ("st0pp", "5top"), stretched letters undone
//!   ("stoooopp" -> "stop"; every run of one letter becomes one letter), and spaced-out words
//!   joined ("s t o p p" -> "stop": three or more single letters in a row).
//!
//! Both are idempotent. Patterns are folded with the same function, so a pattern and a message
//! meet in the same form.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Normalises text for matching: trim, Unicode NFKC, lowercase, ä->ae ö->oe ü->ue ß->ss,
/// combining marks dropped, every other character that is not a letter or digit becomes a space,
/// runs of spaces collapse. Idempotent: `normalise(normalise(x)) == normalise(x)`.
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
        } else if is_combining_mark(c) {
            // a mark belongs to the letter before it: drop it, do not split the word
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

/// Folds one letter of normalised text for matching; `None` drops it.
fn fold_char(c: char) -> Option<char> {
    Some(match c {
        'ł' => 'l',
        'ı' => 'i',
        'đ' => 'd',
        'ø' => 'o',
        'æ' => 'a',
        // Arabic: tatweel (elongation) is decoration
        '\u{0640}' => return None,
        // alef with hamza/madda, alef wasla -> alef; alef maqsura -> ya; ta marbuta -> ha
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' => 'ي',
        'ة' => 'ه',
        // Persian/Urdu forms of kaf and ya written by Arabic speakers on other keyboards
        'ک' => 'ك',
        'ی' => 'ي',
        other => other,
    })
}

/// A digit inside a word read as the letter it imitates ("st0pp", "5top", "l0eschen").
const fn leet(c: char) -> Option<char> {
    match c {
        '0' => Some('o'),
        '1' => Some('i'),
        '3' => Some('e'),
        '4' => Some('a'),
        '5' => Some('s'),
        '7' => Some('t'),
        _ => None,
    }
}

/// One token of normalised text in matching form (without the joining of spaced letters).
fn fold_token(token: &str) -> String {
    // accents of Latin letters other than the German umlauts (already ae/oe/ue): ą ę ś ș ț ç ğ ...
    let base: String = token.nfd().filter(|c| !is_combining_mark(*c)).filter_map(fold_char).collect();
    let has_letter = base.chars().any(char::is_alphabetic);
    let mut out = String::with_capacity(base.len());
    let mut last: Option<char> = None;
    for c in base.chars() {
        let c = if has_letter { leet(c).unwrap_or(c) } else { c };
        // stretched letters: a run of the same letter counts once (digits stay as written)
        if c.is_alphabetic() && last == Some(c) {
            continue;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

fn collapse_runs(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut last: Option<char> = None;
    for c in token.chars() {
        if c.is_alphabetic() && last == Some(c) {
            continue;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

/// The tokens of a text in matching form: [`normalise`], then each word folded, then runs of
/// three or more single letters joined into one word.
pub fn fold_tokens(text: &str) -> Vec<String> {
    let folded: Vec<String> =
        normalise(text).split(' ').filter(|t| !t.is_empty()).map(fold_token).filter(|t| !t.is_empty()).collect();
    let single = |t: &String| {
        let mut cs = t.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if c.is_alphabetic())
    };
    let mut out = Vec::with_capacity(folded.len());
    let mut i = 0;
    while i < folded.len() {
        let run = folded.iter().skip(i).take_while(|t| single(t)).count();
        if run >= 3 {
            let joined: String = folded.iter().skip(i).take(run).map(String::as_str).collect();
            out.push(collapse_runs(&joined));
            i += run;
        } else {
            if let Some(t) = folded.get(i) {
                out.push(t.clone());
            }
            i += 1;
        }
    }
    out
}

/// The text in matching form, tokens joined by single spaces. Idempotent.
pub fn fold(text: &str) -> String {
    fold_tokens(text).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalisation_and_folding_examples() {
        type Text = fn(&str) -> String;
        let examples: [(Text, &str, &str); 22] = [
            (normalise, "  Löschen Sie MEINE Daten!! ", "loeschen sie meine daten"),
            (normalise, "Straße", "strasse"),
            (normalise, "STRASSE", "strasse"),
            (normalise, "a\u{0308}", "ae"),
            (normalise, "ＳＴＯＰＰ", "stopp"),
            (normalise, "🛑stop🛑", "stop"),
            (normalise, "opt-out", "opt out"),
            (fold, "stoooopp", "stop"),
            (fold, "STOPP!!!", "stop"),
            (fold, "S T O P P", "stop"),
            (fold, "S.T.O.P", "stop"),
            (fold, "ST0PP", "stop"),
            (fold, "5top", "stop"),
            (fold, "Termin um 10 Uhr", "termin um 10 uhr"),
            (fold, "Löschen", "loeschen"),
            (fold, "Proszę usunąć mój numer", "prosze usunac moj numer"),
            (fold, "Ștergeți-mi numărul", "stergeti mi numarul"),
            (fold, "Rızamı geri çekiyorum", "rizami geri cekiyorum"),
            (fold, "İPTAL", "iptal"),
            (fold, "Больше не пишите мне", "больше не пишите мне"),
            (fold, "أسحب", "اسحب"),
            (fold, "I'm on my way", "i m on my way"),
        ];
        for (f, text, expected) in examples {
            assert_eq!(f(text), expected, "{text:?}");
        }
        // tatweel and harakat fold away: the same as the plain spelling
        let alike = [("توقفـــوا", "توقفوا"), ("لا تُرسِلوا", "لا ترسلوا")];
        for (text, plain) in alike {
            assert_eq!(fold(text), fold(plain), "fold({text:?})");
        }
    }

    #[test]
    fn normalise_keeps_other_scripts_and_drops_marks_inside_words() {
        assert_eq!(normalise("Стоп!"), "стоп");
        assert_eq!(normalise("شُكْرًا"), "شكرا");
        assert_eq!(normalise("İptal"), "iptal");
    }

    proptest! {
        #[test]
        fn fold_is_idempotent_on_spaced_and_stretched_text(s in "([a-z0-9] ?){0,30}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
        }
    }
}
