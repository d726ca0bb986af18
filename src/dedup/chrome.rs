//! Outlet chrome, the lines that are not the story: "Advertisement", "Read more",
//! bylines, photo captions, copyright lines, date lines, editors' notes; and the lines
//! that credit a wire ("(Reuters) -", "Source: AFP"). Removing chrome before
//! fingerprinting is what lets a copy with a caption and a footer match the bare wire
//! text, and a credited wire marks the full copy preferred as a story's representative.
//! The phrase lists are compiled once into automata behind a cheap prefilter, since every
//! line of every text is classified.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::dateline::{WIRE_NAMES, dateline_end, is_date_line};
use super::policy::{
    BYLINE_MAX_WORDS, BYLINE_PAR_MAX_WORDS, CHROME_MAX_WORDS, CHROME_START_MAX_WORDS,
    DATE_LINE_MAX_WORDS, EDITOR_NOTE_MAX_WORDS,
};
use super::words::Anchors;
#[cfg(test)]
use super::words::count_words;

/// Lines that are chrome whatever follows them (compared folded, without final dots).
const CHROME_LINES: &[&str] = &[
    "advertisement",
    "advertisements",
    "ad",
    "sponsored",
    "sponsored content",
    "latest news",
    "read more",
    "continue reading",
    "share",
    "share this article",
    "share this",
    "related",
    "related articles",
    "related news",
    "related stories",
    "trending",
    "most read",
    "recommended",
    "top stories",
    "more news",
    "story continues below",
    "skip advertisement",
    "story continues below advertisement",
    "scroll to continue with content",
    "listen",
    "listen to this article",
    "print",
    "email",
    "comments",
    "subscribe",
    "sign up",
    "breaking news",
    "live",
    "watch",
    "video",
    "photos",
    "gallery",
    // French outlets' chrome.
    "publicité",
    "autres vidéos",
    "liens commerciaux",
    "lire aussi",
    "à lire aussi",
    "voir aussi",
    "lire la suite",
    "partager",
];

/// Line openings that mark chrome when the line is short.
const CHROME_STARTS: &[&str] = &[
    "read more",
    "also read",
    "see also",
    "related:",
    "click here",
    "follow us",
    "sign up",
    "subscribe to",
    "download the",
    "reporting by",
    "writing by",
    "editing by",
    "additional reporting",
    "compiled by",
    "(reporting by",
    "(writing by",
    "(editing by",
    "(additional reporting",
    "published:",
    "published on",
    "updated:",
    "last updated",
    "posted:",
    "posted on",
    "first published",
    "(adds ",
    "(updates ",
    "(recasts ",
    "copyright",
    "source:",
    "with inputs from",
    "(with inputs from",
    "this article was originally",
    "this story was originally",
    "originally published",
    "photo:",
    "image:",
    "picture:",
    "file photo",
    "caption:",
    "vidéo suivante",
    "lire aussi",
    "à lire aussi",
    "publié le",
    "mis à jour",
];

/// Phrases that make a short line a caption, credit or copyright line wherever they are.
const CHROME_PHRASES: &[&str] = &[
    "photo:",
    "photograph:",
    "file photo",
    "photo credit",
    "(photo",
    "getty images",
    "via getty",
    "reuters/",
    "ap photo",
    "afp photo",
    "image credit",
    "all rights reserved",
    "©",
    "originally published",
    "originally appeared",
    "newsletter",
];

/// Phrases of lines saying a copy carries a wire's text; a wire's name in parentheses
/// ([`WIRE_NAMES`]) says so too. Together, in this order, the credit phrases.
const CREDIT_LINES: &[&str] = &[
    "originally published by",
    "originally appeared",
    "source:",
    "with inputs from",
];

/// Lines saying a copy carries a wire's text: [`CREDIT_LINES`] then [`WIRE_NAMES`].
fn credit_phrases() -> Vec<&'static str> {
    [CREDIT_LINES, WIRE_NAMES].concat()
}

/// Whether a (trimmed, non-empty) line is outlet chrome. `folded` is its folded form.
/// (Fingerprinting asks [`classify_line`], which answers this and [`credits_wire`] with
/// one phrase search; these forms are the tests'.)
#[cfg(test)]
pub(super) fn is_chrome(folded: &str) -> bool {
    is_chrome_counted(folded, count_words(folded, usize::MAX))
}

