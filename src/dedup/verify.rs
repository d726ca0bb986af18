//! The decision for one pair: a new copy against one of a story's indexed copies (see
//! `policy::MAX_STORY_COPIES`). Pure and symmetric: same inputs, same answer, whichever of
//! the two came first.

use super::policy::{
    CONTENT_OC, HEADLINE_LONG_SHARED, HEADLINE_MAX_WORDS, HEADLINE_OC, HEADLINE_TEXT_OC,
    LONG_PASSAGE_OC, LONG_PASSAGE_SHARED, MIN_SHARED_SHINGLES, NEAR_HOURS, NEAR_PASSAGE_OC,
    NUMBER_CONFLICT_SHARE, PASSAGE_OC, PASSAGE_SHARED, Policy, Rule, SAME_FEED_OC,
    SHINGLES_PER_CONFLICT, SHORT_WORDS, TITLE_HOURS, TITLE_MIN_WORDS,
};
use super::profile::{Profile, number_conflicts, overlap, shared};

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

/// Compares copy `a` (new) with `other`, a copy already placed. The rules are symmetric:
/// which copy came first does not change the answer.
pub fn compare(a: &Profile, other: &Profile, policy: &Policy) -> Verdict {
    let apart = (a.published - other.published).abs();
    let oc = overlap(a.set(), other.set());
    if apart > policy.window_secs {
        return no(
            Rule::Overlap,
            oc,
            format!("published {}h apart, beyond the window", apart / 3600),
        );
    }
    let min_words = a.words.min(other.words) as usize;
    if a.feed == other.feed || (a.site != 0 && a.site == other.site) {
        // One outlet's two items (the same feed, or links to the same site): an item
        // republished under a new GUID, with the same text or the earlier text with
        // paragraphs added (containment of the smaller in the other). An outlet does not
        // carry one wire story twice; its templated items (results, weather, the next
        // day's story on the same subject, re-using the background) are not copies.
        let same = min_words > 0 && (a.text_hash == other.text_hash || oc >= SAME_FEED_OC);
        return if same {
            yes(
                Rule::SameFeed,
                oc,
                format!(
                    "same outlet, {oc:.2} of the smaller text is in the other (>= {SAME_FEED_OC})"
                ),
            )
        } else {
            no(
                Rule::SameFeed,
                oc,
                format!(
                    "same outlet and only {oc:.2} of the smaller text is in the other (needs {SAME_FEED_OC})"
                ),
            )
        };
    }
    if min_words < SHORT_WORDS {
        let same_title = a.title_hash().is_some() && a.title_hash() == other.title_hash();
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
    let n = shared(a.set(), other.set());
    // Counted both ways, the larger: the same answer whichever copy came first (a figure
    // context of one text is checked against the other's, which is not symmetric).
    let conflicts = number_conflicts(a.numbers(), other.numbers())
        .max(number_conflicts(other.numbers(), a.numbers()));
    let agreed = shared(a.numbers(), other.numbers());
    if conflicts as f64 > NUMBER_CONFLICT_SHARE * agreed as f64
        && n < SHINGLES_PER_CONFLICT * conflicts
    {
        return no(
            Rule::Numbers,
            oc,
            format!(
                "overlap {oc:.2} but {conflicts} figure contexts are stated differently in the same words, only {agreed} alike (at most {NUMBER_CONFLICT_SHARE} per figure alike) and {n} shingles shared (fewer than {SHINGLES_PER_CONFLICT} per figure context stated differently)"
            ),
        );
    }
    let title = overlap(a.title_words(), other.title_words());
    let facts = format!(
        "overlap {oc:.2} ({n} shingles shared), headline words {title:.2}, published {}h apart",
        apart / 3600
    );
    if n < MIN_SHARED_SHINGLES {
        return no(
            Rule::Overlap,
            oc,
            format!("{facts}: fewer than {MIN_SHARED_SHINGLES} shingles shared"),
        );
    }
    if oc >= CONTENT_OC {
        return yes(
            Rule::Overlap,
            oc,
            format!("{facts}: overlap >= {CONTENT_OC}"),
        );
    }
    // A sentence's worth shared (at a lower overlap between copies published within
    // hours), or at a lower overlap two sentences' worth.
    let near = apart <= NEAR_HOURS * 3600;
    let passage = [
        (PASSAGE_OC, PASSAGE_SHARED, false),
        (LONG_PASSAGE_OC, LONG_PASSAGE_SHARED, false),
    ]
    .into_iter()
    .chain(near.then_some((NEAR_PASSAGE_OC, PASSAGE_SHARED, true)))
    .find(|&(min_oc, min_shared, _)| oc >= min_oc && n >= min_shared);
    if let Some((min_oc, min_shared, within)) = passage {
        let when = if within {
            format!(" (published within {NEAR_HOURS}h)")
        } else {
            String::new()
        };
        return yes(
            Rule::Passage,
            oc,
            format!("{facts}: overlap >= {min_oc} with >= {min_shared} shingles shared{when}"),
        );
    }
    let title_words = a.title_words().len().min(other.title_words().len());
    if title >= HEADLINE_OC
        && title_words >= TITLE_MIN_WORDS
        && oc >= HEADLINE_TEXT_OC
        && (min_words <= HEADLINE_MAX_WORDS || n >= HEADLINE_LONG_SHARED)
    {
        return yes(
            Rule::Headline,
            oc,
            format!("{facts}: headline words >= {HEADLINE_OC} and overlap >= {HEADLINE_TEXT_OC}"),
        );
    }
    no(
        Rule::Overlap,
        oc,
        format!(
            "{facts}: needs overlap {CONTENT_OC}, or {PASSAGE_OC} with {PASSAGE_SHARED} shingles shared ({NEAR_PASSAGE_OC} within {NEAR_HOURS}h), or {LONG_PASSAGE_OC} with {LONG_PASSAGE_SHARED}, or headline words {HEADLINE_OC} with overlap {HEADLINE_TEXT_OC} (and {HEADLINE_LONG_SHARED} shingles shared when both texts are over {HEADLINE_MAX_WORDS} words)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::fingerprint::{Fingerprint, fingerprint};

    fn copy(feed: i64, title: &str, text: &str) -> (Profile, Fingerprint) {
        let mut fp = fingerprint(title, text);
        fp.site = feed as u32;
        (Profile::new(feed, feed, 1_750_000_000, false, &fp), fp)
    }

    fn verdict(a: (&str, &str), other: (&str, &str)) -> Verdict {
        verdict_apart(a, other, 0)
    }

    /// [`verdict`] with the two copies published `hours` apart.
    fn verdict_apart(a: (&str, &str), other: (&str, &str), hours: i64) -> Verdict {
        let (mut a, _) = copy(1, a.0, a.1);
        let (other, _) = copy(2, other.0, other.1);
        a.published += hours * 3600;
        compare(&a, &other, &Policy::default())
    }

    /// Word `i` of a vocabulary where every word is distinct and none is a figure.
    fn word(mut i: usize) -> String {
        let mut w = String::from("q");
        loop {
            w.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                return w;
            }
        }
    }

    /// The words `range` as a text, a line every 20 words.
    fn words(range: std::ops::Range<usize>) -> String {
        let w: Vec<String> = range.map(word).collect();
        w.chunks(20)
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn overlap_alone_merges_from_the_content_threshold() {
        let wire = words(0..300);
        // The first 110 words, then the outlet's own background.
        let copy = format!("{}\n{}", words(0..110), words(1000..1200));
        let v = verdict(("Plan approved", &copy), ("Council approves plan", &wire));
        assert!(v.merge && v.rule == Rule::Overlap, "{v:?}");
        assert!(v.score >= CONTENT_OC && v.score < 0.5, "{v:?}");
        // An independent text sharing a stock phrase of 8 words stays apart.
        let other = format!("{}\n{}", words(40..48), words(2000..2300));
        let v = verdict(("Plan approved", &other), ("Council approves plan", &wire));
        assert!(!v.merge, "{v:?}");
    }

    #[test]
    fn a_lower_overlap_merges_with_a_sentences_worth_shared() {
        let wire = words(0..300);
        // 80 consecutive words of the wire: overlap about 0.26, 76 shingles shared.
        let copy = format!("{}\n{}", words(0..80), words(1000..1300));
        let v = verdict(("Plan approved", &copy), ("Council approves plan", &wire));
        assert!(v.merge && v.rule == Rule::Passage, "{v:?}");
        // A 44-word text sharing a 14-word phrase with it: overlap 0.25, 10 shingles.
        let blurb = format!("{}\n{}", words(40..54), words(3000..3030));
        let v = verdict(("Plan approved", &blurb), ("Council approves plan", &wire));
        assert!(!v.merge && v.score >= PASSAGE_OC, "{v:?}");
    }

    #[test]
    fn the_same_headline_needs_only_a_little_overlap() {
        let wire = words(0..300);
        // A caption, the wire's lede (30 words), the outlet's own text.
        let copy = format!(
            "{}\n{}\n{}",
            words(5000..5030),
            words(0..30),
            words(1000..1300)
        );
        let title = "Regional council approves flood plan after long debate";
        let v = verdict((title, &copy), (title, &wire));
        assert!(v.merge && v.rule == Rule::Headline, "{v:?}");
        let v = verdict(
            ("Storm closes schools across the north", &copy),
            (title, &wire),
        );
        assert!(!v.merge, "{v:?}");
        // A headline of fewer significant words is what every outlet writes of the event
        // ("Pope Benedict is dead"): not evidence of one wire's text.
        let v = verdict(
            ("Pope Benedict is dead", &copy),
            ("Pope Benedict is dead", &wire),
        );
        assert!(!v.merge, "{v:?}");
        // Two long texts under one headline sharing a few stock phrases (8 shingles) are
        // two reports of the event; a description sharing as few is the wire's lede.
        let report = format!(
            "{}\n{}\n{}",
            words(6000..6040),
            words(2..14),
            words(7000..7040)
        );
        let v = verdict((title, &report), (title, &wire));
        assert!(!v.merge && v.score >= HEADLINE_TEXT_OC, "{v:?}");
        let description = format!("{}\n{}", words(10..23), words(8000..8025));
        let v = verdict((title, &description), (title, &wire));
        assert!(v.merge && v.rule == Rule::Headline, "{v:?}");
    }

    #[test]
    fn one_outlets_two_items_merge_only_when_one_contains_the_other() {
        let first = words(0..200);
        let updated = format!("{first}\n{}", words(3000..3060));
        let (a, _) = copy(7, "Plan approved", &updated);
        let (b, _) = copy(7, "Plan approved", &first);
        let v = compare(&a, &b, &Policy::default());
        assert!(v.merge && v.rule == Rule::SameFeed, "{v:?}");
        // The next day's item of the same template shares its background only.
        let next = format!("{}\n{}", words(100..200), words(4000..4100));
        let (a, _) = copy(7, "Plan approved", &next);
        let v = compare(&a, &b, &Policy::default());
        assert!(!v.merge && v.rule == Rule::SameFeed, "{v:?}");
    }

    #[test]
    fn figures_stated_differently_refuse_a_template_not_a_write_through() {
        // One wire's close box on two days: the frame is the same, every figure differs.
        let close = |v: [&str; 6]| {
            format!(
                "The S&P 500 rose {} points to {} on the day, its third gain in a row.\n\
                 The Dow Jones Industrial Average rose {} points to {} on the day.\n\
                 The Nasdaq composite rose {} points to {} on the day, led by chipmakers.",
                v[0], v[1], v[2], v[3], v[4], v[5]
            )
        };
        let monday = close(["12.3", "4,567.8", "104.2", "35,120.4", "40.1", "14,210.9"]);
        let tuesday = close(["8.9", "4,576.7", "96.5", "35,216.9", "22.7", "14,233.6"]);
        let v = verdict(
            ("How indexes fared", &tuesday),
            ("How indexes fared", &monday),
        );
        assert!(!v.merge && v.rule == Rule::Numbers, "{v:?}");
        // A story written through: long passages kept, the toll changed twice.
        let body = words(0..120);
        let first = format!("{body}\nAt least 27 people were killed and 4 are missing.");
        let later = format!("{body}\nAt least 39 people were killed and 12 are missing.");
        let v = verdict(("Storm toll rises", &later), ("Storm kills 27", &first));
        assert!(v.merge, "{v:?}");
        // A copy that adds a dated line and 300 jobs contradicts nothing.
        let dated = format!("{first}\nPublished on 14 July 2025, the plan affects 300 jobs.");
        let v = verdict(("Storm kills 27", &dated), ("Storm kills 27", &first));
        assert!(v.merge, "{v:?}");
        // Whichever came first: two texts of one size, where one's figure context is in the
        // other with another value but not the other way round.
        let body = words(0..14);
        let x = format!("{body} rose 12 points to close at 7 on the day");
        let y = format!("{body} rose 7 points to close at 7 on the day");
        let (a, _) = copy(1, "Index closes higher", &x);
        let (b, _) = copy(2, "Index closes higher", &y);
        let ab = compare(&a, &b, &Policy::default());
        let ba = compare(&b, &a, &Policy::default());
        assert_eq!(a.set().len(), b.set().len());
        assert_eq!((ab.merge, ab.rule), (ba.merge, ba.rule), "{ab:?} / {ba:?}");
        // Most figures agree, one changed, little text besides.
        let facts = "The storm cut power to 120,000 homes, closed 45 schools and 9 hospitals.";
        let short = words(0..20);
        let first = format!("{short}\nAt least 27 people were killed, officials said.\n{facts}");
        let later = format!("{short}\nAt least 39 people were killed, officials said.\n{facts}");
        let v = verdict(("Storm toll rises", &later), ("Storm kills 27", &first));
        assert!(v.merge, "{v:?}");
    }

    #[test]
    fn two_sentences_word_for_word_merge_at_a_lower_overlap() {
        let wire = words(0..300);
        // 50 consecutive words of the wire in an outlet's 200 words: overlap 0.23.
        let copy = format!("{}\n{}", words(0..50), words(1000..1150));
        let v = verdict(("Plan approved", &copy), ("Council approves plan", &wire));
        assert!(v.merge && v.rule == Rule::Passage, "{v:?}");
        assert!(v.score >= LONG_PASSAGE_OC && v.score < PASSAGE_OC, "{v:?}");
        // Overlap above 0.2 with fewer than 40 shingles shared: a 30-word passage in a
        // 120-word text (overlap 0.22) is not enough on its own a day apart (a wire's next
        // story re-using its background)...
        let short = format!("{}\n{}", words(0..30), words(2000..2090));
        let day_later =
            |a: (&str, &str), hours| verdict_apart(a, ("Council approves plan", &wire), hours);
        let v = day_later(("Plan approved", &short), 24);
        assert!(!v.merge && v.score >= LONG_PASSAGE_OC, "{v:?}");
        // ...and merges between copies published within hours (a copy re-cut around the
        // wire's lede).
        let v = day_later(("Plan approved", &short), NEAR_HOURS);
        assert!(v.merge && v.rule == Rule::Passage, "{v:?}");
        // 40 words of the wire inside 300 of the outlet's own: a quotation (overlap 0.12),
        // whenever it came.
        let quoting = format!("{}\n{}", words(0..40), words(1000..1300));
        for hours in [0, 24] {
            let v = day_later(("Plan approved", &quoting), hours);
            assert!(!v.merge && v.score < NEAR_PASSAGE_OC, "{v:?}");
        }
    }

    #[test]
    fn within_hours_a_sentence_merges_at_a_lower_overlap() {
        let wire = words(0..300);
        // 40 consecutive words of the wire in an outlet's 190: overlap 0.19, 36 shingles.
        let copy = format!("{}\n{}", words(0..40), words(1000..1150));
        let (copy, wire) = (
            ("Plan approved", copy.as_str()),
            ("Council approves plan", wire.as_str()),
        );
        // Up to the limit and beyond it, whichever copy is the newer one and whichever is
        // compared with the other.
        for (hours, merges) in [(0, true), (NEAR_HOURS, true), (NEAR_HOURS + 1, false)] {
            for signed in [hours, -hours] {
                for v in [
                    verdict_apart(copy, wire, signed),
                    verdict_apart(wire, copy, signed),
                ] {
                    assert_eq!(v.merge, merges, "{signed}h: {v:?}");
                    assert!(
                        v.score >= NEAR_PASSAGE_OC && v.score < LONG_PASSAGE_OC,
                        "{v:?}"
                    );
                }
            }
        }
        // A few words fewer than a sentence's worth do not merge, however close in time.
        let fragment = format!("{}\n{}", words(0..18), words(1000..1050));
        let v = verdict(("Plan approved", &fragment), wire);
        assert!(!v.merge && v.score >= NEAR_PASSAGE_OC, "{v:?}");
    }

    #[test]
    fn too_little_text_merges_only_under_the_same_title() {
        let title = "Regional council approves flood plan after long debate";
        let v = verdict((title, "Watch the video."), (title, &words(0..200)));
        assert!(v.merge && v.rule == Rule::Title, "{v:?}");
        let v = verdict(
            ("Council plan", "Watch the video."),
            (title, &words(0..200)),
        );
        assert!(!v.merge, "{v:?}");
    }
}
