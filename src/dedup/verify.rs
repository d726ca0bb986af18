//! The decision for one pair: a new copy against a story's representative (never against
//! other members, so A~B and B~C cannot chain A and C). Pure: same inputs, same answer.

use super::policy::{
    CONTENT_OC, CONTENT_OC_CORROBORATED, COPIED_MIN, COPIED_RUN, COPIED_SHARE, COPIED_TITLE_OC,
    LEDE_OC, LONG_WORDS, NUMBER_CONFLICTS_MAX, Policy, Rule, SHORT_MIN_SHARED, SHORT_OC,
    SHORT_OC_SAME_TITLE, SHORT_TITLE_OC, SHORT_WORDS, TITLE_HOURS,
};
use super::profile::{Profile, copied_shingles, number_conflicts, overlap, shared};

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

/// Compares copy `a` (new; `order` is its shingle hashes in document order, the
/// fingerprint's `shingles`) with representative `rep`.
pub fn compare(a: &Profile, order: &[u32], rep: &Profile, policy: &Policy) -> Verdict {
    let apart = (a.published - rep.published).abs();
    let oc = overlap(a.set(), rep.set());
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
    let (small, big) = if a.set().len() <= rep.set().len() {
        (a, rep)
    } else {
        (rep, a)
    };
    let conflicts = number_conflicts(small.numbers(), big.numbers());
    if conflicts > NUMBER_CONFLICTS_MAX {
        return no(
            Rule::Numbers,
            oc,
            format!(
                "overlap {oc:.2} but {conflicts} figures are stated differently in the same words (allowed {NUMBER_CONFLICTS_MAX})"
            ),
        );
    }
    let title = overlap(a.title_words(), rep.title_words());
    if min_words < LONG_WORDS {
        let n = shared(a.set(), rep.set());
        let contained = (oc >= SHORT_OC && title >= SHORT_TITLE_OC)
            || (oc >= SHORT_OC_SAME_TITLE && title >= 1.0);
        return if contained && n >= SHORT_MIN_SHARED {
            yes(
                Rule::Short,
                oc,
                format!("short text: containment {oc:.2}, title words {title:.2}, {n} shared"),
            )
        } else {
            no(
                Rule::Short,
                oc,
                format!(
                    "short text: containment {oc:.2} with title words {title:.2} (needs {SHORT_OC} with {SHORT_TITLE_OC}, or {SHORT_OC_SAME_TITLE} with 1), {n} shared (needs {SHORT_MIN_SHARED})"
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
    let copied = copied_shingles(order, rep.set(), COPIED_RUN);
    let smaller = a.set().len().min(rep.set().len()) as f64;
    if copied >= COPIED_MIN || (copied as f64 >= COPIED_SHARE * smaller && title >= COPIED_TITLE_OC)
    {
        yes(
            Rule::Corroborated,
            oc,
            format!(
                "overlap {oc:.2} >= {CONTENT_OC_CORROBORATED} with {copied} shingles in verbatim passages (>= {COPIED_MIN}, or >= {COPIED_SHARE} of the smaller text with title words {title:.2} >= {COPIED_TITLE_OC})"
            ),
        )
    } else {
        let lede_in = |x: &Profile, y: &Profile| {
            if x.lede().is_empty() {
                0.0
            } else {
                overlap(x.lede(), y.set())
            }
        };
        let lede = lede_in(small, big).max(lede_in(big, small));
        no(
            Rule::Corroborated,
            oc,
            format!(
                "overlap {oc:.2} < {CONTENT_OC} and {copied} shingles in verbatim passages (needs {COPIED_MIN}, or {COPIED_SHARE} of the smaller text with title words >= {COPIED_TITLE_OC}); lede {lede:.2} (of {LEDE_OC}), title words {title:.2}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::boilerplate::LearnedLines;
    use crate::dedup::fingerprint::{Fingerprint, fingerprint};

    fn copy(feed: i64, title: &str, text: &str) -> (Profile, Fingerprint) {
        let fp = fingerprint(title, text, feed, &LearnedLines::default());
        (Profile::new(feed, feed, 1_750_000_000, false, &fp), fp)
    }

    fn verdict(a: (&str, &str), rep: (&str, &str)) -> Verdict {
        let (a, fp) = copy(1, a.0, a.1);
        let (rep, _) = copy(2, rep.0, rep.1);
        compare(&a, &fp.shingles, &rep, &Policy::default())
    }

    /// A sentence of its own words, with `slot` as its third word.
    fn sentence(i: usize, slot: &str) -> String {
        format!(
            "The regional {slot} approved plan{i} after a long debate on measure{i} in the capital on the evening of vote{i}."
        )
    }

    fn text(range: std::ops::Range<usize>, slot: &str) -> String {
        range
            .map(|i| sentence(i, slot))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_different_figure_in_the_same_words_refuses_and_a_missing_one_does_not() {
        let wire = format!(
            "{}\nShares in Acme rose 4.1% on Tuesday after the company reported record results.",
            text(0..4, "council")
        );
        let other = format!(
            "{}\nShares in Acme rose 2.7% on Tuesday after the company reported record results.",
            text(0..4, "council")
        );
        let v = verdict(("Acme shares rise", &other), ("Acme shares rise", &wire));
        assert!(!v.merge && v.rule == Rule::Numbers, "{v:?}");
        // A copy that adds a dated line and 300 jobs contradicts nothing.
        let dated = format!("{wire}\nPublished on 14 July 2025, the plan affects 300 jobs.");
        let v = verdict(("Acme shares rise", &dated), ("Acme shares rise", &wire));
        assert!(v.merge, "{v:?}");
    }

    #[test]
    fn moderate_overlap_merges_only_with_long_verbatim_passages() {
        // Four sentences verbatim, then the outlet's own background: a real copy pattern.
        let wire = text(0..12, "council");
        let copy = format!("{}\n{}", text(0..4, "council"), text(100..112, "board"));
        let v = verdict(("Plan approved", &copy), ("Council approves plan", &wire));
        assert!(v.merge && v.rule == Rule::Corroborated, "{v:?}");
        assert!(v.score < CONTENT_OC);
        // The same template about another body: every sentence differs in one word, so
        // the shared stretches are short.
        let templated = text(0..12, "assembly");
        let v = verdict(
            ("Plan approved", &templated),
            ("Council approves plan", &wire),
        );
        assert!(!v.merge && v.rule == Rule::Corroborated, "{v:?}");
        assert!(v.score >= CONTENT_OC_CORROBORATED, "{v:?}");
    }

    #[test]
    fn a_description_mostly_in_one_verbatim_passage_merges_under_the_same_headline() {
        let wire = text(0..12, "council");
        // A 50-word blurb: a caption of its own, then the wire's first two sentences.
        let blurb = format!(
            "Crowds gathered outside the hall on a grey morning as members arrived for the session, some carrying banners and others waving flags at passing cars.\n{}",
            text(0..2, "council")
        );
        let title = "Regional council approves plan after long debate";
        let v = verdict((title, &blurb), (title, &wire));
        assert!(v.merge && v.rule == Rule::Corroborated, "{v:?}");
        assert!(v.score < CONTENT_OC);
        // The same blurb under an unrelated headline is not enough.
        let v = verdict(("Crowds gather for the session", &blurb), (title, &wire));
        assert!(!v.merge, "{v:?}");
    }

    #[test]
    fn a_short_text_needs_a_related_title_and_less_containment_with_the_same_one() {
        let wire = text(0..6, "council");
        // The first 28 words with one word edited: containment between 0.7 and 0.85.
        let words: Vec<&str> = wire.split_whitespace().take(28).collect();
        let mut edited = words.clone();
        edited[10] = "lengthy";
        let desc = edited.join(" ");
        let title = "Regional council approves plan after long debate";
        let v = verdict((title, &desc), (&format!("{title} - Reuters"), &wire));
        assert!(v.merge && v.rule == Rule::Short, "{v:?}");
        assert!(v.score < SHORT_OC);
        let v = verdict(
            ("Storm closes schools across the north", &desc),
            (title, &wire),
        );
        assert!(!v.merge && v.rule == Rule::Short, "{v:?}");
        // Contained entirely, it merges under a related headline but not an unrelated one.
        let desc = words.join(" ");
        let v = verdict(("Council approves plan", &desc), (title, &wire));
        assert!(v.merge, "{v:?}");
        let v = verdict(
            ("Storm closes schools across the north", &desc),
            (title, &wire),
        );
        assert!(!v.merge, "{v:?}");
    }
}
