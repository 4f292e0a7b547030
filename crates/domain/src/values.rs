//! Value types. Each is parsed once at the edge ("parse, don't validate"): a value that exists is
//! valid. Types that hold personal data print nothing useful in `Debug` and have no `Display`, so
//! they cannot slip into a log line by accident.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Personal data (a message text, a name, an IP address). `Debug` prints `<redacted>`; the value
/// is read only through [`Pii::expose`], at the place that really needs it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    /// Wraps personal data.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the personal data. Call sites are where personal data flows: keep them few.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the personal data.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Serialize> Serialize for Pii<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pii<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Pii)
    }
}

impl From<&str> for Pii<String> {
    fn from(value: &str) -> Self {
        Pii(value.to_owned())
    }
}

impl From<String> for Pii<String> {
    fn from(value: String) -> Self {
        Pii(value)
    }
}

/// Why a phone number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Nothing but separators.
    #[error("phone number is empty")]
    Empty,
    /// A character that is neither a digit nor an allowed separator (space, `-`, `/`, `.`, `(`, `)`).
    #[error("phone number contains a character that is not a digit or separator")]
    InvalidCharacter,
    /// Neither `+` nor `00` in front and no default region: the number is ambiguous.
    #[error("phone number needs an international prefix (+ or 00)")]
    MissingCountryCode,
    /// Country codes never start with 0, and the code must be assigned.
    #[error("phone number has an invalid country code")]
    InvalidCountryCode,
    /// E.164 allows at most 15 digits; fewer than 8 is no real subscriber number.
    #[error("phone number must have 8 to 15 digits")]
    InvalidLength,
    /// Well-formed, but no such number can exist in its country's numbering plan
    /// (libphonenumber metadata): a wrong length for the area or an unassigned range.
    #[error("phone number cannot exist in its country's numbering plan")]
    NotANumber,
}

/// The text form of a value type, for `#[serde(try_from = "String", into = "String")]`:
/// `TryFrom<String>` through its parser and `From<Type> for String`.
macro_rules! text_conversions {
    ($name:ty, $error:ty, $parse:path, $into:expr) => {
        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                ($into)(value)
            }
        }
    };
}
pub(crate) use text_conversions;

/// A region (ISO 3166-1 alpha-2, e.g. `DE`) whose national number format is assumed for numbers
/// written without an international prefix. A tenant setting; [`RegionCode::DE`] by default.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(phonenumber::country::Id);

impl RegionCode {
    /// Germany, the default.
    pub const DE: Self = Self(phonenumber::country::Id::DE);

    /// Parses a region code (`DE`, `at`); it must be a region with a numbering plan.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new("region", "an ISO 3166-1 alpha-2 code with a numbering plan, e.g. DE");
        let code = input.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid);
        }
        let id: phonenumber::country::Id = code.parse().map_err(|_| invalid.clone())?;
        if phonenumber::metadata::DATABASE.by_id(id.as_ref()).is_none() {
            return Err(invalid);
        }
        Ok(Self(id))
    }

    /// The code, e.g. `DE`.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for RegionCode {
    fn default() -> Self {
        Self::DE
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

text_conversions!(RegionCode, InvalidValue, RegionCode::parse, |v: RegionCode| v.as_str().to_owned());

/// A phone number in E.164 form (`+` and 8-15 digits, no leading zero).
///
/// Parsing accepts the ways people write numbers (`+49 170 1234567`, `0049 170/123 45 67`,
/// `+49 (0) 170 1234567`, and with a default region the national form `0170 1234567`), checks
/// them against libphonenumber's numbering plans (the `phonenumber` crate) and rejects everything
/// else with a [`PhoneNumberError`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// A number as written, reduced to its digits.
struct Written {
    international: bool,
    digits: String,
}

impl Written {
    fn read(input: &str) -> Result<Self, PhoneNumberError> {
        let trimmed = input.trim();
        let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
            (true, rest)
        } else if let Some(rest) = trimmed.strip_prefix("00") {
            (true, rest)
        } else {
            (false, trimmed)
        };
        // "+49 (0) 170 ..." is a common German way of writing the trunk prefix: drop "(0)".
        let rest = if international { rest.replacen("(0)", "", 1) } else { rest.to_owned() };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '/' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneNumberError::InvalidCharacter),
            }
        }
        if digits.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        Ok(Self { international, digits })
    }
}

