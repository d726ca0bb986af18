//! Every number the dedup stage decides with, as a named constant, plus the `[dedup]`
//! knobs an operator may change (the window and the preferred sources).
//!
//! The thresholds started from `shared/research/dedup.md` §6 (25 real documents) and were
//! checked against the labelled development sets; `examples/dedup-eval.rs` prints what
//! they achieve. They are recorded with every copy (see [`Rule::describe`]) so `explain`
//! can show what was in force when a copy joined.

use crate::config::DedupConfig;

/// Seed of every dedup hash. Changing it invalidates every stored fingerprint.
pub const HASH_SEED: u64 = 0x7472_6962_6465_6470; // "tribdedp"

/// Words per shingle for space-separated scripts.
pub const SHINGLE_WORDS: usize = 5;
/// Characters per shingle for scripts written without spaces (Chinese, Japanese, Thai).
pub const SHINGLE_CHARS: usize = 4;
/// When fewer words than this remain after removing quoted speech, the whole text is
/// fingerprinted instead (a text that is mostly quotes still needs a fingerprint).
pub const MIN_UNQUOTED_WORDS: usize = 15;

/// Shingles starting within this many words of the start are sampled densely into the
/// index (the lede is what trimmed copies and descriptions keep).
pub const DENSE_PREFIX_WORDS: usize = 150;
/// Index sampling: keep a lede shingle when `hash % DENSE_MOD == 0`.
pub const DENSE_MOD: u32 = 4;
/// Index sampling after the lede: keep a shingle when `hash % SPARSE_MOD == 0`.
pub const SPARSE_MOD: u32 = 16;
/// Shingles starting within this many words form the *lede* compared by the corroboration
/// rule.
pub const LEDE_WORDS: usize = 40;

/// A candidate story must share at least this many sampled keys with a long text...
pub const MIN_SHARED_KEYS: usize = 2;
/// ...or this many with a short one.
pub const MIN_SHARED_KEYS_SHORT: usize = 1;
/// At most this many candidate stories are verified per article (the best-sharing first).
pub const MAX_CANDIDATES: usize = 8;
/// A key carried by more stories than this in one day is a stock phrase, not evidence: it
/// is not used to find candidates.
pub const MAX_POSTINGS: usize = 16;

/// Days older than the window are dropped only while the index holds more stories than
/// this: eviction is for memory, and a few copies dated "now" among a backlog of older
/// ones must not empty the index.
pub const EVICT_FLOOR_STORIES: usize = 100_000;

/// Texts with at least this many words (after boilerplate removal) are *long*.
pub const LONG_WORDS: usize = 40;
/// Texts with fewer words than this count as no text: only the title rule applies.
pub const SHORT_WORDS: usize = 15;

/// Both long: the overlap coefficient of quote-stripped shingles that merges on its own.
/// Templated stories of one kind ("X keeps rates steady at N%") reach 0.5-0.6 when one is
/// a short description, so overlap alone must be higher than that.
pub const CONTENT_OC: f64 = 0.7;
/// Both long: the lowest overlap coefficient that merges when the texts also share long
/// verbatim passages (real wire copies with captions, added background or a rewritten
/// lede score 0.4-0.7).
pub const CONTENT_OC_CORROBORATED: f64 = 0.3;
/// Corroboration: a verbatim passage counts when it runs at least this many consecutive
/// shingles (19 words): whole sentences, not the stretches between a template's slots.
pub const COPIED_RUN: usize = 15;
/// Corroboration: the least number of shingles in such passages...
pub const COPIED_MIN: usize = 40;
/// ...or, for a shorter text (a description, a video blurb), this share of the smaller
/// text's shingles in such passages...
pub const COPIED_SHARE: f64 = 0.5;
/// ...under headlines sharing at least this share of the shorter one's significant words.
pub const COPIED_TITLE_OC: f64 = 0.8;
/// Shingles starting within [`LEDE_WORDS`] words, compared with the other text, are
/// reported with a refusal (`explain` shows how much of the lede the other text holds).
pub const LEDE_OC: f64 = 0.6;
/// Short text (a description cut at its first paragraph): its containment in the other...
pub const SHORT_OC: f64 = 0.85;
/// ...with at least this share of the shorter title's significant words in the other title
/// (a description says little; a headline about something else says it is another story).
pub const SHORT_TITLE_OC: f64 = 0.5;
/// Short text: a lower containment suffices when every significant word of one title is
/// in the other (a copy re-headlined only by shortening, prefixing or re-casing).
pub const SHORT_OC_SAME_TITLE: f64 = 0.75;
/// Short text: the least number of shared shingles.
pub const SHORT_MIN_SHARED: usize = 8;

/// Content merges are refused when the other text states a different figure in the same
/// words as one of the smaller text's figures more often than this: copies agree on
/// figures, templated stories ("X unveils $N plan") do not. A figure missing from the
/// other text is no evidence either way (trimmed copies drop figures, outlets add dates).
pub const NUMBER_CONFLICTS_MAX: usize = 0;

/// Title rule: the least number of significant words of the normalised title.
pub const TITLE_MIN_WORDS: usize = 5;
/// Title rule: the most hours between the two copies.
pub const TITLE_HOURS: i64 = 48;

/// An updated copy stays in its story while its overlap with the representative is at
/// least this.
pub const UPDATE_STAY_OC: f64 = 0.2;

