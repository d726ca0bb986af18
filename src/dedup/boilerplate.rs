//! Outlet chrome that is not the story: date and time lines, "Advertisement", "Read
//! more", bylines, photo captions, copyright and credit lines, datelines such as
//! "LAGOS, Nov 25 (Reuters) -", and each feed's own recurring lines, learned as they
//! recur. Removing it before fingerprinting is what lets a copy with a caption and a
//! footer match the bare wire text.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::fingerprint::FoldedText;
use super::policy::{
    LATE_DATELINE_WORDS, LEARNED_LINE_MAX_WORDS, LEARNED_LINE_MIN_ARTICLES, LEARNED_LINE_SHARE,
    LEARNED_LINES_PER_FEED,
};

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

/// Lines saying a copy carries a wire's text.
const CREDIT_PHRASES: &[&str] = &[
    "originally published by",
    "originally appeared",
    "source:",
    "with inputs from",
    "(reuters)",
    "(ap)",
    "(afp)",
    "(ani)",
    "(pti)",
    "(ians)",
    "(dpa)",
    "(efe)",
    "(xinhua)",
    "(bloomberg)",
    "(upi)",
    "(aap)",
    "(cp)",
];

/// Month names, folded: a date line's words, and a number beside one is a date.
pub const MONTHS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
];

/// Other words of date and time lines.
const DATE_WORDS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
    "am",
    "pm",
    "a",
    "p",
    "m",
    "gmt",
    "utc",
    "ist",
    "bst",
    "edt",
    "est",
    "cet",
    "cest",
    "pst",
    "pdt",
    "wat",
    "published",
    "updated",
    "posted",
    "last",
    "on",
    "at",
    "first",
    "modified",
    "ago",
    "hours",
    "hour",
    "minutes",
    "minute",
    "days",
    "day",
    "h",
    "min",
    "mins",
    "hrs",
    "today",
    "yesterday",
    "st",
    "nd",
    "rd",
    "th",
    "by",
    "and",
    "time",
    "read",
    "reading",
];

fn is_date_word(w: &str) -> bool {
    matchers().date_words.contains(w)
}

/// Whether a (trimmed, non-empty) line is outlet chrome. `folded` is its folded form.
pub fn is_chrome(folded: &str) -> bool {
    is_chrome_counted(folded, count_words(folded, usize::MAX))
}

/// Chrome is short: a line of more words is news (and no phrase search is needed).
const CHROME_MAX_WORDS: usize = 30;

/// [`is_chrome`] for a caller that has counted the line's words ([`count_words`]) already.
pub fn is_chrome_counted(folded: &str, words: usize) -> bool {
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
    if words <= 12 && chrome_start(folded) {
        return true;
    }
    if phrase {
        return true;
    }
    if words <= 6 && folded.starts_with("by ") || words <= 5 && folded.starts_with("par ") {
        return true; // a byline
    }
    if words <= 15 && folded.starts_with('(') && folded.ends_with(')') {
        return true; // "(Adds details, background)"
    }
    words <= 14 && is_date_line(folded)
}

/// The whitespace-separated words of `s` (as `split_whitespace` counts them), counted up
/// to `limit`: ASCII is classified eight bytes at a time.
pub fn count_words(s: &str, limit: usize) -> usize {
    if !s.is_ascii() {
        return s.split_whitespace().take(limit).count();
    }
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of the result: whether that byte is whitespace as
    // char::is_whitespace says for ASCII (tab, LF, VT, FF, CR, 0x09..=0x0D, and space).
    // Exact per byte for ASCII: no sum carries into the next byte.
    let spaces = |x: u64| {
        let t = x ^ (ONES * 0x20);
        let is_space = !(((t & LOW7) + LOW7) | t) & HIGH;
        let at_least_9 = (x + ONES * (0x80 - 9)) & HIGH;
        let at_least_14 = (x + ONES * (0x80 - 14)) & HIGH;
        is_space | (at_least_9 & !at_least_14)
    };
    // A word starts at every non-space whose previous byte is a space (before the first
    // byte counts as a space).
    let mut before = HIGH; // the previous chunk's last byte, in the high bit of byte 0
    let mut words = 0;
    let mut step = |x: u64| {
        let space = spaces(x);
        let starts = !space & ((space << 8) | (before & 0x80)) & HIGH;
        before = space >> 56;
        // The starts' flags moved to each byte's low bit, summed into the top byte by one
        // multiply (at most 8: no carry), without a popcount instruction.
        words += ((starts >> 7).wrapping_mul(ONES) >> 56) as usize;
        words >= limit
    };
    let bytes = s.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        if step(u64::from_le_bytes(x)) {
            return limit;
        }
    }
    // The short last chunk padded with spaces, which start no word.
    let mut last = [b' '; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    step(u64::from_le_bytes(last));
    words.min(limit)
}

