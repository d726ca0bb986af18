//! The parse stage's policy numbers and word lists, in one place.

use chrono::TimeDelta;

/// A date further than this in the future (relative to the fetch) is not believed: the
/// article is dated when first seen instead, and flagged.
pub const FUTURE_TOLERANCE: TimeDelta = TimeDelta::days(1);

/// How many words of the text stand in for a missing title.
pub const FALLBACK_TITLE_WORDS: usize = 12;

/// How far into the document the charset sniffer looks for an XML declaration: far
/// enough to skip a leading comment, short enough to stay cheap.
pub const DECLARATION_SNIFF_BYTES: usize = 4096;

/// How many bytes chardetng sees when the declared charset is missing or wrong.
pub const DETECTION_SAMPLE_BYTES: usize = 64 * 1024;

/// Nesting depth past which the repair pass stops descending: deeper elements are flattened
/// to text so no reader recurses without bound.
pub const MAX_DEPTH: usize = 256;

/// Query parameters that only track the reader; removed from canonical URLs.
pub const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "ref_url",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wt_mc",
    "wt.mc_id",
    "cmpid",
    "ncid",
    "sr_share",
    "at_medium",
    "at_campaign",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "soc_src",
    "soc_trk",
];

/// Query parameter prefixes that only track the reader (`utm_source`, `utm_medium`, ...).
pub const TRACKING_PREFIXES: &[&str] = &["utm_", "pk_", "mtm_", "hsa_", "__s"];

/// Elements nested deeper than this make a page refused before extraction: Readability's
/// tree walks recurse, and a page nested 100,000 deep would exhaust the thread's stack.
/// Real article pages nest a few dozen deep (the deepest of Mozilla Readability's 130 test
/// pages, counted the same way, stays far below this).
pub const MAX_PAGE_DEPTH: usize = 400;

/// An extracted article shorter than this is no article (a consent wall, a paywall's teaser
/// or a page of links): the item keeps its feed text.
pub const MIN_PAGE_ARTICLE_WORDS: usize = 50;

/// Elements Readability looks at in one page at most (`dom_smoothie`'s own limit): real
/// article pages hold a few thousand; a page of hundreds of thousands is a page to refuse,
/// not to score node by node.
pub const MAX_PAGE_ELEMENTS: usize = 60_000;

/// An extracted "article" more than this share of whose words are link text is a page of
/// links (a section front, a tag page), not an article. Articles link a few words per
/// paragraph; Readability's own test pages stay far below.
pub const MAX_LINKED_SHARE: f64 = 0.5;
