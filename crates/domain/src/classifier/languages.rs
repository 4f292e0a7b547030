//! The pattern tables, per language. Each pattern's id says the language and the kind
//! (`de.negated_contact`); ids are stable: reviews and audit entries name them. All tables
//! apply to every message (candidates mix languages); the language in the id is documentation.
//!
//! Order within a table matters only for which id is reported when several match; every
//! tier-1 pattern is tried before any review pattern.

use super::grammar::Effect::{Harmless, Objection, Review, Withdrawal};
use super::grammar::Pattern;

// ------------------------------------------------------------------ shared word groups

/// German verbs of contacting (any inflection by stem).
const DE_CONTACT_VERB: &[&str] = &[
    "schreib*",
    "anschreib*",
    "angeschrieb*",
    "geschrieben",
    "kontaktier*",
    "meld*",
    "anruf*",
    "angerufen",
    "ruf*",
    "schick*",
    "zuschick*",
    "send*",
    "zusend*",
    "belaestig*",
    "stoer*",
    "nerv*",
    "kontakt*",
    "nachricht*",
    "whatsapp*",
    "sms*",
    "anfrag*",
];

/// German nouns of contact.
const DE_CONTACT_NOUN: &[&str] = &[
    "nachricht*",
    "whatsapp*",
    "sms*",
    "kontakt*",
    "anruf*",
    "mail*",
    "e mail*",
    "email*",
    "werbung",
    "anfrage*",
    "stellenangebot*",
    "jobangebot*",
    "angebot*",
    "zuschrift*",
    "benachrichtigung*",
];

const EN_CONTACT_VERB: &[&str] = &[
    "text",
    "texting",
    "texted",
    "txt",
    "message",
    "messaging",
    "messaged",
    "msg",
    "contact",
    "contacting",
    "contacted",
    "call",
    "calling",
    "called",
    "write",
    "writing",
    "email",
    "emailing",
    "spam*",
    "whatsapp*",
    "bother",
    "bothering",
    "harass*",
    "send me",
    "sending me",
    "reach out",
    "reaching out",
];

const EN_CONTACT_NOUN: &[&str] = &[
    "messages",
    "message",
    "texts",
    "text",
    "msgs",
    "whatsapp*",
    "contact",
    "calls",
    "spam",
    "emails",
    "sms",
    "notifications",
    "offers",
];

// ------------------------------------------------------------------ German