/// Bytes and words of which every phrase of [`CHROME_PHRASES`] and [`CREDIT_PHRASES`]
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
    /// [`CHROME_PHRASES`] then [`CREDIT_PHRASES`]: one pass finds both kinds.
    all_phrases: AhoCorasick,
    /// [`CHROME_STARTS`] by first byte.
    starts: Vec<Vec<&'static str>>,
    /// [`MONTHS`] and [`DATE_WORDS`].
    date_words: WordSet,
    /// [`ANCHOR_WORDS`], each searched for on its own (a search for one word skips ahead
    /// on its rarest bytes).
    anchor_words: Vec<memchr::memmem::Finder<'static>>,
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
            credit_phrases: automaton(CREDIT_PHRASES),
            all_phrases: automaton(&[CHROME_PHRASES, CREDIT_PHRASES].concat()),
            starts,
            date_words: WordSet::new(MONTHS.iter().chain(DATE_WORDS).copied()),
            anchor_words: ANCHOR_WORDS
                .iter()
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
                .collect(),
        }
    })
}

/// A set of short constant words: open addressing over a small table, hashed from the
/// word's first eight bytes and its length (a std set hashes with SipHash, several times
/// the cost for a word; these are looked up for most words of short lines).
pub(super) struct WordSet {
    slots: Vec<&'static str>,
    shift: u32,
}

impl WordSet {
    /// The set of `words`.
    pub(super) fn new(words: impl Iterator<Item = &'static str>) -> WordSet {
        let words: Vec<&'static str> = words.filter(|w| !w.is_empty()).collect();
        let size = (words.len() * 4).next_power_of_two().max(16);
        let mut set = WordSet {
            slots: vec![""; size],
            shift: 64 - size.trailing_zeros(),
        };
        for w in words {
            let mut i = set.home(w);
            while !set.slots[i].is_empty() && set.slots[i] != w {
                i = (i + 1) & (size - 1);
            }
            set.slots[i] = w;
        }
        set
    }

    fn home(&self, w: &str) -> usize {
        let mut head = [0u8; 8];
        let n = w.len().min(8);
        head[..n].copy_from_slice(&w.as_bytes()[..n]);
        let h =
            (u64::from_le_bytes(head) ^ (w.len() as u64) << 59).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> self.shift) as usize
    }

    /// Whether `w` is one of the words.
    pub(super) fn contains(&self, w: &str) -> bool {
        if w.is_empty() {
            return false;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(w);
        loop {
            let s = self.slots[i];
            if s.is_empty() {
                return false;
            }
            if s == w {
                return true;
            }
            i = (i + 1) & mask;
        }
    }
}

fn chrome_start(folded: &str) -> bool {
    let Some(&first) = folded.as_bytes().first() else {
        return CHROME_STARTS.contains(&"");
    };
    matchers().starts[usize::from(first)]
        .iter()
        .any(|s| folded.starts_with(s))
}

/// Whether a folded line holds one of [`CHROME_PHRASES`] (searched only when `chrome`) and
/// one of [`CREDIT_PHRASES`] (only when `credit`): one pass over a line that holds none.
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

