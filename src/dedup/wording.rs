//! How a copy joined its story, in plain words: the one phrasing the story page
//! (`/story/{id}`) and `tributary explain` share, from what the store keeps of each copy
//! (its `MatchKind`, score and the rule text [`Rule::describe`] wrote).

use super::policy::Rule;
use crate::model::MatchKind;

/// The rules a stored rule text can name, to read it back. A text that names none of them
/// (written under other thresholds) is worded from the match kind alone.
const RULES: [Rule; 7] = [
    Rule::Exact,
    Rule::Overlap,
    Rule::Passage,
    Rule::Headline,
    Rule::Title,
    Rule::SameFeed,
    Rule::Numbers,
];

/// One phrase, lower case, no final stop: "same URL as another copy", "62% of the shorter
/// text is word for word in the other", ... `score` is the overlap coefficient the copy
/// joined with (the share of the smaller text's five-word passages found in the other).
pub fn match_in_words(kind: MatchKind, score: f64, rule: &str) -> String {
    let share = format!("{:.0}%", (score.clamp(0.0, 1.0) * 100.0).round());
    let rule = RULES.into_iter().find(|r| r.describe() == rule);
    match kind {
        MatchKind::First => "the first copy seen, which began the story".into(),
        MatchKind::Guid => "same GUID as another copy".into(),
        MatchKind::Url => "same URL as another copy".into(),
        MatchKind::Source => "names another copy as its source".into(),
        MatchKind::Title => "same headline, too little text to compare".into(),
        MatchKind::Content => match rule {
            Some(Rule::SameFeed) => {
                format!("the same outlet's item again: {share} of the shorter text is in the other")
            }
            Some(Rule::Headline) => format!(
                "a similar headline, and {share} of the shorter text is word for word in the other"
            ),
            Some(Rule::Passage) => {
                format!("shares whole passages word for word ({share} of the shorter text)")
            }
            _ => format!("{share} of the shorter text is word for word in the other"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_as_words() {
        assert_eq!(
            match_in_words(MatchKind::Url, 1.0, &Rule::Exact.describe()),
            "same URL as another copy"
        );
        assert_eq!(
            match_in_words(MatchKind::Content, 0.624, &Rule::Overlap.describe()),
            "62% of the shorter text is word for word in the other"
        );
        assert!(
            match_in_words(MatchKind::Content, 0.3, &Rule::Passage.describe())
                .starts_with("shares whole passages")
        );
        assert!(
            match_in_words(MatchKind::Content, 0.9, "written under older thresholds")
                .starts_with("90% of")
        );
    }
}