pub(crate) static DE: &[Pattern] = &[
    // consent withdrawal (R8)
    Pattern::new(
        "de.withdraw_consent",
        Withdrawal,
        7,
        &[
            &[
                "widerruf*",
                "widerrief*",
                "zurueck*",
                "zurueckzieh*",
                "zurueckgezogen",
                "zuruecknehm*",
                "zurueckgenommen",
                "entzieh*",
                "entzog*",
                "entzogen",
            ],
            &["einwilligung*", "zustimmung*", "einverstaendnis*", "consent", "datenschutzeinwilligung*"],
        ],
    )
    .any_order(),
    Pattern::new(
        "de.no_longer_agreed",
        Withdrawal,
        10,
        &[
            &["nicht mehr", "nicht laenger", "nicht weiter"],
            &["einverstanden"],
            &["verarbeitung", "daten", "whatsapp*", "kontakt*", "nachricht*", "speicherung", "nutzung"],
        ],
    )
    .any_order()
    .negated(),
    // negated contact, verb anywhere: "kontaktieren Sie mich bitte nicht mehr"
    Pattern::new(
        "de.negated_contact",
        Objection,
        6,
        &[
            &["nicht mehr", "nie wieder", "nie mehr", "niemals", "nimmer", "nicht weiter", "nicht laenger"],
            DE_CONTACT_VERB,
        ],
    )
    .any_order()
    .negated(),
    // "keine (WhatsApp-)Nachrichten mehr", "kein Kontakt mehr"
    Pattern::new(
        "de.no_more_contact",
        Objection,
        6,
        &[&["kein", "keine", "keinen", "keiner", "keinerlei"], DE_CONTACT_NOUN, &["mehr"]],
    )
    .negated(),
    // "keine weiteren Nachrichten", "keinen weiteren Kontakt"
    Pattern::new(
        "de.no_further_contact",
        Objection,
        5,
        &[&["kein", "keine", "keinen", "keiner", "keinerlei"], &["weiter*"], DE_CONTACT_NOUN],
    )
    .negated(),
    // "unterlassen Sie weitere Nachrichten", "ich verbitte mir weitere Nachrichten"
    Pattern::new(
        "de.refrain",
        Objection,
        6,
        &[&["unterlass*", "verbitte*", "verbiete*", "untersage*"], DE_CONTACT_NOUN],
    )
    .any_order()
    .negated(),
    // "ich will nichts mehr von Ihnen hören"
    Pattern::new(
        "de.nothing_more",
        Objection,
        7,
        &[&["nichts mehr"], &["hoeren", "wissen", "bekommen", "erhalten"], &["will", "moechte", "wollen", "moechten"]],
    )
    .any_order()
    .negated(),
    // imperatives to stop: "hören Sie auf", "hör auf", "Sie sollen aufhören"
    Pattern::new("de.stop_imperative", Objection, 5, &[&["hoer", "hoere", "hoert", "hoeren", "hoerts"], &["auf"]])
        .blockers(&["ich", "wir", "er", "man"]),
    Pattern::new("de.stop_imperative", Objection, 1, &[&["aufhoer*", "aufzuhoeren"]]).blockers(&["ich", "wir", "er"]),
    Pattern::new(
        "de.leave_alone",
        Objection,
        7,
        &[&["lass", "lasse", "lassen", "lasst", "laesst", "lasset"], &["in ruhe", "in frieden"]],
    ),
    // unsubscribe in all inflections, also separable ("melden Sie mich ab", "tragen Sie mich aus")
    Pattern::new(
        "de.unsubscribe",
        Objection,
        1,
        &[&[
            "abmelden",
            "abgemeldet",
            "abzumelden",
            "abmeldung",
            "austragen",
            "ausgetragen",
            "auszutragen",
            "abbestell*",
            "abonnement kuendigen",
            "abo kuendigen",
        ]],
    ),
    Pattern::new("de.unsubscribe", Objection, 6, &[&["meld", "melde", "melden", "meldet"], &["mich", "uns"], &["ab"]])
        .at_end(),
    Pattern::new("de.unsubscribe", Objection, 6, &[&["trag", "trage", "tragen", "tragt"], &["mich", "uns"], &["aus"]])
        .at_end(),
    Pattern::new(
        "de.remove_from_list",
        Objection,
        7,
        &[
            &["nehm*", "streich*", "entfern*", "loesch*", "raus"],
            &["verteiler*", "liste*", "kartei*", "datenbank*", "system*", "adressbuch", "emailverteiler*"],
        ],
    )
    .any_order(),
    Pattern::new(
        "de.erasure",
        Objection,
        5,
        &[
            &["loesch*", "entfern*", "streich*"],
            &["nummer*", "handynummer*", "telefonnummer*", "daten", "kontaktdaten", "profil", "mich"],
        ],
    )
    .any_order(),
    Pattern::new(
        "de.object",
        Objection,
        7,
        &[
            &["widerspreche*", "widerspruch"],
            &[
                "nutzung",
                "verarbeitung",
                "kontakt*",
                "nummer",
                "daten",
                "whatsapp*",
                "speicherung",
                "werbung",
                "nachricht*",
                "ansprache",
            ],
        ],
    )
    .any_order(),
    Pattern::new("de.stop_messages", Objection, 4, &[&["stop*"], DE_CONTACT_NOUN]).any_order(),
];

pub(crate) static DE_REVIEW: &[Pattern] = &[
    Pattern::new(
        "de.not_interested",
        Review,
        4,
        &[&["nicht mehr interessiert", "kein interesse", "nicht interessiert", "keinerlei interesse"]],
    ),
    Pattern::new(
        "de.application_withdrawal",
        Review,
        6,
        &[
            &["bewerbung*"],
            &["zurueck*", "abbrech*", "abbreche", "abgebrochen", "beend*", "stop*", "storn*", "widerruf*", "absag*"],
        ],
    )
    .any_order(),
    Pattern::new(
        "de.annoyed",
        Review,
        4,
        &[&["schon wieder", "zu viele", "so viele", "staendig", "dauernd", "immer wieder"], DE_CONTACT_NOUN],
    ),
    Pattern::new(
        "de.other_channel",
        Review,
        5,
        &[&["nur noch", "nur per", "ausschliesslich"], &["mail*", "e mail*", "email*", "telefon*", "post", "brief*"]],
    ),
    Pattern::new(
        "de.changed_mind",
        Review,
        4,
        &[&["anders ueberlegt", "es mir anders", "umentschieden", "doch nicht"]],
    ),
    Pattern::new("de.who_are_you", Review, 1, &[&["wer sind sie", "wer ist das", "wer seid ihr", "wer schreibt"]]),
    Pattern::new("de.channel_question", Review, 6, &[&["muss das", "warum", "wieso", "weshalb"], &["whatsapp*"]])
        .any_order(),
    Pattern::new("de.where_number", Review, 6, &[&["woher"], &["nummer*", "daten", "kontakt*"]]),
    Pattern::new("de.want_no_more", Review, 3, &[&["moechte", "will", "mag", "wollen", "moechten"], &["nicht mehr"]])
        .at_end(),
    Pattern::new("de.want_no_more", Review, 3, &[&["will", "moechte", "brauche"], &["nichts mehr"]]),
];