/// False when `folded` surely holds none of [`CHROME_PHRASES`] and [`CREDIT_PHRASES`]: it
/// holds none of [`ANCHOR_BYTES`] and [`ANCHOR_WORDS`].
fn may_hold_phrase(folded: &str) -> bool {
    let b = folded.as_bytes();
    let [b1, b2, b3, b4] = ANCHOR_BYTES;
    memchr::memchr3(b1, b2, b3, b).is_some()
        || memchr::memchr(b4, b).is_some()
        || matchers().anchor_words.iter().any(|w| w.find(b).is_some())
}

/// What fingerprinting asks of one folded line of `words` words: whether it credits a wire
/// (asked only while `credit_unknown`: one credited line is enough) and whether it is
/// chrome, with one search for both phrase lists.
pub fn classify_line(folded: &str, words: usize, credit_unknown: bool) -> (bool, bool) {
    let (chrome_phrase, credit_phrase) =
        scan_phrases(folded, words <= CHROME_MAX_WORDS, credit_unknown);
    let credit = credit_unknown && (credit_phrase || dateline_end(folded).is_some());
    (credit, is_chrome_found(folded, words, chrome_phrase))
}

/// "Published: 12:16, 14 July 2025", "Updated 3 hours ago", "Mon 14 Jul 2025 09.30 BST".
fn is_date_line(folded: &str) -> bool {
    let date_words = &matchers().date_words;
    let mut has_date = false;
    let mut other = 0;
    for w in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if w.bytes().all(|b| b.is_ascii_digit()) {
            has_date = true;
        } else if date_words.contains(w) {
            has_date |= w.len() >= 3 && !matches!(w, "and" | "ago" | "last" | "the");
        } else {
            other += 1;
            if other > 1 {
                return false;
            }
        }
    }
    has_date && other <= 1
}

/// Whether a folded line credits a wire service ("(Reuters) -", "Source: AFP", "originally
/// published by ..."): the mark of a full wire copy, preferred as representative.
pub fn credits_wire(folded: &str) -> bool {
    matchers().credit_phrases.is_match(folded) || dateline_end(folded).is_some()
}

/// Where a dateline ends: "paris (gna) - ", "lagos, nov 25 (reuters) -", "dakar (afp) -"
/// at the start of a folded line. The text before the parenthesis is short and the
/// parenthesis holds one short name followed by a dash.
fn dateline_end(folded: &str) -> Option<usize> {
    let open = memchr::memchr(b'(', folded.as_bytes())?;
    if open > 60 || folded[..open].split_whitespace().count() > 6 {
        return None;
    }
    dateline_at(folded, open)
}

/// The end of "(name) -" when the parenthesis opening at `open` holds one short name
/// followed by a dash or colon.
fn dateline_at(folded: &str, open: usize) -> Option<usize> {
    let close = open + memchr::memchr(b')', &folded.as_bytes()[open..])?;
    let inside = &folded[open + 1..close];
    if inside.is_empty()
        || inside.len() > 24
        || !inside
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '-')
    {
        return None;
    }
    let after = folded[close + 1..].trim_start();
    let rest = after.strip_prefix(['-', ':'])?;
    Some(folded.len() - rest.len())
}

/// Where a dateline further into the first words ends, when a description flattened the
/// outlet's chrome (headline, byline, caption) in front of it: "... for reuters adds
/// context abuja, march 26 (reuters) - nigeria's ...". Only a known wire's name, or a
/// name after a date, counts there ("the central bank (cbn) - which" is no dateline).
fn late_dateline_end(folded: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(open) = memchr::memchr(b'(', &folded.as_bytes()[from..]).map(|o| o + from) {
        let before: Vec<&str> = folded[..open].split_whitespace().collect();
        if before.len() > LATE_DATELINE_WORDS {
            return None;
        }
        if let Some(end) = dateline_at(folded, open) {
            let name = &folded[open..=open + folded[open..].find(')')?];
            let dated = before.iter().rev().take(3).any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                MONTHS.contains(&w) || w.bytes().any(|b| b.is_ascii_digit())
            });
            if dated || CREDIT_PHRASES.contains(&name) {
                return Some(end);
            }
        }
        from = open + 1;
    }
    None
}

