//! The rule ids of RULES.md. Every decision and domain event names the rule that made it, so
//! the audit trail says not only what happened but why.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule of RULES.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// DPO approval before sending.
    R1,
    /// sub-processors and US transfer disclosed.
    R2,
    /// one consent per purpose.
    R3,
    /// only affirmative acts grant consent.
    R4,
    /// complete, append-only consent evidence.
    R5,
    /// consent request content.
    R6,
    /// re-consent on new legal texts.
    R7,
    /// withdrawal as easy as consent.
    R8,
    /// talent-pool consent expiry.
    R9,
    /// only the consent request before consent.
    R10,
    /// objection by any channel.
    R11,
    /// objection suppresses at once and cancels the outbox.
    R12,
    /// objection scope.
    R13,
    /// one confirmation, replies in the window, opt-in keyword.
    R14,
    /// first-message notice.
    R15,
    /// possible objections are reviewed.
    R16,
    /// suppression survives erasure.
    R17,
    /// objection opens a subject request.
    R18,
    /// opt-in names the business.
    R19,
    /// 24-hour service window.
    R20,
    /// templates approved; marketing needs talent-pool consent.
    R21,
    /// off-WhatsApp opt-outs block WhatsApp.
    R22,
    /// every category has a retention rule.
    R23,
    /// erase after process end.
    R24,
    /// archive after inactivity.
    R25,
    /// legal hold.
    R26,
    /// erasure and crypto-shredding.
    R27,
    /// retention runs idempotent, previewable, audited.
    R28,
    /// subject request deadlines.
    R29,
    /// access/portability export.
    R30,
    /// erasure deferred in the claims window.
    R31,
    /// restriction.
    R32,
    /// encryption at rest, no operator content access.
    R33,
    /// tamper-evident audit log.
    R34,
    /// Art. 30 record.
    R35,
    /// privacy by default.
    R36,
}

impl Rule {
    /// The id as written in RULES.md (`"R12"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::R1 => "R1",
            Self::R2 => "R2",
            Self::R3 => "R3",
            Self::R4 => "R4",
            Self::R5 => "R5",
            Self::R6 => "R6",
            Self::R7 => "R7",
            Self::R8 => "R8",
            Self::R9 => "R9",
            Self::R10 => "R10",
            Self::R11 => "R11",
            Self::R12 => "R12",
            Self::R13 => "R13",
            Self::R14 => "R14",
            Self::R15 => "R15",
            Self::R16 => "R16",
            Self::R17 => "R17",
            Self::R18 => "R18",
            Self::R19 => "R19",
            Self::R20 => "R20",
            Self::R21 => "R21",
            Self::R22 => "R22",
            Self::R23 => "R23",
            Self::R24 => "R24",
            Self::R25 => "R25",
            Self::R26 => "R26",
            Self::R27 => "R27",
            Self::R28 => "R28",
            Self::R29 => "R29",
            Self::R30 => "R30",
            Self::R31 => "R31",
            Self::R32 => "R32",
            Self::R33 => "R33",
            Self::R34 => "R34",
            Self::R35 => "R35",
            Self::R36 => "R36",
        }
    }

    /// Parses `"R12"`.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "R1" => Self::R1,
            "R2" => Self::R2,
            "R3" => Self::R3,
            "R4" => Self::R4,
            "R5" => Self::R5,
            "R6" => Self::R6,
            "R7" => Self::R7,
            "R8" => Self::R8,
            "R9" => Self::R9,
            "R10" => Self::R10,
            "R11" => Self::R11,
            "R12" => Self::R12,
            "R13" => Self::R13,
            "R14" => Self::R14,
            "R15" => Self::R15,
            "R16" => Self::R16,
            "R17" => Self::R17,
            "R18" => Self::R18,
            "R19" => Self::R19,
            "R20" => Self::R20,
            "R21" => Self::R21,
            "R22" => Self::R22,
            "R23" => Self::R23,
            "R24" => Self::R24,
            "R25" => Self::R25,
            "R26" => Self::R26,
            "R27" => Self::R27,
            "R28" => Self::R28,
            "R29" => Self::R29,
            "R30" => Self::R30,
            "R31" => Self::R31,
            "R32" => Self::R32,
            "R33" => Self::R33,
            "R34" => Self::R34,
            "R35" => Self::R35,
            "R36" => Self::R36,
            _ => return None,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for n in 1..=36 {
            let id = format!("R{n}");
            assert_eq!(Rule::parse(&id).map(Rule::as_str), Some(id.as_str()));
        }
        assert_eq!(Rule::parse("R37"), None);
    }
}