pub(crate) static DE_HARMLESS: &[Pattern] = &[
    // compounds: "Stoppuhr", "Abmeldebescheinigung", "Entfernung", "Kündigungsfrist"
    Pattern::new(
        "de.compound",
        Harmless,
        1,
        &[&[
            "stoppuhr*",
            "stopuhr*",
            "stoppschild*",
            "stoppzeichen*",
            "stopptaste*",
            "stoppstrasse*",
            "abmeldebescheinigung*",
            "abmeldeformular*",
            "abmeldebestaetigung*",
            "entfernung*",
            "kuendigungs*",
            "loeschtaste*",
        ]],
    ),
    // a stop on a journey: "ein kurzer Stopp in Fulda", "am Stopp Industriestraße"
    Pattern::new(
        "de.travel_stop",
        Harmless,
        2,
        &[
            &[
                "ein",
                "einen",
                "kurzen",
                "kurzer",
                "am",
                "der",
                "den",
                "naechsten",
                "letzten",
                "ersten",
                "zwischen",
                "einem",
            ],
            &["stopp", "stop"],
        ],
    ),
    // the candidate's own notice: "ich kündige bei meinem Arbeitgeber", "habe schon gekündigt"
    Pattern::new(
        "de.own_notice",
        Harmless,
        4,
        &[&["ich", "muss", "habe", "hab", "schon", "bereits", "noch"], &["kuendig*", "gekuendigt"]],
    ),
    Pattern::new(
        "de.own_notice",
        Harmless,
        6,
        &[&["kuendig*", "gekuendigt"], &["arbeitgeber*", "chef*", "firma", "job", "stelle", "arbeit*"]],
    )
    .any_order(),
    Pattern::new("de.distance", Harmless, 3, &[&["weit", "km", "kilometer", "minuten", "meter", "min"], &["entfernt"]])
        .any_order(),
    // a thing deregistered: "meine alte Nummer ist abgemeldet"
    Pattern::new(
        "de.deregister_thing",
        Harmless,
        5,
        &[
            &[
                "nummer*",
                "auto",
                "wohnung",
                "wohnsitz",
                "gewerbe",
                "handy*",
                "vertrag",
                "anschluss",
                "sim*",
                "fahrzeug",
                "kfz",
                "wohnort",
            ],
            &["abgemeldet", "abmelden", "abmeldung"],
        ],
    )
    .any_order(),
    // the candidate asks whether to delete their own file
    Pattern::new("de.own_file", Harmless, 2, &[&["ich"], &["loesche", "entferne"]]),
    Pattern::new("de.own_file", Harmless, 6, &[&["soll ich", "sollte ich", "soll ichs"], &["loesch*", "entfern*"]])
        .any_order(),
];

// ------------------------------------------------------------------ English