/// [`is_chrome`] for a caller that has counted the line's words ([`count_words`]) already.
#[cfg(test)]
pub(super) fn is_chrome_counted(folded: &str, words: usize) -> bool {
    let phrase = words <= CHROME_MAX_WORDS && matchers().chrome_phrases.is_match(folded);
    is_chrome_found(folded, words, phrase)
}

/// [`is_chrome_counted`] for a caller that has searched the line for [`CHROME_PHRASES`]
/// already (`phrase`; [`scan_phrases`] says, and need not search a line of more than
/// [`CHROME_MAX_WORDS`] words).
fn is_chrome_found(folded: &str, words: usize, phrase: bool) -> bool {
    if words > CHROME_MAX_WORDS {
        return false; // chrome is short; a paragraph of news is not
    }
    let bare = folded
        .trim_end_matches(['.', ':', '…', ' ', '|', '-'])
        .trim();
    if bare.is_empty() || CHROME_LINES.contains(&bare) {
        return true;
    }
    if words <= CHROME_START_MAX_WORDS && chrome_start(folded) {
        return true;
    }
    if phrase {
        return true;
    }
    if words <= BYLINE_MAX_WORDS && folded.starts_with("by ")
        || words <= BYLINE_PAR_MAX_WORDS && folded.starts_with("par ")
    {
        return true; // a byline
    }
    if words <= EDITOR_NOTE_MAX_WORDS && folded.starts_with('(') && folded.ends_with(')') {
        return true; // "(Adds details, background)"
    }
    words <= DATE_LINE_MAX_WORDS && is_date_line(folded)
}

/// Bytes and words of which every phrase of [`CHROME_PHRASES`] and the credit phrases
/// holds at least one (a test keeps it so): a line holding none of them holds no phrase,
/// and needs no search of the phrase automaton. Most lines of news hold none, and finding
/// that out costs a third of the automaton's search (whose prefilter trips over the
/// common letter pairs the phrases start with).
const ANCHOR_BYTES: [u8; 4] = [b'(', b':', b'/', 0xC2 /* starts '©' */];
const ANCHOR_WORDS: &[&str] = &[
    "photo",
    "getty",
    "credit",
    "rights",
    "originally",
    "newsletter",
    "inputs",
];

/// The phrase lists compiled once into automata: one pass over a line answers "does it
/// contain any of them" where a loop of substring searches made one pass per phrase.
struct Matchers {
    chrome_phrases: AhoCorasick,
    credit_phrases: AhoCorasick,
    /// [`CHROME_PHRASES`] then the credit phrases: one pass finds both kinds.
    all_phrases: AhoCorasick,
    /// [`CHROME_STARTS`] by first byte.
    starts: Vec<Vec<&'static str>>,
    /// [`ANCHOR_BYTES`] and [`ANCHOR_WORDS`].
    anchors: Anchors,
}

fn matchers() -> &'static Matchers {
    static MATCHERS: OnceLock<Matchers> = OnceLock::new();
    MATCHERS.get_or_init(|| {
        let automaton = |phrases: &[&str]| {
            // The phrases are constants: building their automaton cannot fail.
            // Leftmost-first: the same "is there a match" answer as standard matching,
            // and the automaton may then skip ahead with a SIMD prefilter.
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(phrases)
                .expect("constant boilerplate phrases")
        };
        let mut starts: Vec<Vec<&'static str>> = vec![Vec::new(); 256];
        for s in CHROME_STARTS {
            if let Some(&b) = s.as_bytes().first() {
                starts[usize::from(b)].push(s);
            }
        }
        Matchers {
            chrome_phrases: automaton(CHROME_PHRASES),
            credit_phrases: automaton(&credit_phrases()),
            all_phrases: automaton(&[CHROME_PHRASES, &credit_phrases()].concat()),
            starts,
            anchors: Anchors::new(ANCHOR_BYTES, ANCHOR_WORDS),
        }
    })
}

/// Whether a folded line opens with one of [`CHROME_STARTS`].
fn chrome_start(folded: &str) -> bool {
    let Some(&first) = folded.as_bytes().first() else {
        return CHROME_STARTS.contains(&"");
    };
    matchers().starts[usize::from(first)]
        .iter()
        .any(|s| folded.starts_with(s))
}