impl PhoneNumber {
    /// Parses an international number (`+` or `00` in front) written by a person or another
    /// system; it must be possible in its country's numbering plan.
    pub fn parse(input: &str) -> Result<Self, PhoneNumberError> {
        Self::parse_with(input, None)
    }

    /// Parses a number as people in `region` write them: international numbers as with
    /// [`PhoneNumber::parse`], and national ones (`0170 1234567` with region `DE`) in the
    /// region's numbering plan. Either way the result is E.164 (`+491701234567`).
    pub fn parse_in(input: &str, region: RegionCode) -> Result<Self, PhoneNumberError> {
        Self::parse_with(input, Some(region))
    }

    fn parse_with(input: &str, region: Option<RegionCode>) -> Result<Self, PhoneNumberError> {
        let written = Written::read(input)?;
        let parsed = if written.international {
            // the structural checks first, so their reasons stay precise
            Self::from_digits(&written.digits)?;
            phonenumber::parse(None, format!("+{}", written.digits))
        } else {
            let Some(region) = region else { return Err(PhoneNumberError::MissingCountryCode) };
            if written.digits.len() > 17 {
                return Err(PhoneNumberError::InvalidLength);
            }
            phonenumber::parse(Some(region.0), &written.digits)
        };
        let number = parsed.map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => PhoneNumberError::InvalidCountryCode,
            phonenumber::ParseError::NoNumber
            | phonenumber::ParseError::TooShortAfterIdd
            | phonenumber::ParseError::TooShortNsn
            | phonenumber::ParseError::TooLong
            | phonenumber::ParseError::MalformedInteger(_) => PhoneNumberError::NotANumber,
        })?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneNumberError::NotANumber);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Self::from_digits(e164.strip_prefix('+').unwrap_or(&e164))
    }

    /// Builds a number from a WhatsApp id (`wa_id`: the international number without `+`).
    /// WhatsApp vouches for the number, so only its shape is checked.
    pub fn from_wa_id(wa_id: &WaId) -> Result<Self, PhoneNumberError> {
        Self::from_digits(wa_id.as_str())
    }

    /// A number stored earlier (E.164, `+` and digits): only its shape is checked, so numbers
    /// accepted under earlier rules (or from a `wa_id`) still load.
    fn from_stored(value: &str) -> Result<Self, PhoneNumberError> {
        let written = Written::read(value)?;
        if !written.international {
            return Err(PhoneNumberError::MissingCountryCode);
        }
        Self::from_digits(&written.digits)
    }

    fn from_digits(digits: &str) -> Result<Self, PhoneNumberError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneNumberError::InvalidCharacter);
        }
        if digits.starts_with('0') {
            return Err(PhoneNumberError::InvalidCountryCode);
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneNumberError::InvalidLength);
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The number as `+4917012345678`. Personal data: never log it.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The digits without `+`, the form WhatsApp uses for `to` and `wa_id`.
    pub fn digits(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

// Deserialisation reads stored values: only the E.164 shape is checked (see
// [`PhoneNumber::parse`] for input from people).
text_conversions!(PhoneNumber, PhoneNumberError, PhoneNumber::from_stored, |v: PhoneNumber| v.0);

/// A value did not have the shape its type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidValue {
    kind: &'static str,
    reason: &'static str,
}

impl InvalidValue {
    /// A rejection of a `kind` of value for a `reason` (both compile-time texts: no input echoed).
    pub const fn new(kind: &'static str, reason: &'static str) -> Self {
        Self { kind, reason }
    }

    /// Which kind of value was rejected (`"template name"`, ...).
    pub const fn kind(&self) -> &'static str {
        self.kind
    }
}