pub(crate) static EN: &[Pattern] = &[
    Pattern::new(
        "en.withdraw_consent",
        Withdrawal,
        6,
        &[
            &["withdraw*", "revok*", "retract*", "take back", "taking back", "cancel*", "rescind*", "pull my"],
            &["consent"],
        ],
    )
    .any_order(),
    Pattern::new(
        "en.no_longer_consent",
        Withdrawal,
        3,
        &[&["no longer", "do not", "don t", "dont", "not"], &["consent"]],
    )
    .negated(),
    Pattern::new(
        "en.negated_contact",
        Objection,
        7,
        &[
            &["don t", "dont", "do not", "never", "no longer", "stop", "quit"],
            EN_CONTACT_VERB,
            &["me", "us", "again", "anymore", "any more", "ever", "this number", "any longer"],
        ],
    )
    .negated(),
    Pattern::new(
        "en.no_more_contact",
        Objection,
        5,
        &[&["no more", "any more", "anymore", "no further", "any further", "not any more"], EN_CONTACT_NOUN],
    )
    .negated(),
    Pattern::new(
        "en.no_longer_wish",
        Objection,
        7,
        &[
            &["no longer", "don t want", "dont want", "do not want", "not want", "don t wish", "do not wish"],
            &["messages", "message", "texts", "contacted", "contact", "from you", "hear from", "whatsapp*", "calls"],
        ],
    )
    .negated(),
    Pattern::new(
        "en.stop_contacting",
        Objection,
        3,
        &[
            &["stop", "quit", "cease"],
            &[
                "messaging",
                "texting",
                "contacting",
                "writing",
                "spamming",
                "sending",
                "calling",
                "bothering",
                "harassing",
                "emailing",
                "contact",
                "all contact",
                "communication",
                "all communication",
                "the messages",
                "these messages",
                "your messages",
                "messages",
                "texts",
                "all messages",
            ],
        ],
    ),
    Pattern::new("en.no_contact", Objection, 2, &[&["no"], &["messages", "texts", "whatsapps", "calls", "spam"]])
        .negated(),
    Pattern::new("en.leave_alone", Objection, 3, &[&["leave"], &["me", "us"], &["alone"]]),
    Pattern::new(
        "en.unsubscribe",
        Objection,
        1,
        &[&[
            "unsubscrib*",
            "opt me out",
            "opt out",
            "optout",
            "opt outs",
            "take me off",
            "remove me",
            "remove my number",
            "remove my details",
            "remove my data",
            "delete my number",
            "delete my data",
            "delete my details",
            "delete my contact",
            "erase my data",
            "take my number off",
        ]],
    ),
    Pattern::new("en.object", Objection, 1, &[&["i object", "i am objecting", "i m objecting"]]),
];

pub(crate) static EN_REVIEW: &[Pattern] = &[
    Pattern::new(
        "en.not_interested",
        Review,
        1,
        &[&["not interested", "no longer interested", "not interested anymore"]],
    ),
    Pattern::new("en.annoyed", Review, 4, &[&["too many", "so many", "again", "constantly"], EN_CONTACT_NOUN]),
    Pattern::new(
        "en.annoyed",
        Review,
        3,
        &[&["keep", "keeps", "always"], &["messaging", "texting", "contacting", "writing", "calling", "sending"]],
    ),
    Pattern::new("en.changed_mind", Review, 1, &[&["changed my mind", "change of mind"]]),
    Pattern::new("en.who_are_you", Review, 1, &[&["who are you", "who is this", "who s this", "who is writing"]]),
    Pattern::new(
        "en.data_erasure",
        Review,
        5,
        &[&["my data", "my details", "my number", "my information", "my personal"], &["delet*", "eras*", "remov*"]],
    )
    .any_order(),
    Pattern::new(
        "en.where_number",
        Review,
        7,
        &[
            &["who gave you", "where did you get", "how did you get", "who gave"],
            &["number", "data", "details", "contact"],
        ],
    ),
    Pattern::new(
        "en.application_withdrawal",
        Review,
        6,
        &[&["withdraw*", "stop*", "cancel*", "end"], &["application"]],
    )
    .any_order(),
];

pub(crate) static EN_HARMLESS: &[Pattern] = &[
    Pattern::new(
        "en.travel_stop",
        Harmless,
        2,
        &[&["bus", "one", "next", "last", "a", "the", "non", "tram", "train", "first"], &["stop", "stops"]],
    ),
    Pattern::new(
        "en.stop_by",
        Harmless,
        4,
        &[
            &["i ll", "i will", "i can", "i could", "we ll", "i d", "i might"],
            &["stop", "drop"],
            &["by", "in", "over", "at"],
        ],
    ),
    Pattern::new("any.stop_and_go", Harmless, 1, &[&["stop and go", "stop go", "stop n go", "stop und go"]]),
    Pattern::new(
        "en.own_job",
        Harmless,
        5,
        &[&["stop", "quit", "leave", "end", "cancel"], &["job", "work", "employer", "position", "contract", "jobs"]],
    ),
    Pattern::new(
        "en.end_noun",
        Harmless,
        2,
        &[&["the", "shift", "week", "month", "year", "weekend", "at", "till", "until"], &["end", "ends"]],
    ),
    Pattern::new("en.end_noun", Harmless, 2, &[&["end"], &["of", "date", "time"]]),
    Pattern::new("en.own_file", Harmless, 6, &[&["should i", "shall i"], &["delete", "remove", "cancel"]]),
];