/// Whether a folded line holds one of [`CHROME_PHRASES`] (searched only when `chrome`) and
/// one of the credit phrases (only when `credit`): one pass over a line that holds none.
fn scan_phrases(folded: &str, chrome: bool, credit: bool) -> (bool, bool) {
    let m = matchers();
    match (chrome, credit) {
        (false, false) => (false, false),
        _ if !may_hold_phrase(folded) => (false, false),
        (true, false) => (m.chrome_phrases.is_match(folded), false),
        (false, true) => (false, m.credit_phrases.is_match(folded)),
        // Most lines hold neither: one pass says so; a line that holds one is searched
        // for each kind apart (a match of one kind may hide an overlapping one of the
        // other from a single leftmost search).
        (true, true) if !m.all_phrases.is_match(folded) => (false, false),
        (true, true) => (
            m.chrome_phrases.is_match(folded),
            m.credit_phrases.is_match(folded),
        ),
    }
}

/// False when `folded` surely holds none of [`CHROME_PHRASES`] and the credit phrases: it
/// holds none of [`ANCHOR_BYTES`] and [`ANCHOR_WORDS`].
fn may_hold_phrase(folded: &str) -> bool {
    matchers().anchors.may_hold(folded)
}

/// What fingerprinting asks of one folded line of `words` words: whether it credits a wire
/// (asked only while `credit_unknown`: one credited line is enough) and whether it is
/// chrome, with one search for both phrase lists.
pub(super) fn classify_line(folded: &str, words: usize, credit_unknown: bool) -> (bool, bool) {
    let (chrome_phrase, credit_phrase) =
        scan_phrases(folded, words <= CHROME_MAX_WORDS, credit_unknown);
    let credit = credit_unknown && (credit_phrase || dateline_end(folded).is_some());
    (credit, is_chrome_found(folded, words, chrome_phrase))
}