/// Where a date phrase at the start of a line ends ("published: 08:34, 10 july 2025 ",
/// "date 2024-03-26 "): a description flattens the outlet's date line into its first
/// words. It must state a number; a line of dates only is chrome already.
fn date_phrase_end(folded: &str) -> Option<usize> {
    let mut end = 0;
    let mut numbered = false;
    let mut at = 0;
    for word in folded.split_inclusive([' ', '|']) {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric());
        let number = !w.is_empty()
            && w.bytes().any(|b| b.is_ascii_digit())
            && w.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '/' | '-'));
        if w.is_empty() || number || is_date_word(w) || matches!(w, "date" | "created") {
            numbered |= number;
            at += word.len();
            end = at;
        } else {
            break;
        }
    }
    (numbered && end > 0).then_some(end)
}

/// The line without a leading date phrase, dateline or photo-caption prefix (a
/// description flattens the caption paragraph into the text: "Lima. Photo: Yusuf Barros
/// Shares in ...").
pub fn strip_prefixes(folded: &str) -> &str {
    let mut line = folded;
    if let Some(end) = date_phrase_end(line) {
        line = line[end..].trim_start_matches([' ', '|', ':', ',', '.', '-']);
    }
    // Only a match starting before byte 40 counts: search no further.
    let head = &line.as_bytes()[..line.len().min(40 + "photo: ".len() - 1)];
    let photo = memchr::memchr_iter(b'p', head).find(|&at| head[at..].starts_with(b"photo: "));
    if let Some(at) = photo {
        let after = &line[at + "photo: ".len()..];
        // The photographer's name: two words at most.
        let mut cut = after;
        for _ in 0..2 {
            let w = cut.trim_start();
            match w.find(' ') {
                Some(sp) => cut = &w[sp..],
                None => cut = "",
            }
        }
        line = cut.trim_start();
    }
    if let Some(end) = dateline_end(line).or_else(|| late_dateline_end(line)) {
        line = line[end..].trim_start();
    }
    line
}

/// Per feed, how many of its articles each line appeared in: lines an outlet repeats
/// across its articles (a sign-off, a promotion) are its boilerplate. One [`FeedLines`]
/// per feed, which can be taken out to fingerprint a feed's copies apart from the rest.
#[derive(Debug, Default)]
pub struct LearnedLines {
    feeds: HashMap<i64, FeedLines>,
}

/// One feed's learned lines. Bounded: when [`LEARNED_LINES_PER_FEED`] lines are counted,
/// the lines that are not boilerplate at that point are forgotten (and everything, when
/// that frees less than half).
#[derive(Debug, Default, Clone)]
pub struct FeedLines {
    articles: u32,
    counts: LineCounts,
}

/// How many articles each line hash appeared in, for one feed: open addressing over two
/// flat arrays (12 bytes a slot, filled to at most 85%, grown by a quarter). A std map of
/// the same counts takes 17 bytes a slot in a power-of-two table at most 7/8 full, and
/// with thousands of feeds each remembering thousands of lines that was the larger part
/// of the daemon's memory.
#[derive(Debug, Default, Clone)]
struct LineCounts {
    hashes: Vec<u64>,
    /// 0 marks an empty slot (a stored count is at least 1).
    counts: Vec<u32>,
    len: usize,
}

impl LineCounts {
    fn len(&self) -> usize {
        self.len
    }

    /// Forgets every line, keeping the table's size (as `HashMap::clear` does).
    fn clear(&mut self) {
        self.counts.fill(0);
        self.len = 0;
    }

    /// Where the probe for `h` starts (line hashes are xxh3 output: well mixed already).
    fn home(&self, h: u64) -> usize {
        ((u128::from(h) * self.counts.len() as u128) >> 64) as usize
    }

    /// The slot holding `h`, or the empty slot where it would go. The table is never full.
    fn find(&self, h: u64) -> usize {
        let mut i = self.home(h);
        while self.counts[i] != 0 && self.hashes[i] != h {
            i += 1;
            if i == self.counts.len() {
                i = 0;
            }
        }
        i
    }