/// Rescheduling in any language: a cancelled appointment and another day or time proposed
/// ("cancel the appointment on Thursday, can we do Tuesday?"). Only with a proposal: a bare
/// "cancel my interview" may mean the candidate is dropping out (review).
pub(crate) static RESCHEDULE: &[Pattern] = &[
    Pattern::new(
        "any.reschedule",
        Harmless,
        16,
        &[
            &["cancel*", "absag*", "storn*"],
            &[
                "can we do",
                "could we do",
                "can we move",
                "could we move",
                "koennen wir",
                "koennten wir",
                "geht auch",
                "reschedule",
                "verschieben",
                "next week",
                "naechste woche",
            ],
        ],
    )
    .any_order(),
    Pattern::new(
        "any.reschedule",
        Harmless,
        16,
        &[
            &["cancel*", "iptal", "absag*", "storn*", "anul*", "odwol*", "verschieb*", "postpone*", "reschedul*"],
            &[
                "appointment*",
                "interview*",
                "meeting*",
                "termin*",
                "gespraech*",
                "vorstellungsgespraech*",
                "randevu*",
                "gorusme*",
                "goeruesme*",
                "mulakat*",
                "programar*",
                "interviu*",
                "spotkani*",
                "rozmow*",
            ],
            &[
                "instead",
                "stattdessen",
                "another",
                "anderen",
                "other day",
                "alternativ*",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "montag",
                "dienstag",
                "mittwoch",
                "donnerstag",
                "freitag",
                "samstag",
                "pazartesi*",
                "sali*",
                "carsamba*",
                "persembe*",
                "cuma*",
                "cumartesi*",
                "luni",
                "marti",
                "miercuri",
                "joi",
                "vineri",
                "poniedzial*",
                "wtorek",
                "srod*",
                "czwartek",
                "piatek",
                "possible",
                "moeglich",
                "geht",
                "works",
            ],
        ],
    )
    .any_order(),
];

// ------------------------------------------------------------------ other languages

pub(crate) static TR: &[Pattern] = &[
    Pattern::new(
        "tr.withdraw_consent",
        Withdrawal,
        4,
        &[&["riza*", "onay*", "izin", "iznimi", "muvafakat*"], &["geri"], &["cek*", "al*"]],
    ),
    // negative imperatives of contact verbs carry the negation in the suffix (-me/-ma)
    Pattern::new(
        "tr.negated_contact",
        Objection,
        1,
        &[&[
            "atmayin*",
            "atmayiniz",
            "gondermeyin*",
            "gondermeyiniz",
            "gondermeyi",
            "goendermeyin*",
            "goendermeyi",
            "yazmayin*",
            "yazmayiniz",
            "aramayin*",
            "aramayiniz",
            "ulasmayin*",
            "gecmeyin*",
            "rahatsiz etmeyin*",
            "mesaj atma",
            "bana yazma",
        ]],
    )
    .negated(),
    Pattern::new(
        "tr.no_more_contact",
        Objection,
        4,
        &[&["mesaj*", "ileti*", "bildirim*", "arama*"], &["istemiyorum", "istemiyoruz"]],
    )
    .any_order()
    .negated(),
    Pattern::new(
        "tr.stop_imperative",
        Objection,
        4,
        &[&["mesaj*", "yazma*", "arama*", "gondermeyi", "goendermeyi"], &["birak*", "durdur*", "kes*"]],
    )
    .any_order(),
    Pattern::new(
        "tr.unsubscribe",
        Objection,
        4,
        &[&["listeden", "abonelik*", "listenizden"], &["cikar*", "cik*", "sil*"]],
    )
    .any_order(),
    Pattern::new(
        "tr.erasure",
        Objection,
        4,
        &[&["numara*", "veri*", "bilgi*", "kayd*"], &["silin*", "sil", "silmeniz*", "silebilir*"]],
    )
    .any_order(),
];