/// Whether a folded line credits a wire service ("(Reuters) -", "Source: AFP", "originally
/// published by ..."): the mark of a full wire copy, preferred as representative.
#[cfg(test)]
pub(super) fn credits_wire(folded: &str) -> bool {
    matchers().credit_phrases.is_match(folded) || dateline_end(folded).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_lines_are_recognised() {
        for l in [
            "advertisement",
            "published: 12:16, 14 july 2025",
            "updated 3 hours ago",
            "read more...",
            "by jane doe",
            "paris. photo: javier barros",
            "© 2025 the daily example. all rights reserved.",
            "this article was originally published by global news agency.",
            "(adds details, background)",
            "autres vidéos",
            "vidéo suivante dans 5 secondes",
            "par france 24 fr",
            "reporting by chijioke ohuocha; editing by alex richardson",
        ] {
            assert!(is_chrome(l), "{l}");
        }
        for l in [
            "the central bank raised rates by 50 basis points on tuesday.",
            "by the end of the year, inflation had fallen to 12% in the country and markets rallied.",
        ] {
            assert!(!is_chrome(l), "{l}");
        }
    }

    #[test]
    fn datelines_and_credit_lines_credit_a_wire() {
        assert!(credits_wire("dakar (afp) - le president"));
        assert!(credits_wire("source: ap"));
        assert!(!credits_wire("the bank (cbn) said"));
    }

    /// The plain loops the compiled matchers replace.
    mod reference {
        use super::super::*;
        use crate::dedup::dateline::{DATE_WORDS, MONTHS};
        use crate::dedup::policy::{DATE_LINE_OTHER_WORDS, DATE_WORD_MIN_LEN};

        pub fn is_chrome(folded: &str) -> bool {
            if folded.split_whitespace().nth(CHROME_MAX_WORDS).is_some() {
                return false;
            }
            let bare = folded
                .trim_end_matches(['.', ':', '…', ' ', '|', '-'])
                .trim();
            if bare.is_empty() || CHROME_LINES.contains(&bare) {
                return true;
            }
            let words = folded.split_whitespace().count();
            if words <= CHROME_START_MAX_WORDS
                && CHROME_STARTS.iter().any(|s| folded.starts_with(s))
            {
                return true;
            }
            if words <= CHROME_MAX_WORDS && CHROME_PHRASES.iter().any(|p| folded.contains(p)) {
                return true;
            }
            if words <= BYLINE_MAX_WORDS && folded.starts_with("by ")
                || words <= BYLINE_PAR_MAX_WORDS && folded.starts_with("par ")
            {
                return true;
            }
            if words <= EDITOR_NOTE_MAX_WORDS && folded.starts_with('(') && folded.ends_with(')') {
                return true;
            }
            words <= DATE_LINE_MAX_WORDS && is_date_line(folded)
        }

        fn is_date_line(folded: &str) -> bool {
            let mut has_date = false;
            let mut other = 0;
            for w in folded
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                if w.chars().all(|c| c.is_ascii_digit()) {
                    has_date = true;
                } else if MONTHS.contains(&w) || DATE_WORDS.contains(&w) {
                    has_date |= w.len() >= DATE_WORD_MIN_LEN
                        && !matches!(w, "and" | "ago" | "last" | "the");
                } else {
                    other += 1;
                }
            }
            has_date && other <= DATE_LINE_OTHER_WORDS
        }

        pub fn credits_wire(folded: &str) -> bool {
            credit_phrases().iter().any(|p| folded.contains(p)) || dateline_end(folded).is_some()
        }
    }

    fn chrome_like_line() -> impl proptest::strategy::Strategy<Value = String> {
        use crate::dedup::dateline::{DATE_WORDS, MONTHS};
        use proptest::strategy::Strategy;
        let mut pieces: Vec<String> = [
            CHROME_LINES,
            CHROME_STARTS,
            CHROME_PHRASES,
            &credit_phrases(),
            MONTHS,
            DATE_WORDS,
        ]
        .concat()
        .into_iter()
        .map(str::to_string)
        .collect();
        for p in [
            " ",
            " ",
            " ",
            "12",
            "2025",
            "14:05",
            "the",
            "bank",
            "rates",
            "(",
            ")",
            "-",
            ".",
            "…",
            "|",
            ":",
            "\u{e9}t\u{e9}",
            "\u{6771}",
            "paris",
            "(reuters)",
            " - ",
            "by ",
            "par ",
        ] {
            pieces.push(p.to_string());
        }
        proptest::collection::vec(proptest::sample::select(pieces), 1..24)
            .prop_map(|v| v.concat().trim().to_string())
            .prop_filter("a line is not empty", |l| !l.is_empty())
    }

    proptest::proptest! {
        #[test]
        fn compiled_matchers_agree_with_plain_loops(line in chrome_like_line()) {
            proptest::prop_assert_eq!(is_chrome(&line), reference::is_chrome(&line));
            proptest::prop_assert_eq!(credits_wire(&line), reference::credits_wire(&line));
            // The one search fingerprinting makes (behind the anchors) says the same.
            let words = count_words(&line, usize::MAX);
            proptest::prop_assert_eq!(
                classify_line(&line, words, true),
                (reference::credits_wire(&line), reference::is_chrome(&line))
            );
            proptest::prop_assert_eq!(
                classify_line(&line, words, false),
                (false, reference::is_chrome(&line))
            );
        }
    }

    /// The lines the matchers are compared on are chrome, wire credits and neither, each
    /// often enough: two matchers that both refuse every line would agree on lines that
    /// are never chrome.
    #[test]
    fn the_compared_lines_hold_chrome_credits_and_plain_lines() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = chrome_like_line();
        let (mut chrome, mut credits, mut neither) = (0, 0, 0);
        for _ in 0..256 {
            let line = strategy.new_tree(&mut runner).unwrap().current();
            let (c, w) = (reference::is_chrome(&line), reference::credits_wire(&line));
            chrome += usize::from(c);
            credits += usize::from(w);
            neither += usize::from(!c && !w);
        }
        // Measured: 202 chrome, 164 crediting a wire, 16 neither.
        assert!(
            chrome >= 64 && credits >= 64 && neither >= 4,
            "of 256 lines, {chrome} chrome, {credits} credit a wire, {neither} neither"
        );
    }

    #[test]
    fn every_phrase_holds_an_anchor() {
        for phrase in CHROME_PHRASES.iter().chain(&credit_phrases()) {
            assert!(may_hold_phrase(phrase), "{phrase:?} holds no anchor");
        }
    }
}
