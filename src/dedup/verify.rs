//! The decision for one pair: a new copy against a story's representative (never against
//! other members, so A~B and B~C cannot chain A and C). Pure: same inputs, same answer.

use super::policy::{
    CONTENT_OC, CONTENT_OC_CORROBORATED, LEDE_OC, LONG_WORDS, NUMBERS_AGREE, Policy, Rule,
    SHORT_MIN_SHARED, SHORT_OC, SHORT_WORDS, TITLE_HOURS,
};
use super::profile::{Profile, overlap, shared};

/// The outcome of comparing a copy with a representative.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the copy joins the representative's story.
    pub merge: bool,
    /// The rule that decided (or, for a refusal, the rule that came closest).
    pub rule: Rule,
    /// The score the rule compared (overlap coefficient; 1 for an exact title).
    pub score: f64,
    /// Why, in words: the scores against the thresholds.
    pub reason: String,
}

fn no(rule: Rule, score: f64, reason: String) -> Verdict {
    Verdict {
        merge: false,
        rule,
        score,
        reason,
    }
}

fn yes(rule: Rule, score: f64, reason: String) -> Verdict {
    Verdict {
        merge: true,
        rule,
        score,
        reason,
    }
}

/// Compares copy `a` (new) with representative `rep`.
pub fn compare(a: &Profile, rep: &Profile, policy: &Policy) -> Verdict {
    let apart = (a.published - rep.published).abs();
    let oc = overlap(&a.set, &rep.set);
    if apart > policy.window_secs {
        return no(
            Rule::Long,
            oc,
            format!("published {}h apart, beyond the window", apart / 3600),
        );
    }
    let min_words = a.words.min(rep.words) as usize;
    if a.feed == rep.feed {
        let same = a.text_hash == rep.text_hash && min_words > 0;
        return if same {
            yes(
                Rule::SameFeed,
                oc,
                format!("same feed, the text is the same (oc {oc:.2})"),
            )
        } else {
            no(
                Rule::SameFeed,
                oc,
                format!("same feed and the texts differ (oc {oc:.2} < 1.00)"),
            )
        };
    }
    if min_words < SHORT_WORDS {
        let same_title = a.title_hash.is_some() && a.title_hash == rep.title_hash;
        return if same_title && apart <= TITLE_HOURS * 3600 {
            yes(
                Rule::Title,
                1.0,
                "the same normalised title from another feed".into(),
            )
        } else if same_title {
            no(
                Rule::Title,
                1.0,
                format!(
                    "the same title but {}h apart (> {TITLE_HOURS}h)",
                    apart / 3600
                ),
            )
        } else {
            no(
                Rule::Title,
                0.0,
                format!("too little text ({min_words} words) and the titles differ"),
            )
        };
    }
    let (small, big) = if a.set.len() <= rep.set.len() {
        (a, rep)
    } else {
        (rep, a)
    };
    if !small.numbers.is_empty() {
        let agree = shared(&small.numbers, &big.numbers) as f64 / small.numbers.len() as f64;
        if agree < NUMBERS_AGREE {
            return no(
                Rule::Numbers,
                oc,
                format!(
                    "overlap {oc:.2} but the numbers disagree ({agree:.2} of them shared, needs {NUMBERS_AGREE})"
                ),
            );
        }
    }
    if min_words < LONG_WORDS {
        let n = shared(&a.set, &rep.set);
        return if oc >= SHORT_OC && n >= SHORT_MIN_SHARED {
            yes(
                Rule::Short,
                oc,
                format!("short text: containment {oc:.2} >= {SHORT_OC}, {n} shared"),
            )
        } else {
            no(
                Rule::Short,
                oc,
                format!(
                    "short text: containment {oc:.2} (needs {SHORT_OC}), {n} shared (needs {SHORT_MIN_SHARED})"
                ),
            )
        };
    }
    if oc >= CONTENT_OC {
        return yes(Rule::Long, oc, format!("overlap {oc:.2} >= {CONTENT_OC}"));
    }
    if oc < CONTENT_OC_CORROBORATED {
        return no(
            Rule::Long,
            oc,
            format!("overlap {oc:.2} < {CONTENT_OC_CORROBORATED}"),
        );
    }
    let (small, big) = if a.set.len() <= rep.set.len() {
        (a, rep)
    } else {
        (rep, a)
    };
    let lede_in = |x: &Profile, y: &Profile| {
        if x.lede.is_empty() {
            0.0
        } else {
            overlap(&x.lede, &y.set)
        }
    };
    let lede = lede_in(small, big).max(lede_in(big, small));
    let title = overlap(&a.title_words, &rep.title_words);
    if lede >= LEDE_OC {
        yes(
            Rule::Corroborated,
            oc,
            format!(
                "overlap {oc:.2} >= {CONTENT_OC_CORROBORATED} with lede {lede:.2} / title {title:.2}"
            ),
        )
    } else {
        no(
            Rule::Corroborated,
            oc,
            format!(
                "overlap {oc:.2} < {CONTENT_OC} and lede {lede:.2} < {LEDE_OC} (title words {title:.2})"
            ),
        )
    }
}