    fn get(&self, h: u64) -> u32 {
        if self.counts.is_empty() {
            return 0;
        }
        self.counts[self.find(h)]
    }

    fn increment(&mut self, h: u64) {
        if (self.len + 1) * 20 > self.counts.len() * 17 {
            self.grow();
        }
        let i = self.find(h);
        if self.counts[i] == 0 {
            self.hashes[i] = h;
            self.len += 1;
        }
        self.counts[i] = self.counts[i].saturating_add(1);
    }

    /// Keeps the lines whose count satisfies `keep`, in a table of the same size.
    fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        let kept: Vec<(u64, u32)> = self
            .hashes
            .iter()
            .zip(&self.counts)
            .filter(|&(_, &n)| n != 0 && keep(n))
            .map(|(&h, &n)| (h, n))
            .collect();
        self.clear();
        for (h, n) in kept {
            let i = self.find(h);
            self.hashes[i] = h;
            self.counts[i] = n;
            self.len += 1;
        }
    }

    fn grow(&mut self) {
        let size = (self.counts.len() + self.counts.len() / 4).max(16);
        let old = std::mem::replace(
            self,
            LineCounts {
                hashes: vec![0; size],
                counts: vec![0; size],
                len: 0,
            },
        );
        for (h, n) in old.hashes.into_iter().zip(old.counts) {
            if n != 0 {
                let i = self.find(h);
                self.hashes[i] = h;
                self.counts[i] = n;
                self.len += 1;
            }
        }
    }
}

impl LearnedLines {
    /// Counts the distinct lines of one article of `feed` (hashes of folded lines).
    pub fn observe(&mut self, feed: i64, line_hashes: &[u64]) {
        self.feeds.entry(feed).or_default().observe(line_hashes);
    }

    /// [`LearnedLines::observe`] for the lines of a folded text.
    pub fn learn_folded(&mut self, feed: i64, text: &FoldedText) {
        self.feeds.entry(feed).or_default().learn_folded(text);
    }

    /// Whether a line is `feed`'s boilerplate (see [`FeedLines::is_learned`]).
    pub fn is_learned(&self, feed: i64, line_hash: u64, words: usize) -> bool {
        self.feeds
            .get(&feed)
            .is_some_and(|l| l.is_learned(line_hash, words))
    }

    /// The lines learned for `feed`, if any.
    pub fn feed(&self, feed: i64) -> Option<&FeedLines> {
        self.feeds.get(&feed)
    }

    /// Takes `feed`'s lines out (empty when none were learned), to learn and fingerprint
    /// that feed's copies elsewhere; give them back with [`LearnedLines::put`].
    pub fn take(&mut self, feed: i64) -> FeedLines {
        self.feeds.remove(&feed).unwrap_or_default()
    }

    /// Puts `feed`'s lines (back) in.
    pub fn put(&mut self, feed: i64, lines: FeedLines) {
        self.feeds.insert(feed, lines);
    }
}

impl FeedLines {
    /// Counts the distinct lines of one of the feed's articles (hashes of folded lines).
    pub fn observe(&mut self, line_hashes: &[u64]) {
        self.observe_owned(line_hashes.to_vec());
    }

    fn observe_owned(&mut self, mut seen: Vec<u64>) {
        if self.counts.len() + seen.len() > LEARNED_LINES_PER_FEED {
            // Only lines in a share of the articles can be boilerplate: the rest (most
            // lines of news) are forgotten; a line that becomes frequent is counted anew.
            let articles = self.articles;
            self.counts
                .retain(|n| n.saturating_mul(LEARNED_LINE_SHARE) >= articles);
            if self.counts.len() + seen.len() > LEARNED_LINES_PER_FEED / 2 {
                self.counts.clear();
                self.articles = 0;
            }
        }
        self.articles += 1;
        let counts = &mut self.counts;
        seen.sort_unstable();
        seen.dedup();
        for h in seen {
            counts.increment(h);
        }
    }