pub(crate) static PL: &[Pattern] = &[
    Pattern::new(
        "pl.withdraw_consent",
        Withdrawal,
        5,
        &[&["wycofuj*", "wycofac", "cofam", "cofnac", "odwoluj*", "cofniecie"], &["zgod*"]],
    )
    .any_order(),
    Pattern::new(
        "pl.negated_contact",
        Objection,
        6,
        &[
            &["nie"],
            &[
                "pisa*",
                "pisz*",
                "kontakt*",
                "wiadomosc*",
                "wiadomosci",
                "dzwon*",
                "sms*",
                "wysyla*",
                "przysyla*",
                "zawracac",
            ],
        ],
    )
    .negated(),
    Pattern::new(
        "pl.stop_imperative",
        Objection,
        5,
        &[&["przesta*", "skonczcie", "koniec z"], &["pisa*", "kontakt*", "wysyla*", "dzwoni*", "wiadomosc*"]],
    )
    .any_order(),
    Pattern::new("pl.unsubscribe", Objection, 4, &[&["wypisz*", "wypisac", "wypiszcie"], &["mnie", "nas", "z"]])
        .any_order(),
    Pattern::new("pl.erasure", Objection, 4, &[&["usun*"], &["numer*", "dane", "danych", "mnie", "list*"]]).any_order(),
    Pattern::new("pl.leave_alone", Objection, 3, &[&["dajcie", "daj", "dajta"], &["spokoj"]]).any_order(),
    Pattern::new(
        "pl.resign_messages",
        Objection,
        4,
        &[&["rezygnuj*"], &["wiadomosc*", "kontakt*", "powiadomien*", "sms*"]],
    )
    .any_order(),
];

pub(crate) static RO: &[Pattern] = &[
    Pattern::new(
        "ro.withdraw_consent",
        Withdrawal,
        5,
        &[&["retrag*", "revoc*", "anulez"], &["consimtamant*", "acord*"]],
    )
    .any_order(),
    Pattern::new(
        "ro.negated_contact",
        Objection,
        6,
        &[&["nu"], &["scrie*", "contact*", "trimite*", "suna*", "mesaj*", "deranja*"]],
    )
    .negated(),
    Pattern::new(
        "ro.stop_imperative",
        Objection,
        4,
        &[&["opriti", "opreste", "oprire", "incetati"], &["mesaj*", "contact*", "scris*", "trimite*"]],
    )
    .any_order(),
    Pattern::new("ro.unsubscribe", Objection, 1, &[&["dezabon*"]]),
    Pattern::new("ro.erasure", Objection, 4, &[&["sterge*"], &["numar*", "date*", "ma", "lista*"]]).any_order(),
    Pattern::new("ro.leave_alone", Objection, 4, &[&["lasati", "lasa", "lasa ma", "lasati ma"], &["pace"]]).any_order(),
];

pub(crate) static RU: &[Pattern] = &[
    Pattern::new("ru.withdraw_consent", Withdrawal, 5, &[&["отзыва*", "отзову", "отозва*", "отзыв"], &["согласи*"]])
        .any_order(),
    Pattern::new(
        "ru.negated_contact",
        Objection,
        6,
        &[
            &["не"],
            &[
                "пиши*",
                "писать",
                "звони*",
                "беспоко*",
                "присыла*",
                "отправля*",
                "контакт*",
                "связыва*",
                "сообщен*",
                "тревож*",
            ],
        ],
    )
    .negated(),
    Pattern::new(
        "ru.stop_imperative",
        Objection,
        4,
        &[
            &["прекрати*", "перестан*", "хватит", "остановит*"],
            &["писа*", "пиши*", "звони*", "сообщен*", "рассыл*", "присыла*"],
        ],
    )
    .any_order(),
    Pattern::new("ru.unsubscribe", Objection, 1, &[&["отпиш*", "отписа*"]]),
    Pattern::new("ru.erasure", Objection, 4, &[&["удали*"], &["номер*", "данны*", "меня", "списк*"]]).any_order(),
    Pattern::new("ru.leave_alone", Objection, 4, &[&["оставьте", "оставь"], &["покое"]]).any_order(),
];

