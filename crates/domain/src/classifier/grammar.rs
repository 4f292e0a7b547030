//! The pattern engine: a pattern is a few groups of word alternatives that must all occur
//! within a window of tokens (in order, or in any order for verb-final German), on the folded
//! text ([`super::normalise::fold_tokens`]). Alternatives are written naturally and folded once:
//! `word` matches the word, `stem*` any word starting with it, `~part` any word containing it
//! (Arabic, where prefixes attach to the word), and several words in one alternative match
//! consecutive tokens.

use std::sync::OnceLock;

use super::normalise::fold;

/// What a matching pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A clear objection (tier 1 unless a check downgrades it to a review).
    Objection,
    /// A clear consent withdrawal (tier 1 unless downgraded).
    Withdrawal,
    /// Possibly an objection: block and ask a human (tier 2).
    Review,
    /// A harmless sense of a keyword ("Stoppuhr", "bus stop", "Kündigungsfrist"): the words it
    /// covers do not count as keywords.
    Harmless,
}

/// A pattern as written in [`super::languages`].
#[derive(Debug)]
pub(crate) struct Pattern {
    /// Stable id (`de.negated_contact`), shown in reviews and audit entries.
    pub id: &'static str,
    /// Groups of alternatives; one alternative of every group must match.
    pub groups: &'static [&'static [&'static str]],
    /// How many tokens the matched groups may span, from the first matched token to the end of
    /// the last (0: any; ignored for a single group).
    pub window: usize,
    /// Whether the groups must appear in the order given.
    pub ordered: bool,
    /// What it means.
    pub effect: Effect,
    /// The pattern asks for something positive ("remove me", "ich widerspreche"): a negation
    /// right before or after it turns it into a review ("don't remove me", "ich widerspreche
    /// nicht"). Patterns that carry their own negation ("keine Nachrichten mehr") are not
    /// positive; a second negation right after them still turns them into a review.
    pub positive: bool,
    /// Words that, right before the match, make the candidate the subject ("ich höre auf" is
    /// about their job): the match becomes a review.
    pub subject_blockers: &'static [&'static str],
    /// The last group must end the message (only filler words after it): German separable
    /// verbs ("melden Sie mich ab" but not "ich melde mich ab Montag").
    pub at_end: bool,
}

impl Pattern {
    /// A pattern with the defaults: ordered, positive, no blockers, anywhere.
    pub(crate) const fn new(
        id: &'static str,
        effect: Effect,
        window: usize,
        groups: &'static [&'static [&'static str]],
    ) -> Self {
        Self { id, groups, window, ordered: true, effect, positive: true, subject_blockers: &[], at_end: false }
    }

    pub(crate) const fn any_order(mut self) -> Self {
        self.ordered = false;
        self
    }

    pub(crate) const fn negated(mut self) -> Self {
        self.positive = false;
        self
    }

    pub(crate) const fn blockers(mut self, words: &'static [&'static str]) -> Self {
        self.subject_blockers = words;
        self
    }

    pub(crate) const fn at_end(mut self) -> Self {
        self.at_end = true;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Exact(String),
    Prefix(String),
    Contains(String),
}

impl Part {
    fn compile(word: &str) -> Option<Self> {
        if let Some(rest) = word.strip_prefix('~') {
            let f = fold(rest);
            return (!f.is_empty()).then_some(Self::Contains(f));
        }
        if let Some(rest) = word.strip_suffix('*') {
            let f = fold(rest);
            return (!f.is_empty()).then_some(Self::Prefix(f));
        }
        let f = fold(word);
        (!f.is_empty()).then_some(Self::Exact(f))
    }

    fn matches(&self, token: &str) -> bool {
        match self {
            Self::Exact(w) => token == w,
            Self::Prefix(p) => token.starts_with(p.as_str()),
            Self::Contains(p) => token.contains(p.as_str()),
        }
    }
}

/// An alternative: consecutive parts.
type Alternative = Vec<Part>;

/// A pattern compiled to folded parts.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub pattern: &'static Pattern,
    groups: Vec<Vec<Alternative>>,
}

fn compile_alternative(alt: &str) -> Alternative {
    // "nicht mehr" -> [nicht, mehr]; a word that folds to two tokens ("e-mail") is split too
    let mut parts = Vec::new();
    for word in alt.split(' ').filter(|w| !w.is_empty()) {
        let (pre, core, post) = match (word.strip_prefix('~'), word.strip_suffix('*')) {
            (Some(rest), _) => ("~", rest, ""),
            (None, Some(rest)) => ("", rest, "*"),
            (None, None) => ("", word, ""),
        };
        let folded = fold(core);
        let pieces: Vec<&str> = folded.split(' ').filter(|p| !p.is_empty()).collect();
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let spec = format!("{}{piece}{}", if i == 0 { pre } else { "" }, if i + 1 == n { post } else { "" });
            if let Some(part) = Part::compile(&spec) {
                parts.push(part);
            }
        }
    }
    parts
}

