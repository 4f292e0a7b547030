//! The tiny i18n layer: one message catalogue per language as a struct with a field per text, so
//! a text missing in one language is a compile error, not a blank on a page. German first
//! (formal "Sie", gender-inclusive "Bewerbende"), English second. Dates and times in the
//! configured time zone (Europe/Berlin by default): German `07.12.2026` and `14:05 Uhr`,
//! English `7 December 2026` and `14:05`.

use time::OffsetDateTime;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// German, the default.
    #[default]
    De,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order the switch shows them.
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    /// The BCP 47 code (`lang` attribute, cookie value).
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::De => "Deutsch",
            Lang::En => "English",
        }
    }

    /// Parses `de`, `en`, `de-DE`, `en-GB` (case-insensitive); anything else is `None`.
    pub fn parse(value: &str) -> Option<Lang> {
        let primary = value.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("de") {
            Some(Lang::De)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The message catalogue.
    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::De => &DE,
            Lang::En => &EN,
        }
    }
}

/// A time zone for dates shown to people (the IANA database is compiled in).
#[derive(Debug, Clone)]
pub struct Zone(jiff::tz::TimeZone);

impl Zone {
    /// The default: Europe/Berlin.
    pub fn berlin() -> Zone {
        Zone::named("Europe/Berlin").unwrap_or_else(|_| Zone(jiff::tz::TimeZone::UTC))
    }

    /// An IANA time zone by name (`Europe/Berlin`); an unknown name is an error naming it.
    pub fn named(name: &str) -> Result<Zone, String> {
        jiff::tz::TimeZone::get(name)
            .map(Zone)
            .map_err(|_| format!("unknown time zone {name:?} (expected an IANA name such as \"Europe/Berlin\")"))
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }

    /// Local calendar fields (year, month, day, hour, minute) of an instant.
    fn local(&self, at: OffsetDateTime) -> (i32, u8, u8, u8, u8) {
        let utc = at.to_offset(time::UtcOffset::UTC);
        match jiff::Timestamp::new(utc.unix_timestamp(), 0) {
            Ok(ts) => {
                let z = ts.to_zoned_datetime(self.0.clone());
                let (m, d, h, mi) = (z.month(), z.day(), z.hour(), z.minute());
                (
                    i32::from(z.year()),
                    u8::try_from(m).unwrap_or(1),
                    u8::try_from(d).unwrap_or(1),
                    u8::try_from(h).unwrap_or(0),
                    u8::try_from(mi).unwrap_or(0),
                )
            }
            // outside jiff's range (years beyond +-9999): show UTC rather than fail
            Err(_) => (utc.year(), u8::from(utc.month()), utc.day(), utc.hour(), utc.minute()),
        }
    }

    /// A date: `07.12.2026` (de) or `7 December 2026` (en).
    pub fn date(&self, lang: Lang, at: OffsetDateTime) -> String {
        let (y, m, d, _, _) = self.local(at);
        match lang {
            Lang::De => format!("{d:02}.{m:02}.{y:04}"),
            Lang::En => format!("{d} {} {y:04}", month_name_en(m)),
        }
    }

    /// A time of day: `14:05 Uhr` (de) or `14:05` (en).
    pub fn time(&self, lang: Lang, at: OffsetDateTime) -> String {
        let (_, _, _, h, mi) = self.local(at);
        match lang {
            Lang::De => format!("{h:02}:{mi:02} Uhr"),
            Lang::En => format!("{h:02}:{mi:02}"),
        }
    }

    /// Date and time: `07.12.2026, 14:05 Uhr` (de) or `7 December 2026, 14:05` (en).
    pub fn date_time(&self, lang: Lang, at: OffsetDateTime) -> String {
        format!("{}, {}", self.date(lang, at), self.time(lang, at))
    }
}

fn month_name_en(month: u8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES.get(usize::from(month).saturating_sub(1)).copied().unwrap_or("")
}

/// Every text of the UI in one language. A new text is a new field: both catalogues must give it.
#[derive(Debug)]
pub struct Messages {
    /// The product name as shown in the header.
    pub app_name: &'static str,
    /// The skip link to the main content.
    pub skip_to_content: &'static str,
    /// Label of the main navigation landmark.
    pub nav_label: &'static str,
    /// Label of the language switch.
    pub language: &'static str,
    /// The switch's button (next to the language names).
    pub language_apply: &'static str,
    /// Footer line.
    pub footer: &'static str,
    /// Title of the public start page.
    pub welcome_title: &'static str,
    /// What hoheit is, on the public start page.
    pub welcome_text: &'static str,
    /// "Page not found" title.
    pub not_found_title: &'static str,
    /// "Page not found" text.
    pub not_found_text: &'static str,
    /// Link back to the start page.
    pub back_to_start: &'static str,
    /// A refused cross-site form submission.
    pub forbidden_title: &'static str,
    /// Its explanation.
    pub forbidden_text: &'static str,
}

