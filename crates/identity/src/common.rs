//! The offline list of common passwords. A password is common if, lower-cased, it is on the
//! list, or its stem (letters only, digits and symbols around it removed, common letter-digit
//! substitutions undone) is a listed stem, or it is one repeated character or a keyboard or
//! digit run. Passwords shorter than 12 characters are refused earlier (the domain's length
//! rule), so the list holds what people pick when asked for 12 or more characters.

/// Common passwords of 12 or more characters (lower-case).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123123123123",
    "111111111111",
    "000000000000",
    "qwertyuiopasdf",
    "qwertzuiopasdf",
    "qwertyuiop123",
    "qwertzuiop123",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6z",
    "q1w2e3r4t5y6",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "passwordpassword",
    "password1234",
    "password12345",
    "password123456",
    "passwort1234",
    "passwort12345",
    "iloveyou1234",
    "ichliebedich",
    "ichliebedich1",
    "letmein12345",
    "welcome12345",
    "willkommen12",
    "willkommen123",
    "administrator",
    "administrator1",
    "changeme1234",
    "trustno11234",
    "abcdefghijkl",
    "abc123abc123",
    "asdfghjklasdf",
    "correcthorsebatterystaple",
    "football1234",
    "baseball1234",
    "starwars1234",
    "sommer2025!!",
    "winter2025!!",
    "hoheit123456",
];

/// Stems people decorate with digits and symbols ("Passwort2026!", "Sommer#2025").
const STEMS: &[&str] = &[
    "password",
    "passwort",
    "kennwort",
    "qwerty",
    "qwertz",
    "asdf",
    "letmein",
    "welcome",
    "willkommen",
    "hallo",
    "hello",
    "admin",
    "administrator",
    "root",
    "login",
    "geheim",
    "secret",
    "sommer",
    "winter",
    "fruehling",
    "fruhling",
    "herbst",
    "summer",
    "spring",
    "autumn",
    "januar",
    "februar",
    "monday",
    "montag",
    "iloveyou",
    "ichliebedich",
    "schatz",
    "master",
    "dragon",
    "monkey",
    "football",
    "fussball",
    "baseball",
    "sunshine",
    "princess",
    "starwars",
    "shadow",
    "superman",
    "batman",
    "trustno",
    "changeme",
    "default",
    "test",
    "testtest",
    "user",
    "benutzer",
    "hoheit",
    "whatsapp",
    "recruiting",
    "bewerbung",
    "firma",
    "company",
    "deutschland",
    "germany",
    "berlin",
    "muenchen",
    "munchen",
    "hamburg",
    "koeln",
    "frankfurt",
];

fn undo_substitutions(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    }
}

fn is_run(s: &str) -> bool {
    const RUNS: &[&str] =
        &["0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm"];
    let chars: Vec<char> = s.chars().collect();
    if chars.windows(2).all(|w| w.first() == w.get(1)) {
        return true;
    }
    // a substring of a run, repeated: "abcdabcdabcd", "123456789012"
    RUNS.iter().any(|run| {
        let doubled = format!("{run}{run}");
        doubled.contains(s)
            || s.as_bytes()
                .chunks(run.len().min(s.len()).max(1))
                .all(|c| doubled.as_bytes().windows(c.len()).any(|w| w == c))
    })
}

/// Whether `password` is common (see the module docs).
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || is_run(&lower) {
        return true;
    }
    let letters: String = lower.chars().filter(char::is_ascii_alphabetic).collect();
    // decorations around the word go, substitutions inside it are undone: "p@ssw0rd2026!"
    let inner = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace());
    let unsubstituted: String = inner.chars().map(undo_substitutions).filter(char::is_ascii_alphabetic).collect();
    // only letters of a stem, possibly repeated ("passwordpassword"), count
    [letters, unsubstituted].iter().any(|core| {
        !core.is_empty()
            && STEMS.iter().any(|stem| {
                core == stem
                    || (core.len() % stem.len() == 0
                        && core.as_bytes().chunks(stem.len()).all(|c| c == stem.as_bytes()))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_and_decorated_stems_are_refused() {
        for p in [
            "Password1234",
            "Passwort2026!",
            "P@ssw0rd2026!",
            "Sommer#2025!!",
            "123456789012",
            "aaaaaaaaaaaa",
            "abcdefghijkl",
            "qwertzuiop123",
            "passwordpassword",
            "Willkommen123",
        ] {
            assert!(is_common(p), "{p}");
        }
    }

    #[test]
    fn ordinary_long_passphrases_pass() {
        for p in ["correct horse battery", "Tisch-Lampe-Wolke-7", "mein Hund heißt Bruno", "x9$Kq2!vLm#4pR"] {
            assert!(!is_common(p), "{p}");
        }
    }
}