/// Compiles a table of patterns (once per table).
pub(crate) fn compile(patterns: &'static [Pattern]) -> Vec<Compiled> {
    patterns
        .iter()
        .map(|p| Compiled {
            pattern: p,
            groups: p
                .groups
                .iter()
                .map(|alts| alts.iter().map(|a| compile_alternative(a)).filter(|a| !a.is_empty()).collect())
                .collect(),
        })
        .collect()
}

/// Compiled tables, built on first use.
pub(crate) fn compiled(cell: &'static OnceLock<Vec<Compiled>>, table: &'static [Pattern]) -> &'static [Compiled] {
    cell.get_or_init(|| compile(table))
}

/// Where a pattern matched: the token span and the tokens of its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    pub start: usize,
    pub end: usize,
    pub tokens: Vec<usize>,
}

/// All (start, end exclusive) positions where an alternative of a group matches.
fn positions(group: &[Alternative], tokens: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, _) in tokens.iter().enumerate() {
        for alt in group {
            let fits = alt.len() <= tokens.len().saturating_sub(i)
                && alt.iter().zip(tokens.iter().skip(i)).all(|(part, tok)| part.matches(tok));
            if fits {
                out.push((i, i + alt.len()));
            }
        }
    }
    out
}

impl Compiled {
    /// The first match of this pattern in the tokens, if any. `filler` says which tokens may
    /// follow an `at_end` pattern.
    pub(crate) fn find(&self, tokens: &[String], filler: impl Fn(&str) -> bool) -> Option<Match> {
        let window =
            if self.pattern.window == 0 || self.groups.len() == 1 { tokens.len() } else { self.pattern.window };
        // a group without a position rules the pattern out: the others are not searched (most
        // messages match no pattern, and this runs for every pattern of every inbound text)
        let mut pos: Vec<Vec<(usize, usize)>> = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let found = positions(group, tokens);
            if found.is_empty() {
                return None;
            }
            pos.push(found);
        }
        let mut starts: Vec<usize> = pos.iter().flatten().map(|p| p.0).collect();
        starts.sort_unstable();
        starts.dedup();
        for s in starts {
            let limit = s + window;
            let mut chosen: Vec<(usize, usize)> = Vec::with_capacity(pos.len());
            let mut ok = true;
            let mut prev_end = s;
            for (gi, g) in pos.iter().enumerate() {
                let pick = if self.pattern.ordered {
                    let min_start = if gi == 0 { s } else { prev_end };
                    g.iter().find(|(a, b)| *a >= min_start && *b <= limit && (gi != 0 || *a == s))
                } else {
                    g.iter().find(|(a, b)| *a >= s && *b <= limit)
                };
                match pick {
                    Some(p) => {
                        prev_end = p.1;
                        chosen.push(*p);
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            let start = chosen.iter().map(|p| p.0).min().unwrap_or(s);
            let end = chosen.iter().map(|p| p.1).max().unwrap_or(s);
            if !self.pattern.ordered && start != s {
                continue;
            }
            if self.pattern.at_end {
                let last_end = chosen.last().map_or(end, |p| p.1);
                if !tokens.iter().skip(last_end).all(|t| filler(t)) {
                    continue;
                }
            }
            let mut tokens: Vec<usize> = chosen.iter().flat_map(|(a, b)| *a..*b).collect();
            tokens.sort_unstable();
            tokens.dedup();
            return Some(Match { start, end, tokens });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::normalise::fold_tokens;

    static ORDERED: [Pattern; 1] = [Pattern::new("t.ordered", Effect::Objection, 4, &[&["nicht mehr"], &["schreib*"]])];
    static ANY: [Pattern; 1] =
        [Pattern::new("t.any", Effect::Objection, 5, &[&["nicht mehr"], &["schreib*"]]).any_order()];

    fn find(table: &'static [Pattern], text: &str) -> Option<Match> {
        let c = compile(table);
        c.first().and_then(|c| c.find(&fold_tokens(text), |_| false))
    }

    #[test]
    fn ordered_and_unordered_groups_within_the_window() {
        assert!(find(&ORDERED, "bitte nicht mehr schreiben").is_some());
        assert!(find(&ORDERED, "schreiben sie nicht mehr").is_none());
        assert!(find(&ANY, "schreiben sie mir nicht mehr").is_some());
        assert!(find(&ANY, "schreiben sie mir bitte ganz sicher nicht mehr").is_none(), "outside the window");
        let m = find(&ANY, "bitte schreiben sie mir nicht mehr").unwrap();
        assert_eq!((m.start, m.end), (1, 6));
        assert_eq!(m.tokens, vec![1, 4, 5]);
    }
}