fn bounded_token(
    kind: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<String, InvalidValue> {
    if value.is_empty() {
        return Err(InvalidValue::new(kind, "empty"));
    }
    if value.len() > max {
        return Err(InvalidValue::new(kind, "too long"));
    }
    if !value.chars().all(allowed) {
        return Err(InvalidValue::new(kind, "unexpected character"));
    }
    Ok(value.to_owned())
}

macro_rules! token_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:expr, $allowed:expr, personal = $personal:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the value, rejecting empty, overlong or malformed input.
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                bounded_token($kind, value, $max, $allowed).map(Self)
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        text_conversions!($name, InvalidValue, $name::parse, |v: $name| v.0);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $personal {
                    f.write_str(concat!(stringify!($name), "(<redacted>)"))
                } else {
                    write!(f, concat!(stringify!($name), "({:?})"), self.0)
                }
            }
        }
    };
}

token_type!(
    /// WhatsApp's id of a contact: the phone number's digits without `+`. Personal data.
    WaId,
    "wa_id",
    20,
    |c: char| c.is_ascii_digit(),
    personal = true
);
token_type!(
    /// WhatsApp's business-scoped user id (BSUID, e.g. `BR.1502576394655843`), present when a
    /// user hides the number behind a username. Personal data (it identifies a person).
    WaUserId,
    "user_id",
    128,
    |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'),
    personal = true
);
token_type!(
    /// The provider's id of a message (`wamid.HBg...`); used to dedupe webhooks and match statuses.
    /// Personal data: WhatsApp builds it as base64 of a structure that begins with the
    /// customer's number, so it is redacted in `Debug`, stored only as a keyed hash and sealed
    /// with the candidate key, and shredded on erasure (issue 13).
    Wamid,
    "message id",
    512,
    |c: char| c.is_ascii_graphic(),
    personal = true
);
token_type!(
    /// The name of an approved WhatsApp template (`[a-z0-9_]`, at most 512 characters).
    TemplateName,
    "template name",
    512,
    |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
    personal = false
);

/// A language code as WhatsApp uses it: `de`, `en`, `en_US`, `pt_BR`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageCode(String);

impl LanguageCode {
    /// Parses `ll` or `ll_CC` (also accepts `ll-CC` and normalises it to `ll_CC`).
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim().replace('-', "_");
        let mut parts = value.split('_');
        let lang = parts.next().unwrap_or_default();
        let region = parts.next();
        let well_formed = (2..=3).contains(&lang.len())
            && lang.chars().all(|c| c.is_ascii_alphabetic())
            && region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()))
            && parts.next().is_none();
        if !well_formed {
            return Err(InvalidValue::new("language code", "expected ll or ll_CC"));
        }
        let mut code = lang.to_ascii_lowercase();
        if let Some(region) = region {
            code.push('_');
            code.push_str(&region.to_ascii_uppercase());
        }
        Ok(Self(code))
    }

    /// German.
    pub fn german() -> Self {
        Self("de".to_owned())
    }

    /// English.
    pub fn english() -> Self {
        Self("en".to_owned())
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language without region (`en_US` -> `en`).
    pub fn primary(&self) -> &str {
        self.0.split('_').next().unwrap_or_default()
    }
}

impl fmt::Debug for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LanguageCode({})", self.0)
    }
}

text_conversions!(LanguageCode, InvalidValue, LanguageCode::parse, |v: LanguageCode| v.0);

