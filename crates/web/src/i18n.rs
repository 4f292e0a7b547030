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

    /// The local day of an instant as a form value: `2026-12-07`.
    pub fn iso_date(&self, at: OffsetDateTime) -> String {
        let (y, m, d, _, _) = self.local(at);
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// The start (local midnight) of a day given as a form value (`2026-12-07`); `None` for
    /// anything else.
    pub fn start_of_day(&self, day: &str) -> Option<OffsetDateTime> {
        let date: jiff::civil::Date = day.trim().parse().ok()?;
        let ts = self.0.to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight())).compatible().ok()?;
        OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
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
    /// Navigation: start page.
    pub nav_start: &'static str,
    /// Navigation: own sessions.
    pub nav_sessions: &'static str,
    /// Navigation: staff (admins).
    pub nav_staff: &'static str,
    /// Sign-out button.
    pub sign_out: &'static str,
    /// Before the idle deadline in the header.
    pub session_until: &'static str,
    /// The extend button.
    pub extend: &'static str,
    /// The warning before the idle time-out (followed by the time).
    pub warn_idle: &'static str,
    /// The warning before the absolute time-out (followed by the time).
    pub warn_absolute: &'static str,
    /// Sign-in page title.
    pub signin_title: &'static str,
    /// Sign-in page intro.
    pub signin_intro: &'static str,
    /// E-mail field.
    pub email: &'static str,
    /// Password field.
    pub password: &'static str,
    /// Password repeat field.
    pub password_repeat: &'static str,
    /// Password page: title (also the navigation entry).
    pub password_title: &'static str,
    /// Password page: what happens.
    pub password_intro: &'static str,
    /// Password page: the current password.
    pub password_current: &'static str,
    /// Password page: the new password.
    pub password_new: &'static str,
    /// Password page: the button.
    pub password_button: &'static str,
    /// Password page: after the change.
    pub password_changed: &'static str,
    /// Password rules.
    pub password_hint: &'static str,
    /// Name field.
    pub display_name: &'static str,
    /// Sign-in button.
    pub signin_button: &'static str,
    /// Separator before the identity provider link.
    pub or: &'static str,
    /// Identity provider link.
    pub signin_oidc: &'static str,
    /// Sign-in without a tenant.
    pub signin_no_tenant: &'static str,
    /// Tenant id field.
    pub tenant_id: &'static str,
    /// Continue button.
    pub continue_: &'static str,
    /// Second factor page title.
    pub second_factor_title: &'static str,
    /// Second factor page intro.
    pub second_factor_intro: &'static str,
    /// Code field.
    pub code: &'static str,
    /// Confirm button.
    pub confirm: &'static str,
    /// Link to the recovery-code page.
    pub use_recovery: &'static str,
    /// Recovery page title.
    pub recovery_title: &'static str,
    /// Recovery page intro.
    pub recovery_intro: &'static str,
    /// Recovery code field.
    pub recovery_code: &'static str,
    /// Accept-invitation title.
    pub accept_title: &'static str,
    /// Accept-invitation intro (before the role).
    pub accept_intro: &'static str,
    /// Local account heading.
    pub accept_local: &'static str,
    /// Accept button.
    pub accept_button: &'static str,
    /// Bind to the identity provider.
    pub accept_oidc: &'static str,
    /// TOTP set-up title.
    pub totp_title: &'static str,
    /// TOTP set-up intro.
    pub totp_intro: &'static str,
    /// QR image alt text.
    pub totp_qr_alt: &'static str,
    /// Manual key label.
    pub totp_manual: &'static str,
    /// Recovery codes title.
    pub codes_title: &'static str,
    /// Recovery codes intro.
    pub codes_intro: &'static str,
    /// Signed-in start page title.
    pub home_title: &'static str,
    /// Before the name and role.
    pub home_signed_in_as: &'static str,
    /// Placeholder note for areas of later issues.
    pub home_coming: &'static str,
    /// Recruiters' inbox.
    pub area_inbox: &'static str,
    /// Navigation: the inbox.
    pub area_inbox_short: &'static str,
    /// Navigation: the console.
    pub area_console_short: &'static str,
    /// Start page: what the console offers so far.
    pub area_console_now: &'static str,
    /// DPO console.
    pub area_console: &'static str,
    /// Admin settings.
    pub area_settings: &'static str,
    /// Role name.
    pub role_admin: &'static str,
    /// Role name.
    pub role_dpo: &'static str,
    /// Role name.
    pub role_recruiter: &'static str,
    /// Sessions page title.
    pub sessions_title: &'static str,
    /// Sessions page intro.
    pub sessions_intro: &'static str,
    /// Column.
    pub col_browser: &'static str,
    /// Column.
    pub col_method: &'static str,
    /// Column.
    pub col_created: &'static str,
    /// Column.
    pub col_last_seen: &'static str,
    /// Column.
    pub col_expires: &'static str,
    /// Column.
    pub col_action: &'static str,
    /// Marks the current session.
    pub this_session: &'static str,
    /// End one session.
    pub end_session: &'static str,
    /// Sign out everywhere.
    pub end_all: &'static str,
    /// Sign-in method.
    pub method_password: &'static str,
    /// Sign-in method.
    pub method_oidc: &'static str,
    /// Idle time-out note (before the time).
    pub idle_note: &'static str,
    /// Banner after extending.
    pub session_extended: &'static str,
    /// Banner after ending one.
    pub session_ended: &'static str,
    /// Banner after sign-out.
    pub signed_out: &'static str,
    /// Banner after sign-out everywhere.
    pub signed_out_everywhere: &'static str,
    /// Banner when a session is gone.
    pub session_expired: &'static str,
    /// Staff page title.
    pub staff_title: &'static str,
    /// Invite heading.
    pub staff_invite: &'static str,
    /// Role field.
    pub role: &'static str,
    /// Invite button.
    pub invite_button: &'static str,
    /// After inviting (before the link).
    pub invite_done: &'static str,
    /// Column.
    pub col_name: &'static str,
    /// Column.
    pub col_status: &'static str,
    /// Staff status.
    pub status_invited: &'static str,
    /// Staff status.
    pub status_active: &'static str,
    /// Staff status.
    pub status_disabled: &'static str,
    /// Generic sign-in failure.
    pub err_sign_in_failed: &'static str,
    /// Throttled.
    pub err_throttled: &'static str,
    /// Wrong second factor.
    pub err_code: &'static str,
    /// Invitation unusable.
    pub err_invitation: &'static str,
    /// E-mail taken.
    pub err_email_taken: &'static str,
    /// Password rule.
    pub err_password_short: &'static str,
    /// Password rule.
    pub err_password_long: &'static str,
    /// Password rule.
    pub err_password_common: &'static str,
    /// Password rule.
    pub err_password_personal: &'static str,
    /// Passwords differ.
    pub err_password_mismatch: &'static str,
    /// The current password on the password page is wrong.
    pub err_current_password: &'static str,
    /// Not allowed.
    pub err_forbidden: &'static str,
    /// R1.
    pub err_dpo_independent: &'static str,
    /// Invalid input.
    pub err_invalid: &'static str,
    /// Accounts not wired.
    pub err_not_configured: &'static str,
    /// Anything else.
    pub err_internal: &'static str,
    /// Identity provider failure (generic).
    pub err_oidc: &'static str,
    /// Identity provider: e-mail domain.
    pub err_oidc_domain: &'static str,
    /// Identity provider: too slow.
    pub err_oidc_expired: &'static str,
    /// Identity provider down.
    pub err_oidc_unavailable: &'static str,
    /// Error banner heading (screen readers).
    pub error_title: &'static str,
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
    nav_start: "Start",
    nav_sessions: "Meine Sitzungen",
    nav_staff: "Mitarbeitende",
    sign_out: "Abmelden",
    session_until: "Sitzung aktiv bis",
    extend: "Verlängern",
    warn_idle: "Ihre Sitzung endet bald, weil Sie eine Weile nichts getan haben. Ohne Verlängerung endet sie um",
    warn_absolute: "Ihre Sitzung endet aus Sicherheitsgründen spätestens um",
    signin_title: "Anmelden",
    signin_intro: "Melden Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an.",
    email: "E-Mail-Adresse",
    password: "Passwort",
    password_repeat: "Passwort wiederholen",
    password_title: "Passwort ändern",
    password_intro: "Bestätigen Sie die Änderung mit Ihrem bisherigen Passwort. Ihre anderen Sitzungen werden danach beendet.",
    password_current: "Bisheriges Passwort",
    password_new: "Neues Passwort",
    password_button: "Passwort ändern",
    password_changed: "Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden beendet.",
    password_hint: "Mindestens 12 Zeichen; kein häufig verwendetes Passwort; nicht Ihr Name oder Ihre E-Mail-Adresse.",
    display_name: "Name (wie er in hoheit angezeigt wird)",
    signin_button: "Anmelden",
    or: "oder",
    signin_oidc: "Mit Ihrem Unternehmenskonto anmelden",
    signin_no_tenant: "Bitte öffnen Sie den Anmelde-Link Ihres Unternehmens. Alternativ geben Sie die Kennung Ihres Unternehmens in hoheit ein.",
    tenant_id: "Unternehmenskennung",
    continue_: "Weiter",
    second_factor_title: "Bestätigungscode eingeben",
    second_factor_intro: "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.",
    code: "Code",
    confirm: "Bestätigen",
    use_recovery: "Kein Zugriff auf die App? Mit einem Wiederherstellungscode anmelden",
    recovery_title: "Mit Wiederherstellungscode anmelden",
    recovery_intro: "Jeder Wiederherstellungscode gilt nur einmal. Richten Sie danach neue Codes ein.",
    recovery_code: "Wiederherstellungscode",
    accept_title: "Einladung annehmen",
    accept_intro: "Sie wurden zu hoheit eingeladen als:",
    accept_local: "Passwort festlegen",
    accept_button: "Einladung annehmen",
    accept_oidc: "Stattdessen mit Ihrem Unternehmenskonto verknüpfen",
    totp_title: "Zweiten Faktor einrichten",
    totp_intro: "Scannen Sie den QR-Code mit einer Authenticator-App (zum Beispiel FreeOTP, Aegis oder Microsoft Authenticator) und geben Sie den angezeigten Code ein.",
    totp_qr_alt: "QR-Code für Ihre Authenticator-App",
    totp_manual: "Schlüssel zur manuellen Eingabe",
    codes_title: "Ihre Wiederherstellungscodes",
    codes_intro: "Bewahren Sie diese Codes sicher auf (zum Beispiel ausgedruckt). Sie werden nur jetzt angezeigt; jeder Code gilt einmal.",
    home_title: "Übersicht",
    home_signed_in_as: "Angemeldet als",
    home_coming: "Noch nicht verfügbar – folgt in einer späteren Version.",
    area_inbox: "Posteingang (Gespräche mit Bewerbenden)",
    area_inbox_short: "Posteingang",
    area_console_short: "Datenschutz-Konsole",
    area_console_now: "bisher das Fällige und die Widerspruchsprüfungen; Ersuchen bearbeiten, Löschfristen und Protokoll folgen",
    area_console: "Datenschutz-Konsole (Auskunft, Widersprüche, Löschfristen)",
    area_settings: "Einstellungen des Unternehmens",
    role_admin: "Administration",
    role_dpo: "Datenschutzbeauftragte Person (DSB)",
    role_recruiter: "Recruiting",
    sessions_title: "Meine Sitzungen",
    sessions_intro: "Hier sehen Sie, wo Sie angemeldet sind. Beenden Sie Sitzungen, die Sie nicht kennen.",
    col_browser: "Browser",
    col_method: "Anmeldung",
    col_created: "Angemeldet am",
    col_last_seen: "Zuletzt aktiv",
    col_expires: "Endet spätestens",
    col_action: "Aktion",
    this_session: "Diese Sitzung",
    end_session: "Beenden",
    end_all: "Überall abmelden",
    method_password: "Passwort und Code",
    method_oidc: "Unternehmenskonto",
    idle_note: "Ohne Aktivität endet diese Sitzung um",
    session_extended: "Ihre Sitzung wurde verlängert.",
    session_ended: "Die Sitzung wurde beendet.",
    signed_out: "Sie wurden abgemeldet.",
    signed_out_everywhere: "Sie wurden auf allen Geräten abgemeldet.",
    session_expired: "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
    staff_title: "Mitarbeitende",
    staff_invite: "Person einladen",
    role: "Rolle",
    invite_button: "Einladung erstellen",
    invite_done: "Die Einladung wurde erstellt. Geben Sie diesen Link nur an die eingeladene Person weiter; er wird nur jetzt angezeigt und gilt 72 Stunden:",
    col_name: "Name",
    col_status: "Status",
    status_invited: "eingeladen",
    status_active: "aktiv",
    status_disabled: "deaktiviert",
    err_sign_in_failed: "E-Mail-Adresse oder Passwort ist falsch, oder das Konto kann sich nicht anmelden.",
    err_throttled: "Zu viele fehlgeschlagene Versuche. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
    err_code: "Der Code ist falsch oder wurde bereits verwendet.",
    err_invitation: "Diese Einladung ist ungültig, abgelaufen oder wurde bereits verwendet. Bitten Sie die einladende Person um eine neue.",
    err_email_taken: "Für diese E-Mail-Adresse gibt es in Ihrem Unternehmen bereits ein Konto.",
    err_password_short: "Das Passwort muss mindestens 12 Zeichen haben.",
    err_password_long: "Das Passwort darf höchstens 256 Zeichen haben.",
    err_password_common: "Dieses Passwort ist zu verbreitet. Bitte wählen Sie ein anderes.",
    err_password_personal: "Das Passwort darf Ihren Namen oder Ihre E-Mail-Adresse nicht enthalten.",
    err_password_mismatch: "Die beiden Passwörter stimmen nicht überein.",
    err_current_password: "Das bisherige Passwort ist nicht richtig.",
    err_forbidden: "Das dürfen Sie mit Ihrer Rolle nicht.",
    err_dpo_independent: "Eine Administratorin oder ein Administrator kann sich nicht selbst zur DSB ernennen.",
    err_invalid: "Bitte prüfen Sie Ihre Eingaben.",
    err_not_configured: "Die Anmeldung ist auf diesem Server nicht eingerichtet.",
    err_internal: "Das hat nicht geklappt. Bitte versuchen Sie es erneut.",
    err_oidc: "Die Anmeldung über Ihr Unternehmenskonto ist fehlgeschlagen. Bitte versuchen Sie es erneut.",
    err_oidc_domain: "Ihre E-Mail-Adresse gehört nicht zu einer zugelassenen Domain.",
    err_oidc_expired: "Die Anmeldung hat zu lange gedauert. Bitte beginnen Sie erneut.",
    err_oidc_unavailable: "Ihr Identitätsanbieter ist gerade nicht erreichbar.",
    error_title: "Fehler",
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
    nav_start: "Start",
    nav_sessions: "My sessions",
    nav_staff: "Staff",
    sign_out: "Sign out",
    session_until: "Session active until",
    extend: "Extend",
    warn_idle: "Your session is about to end because it has been idle for a while. Unless you extend it, it ends at",
    warn_absolute: "For security, your session ends at the latest at",
    signin_title: "Sign in",
    signin_intro: "Sign in with your e-mail address and password.",
    email: "E-mail address",
    password: "Password",
    password_repeat: "Repeat password",
    password_title: "Change password",
    password_intro: "Confirm the change with your current password. Your other sessions end afterwards.",
    password_current: "Current password",
    password_new: "New password",
    password_button: "Change password",
    password_changed: "Your password was changed. Your other sessions were ended.",
    password_hint: "At least 12 characters; not a common password; not your name or e-mail address.",
    display_name: "Name (as shown in hoheit)",
    signin_button: "Sign in",
    or: "or",
    signin_oidc: "Sign in with your company account",
    signin_no_tenant: "Please open your company's sign-in link, or enter your company's identifier in hoheit.",
    tenant_id: "Company identifier",
    continue_: "Continue",
    second_factor_title: "Enter the verification code",
    second_factor_intro: "Enter the 6-digit code from your authenticator app.",
    code: "Code",
    confirm: "Confirm",
    use_recovery: "No access to the app? Sign in with a recovery code",
    recovery_title: "Sign in with a recovery code",
    recovery_intro: "Each recovery code works once. Set up new codes afterwards.",
    recovery_code: "Recovery code",
    accept_title: "Accept the invitation",
    accept_intro: "You were invited to hoheit as:",
    accept_local: "Set a password",
    accept_button: "Accept the invitation",
    accept_oidc: "Link your company account instead",
    totp_title: "Set up the second factor",
    totp_intro: "Scan the QR code with an authenticator app (for example FreeOTP, Aegis or Microsoft Authenticator) and enter the code it shows.",
    totp_qr_alt: "QR code for your authenticator app",
    totp_manual: "Key for manual entry",
    codes_title: "Your recovery codes",
    codes_intro: "Keep these codes safe (for example printed). They are shown only now; each code works once.",
    home_title: "Overview",
    home_signed_in_as: "Signed in as",
    home_coming: "Not available yet – follows in a later version.",
    area_inbox: "Inbox (conversations with candidates)",
    area_inbox_short: "Inbox",
    area_console_short: "Data-protection console",
    area_console_now: "what is due and the objection reviews so far; handling requests, retention and the audit log follow",
    area_console: "Data protection console (access requests, objections, retention)",
    area_settings: "Company settings",
    role_admin: "Administrator",
    role_dpo: "Data protection officer (DPO)",
    role_recruiter: "Recruiter",
    sessions_title: "My sessions",
    sessions_intro: "Where you are signed in. End sessions you do not recognise.",
    col_browser: "Browser",
    col_method: "Sign-in",
    col_created: "Signed in on",
    col_last_seen: "Last active",
    col_expires: "Ends at the latest",
    col_action: "Action",
    this_session: "This session",
    end_session: "End",
    end_all: "Sign out everywhere",
    method_password: "Password and code",
    method_oidc: "Company account",
    idle_note: "Without activity this session ends at",
    session_extended: "Your session was extended.",
    session_ended: "The session was ended.",
    signed_out: "You were signed out.",
    signed_out_everywhere: "You were signed out on all devices.",
    session_expired: "Your session has ended. Please sign in again.",
    staff_title: "Staff",
    staff_invite: "Invite a person",
    role: "Role",
    invite_button: "Create invitation",
    invite_done: "The invitation was created. Give this link only to the invited person; it is shown only now and is valid for 72 hours:",
    col_name: "Name",
    col_status: "Status",
    status_invited: "invited",
    status_active: "active",
    status_disabled: "disabled",
    err_sign_in_failed: "The e-mail address or password is wrong, or the account cannot sign in.",
    err_throttled: "Too many failed attempts. Please wait a few minutes and try again.",
    err_code: "The code is wrong or was used already.",
    err_invitation: "This invitation is invalid, expired or was used already. Please ask for a new one.",
    err_email_taken: "Your company already has an account with this e-mail address.",
    err_password_short: "The password must have at least 12 characters.",
    err_password_long: "The password may have at most 256 characters.",
    err_password_common: "This password is too common. Please choose another.",
    err_password_personal: "The password must not contain your name or e-mail address.",
    err_password_mismatch: "The two passwords do not match.",
    err_current_password: "The current password is not correct.",
    err_forbidden: "Your role does not allow this.",
    err_dpo_independent: "An administrator cannot appoint themselves DPO.",
    err_invalid: "Please check your input.",
    err_not_configured: "Sign-in is not set up on this server.",
    err_internal: "That did not work. Please try again.",
    err_oidc: "Signing in with your company account failed. Please try again.",
    err_oidc_domain: "Your e-mail address is not in an allowed domain.",
    err_oidc_expired: "Signing in took too long. Please start again.",
    err_oidc_unavailable: "Your identity provider cannot be reached right now.",
    error_title: "Error",
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