    /// Learns the lines of one of the feed's articles (its text as [`crate::model::Article`]
    /// holds it). Call it for every article of a fetched document before fingerprinting
    /// them.
    pub fn learn(&mut self, text: &str) {
        self.learn_folded(&FoldedText::new(text));
    }

    /// [`FeedLines::learn`] for a text folded already: fold each article once
    /// ([`FoldedText::new`]), learn from all of a document's, then fingerprint each with
    /// [`FeedLines::fingerprint_folded`].
    pub fn learn_folded(&mut self, text: &FoldedText) {
        self.observe_owned(text.line_hashes().collect());
    }

    /// Learns from every article of a fetched document, then fingerprints each: what
    /// [`FeedLines::learn`] for each and [`FeedLines::fingerprint`] for each give, with
    /// each text folded once.
    pub fn learn_and_fingerprint(
        &mut self,
        articles: &[crate::model::Article],
    ) -> Vec<super::Fingerprint> {
        let folded: Vec<FoldedText> = articles.iter().map(|a| FoldedText::new(&a.text)).collect();
        for text in &folded {
            self.learn_folded(text);
        }
        articles
            .iter()
            .zip(&folded)
            .map(|(a, text)| {
                let mut fp = self.fingerprint_folded(&a.title, text);
                fp.site = super::fingerprint::site_key(a.url.as_deref());
                fp
            })
            .collect()
    }

    /// The fingerprint of one of the feed's copies.
    pub fn fingerprint(&self, title: &str, text: &str) -> super::Fingerprint {
        self.fingerprint_folded(title, &FoldedText::new(text))
    }

    /// [`FeedLines::fingerprint`] of a text folded already.
    pub fn fingerprint_folded(&self, title: &str, text: &FoldedText) -> super::Fingerprint {
        super::fingerprint::fingerprint_folded(title, text, Some(self))
    }

    /// Whether a line (hash of its folded form, `words` long) is the feed's boilerplate:
    /// seen in at least [`LEARNED_LINE_MIN_ARTICLES`] of its articles and in at least one
    /// in [`LEARNED_LINE_SHARE`] (a stock sentence that a few stories share is not chrome).
    pub fn is_learned(&self, line_hash: u64, words: usize) -> bool {
        let n = self.counts.get(line_hash);
        words <= LEARNED_LINE_MAX_WORDS
            && n >= LEARNED_LINE_MIN_ARTICLES
            && n * LEARNED_LINE_SHARE >= self.articles
    }
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
    fn datelines_and_caption_prefixes_are_stripped() {
        assert_eq!(
            strip_prefixes("lagos, nov 25 (reuters) - nigeria's central bank"),
            "nigeria's central bank"
        );
        assert_eq!(
            strip_prefixes("paris (gna) - pinnacle airlines"),
            "pinnacle airlines"
        );
        assert_eq!(
            strip_prefixes("lima. photo: yusuf barros shares in x"),
            "shares in x"
        );
        assert_eq!(
            strip_prefixes("rates (in percent) rose"),
            "rates (in percent) rose"
        );
        assert!(credits_wire("dakar (afp) - le president"));
        // A description flattens date lines, headlines and bylines in front of the text.
        assert_eq!(
            strip_prefixes("published: 08:34, 10 july 2025 health authorities in egypt"),
            "health authorities in egypt"
        );
        assert_eq!(
            strip_prefixes("date 2024-03-26 | the bank raised rates"),
            "the bank raised rates"
        );
        assert_eq!(
            strip_prefixes(
                "rates rise written by jo bloggs for reuters adds context abuja, march 26 (reuters) - nigeria's bank"
            ),
            "nigeria's bank"
        );
        assert_eq!(
            strip_prefixes("a social media ban passes melbourne, australia (ap) - a ban for"),
            "a ban for"
        );
        // Not a date phrase (no number), not a dateline (no wire, no date before it).
        assert_eq!(strip_prefixes("may the best win"), "may the best win");
        assert_eq!(
            strip_prefixes("officials said the central bank of nigeria (cbn) - which sets rates"),
            "officials said the central bank of nigeria (cbn) - which sets rates"
        );
        assert!(!credits_wire("the bank (cbn) said"));
    }