pub(crate) static UK: &[Pattern] = &[
    Pattern::new("uk.withdraw_consent", Withdrawal, 5, &[&["відклика*", "відкликаю", "відкличу"], &["згод*"]])
        .any_order(),
    Pattern::new(
        "uk.negated_contact",
        Objection,
        6,
        &[
            &["не"],
            &["пиш*", "писати", "дзвони*", "телефону*", "турбу*", "надсила*", "контакт*", "повідомлен*", "зв язу*"],
        ],
    )
    .negated(),
    Pattern::new(
        "uk.stop_imperative",
        Objection,
        4,
        &[&["припин*", "перестан*", "досить", "зупиніть"], &["писа*", "пиш*", "повідомлен*", "дзвон*", "надсила*"]],
    )
    .any_order(),
    Pattern::new("uk.unsubscribe", Objection, 1, &[&["відпиш*", "відписа*"]]),
    Pattern::new("uk.erasure", Objection, 4, &[&["видал*"], &["номер*", "дан*", "мене", "списк*"]]).any_order(),
    Pattern::new("uk.leave_alone", Objection, 4, &[&["дайте", "дай"], &["спокій"]]).any_order(),
];

pub(crate) static AR: &[Pattern] = &[
    Pattern::new("ar.withdraw_consent", Withdrawal, 4, &[&["~سحب"], &["~موافق"]]).any_order(),
    Pattern::new(
        "ar.stop_imperative",
        Objection,
        4,
        &[&["توقف*", "اوقف*", "كفى", "كف"], &["~راسل", "~رسائل", "~رساله", "~اتصال", "~تواصل", "~ارسال"]],
    )
    .any_order(),
    // "لا ترسل / لا تتواصلوا": a second-person negative imperative
    Pattern::new(
        "ar.negated_contact",
        Objection,
        2,
        &[&["لا"], &["ترسل*", "تراسل*", "تتواصل*", "تتصل*", "تكتب*", "تزعج*"]],
    )
    .negated(),
    Pattern::new(
        "ar.no_more_contact",
        Objection,
        4,
        &[&["لا اريد", "لا نريد", "لا ارغب"], &["~رسائل", "~رساله", "~تواصل", "~اتصال"]],
    )
    .negated(),
    Pattern::new("ar.no_messaging", Objection, 3, &[&["عدم"], &["~راسل", "~ارسال", "~تواصل", "~اتصال"]]).negated(),
    Pattern::new("ar.unsubscribe", Objection, 3, &[&["الغاء", "ايقاف"], &["الاشتراك", "~اشتراك", "~رسائل"]]),
    Pattern::new("ar.erasure", Objection, 4, &[&["~احذف", "~امسح", "~حذف"], &["~رقم", "~بيانات", "~قائم"]]).any_order(),
    Pattern::new("ar.leave_alone", Objection, 3, &[&["اتركوني", "اتركني", "دعوني", "دعني"], &["~حالي", "~شاني"]])
        .any_order(),
];

pub(crate) static OTHER_REVIEW: &[Pattern] = &[
    Pattern::new("tr.not_interested", Review, 1, &[&["ilgilenmiyorum", "ilgilenmiyoruz"]]),
    Pattern::new("pl.not_interested", Review, 4, &[&["nie"], &["zainteresowan*", "interesuje"]]),
    Pattern::new("ro.not_interested", Review, 4, &[&["nu"], &["interesat*", "intereseaza"]]),
    Pattern::new("ru.not_interested", Review, 4, &[&["не"], &["интересн*", "интересу*"]]).any_order(),
    Pattern::new("uk.not_interested", Review, 4, &[&["не"], &["цікав*"]]).any_order(),
    Pattern::new("ar.not_interested", Review, 3, &[&["لم اعد", "لست"], &["~مهتم"]]),
];

/// Bare keywords of other languages: the whole message (with politeness words) is an
/// objection. In a longer message they are only a hint (review).
pub(crate) const OTHER_KEYWORDS: &[&str] =
    &["unsub", "стоп", "ستوب", "توقف", "iptal", "dezabonare", "wypisz", "отписаться", "відписатися"];

/// Politeness words in other languages (see `FILLERS`).
pub(crate) const OTHER_FILLERS: &[&str] = &[
    "lutfen",
    "luetfen",
    "prosze",
    "va",
    "rog",
    "пожалуйста",
    "будь",
    "ласка",
    "من",
    "فضلك",
    "ارجو",
    "يرجى",
    "dziekuje",
    "multumesc",
    "спасибо",
    "дякую",
    "شكرا",
    "tesekkurler",
    "tesekkuerler",
];

/// Stems of other languages that, in a longer message, suggest an objection (review).
pub(crate) const OTHER_STEMS: &[&str] =
    &["стоп", "отпис", "відпис", "iptal", "durdur", "dezabon", "wypis", "توقف", "ستوب", "الغاء"];