/// A SHA-256 digest, printed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Hashes bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps a digest computed elsewhere.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, InvalidValue> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| InvalidValue::new("sha256", "expected 64 hex digits"))?;
        Ok(Self(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_numbers_people_write_are_accepted() {
        for input in [
            "+49 170 1234567",
            "0049 170 1234567",
            "+49-170-1234567",
            "+49 (0) 170 1234567",
            "0049 170/123 45 67",
            " +491701234567 ",
        ] {
            let number = PhoneNumber::parse(input).unwrap();
            assert_eq!(number.as_e164(), "+491701234567", "{input}");
            assert_eq!(number.digits(), "491701234567");
        }
    }

    #[test]
    fn garbage_phone_numbers_are_rejected_with_a_reason() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneNumberError::Empty));
        assert_eq!(PhoneNumber::parse("+ - /"), Err(PhoneNumberError::Empty));
        assert_eq!(PhoneNumber::parse("0170 1234567"), Err(PhoneNumberError::MissingCountryCode));
        assert_eq!(PhoneNumber::parse("+49 170 12a4567"), Err(PhoneNumberError::InvalidCharacter));
        assert_eq!(PhoneNumber::parse("+0 170 1234567"), Err(PhoneNumberError::InvalidCountryCode));
        assert_eq!(PhoneNumber::parse("+49 17"), Err(PhoneNumberError::InvalidLength));
        assert_eq!(PhoneNumber::parse("+49 1701 2345 6789 01"), Err(PhoneNumberError::InvalidLength));
        assert_eq!(PhoneNumber::parse("call me"), Err(PhoneNumberError::InvalidCharacter));
    }

    /// Valid numbers of several numbering plans (libphonenumber example numbers and the ranges
    /// the tests use).
    const VALID: &[&str] = &[
        "491701234567",
        "491705550123",
        "4915112345678",
        "4930901820",
        "4930123456",
        "436641234567",
        "41791234567",
        "12015550123",
        "447400123456",
        "33612345678",
        "31612345678",
        "48512345678",
        "905012345678",
    ];

    #[test]
    fn national_numbers_are_read_in_the_default_region() {
        for (input, e164) in [
            ("0170 1234567", "+491701234567"),
            ("0170/123 45 67", "+491701234567"),
            ("(0170) 123-4567", "+491701234567"),
            ("170 1234567", "+491701234567"),
            ("030 901820", "+4930901820"),
            ("0151 12345678", "+4915112345678"),
            // international forms are unaffected by the region
            ("+49 170 5550123", "+491705550123"),
            ("0049 170 5550123", "+491705550123"),
            ("+43 664 1234567", "+436641234567"),
        ] {
            let number = PhoneNumber::parse_in(input, RegionCode::DE).unwrap();
            assert_eq!(number.as_e164(), e164, "{input}");
        }
        let at = RegionCode::parse("at").unwrap();
        assert_eq!(PhoneNumber::parse_in("0664 1234567", at).unwrap().as_e164(), "+436641234567");
        // without a region a national number stays ambiguous
        assert_eq!(PhoneNumber::parse("0170 1234567"), Err(PhoneNumberError::MissingCountryCode));
    }

    #[test]
    fn numbers_that_cannot_exist_are_refused() {
        for (input, error) in [
            ("+49 100 1234567", PhoneNumberError::NotANumber),
            ("+49 170 123", PhoneNumberError::NotANumber),
            ("+49 170 1234567890", PhoneNumberError::NotANumber),
            ("+999 12345678", PhoneNumberError::InvalidCountryCode),
            ("+1 555 0100 000", PhoneNumberError::NotANumber),
            ("+49 1701 2345 6789 01", PhoneNumberError::InvalidLength),
        ] {
            assert_eq!(PhoneNumber::parse(input), Err(error.clone()), "{input}");
            assert_eq!(PhoneNumber::parse_in(input, RegionCode::DE), Err(error), "{input}");
        }
        for input in ["0100 1234567", "0170 123", "0000 0000", "01701234567890123456"] {
            assert!(PhoneNumber::parse_in(input, RegionCode::DE).is_err(), "{input}");
        }
        assert_eq!(PhoneNumber::parse_in("0170 12a4567", RegionCode::DE), Err(PhoneNumberError::InvalidCharacter));
        assert_eq!(PhoneNumber::parse_in(" - ", RegionCode::DE), Err(PhoneNumberError::Empty));
    }

    #[test]
    fn stored_numbers_load_by_shape() {
        // a number accepted under earlier rules (or from a wa_id) still deserializes
        let stored: PhoneNumber = serde_json::from_str("\"+4912345678\"").unwrap();
        assert_eq!(stored.digits(), "4912345678");
        assert_eq!(PhoneNumber::parse("+4912345678"), Err(PhoneNumberError::NotANumber));
        assert!(serde_json::from_str::<PhoneNumber>("\"0170 1234567\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"+0 170 1234567\"").is_err());
    }

    #[test]
    fn region_codes_need_a_numbering_plan() {
        assert_eq!(RegionCode::default(), RegionCode::DE);
        assert_eq!(RegionCode::parse(" ch ").unwrap().as_str(), "CH");
        for bad in ["", "D", "DEU", "XX", "1A", "de-DE"] {
            assert!(RegionCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&RegionCode::DE).unwrap(), "\"DE\"");
        assert_eq!(serde_json::from_str::<RegionCode>("\"at\"").unwrap().as_str(), "AT");
    }

    #[test]
    fn personal_values_do_not_print_in_debug() {
        let number = PhoneNumber::parse("+49 170 1234567").unwrap();
        let wa = WaId::parse("491701234567").unwrap();
        let text = Pii::new("Hallo Frau Müller".to_owned());
        let printed = format!("{number:?} {wa:?} {text:?}");
        assert!(!printed.contains("1701234567"), "{printed}");
        assert!(!printed.contains("Müller"), "{printed}");
    }

    #[test]
    fn phone_number_from_wa_id_round_trips() {
        let wa = WaId::parse("491701234567").unwrap();
        assert_eq!(PhoneNumber::from_wa_id(&wa).unwrap().digits(), "491701234567");
    }

    #[test]
    fn language_codes_are_normalised() {
        assert_eq!(LanguageCode::parse("de").unwrap().as_str(), "de");
        assert_eq!(LanguageCode::parse("en-us").unwrap().as_str(), "en_US");
        assert_eq!(LanguageCode::parse("pt_BR").unwrap().primary(), "pt");
        assert!(LanguageCode::parse("deutsch").is_err());
        assert!(LanguageCode::parse("").is_err());
        assert!(LanguageCode::parse("de_DE_x").is_err());
    }

    #[test]
    fn template_names_follow_whatsapp_rules() {
        assert!(TemplateName::parse("consent_request_v2").is_ok());
        assert!(TemplateName::parse("Consent Request").is_err());
        assert!(TemplateName::parse("").is_err());
    }

    #[test]
    fn digest_hex_round_trip() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Sha256Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Sha256Digest::from_hex("zz").is_err());
    }

    proptest! {
        #[test]
        fn phone_parse_never_panics_and_yields_e164(input in "\\PC{0,40}") {
            if let Ok(n) = PhoneNumber::parse(&input) {
                let digits = n.digits();
                prop_assert!(n.as_e164().starts_with('+'));
                prop_assert!((8..=15).contains(&digits.len()));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                // parsing the canonical form is the identity
                prop_assert_eq!(PhoneNumber::parse(n.as_e164()).unwrap(), n.clone());
            }
        }

        #[test]
        fn phone_parse_in_a_region_never_panics_and_yields_valid_e164(
            input in prop_oneof!["\\PC{0,40}", "[0-9 ()/+-]{0,30}"],
            region in prop_oneof![Just("DE"), Just("AT"), Just("CH"), Just("US"), Just("GB")],
        ) {
            let region = RegionCode::parse(region).unwrap();
            if let Ok(n) = PhoneNumber::parse_in(&input, region) {
                prop_assert!((8..=15).contains(&n.digits().len()));
                // the E.164 form is valid on its own, in any region
                prop_assert_eq!(PhoneNumber::parse(n.as_e164()).unwrap(), n.clone());
                prop_assert_eq!(PhoneNumber::parse_in(n.as_e164(), RegionCode::DE).unwrap(), n.clone());
            }
        }

        #[test]
        fn formatted_numbers_parse_to_the_same_value(
            digits in proptest::sample::select(VALID),
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("/")], 15),
            prefix in prop_oneof![Just("00"), Just("+"), Just("+ ")],
        ) {
            let mut written = String::from(prefix);
            for (i, c) in digits.chars().enumerate() {
                written.push(c);
                written.push_str(seps.get(i).copied().unwrap_or(""));
            }
            let parsed = PhoneNumber::parse(&written).unwrap();
            prop_assert_eq!(parsed.digits(), digits);
            prop_assert_eq!(PhoneNumber::parse_in(&written, RegionCode::DE).unwrap(), parsed);
        }

        #[test]
        fn german_national_forms_match_the_international_one(
            digits in proptest::sample::select(VALID).prop_filter("German", |d| d.starts_with("49")),
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("/")], 15),
        ) {
            let mut written = String::from("0");
            for (i, c) in digits.chars().skip(2).enumerate() {
                written.push(c);
                written.push_str(seps.get(i).copied().unwrap_or(""));
            }
            let parsed = PhoneNumber::parse_in(&written, RegionCode::DE).unwrap();
            prop_assert_eq!(parsed.digits(), digits);
        }
    }
}