    #[test]
    fn boilerplate_stays_learned_when_the_memory_fills_with_news() {
        let mut lines = FeedLines::default();
        let mut next = 1_000u64;
        for article in 0..400 {
            // A sign-off in every article, a promotion in every third, 40 lines of news.
            let mut hashes = vec![7];
            if article % 3 == 0 {
                hashes.push(8);
            }
            hashes.extend(next..next + 40);
            next += 40;
            lines.observe(&hashes);
            if article >= 5 {
                assert!(lines.is_learned(7, 3), "sign-off forgotten at {article}");
            }
            if article >= 15 {
                assert!(lines.is_learned(8, 3), "promotion forgotten at {article}");
            }
            assert!(!lines.is_learned(next - 1, 3));
            assert!(lines.counts.len() <= LEARNED_LINES_PER_FEED);
        }
    }

    #[test]
    fn recurring_feed_lines_are_learned_per_feed() {
        let mut l = LearnedLines::default();
        for _ in 0..5 {
            l.observe(1, &[7, 8]);
        }
        l.observe(1, &[9]);
        l.observe(1, &[9]);
        assert!(l.is_learned(1, 7, 5));
        assert!(!l.is_learned(1, 9, 5));
        assert!(!l.is_learned(2, 7, 5));
        assert!(!l.is_learned(1, 7, 100));
    }

    /// The plain loops the compiled matchers replace.
    mod reference {
        use super::super::*;

        pub fn is_chrome(folded: &str) -> bool {
            if folded.split_whitespace().nth(30).is_some() {
                return false;
            }
            let bare = folded
                .trim_end_matches(['.', ':', '…', ' ', '|', '-'])
                .trim();
            if bare.is_empty() || CHROME_LINES.contains(&bare) {
                return true;
            }
            let words = folded.split_whitespace().count();
            if words <= 12 && CHROME_STARTS.iter().any(|s| folded.starts_with(s)) {
                return true;
            }
            if words <= 30 && CHROME_PHRASES.iter().any(|p| folded.contains(p)) {
                return true;
            }
            if words <= 6 && folded.starts_with("by ") || words <= 5 && folded.starts_with("par ") {
                return true;
            }
            if words <= 15 && folded.starts_with('(') && folded.ends_with(')') {
                return true;
            }
            words <= 14 && is_date_line(folded)
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
                    has_date |= w.len() >= 3 && !matches!(w, "and" | "ago" | "last" | "the");
                } else {
                    other += 1;
                }
            }
            has_date && other <= 1
        }

        pub fn credits_wire(folded: &str) -> bool {
            CREDIT_PHRASES.iter().any(|p| folded.contains(p)) || dateline_end(folded).is_some()
        }
    }

    fn chrome_like_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let mut pieces: Vec<String> = [
            CHROME_LINES,
            CHROME_STARTS,
            CHROME_PHRASES,
            CREDIT_PHRASES,
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

    #[test]
    fn every_phrase_holds_an_anchor() {
        for phrase in CHROME_PHRASES.iter().chain(CREDIT_PHRASES) {
            assert!(may_hold_phrase(phrase), "{phrase:?} holds no anchor");
        }
    }

    proptest::proptest! {
        #[test]
        fn line_counts_count_as_a_map_does(
            ops in proptest::collection::vec((0u64..300, proptest::bool::ANY), 0..3000)
        ) {
            let mut counts = LineCounts::default();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (h, clear) in ops {
                // Spread the small keys over the hash space, and keep 0 (a valid hash).
                let h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                if clear && h % 97 == 0 {
                    counts.clear();
                    model.clear();
                }
                counts.increment(h);
                *model.entry(h).or_insert(0) += 1;
                proptest::prop_assert_eq!(counts.len(), model.len());
            }
            for h in 0u64..310 {
                let h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                proptest::prop_assert_eq!(counts.get(h), model.get(&h).copied().unwrap_or(0));
            }
        }
    }
}