/// German (the default): formal "Sie", gender-inclusive.
pub static DE: Messages = Messages {
    app_name: "hoheit",
    skip_to_content: "Zum Inhalt springen",
    nav_label: "Hauptnavigation",
    language: "Sprache",
    language_apply: "Sprache wechseln",
    footer: "hoheit – Gespräche mit Bewerbenden auf WhatsApp, DSGVO-konform",
    welcome_title: "Willkommen bei hoheit",
    welcome_text: "Hier führen Recruiterinnen und Recruiter, Datenschutzbeauftragte (DSB) und \
                   Administrierende Ihres Unternehmens die Gespräche mit Bewerbenden – mit \
                   Einwilligung, Widerspruch und Löschfristen nach der DSGVO.",
    not_found_title: "Seite nicht gefunden",
    not_found_text: "Diese Seite gibt es nicht. Bitte prüfen Sie die Adresse.",
    back_to_start: "Zur Startseite",
    forbidden_title: "Anfrage abgelehnt",
    forbidden_text: "Diese Anfrage kam nicht von einer Seite von hoheit und wurde deshalb abgelehnt. \
                     Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
};

/// English.
pub static EN: Messages = Messages {
    app_name: "hoheit",
    skip_to_content: "Skip to content",
    nav_label: "Main navigation",
    language: "Language",
    language_apply: "Change language",
    footer: "hoheit – conversations with candidates on WhatsApp, GDPR-compliant",
    welcome_title: "Welcome to hoheit",
    welcome_text: "Here your company's recruiters, data protection officers (DPO) and \
                   administrators talk with candidates – with consent, objection and retention \
                   periods as the GDPR requires.",
    not_found_title: "Page not found",
    not_found_text: "This page does not exist. Please check the address.",
    back_to_start: "Go to the start page",
    forbidden_title: "Request refused",
    forbidden_text: "This request did not come from a hoheit page and was refused. Please reload the \
                     page and try again.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn languages_parse_with_region_and_case() {
        assert_eq!(Lang::parse("de"), Some(Lang::De));
        assert_eq!(Lang::parse("DE-de"), Some(Lang::De));
        assert_eq!(Lang::parse("en_GB"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
        assert_eq!(Lang::default(), Lang::De);
    }

    #[test]
    fn berlin_dates_follow_summer_and_winter_time() {
        let berlin = Zone::berlin();
        assert_eq!(berlin.name(), "Europe/Berlin");
        // winter: UTC+1
        let winter = datetime!(2026-12-07 13:05 UTC);
        assert_eq!(berlin.date(Lang::De, winter), "07.12.2026");
        assert_eq!(berlin.time(Lang::De, winter), "14:05 Uhr");
        assert_eq!(berlin.date_time(Lang::En, winter), "7 December 2026, 14:05");
        // summer: UTC+2
        let summer = datetime!(2026-07-01 12:05 UTC);
        assert_eq!(berlin.time(Lang::De, summer), "14:05 Uhr");
        // the date changes at local midnight, not at UTC midnight
        assert_eq!(berlin.date(Lang::De, datetime!(2026-12-31 23:30 UTC)), "01.01.2027");
        // the instant's own offset does not matter
        assert_eq!(berlin.time(Lang::De, datetime!(2026-12-07 09:05 -05:00)), "15:05 Uhr");
    }

    #[test]
    fn unknown_time_zones_are_refused_by_name() {
        let err = Zone::named("Mars/Olympus").err().unwrap_or_default();
        assert!(err.contains("Mars/Olympus"), "{err}");
        assert_eq!(Zone::named("Europe/Vienna").map(|z| z.name().to_owned()), Ok("Europe/Vienna".to_owned()));
    }

    #[test]
    fn german_texts_are_formal_and_inclusive() {
        // formal address, never the informal "du"/"dein"
        for text in [DE.forbidden_text, DE.not_found_text, DE.welcome_text] {
            let lower = text.to_lowercase();
            assert!(!lower.split(|c: char| !c.is_alphabetic()).any(|w| w == "du" || w.starts_with("dein")), "{text}");
        }
        assert!(DE.welcome_text.contains("Bewerbende"));
        assert!(!DE.welcome_text.contains("Bewerber "));
    }
}