/// A GUID shorter than this, or all digits, is not trusted to be unique across outlets.
pub const MIN_GLOBAL_GUID_LEN: usize = 12;

/// A dateline ("abuja, march 26 (reuters) -") is looked for this many words into a line:
/// a description flattens the outlet's headline, byline and caption in front of it.
pub const LATE_DATELINE_WORDS: usize = 60;

/// A feed line seen in this many of the feed's articles is the outlet's boilerplate.
pub const LEARNED_LINE_MIN_ARTICLES: u32 = 5;
/// ...and in at least one in this many of the feed's articles.
pub const LEARNED_LINE_SHARE: u32 = 4;
/// Learned lines longer than this many words are never boilerplate (a repeated paragraph
/// of news is news).
pub const LEARNED_LINE_MAX_WORDS: usize = 25;
/// Distinct lines counted per feed: when full, the lines that are not boilerplate then are
/// forgotten. Boilerplate is in a quarter of the articles, so a few hundred lines of
/// memory hold it for any feed; news lines are counted once and dropped. (4,096 with a
/// full reset took 60 KB a feed: 115 MB for 2,000 feeds.)
pub const LEARNED_LINES_PER_FEED: usize = 1024;

/// Whether a GUID can identify an article across outlets: long enough and not a bare
/// number (outlets number their entries independently).
pub fn global_guid(guid: &str) -> bool {
    guid.len() >= MIN_GLOBAL_GUID_LEN && !guid.chars().all(|c| c.is_ascii_digit())
}

/// Whether a URL can identify an article: it has a path beyond the site root (some feeds
/// link every entry to their home page).
pub fn article_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.path().trim_matches('/').len() > 1 || u.query().is_some())
}

/// The rules, as recorded with each copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Founded its story.
    First,
    /// Same URL, GUID or source.
    Exact,
    /// Both long, overlap alone.
    Long,
    /// Both long, lower overlap with long verbatim passages in common.
    Corroborated,
    /// One text short.
    Short,
    /// Exact normalised title.
    Title,
    /// Same feed, same text.
    SameFeed,
    /// Refused: the texts overlap but state different numbers.
    Numbers,
    /// Updated copy kept in its story.
    UpdateStay,
}

impl Rule {
    /// The rule and its thresholds in one line, stored with the copy.
    pub fn describe(self) -> String {
        match self {
            Rule::First => String::new(),
            Rule::Exact => "exact identity".into(),
            Rule::Long => format!("long: oc >= {CONTENT_OC}"),
            Rule::Corroborated => {
                format!(
                    "long: oc >= {CONTENT_OC_CORROBORATED} with >= {COPIED_MIN} shingles (or >= {COPIED_SHARE} of the smaller text under titles >= {COPIED_TITLE_OC} alike) in verbatim runs >= {COPIED_RUN}"
                )
            }
            Rule::Short => {
                format!(
                    "short: containment >= {SHORT_OC} with title oc >= {SHORT_TITLE_OC}, or >= {SHORT_OC_SAME_TITLE} with title oc 1, shared >= {SHORT_MIN_SHARED}"
                )
            }
            Rule::Title => format!(
                "title: exact normalised, >= {TITLE_MIN_WORDS} significant words, <= {TITLE_HOURS}h, other feed"
            ),
            Rule::SameFeed => "same feed: the same text".into(),
            Rule::Numbers => {
                format!(
                    "numbers: <= {NUMBER_CONFLICTS_MAX} figures stated differently in the same words"
                )
            }
            Rule::UpdateStay => format!("update: oc >= {UPDATE_STAY_OC} with representative"),
        }
    }
}

/// The operator's `[dedup]` settings in the form the stage uses.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How far apart (seconds) copies of one story may be published.
    pub window_secs: i64,
    /// Lower-cased domains or feed names whose copies should represent their story.
    pub prefer: Vec<String>,
}

impl Policy {
    /// The policy of a `[dedup]` section.
    pub fn from_config(c: &DedupConfig) -> Policy {
        Policy {
            window_secs: i64::try_from(c.window.0.as_secs()).unwrap_or(i64::MAX / 4),
            prefer: c.prefer.iter().map(|p| p.trim().to_lowercase()).collect(),
        }
    }

    /// Whether a copy from feed `feed_name` at `url` is from a preferred source: the feed's
    /// name, or the URL's host or one of its parent domains, is listed.
    pub fn prefers(&self, feed_name: &str, url: Option<&str>) -> bool {
        if self.prefer.is_empty() {
            return false;
        }
        let name = feed_name.trim().to_lowercase();
        if self.prefer.contains(&name) {
            return true;
        }
        let Some(host) = url
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_lowercase))
        else {
            return false;
        };
        self.prefer.iter().any(|p| {
            host == *p
                || (host.ends_with(p.as_str()) && host[..host.len() - p.len()].ends_with('.'))
        })
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_config(&DedupConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_matches_feed_names_and_parent_domains_only() {
        let p = Policy {
            window_secs: 3600,
            prefer: vec!["reuters.com".into(), "ap wire".into()],
        };
        assert!(p.prefers("x", Some("https://www.reuters.com/world/a")));
        assert!(p.prefers("AP Wire", None));
        assert!(!p.prefers("x", Some("https://notreuters.com/a")));
        assert!(!p.prefers("x", Some("not a url")));
    }
}
