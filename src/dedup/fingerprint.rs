//! Fingerprints: what dedup remembers of a copy. The cleaned text's quote-stripped
//! shingles (word 5-grams, or character 4-grams for unspaced scripts), hashed with a fixed
//! seed so they survive restarts and upgrades, in document order (the first ones are the
//! lede), plus the title's significant words and the facts the rules and the
//! representative choice need.

use std::borrow::Borrow;

use super::chrome::classify_line;
use super::dateline::{MONTHS, strip_prefixes};
use super::folded::FoldedText;
use super::learned::FeedLines;
use super::normalize::{fold, strip_quotes_into, tokenize};
use super::policy::{
    DENSE_MOD, DENSE_PREFIX_WORDS, HASH_SEED, LEDE_WORDS, MIN_UNQUOTED_WORDS, SHINGLE_CHARS,
    SHINGLE_WORDS, SPARSE_MOD, TITLE_MIN_WORDS, TITLE_SUFFIX_MAX_WORDS,
};
use super::words::{WordSet, hash64};
use crate::model::Article;

/// The fingerprint of one copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Shingle hashes in document order, each once (its first occurrence).
    pub shingles: Vec<u32>,
    /// How many of `shingles` start within the first [`LEDE_WORDS`] words.
    pub lede_len: u32,
    /// How many of `shingles` start within the first [`DENSE_PREFIX_WORDS`] words.
    pub dense_len: u32,
    /// Words of the cleaned text (boilerplate removed, quotes kept).
    pub words: u32,
    /// Hash of the cleaned text's tokens: equal for equal texts.
    pub text_hash: u64,
    /// Hashes of the title's significant words, sorted, each once.
    pub title_words: Vec<u32>,
    /// Hash of the normalised title when it has at least [`TITLE_MIN_WORDS`] significant
    /// words (the title rule's key).
    pub title_hash: Option<u64>,
    /// The text credits a wire service (a dateline such as "(Reuters) -", a credit line).
    pub credit: bool,
    /// The site that published the copy: [`site_key`] of its link, 0 when unknown. Not
    /// from the text: set by whoever fingerprints the copy, kept with the fingerprint.
    pub site: u32,
    /// The numbers the cleaned text states, each with the two words before it and, apart,
    /// the two words after it (see [`number_contexts`]), sorted, each once: copies state
    /// the same figure in the same words, templated stories a different one.
    pub numbers: Vec<u32>,
}

impl Fingerprint {
    /// The sampled shingles the index files this copy under: densely in the lede, sparsely
    /// after it. Sampling by hash value is consistent: a shingle two copies share is
    /// sampled in both (or, past one copy's lede, at least when it is sparse-sampled).
    pub fn index_keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.shingles.iter().enumerate().filter_map(|(i, &h)| {
            let m = if i < self.dense_len as usize {
                DENSE_MOD
            } else {
                SPARSE_MOD
            };
            (h % m == 0).then_some(h)
        })
    }

    /// [`Fingerprint::index_keys`] collected, in a vector allocated once: room for twice
    /// the keys the sampling rates give on average (a vector grown from empty reallocates
    /// five or six times on the way to the forty-odd keys of a news text).
    pub fn index_key_vec(&self) -> Vec<u32> {
        let dense = (self.dense_len as usize).min(self.shingles.len());
        let expected =
            dense / DENSE_MOD as usize + (self.shingles.len() - dense) / SPARSE_MOD as usize;
        let mut keys = Vec::with_capacity(2 * expected + 8);
        keys.extend(self.index_keys());
        keys
    }
}

/// Words that do not make a title specific.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "but", "is", "are", "was", "were", "be", "as", "its", "it", "this", "that", "after", "over",
    "into", "up", "out", "new", "says", "said", "say", "s", "de", "la", "le", "les", "des", "du",
    "et", "en", "un", "une",
];

/// [`STOP_WORDS`] as a set: a title's every word is looked up.
fn stop_words() -> &'static WordSet {
    static SET: std::sync::OnceLock<WordSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| WordSet::new(STOP_WORDS.iter().copied()))
}

/// Title prefixes that are labels, not words of the headline.
const TITLE_LABELS: &[&str] = &[
    "watch",
    "video",
    "breaking",
    "live",
    "exclusive",
    "update",
    "updated",
    "factbox",
    "explainer",
    "photos",
    "listen",
];

/// The normalised title: folded, without a label prefix ("WATCH:", "UPDATE 1-") and
/// without an outlet suffix (" - Reuters", " | The Hindu").
pub fn normalise_title(title: &str) -> String {
    let mut t = fold(title.trim());
    for sep in [" | ", " - ", " :: ", " — "] {
        if let Some(at) = t.rfind(sep) {
            let tail = &t[at + sep.len()..];
            if at > 0 && tail.split_whitespace().count() <= TITLE_SUFFIX_MAX_WORDS {
                t.truncate(at);
            }
        }
    }
    loop {
        let lower = t.trim_start();
        let label = TITLE_LABELS.iter().find_map(|l| {
            let rest = lower.strip_prefix(l)?;
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            rest.strip_prefix([':', '-']).map(str::to_string)
        });
        match label {
            Some(rest) => t = rest,
            None => break,
        }
    }
    t.trim().to_string()
}

/// The site of an article link, as dedup compares it: the host without `www.`, hashed
/// (never 0); 0 for no link. Two links of one site are one outlet's two articles.
fn site_key(url: Option<&str>) -> u32 {
    let host = url.and_then(|u| url::Url::parse(u).ok()).and_then(|u| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    });
    match host {
        Some(h) if !h.is_empty() => (hash64(&h) as u32).max(1),
        _ => 0,
    }
}

/// The hash of one shingle: its tokens' hashes combined in order.
fn shingle_hash(tokens: &[u64]) -> u32 {
    let mut h = HASH_SEED;
    for &t in tokens {
        h = (h ^ t).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    mix(h) as u32
}

/// Calls `each` with the start and hash of every shingle of `W` tokens, in order (`W` a
/// constant, so the combining loop unrolls).
fn for_each_shingle<const W: usize>(tokens: &[u64], mut each: impl FnMut(usize, u32)) {
    for (start, window) in tokens.windows(W).enumerate() {
        let mut h = HASH_SEED;
        for &t in window {
            h = (h ^ t).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
        each(start, mix(h) as u32);
    }
}

fn mix(mut h: u64) -> u64 {
    // murmur3's finaliser: every input bit reaches every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Calls `each` with every cleaned line of `text` in order (a slice of its folded
/// lines) and returns whether a wire is credited. `learned` are the lines learned for the
/// copy's feed.
fn for_each_clean_line<'a>(
    text: &'a FoldedText,
    learned: Option<&FeedLines>,
    mut each: impl FnMut(&'a str),
) -> bool {
    let mut credit = false;
    for (folded, line) in text.lines() {
        // One credited line is enough: the others need not be searched.
        let (credits, chrome) = classify_line(folded, line.words, !credit);
        credit |= credits;
        if chrome || learned.is_some_and(|l| l.is_learned(line.hash, line.words)) {
            continue;
        }
        let body = strip_prefixes(folded);
        if !body.is_empty() {
            each(body);
        }
    }
    credit
}

/// A set of shingle hashes for one text: open addressing in a table of at least twice the
/// shingles (a sort and a dedup cost more for a few hundred of them). The table is kept
/// per thread and each use is a new generation, so no use clears it: a slot of an older
/// generation is empty.
struct FirstSeen {
    /// `generation << 32 | hash` for a slot filled in `generation`.
    slots: Vec<u64>,
    generation: u64,
    /// The slots this use probes (a power of two, from the start of `slots`).
    size: usize,
    shift: u32,
}

thread_local! {
    static FIRST_SEEN: std::cell::RefCell<FirstSeen> = const {
        std::cell::RefCell::new(FirstSeen { slots: Vec::new(), generation: 0, size: 0, shift: 0 })
    };
}

impl FirstSeen {
    /// Calls `f` with the thread's set, emptied, with room for `n` hashes.
    fn with_room<T>(n: usize, f: impl FnOnce(&mut FirstSeen) -> T) -> T {
        FIRST_SEEN.with(|cell| {
            let mut set = cell.borrow_mut();
            let size = (2 * n).max(16).next_power_of_two();
            if set.slots.len() < size {
                set.slots.resize(size, 0);
            }
            set.generation += 1;
            if set.generation >= u64::from(u32::MAX) {
                // After four billion uses: start over from a cleared table.
                set.slots.fill(0);
                set.generation = 1;
            }
            set.size = size;
            set.shift = 64 - size.trailing_zeros();
            f(&mut set)
        })
    }

    /// Adds `h`; whether it was new.
    fn insert(&mut self, h: u32) -> bool {
        let entry = self.generation << 32 | u64::from(h);
        let mask = self.size - 1;
        let mut i = (u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize;
        loop {
            let e = self.slots[i];
            if e == entry {
                return false;
            }
            if e >> 32 != self.generation {
                self.slots[i] = entry;
                return true;
            }
            i = (i + 1) & mask;
        }
    }
}

impl FeedLines {
    /// **How a fetched document's articles are fingerprinted**: learns the lines of every
    /// article (lines the feed repeats across its articles become its boilerplate), then
    /// fingerprints each with the lines learned, its site taken from its link. Each text
    /// is folded once for both. Use one [`FeedLines`] per feed, kept from document to
    /// document ([`crate::dedup::Dedup::take_feed_lines`] lends out the stage's).
    pub fn learn_and_fingerprint<A: Borrow<Article>>(
        &mut self,
        articles: &[A],
    ) -> Vec<Fingerprint> {
        let folded: Vec<FoldedText> = articles
            .iter()
            .map(|a| FoldedText::new(&a.borrow().text))
            .collect();
        for text in &folded {
            self.learn_folded(text);
        }
        articles
            .iter()
            .zip(&folded)
            .map(|(a, text)| fingerprint_article(a.borrow(), text, Some(self)))
            .collect()
    }
}

/// The fingerprint of one text alone (`title` and `text` as [`Article`] holds them), with
/// no feed's lines learned and no site: for tests and benchmarks of single texts. A
/// document's articles are fingerprinted with [`FeedLines::learn_and_fingerprint`].
pub fn fingerprint(title: &str, text: &str) -> Fingerprint {
    fingerprint_folded(title, &FoldedText::new(text), None)
}

/// The fingerprint of `article` (its text folded already) with its feed's `learned` lines,
/// its site from its link: what [`FeedLines::learn_and_fingerprint`] gives for each
/// article, for the stage's own learning and fingerprinting in `ingest`.
pub(super) fn fingerprint_article(
    article: &Article,
    text: &FoldedText,
    learned: Option<&FeedLines>,
) -> Fingerprint {
    let mut fp = fingerprint_folded(&article.title, text, learned);
    fp.site = site_key(article.url.as_deref());
    fp
}

/// Fingerprints one copy, its text folded already, with the lines learned for its feed.
/// The cleaned lines are slices of the folded text and each is tokenised once (its
/// quote-stripped form too, only when it holds a quote); the tokens are slices of the
/// text, not copies. The site is left 0.
fn fingerprint_folded(title: &str, text: &FoldedText, learned: Option<&FeedLines>) -> Fingerprint {
    // The lines holding quoted speech once more without it, one after another: their
    // quote-stripped tokens are slices of this.
    let mut unquoted_text = String::new();
    let mut stripped = String::new();
    // Per cleaned line: the line, and its range in `unquoted_text` when it holds a quote.
    let mut lines: Vec<(&str, Option<(usize, usize)>)> = Vec::with_capacity(text.line_count());
    let credit = for_each_clean_line(text, learned, |line| {
        let unquoted = memchr::memchr(b'"', line.as_bytes()).is_some().then(|| {
            strip_quotes_into(line, &mut stripped);
            let at = unquoted_text.len();
            unquoted_text.push_str(&stripped);
            (at, unquoted_text.len())
        });
        lines.push((line, unquoted));
    });
    let quoted = lines.iter().any(|l| l.1.is_some());
    let mut all: Vec<&str> = Vec::with_capacity(text.folded_len() / 5);
    // Without quoted speech the quote-stripped tokens are `all`: not copied then.
    let mut unquoted: Vec<&str> = Vec::with_capacity(if quoted { all.capacity() } else { 0 });
    let (mut unspaced, mut unquoted_unspaced) = (0, 0);
    for &(line, quotes) in &lines {
        let (first, first_unspaced) = (all.len(), unspaced);
        unspaced += tokenize(line, &mut all);
        if !quoted {
            continue;
        }
        match quotes {
            Some((from, to)) => {
                unquoted_unspaced += tokenize(&unquoted_text[from..to], &mut unquoted);
            }
            None => {
                unquoted.extend_from_slice(&all[first..]);
                unquoted_unspaced += unspaced - first_unspaced;
            }
        }
    }
    drop_percent_words(&mut all);
    // The tokens joined, each followed by a space, hashed at once: XXH3 gives the same
    // hash as streaming them into its hasher one by one, at a fraction of the cost.
    let mut joined: Vec<u8> = Vec::with_capacity(text.folded_len() + all.len());
    for t in &all {
        joined.extend_from_slice(t.as_bytes());
        joined.push(b' ');
    }
    let text_hash = xxhash_rust::xxh3::xxh3_64_with_seed(&joined, HASH_SEED);
    drop_percent_words(&mut unquoted);
    let (tokens, unspaced) = if quoted && unquoted.len() >= MIN_UNQUOTED_WORDS {
        (&unquoted, unquoted_unspaced)
    } else {
        (&all, unspaced)
    };
    let token_hashes: Vec<u64> = tokens.iter().map(|t| hash64(t)).collect();
    let width = if unspaced * 2 > token_hashes.len() {
        SHINGLE_CHARS
    } else {
        SHINGLE_WORDS
    };
    // Each shingle once, at its first position, in document order; positions only grow,
    // so the lede's and the dense prefix's are counted on the way.
    let windows = token_hashes.len().saturating_sub(width) + 1;
    let windows = windows.min(token_hashes.len());
    let mut shingles: Vec<u32> = Vec::with_capacity(windows);
    let (mut lede_len, mut dense_len) = (0, 0);
    FirstSeen::with_room(windows, |seen| {
        let mut each = |start: usize, shingle: u32| {
            if seen.insert(shingle) {
                shingles.push(shingle);
                lede_len += u32::from(start < LEDE_WORDS);
                dense_len += u32::from(start < DENSE_PREFIX_WORDS);
            }
        };
        match width {
            SHINGLE_WORDS if token_hashes.len() >= SHINGLE_WORDS => {
                for_each_shingle::<SHINGLE_WORDS>(&token_hashes, &mut each);
            }
            SHINGLE_CHARS if token_hashes.len() >= SHINGLE_CHARS => {
                for_each_shingle::<SHINGLE_CHARS>(&token_hashes, &mut each);
            }
            // Fewer tokens than a shingle: one shingle of them all (none when there are
            // none).
            _ => {
                if !token_hashes.is_empty() {
                    each(0, shingle_hash(&token_hashes));
                }
            }
        }
    });
    let (title_words, title_hash) = title_key(title);
    let numbers = number_contexts(&all);
    Fingerprint {
        numbers,
        shingles,
        lede_len,
        dense_len,
        words: all.len() as u32,
        text_hash,
        title_words,
        title_hash,
        credit,
        site: 0,
    }
}

/// Removes the words that spell a number's "%" ("5.1 percent", "5.1 per cent", "5,1 pour
/// cent"): the sign itself is no token, and house styles differ between copies of one text.
fn drop_percent_words(tokens: &mut Vec<&str>) {
    let after_number =
        |t: &[&str], i: usize| i > 0 && t[i - 1].as_bytes().first().is_some_and(u8::is_ascii_digit);
    let mut i = 0;
    while i < tokens.len() {
        if !after_number(tokens, i) {
            i += 1;
            continue;
        }
        let pair = matches!(tokens[i], "per" | "pour" | "por")
            && matches!(tokens.get(i + 1), Some(&("cent" | "ciento")));
        if pair {
            tokens.drain(i..i + 2);
        } else if matches!(
            tokens[i],
            "percent" | "pct" | "prozent" | "procent" | "percento"
        ) {
            tokens.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The numbers of a token sequence with their contexts, for [`profile::number_conflicts`]:
/// one entry per number and side, the high 16 bits hashing the two words before it (or
/// after it, hashed apart), the low 16 bits hashing its digits ("$1.9bn" and "1.9
/// billion" agree). Dates (a year, a number beside a month name) are left out: outlets
/// restate dates in their own chrome. So is a number ending the text, which a truncated
/// description may have cut.
///
/// [`profile::number_conflicts`]: super::profile::number_conflicts
pub fn number_contexts(tokens: &[&str]) -> Vec<u32> {
    let is_number = |t: &str| t.as_bytes().first().is_some_and(u8::is_ascii_digit);
    let mut out = Vec::new();
    // Reused for each number: its digits, and the bytes a context hashes.
    let (mut digits, mut bytes) = (Vec::new(), Vec::new());
    for (i, t) in tokens.iter().enumerate() {
        if !is_number(t) || i + 1 == tokens.len() {
            continue;
        }
        let year = t.len() == 4 && (t.starts_with("19") || t.starts_with("20"));
        let beside_month = [i.checked_sub(1), Some(i + 1)]
            .into_iter()
            .flatten()
            .any(|k| tokens.get(k).is_some_and(|w| MONTHS.contains(w)));
        if year || beside_month {
            continue;
        }
        digits.clear();
        digits.extend(t.bytes().filter(|&c| c.is_ascii_digit() || c == b'.'));
        let from = digits
            .iter()
            .position(|&c| c != b'.')
            .unwrap_or(digits.len());
        let to = digits
            .iter()
            .rposition(|&c| c != b'.')
            .map_or(from, |e| e + 1);
        let value =
            (xxhash_rust::xxh3::xxh3_64_with_seed(&digits[from..to], HASH_SEED) >> 48) as u32;
        // The parts joined and hashed at once: XXH3 gives what streaming them would.
        let mut context = |side: u8, a: &str, b: &str| {
            bytes.clear();
            bytes.push(side);
            bytes.extend_from_slice(a.as_bytes());
            bytes.push(b' ');
            bytes.extend_from_slice(b.as_bytes());
            (xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, HASH_SEED) as u32 & 0xffff_0000) | value
        };
        if i >= 2 {
            out.push(context(b'<', tokens[i - 2], tokens[i - 1]));
        }
        if i + 2 < tokens.len() {
            out.push(context(b'>', tokens[i + 1], tokens[i + 2]));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The significant words of a title (hashed, sorted) and its title-rule key.
pub fn title_key(title: &str) -> (Vec<u32>, Option<u64>) {
    let norm = normalise_title(title);
    let mut tokens = Vec::new();
    tokenize(&norm, &mut tokens);
    let mut words: Vec<u32> = tokens
        .iter()
        .filter(|t| !stop_words().contains(t))
        .map(|t| hash64(t) as u32)
        .collect();
    let significant = words.len();
    words.sort_unstable();
    words.dedup();
    let key = (significant >= TITLE_MIN_WORDS).then(|| hash64(&tokens.join(" ")));
    (words, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        fingerprint("t", text)
    }

    #[test]
    fn fingerprints_are_stable_and_ignore_chrome_case_and_quote_style() {
        let a = fp(
            "LAGOS (Reuters) - The central bank raised its key rate to 27.5% on Tuesday, the sixth rise this year.\nAdvertisement\nThe bank said inflation was the main worry.",
        );
        let b = fp(
            "Published: 12:16, 14 July 2025\nThe Central Bank raised its key rate to 27.5% on Tuesday, the sixth rise this year.\nThe bank said inflation was the main worry.",
        );
        assert_eq!(a.shingles, b.shingles);
        assert!(a.credit && !b.credit);
        // The hash is part of the stored format: it must never change silently.
        assert_eq!(
            fp("one two three four five").shingles,
            vec![fp("One  two three four five").shingles[0]]
        );
        assert_eq!(
            hash64("tributary"),
            0x776e_e62e_b22e_6931,
            "xxh3 with the dedup seed changed"
        );
    }

    /// `Article.text` is plain text: markup written in it is part of what the article says,
    /// never stripped again.
    #[test]
    fn markup_written_as_text_is_text() {
        let with = fp("Editors still type <p> before every paragraph of the pages they write");
        let without = fp("Editors still type before every paragraph of the pages they write");
        assert_eq!(with.words, without.words + 1);
        assert_ne!(with.text_hash, without.text_hash);
    }

    #[test]
    fn percent_spelled_out_or_as_a_sign_is_the_same_text() {
        let sign = fp("Inflation eased to 5.1% in July, the lowest since 2021, officials said.");
        for spelled in [
            "Inflation eased to 5.1 percent in July, the lowest since 2021, officials said.",
            "Inflation eased to 5.1 per cent in July, the lowest since 2021, officials said.",
        ] {
            assert_eq!(fp(spelled).shingles, sign.shingles, "{spelled}");
        }
        // Only after a number: "per cent" elsewhere is words.
        assert_ne!(
            fp("Ninety per cent of voters agreed with the plan on Tuesday.").shingles,
            fp("Ninety of voters agreed with the plan on Tuesday.").shingles
        );
    }

    #[test]
    fn titles_lose_outlet_suffixes_and_labels() {
        assert_eq!(
            normalise_title("WATCH: Rates rise again - Reuters"),
            "rates rise again"
        );
        assert_eq!(
            normalise_title("UPDATE 1-Rates rise | The Hindu"),
            "rates rise"
        );
        let (w, k) =
            title_key("Nigeria central bank raises interest rate to record high - Reuters");
        assert!(k.is_some() && w.len() >= 5);
        assert!(title_key("Rates rise").1.is_none());
    }

    /// The fingerprinting this module did before texts were folded once and both phrase
    /// lists searched in one pass: the fast path must give the same fingerprints.
    mod reference {
        use super::super::*;
        use crate::dedup::chrome::{credits_wire, is_chrome_counted};
        use crate::dedup::normalize::fold_into;
        use crate::dedup::words::count_words;
        use crate::markup::whitespace::for_each_line;

        fn for_each_clean_line(
            text: &str,
            learned: Option<&FeedLines>,
            mut each: impl FnMut(&str),
        ) -> bool {
            let mut credit = false;
            let mut folded = String::new();
            for_each_line(text, |line| {
                fold_into(line, &mut folded);
                credit = credit || credits_wire(&folded);
                let words = count_words(&folded, usize::MAX);
                if is_chrome_counted(&folded, words) {
                    return;
                }
                if learned.is_some_and(|l| l.is_learned(hash64(&folded), words)) {
                    return;
                }
                let body = strip_prefixes(&folded);
                if !body.is_empty() {
                    each(body);
                }
            });
            credit
        }

        pub fn number_contexts(tokens: &[&str]) -> Vec<u32> {
            let is_number = |t: &str| t.as_bytes().first().is_some_and(u8::is_ascii_digit);
            let mut out = Vec::new();
            for (i, t) in tokens.iter().enumerate() {
                if !is_number(t) || i + 1 == tokens.len() {
                    continue;
                }
                let year = t.len() == 4 && (t.starts_with("19") || t.starts_with("20"));
                let beside_month = [i.checked_sub(1), Some(i + 1)]
                    .into_iter()
                    .flatten()
                    .any(|k| tokens.get(k).is_some_and(|w| MONTHS.contains(w)));
                if year || beside_month {
                    continue;
                }
                let digits: String = t
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let value = (hash64(digits.trim_matches('.')) >> 48) as u32;
                let context = |side: &[u8], a: &str, b: &str| {
                    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(HASH_SEED);
                    for part in [side, a.as_bytes(), b" ", b.as_bytes()] {
                        h.update(part);
                    }
                    (h.digest() as u32 & 0xffff_0000) | value
                };
                if i >= 2 {
                    out.push(context(b"<", tokens[i - 2], tokens[i - 1]));
                }
                if i + 2 < tokens.len() {
                    out.push(context(b">", tokens[i + 1], tokens[i + 2]));
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        }

        pub fn line_hashes(text: &str) -> Vec<u64> {
            let mut hashes = Vec::new();
            let mut folded = String::new();
            for_each_line(text, |l| {
                fold_into(l, &mut folded);
                hashes.push(hash64(&folded));
            });
            hashes
        }

        pub fn fingerprint_with(
            title: &str,
            text: &str,
            learned: Option<&FeedLines>,
        ) -> Fingerprint {
            let mut cleaned = String::new();
            let mut lines: Vec<(usize, usize)> = Vec::new();
            let credit = for_each_clean_line(text, learned, |line| {
                lines.push((cleaned.len(), cleaned.len() + line.len()));
                cleaned.push_str(line);
            });
            let mut all: Vec<&str> = Vec::new();
            let mut unquoted_lines: Vec<String> = Vec::new();
            let mut unspaced = 0;
            for &(from, to) in &lines {
                unspaced += tokenize(&cleaned[from..to], &mut all);
                unquoted_lines.push(if cleaned[from..to].contains('"') {
                    crate::dedup::normalize::strip_quotes(&cleaned[from..to])
                } else {
                    cleaned[from..to].to_string()
                });
            }
            let mut unquoted: Vec<&str> = Vec::new();
            let mut unquoted_unspaced = 0;
            for l in &unquoted_lines {
                unquoted_unspaced += tokenize(l, &mut unquoted);
            }
            drop_percent_words(&mut all);
            let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(HASH_SEED);
            for t in &all {
                hasher.update(t.as_bytes());
                hasher.update(b" ");
            }
            let text_hash = hasher.digest();
            drop_percent_words(&mut unquoted);
            let (tokens, unspaced) = if unquoted.len() >= MIN_UNQUOTED_WORDS {
                (&unquoted, unquoted_unspaced)
            } else {
                (&all, unspaced)
            };
            let token_hashes: Vec<u64> = tokens.iter().map(|t| hash64(t)).collect();
            let width = if unspaced * 2 > token_hashes.len() {
                SHINGLE_CHARS
            } else {
                SHINGLE_WORDS
            };
            let windows = (token_hashes.len().saturating_sub(width) + 1).min(token_hashes.len());
            let mut positioned: Vec<(u32, u32)> = Vec::new();
            for start in 0..windows {
                let mut h = HASH_SEED;
                for &t in &token_hashes[start..(start + width).min(token_hashes.len())] {
                    h = (h ^ t).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
                }
                let shingle = mix(h) as u32;
                if !positioned.iter().any(|p| p.0 == shingle) {
                    positioned.push((shingle, start as u32));
                }
            }
            let count = |limit: usize| {
                positioned
                    .iter()
                    .take_while(|p| (p.1 as usize) < limit)
                    .count() as u32
            };
            let (title_words, title_hash) = title_key(title);
            Fingerprint {
                numbers: self::number_contexts(&all),
                lede_len: count(LEDE_WORDS),
                dense_len: count(DENSE_PREFIX_WORDS),
                shingles: positioned.into_iter().map(|p| p.0).collect(),
                words: all.len() as u32,
                text_hash,
                title_words,
                title_hash,
                credit,
                site: 0,
            }
        }
    }

    /// Texts with what fingerprinting treats specially: chrome, credits, datelines,
    /// quotes, percent words, numbers, markup, unspaced scripts, odd spacing.
    fn tricky_article() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let pieces = vec![
            "the",
            "bank",
            "raised",
            "rates",
            "on",
            "tuesday",
            "said",
            "acme",
            "shares",
            "rose",
            "4.1",
            "12",
            "2025",
            "july",
            "14",
            "%",
            "percent",
            "per",
            "cent",
            "\"",
            "\u{201c}",
            "\u{201d}",
            "(reuters) -",
            "lagos (afp) - ",
            "source: ap",
            "originally published by",
            "originally published",
            "photo: jo bloggs",
            "getty images",
            "\u{a9} 2025",
            "advertisement",
            "read more",
            "published: 12:16,",
            "by jane doe",
            "(adds details)",
            "reuters/",
            "ap photo",
            "with inputs from",
            "\n",
            "\n",
            "\n",
            "\n\n",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\u{a0}",
            "<p>",
            "</p>",
            "&amp;",
            "\u{6771}\u{4eac}\u{90fd}",
            "\u{e9}t\u{e9}",
            "E\u{301}",
            "\u{ff21}",
            ".",
            ",",
            ":",
            "|",
            "-",
            "\u{2014}",
            "\r\n",
            "\u{b}",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..120).prop_map(|v| {
            let mut s = String::new();
            for (i, p) in v.iter().enumerate() {
                if i > 0 && !p.starts_with(['\n', ' ', '\t', '.', ',']) {
                    s.push(' ');
                }
                s.push_str(p);
            }
            s
        })
    }

    proptest::proptest! {
        #[test]
        fn fingerprints_are_those_of_the_plain_implementation(
            texts in proptest::collection::vec(tricky_article(), 1..6),
            title in tricky_article(),
        ) {
            // Learn from all, with a sign-off in every one that becomes boilerplate, then
            // fingerprint each.
            let texts: Vec<String> = texts
                .into_iter()
                .map(|t| format!("{t}\nOur desk thanks every reader today"))
                .collect();
            let mut lines = FeedLines::default();
            let mut plain = FeedLines::default();
            for _ in 0..6 {
                lines.learn_folded(&FoldedText::new("Our desk thanks every reader today\nMore from the desk"));
                plain.observe(&reference::line_hashes("Our desk thanks every reader today\nMore from the desk"));
            }
            // The document door, from the same learned lines, gives the same fingerprints
            // with each article's site.
            let mut door = lines.clone();
            let articles: Vec<Article> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| Article {
                    title: title.clone(),
                    text: t.clone(),
                    url: (i % 2 == 0).then(|| format!("https://www.site{i}.example/news/{i}")),
                    ..Article::default()
                })
                .collect();
            let from_door = door.learn_and_fingerprint(&articles);
            let folded: Vec<FoldedText> = texts.iter().map(|t| FoldedText::new(t)).collect();
            for (t, f) in texts.iter().zip(&folded) {
                lines.learn_folded(f);
                plain.observe(&reference::line_hashes(t));
                proptest::prop_assert_eq!(f.line_hashes().collect::<Vec<_>>(), reference::line_hashes(t));
            }
            for (i, (t, f)) in texts.iter().zip(&folded).enumerate() {
                let want = reference::fingerprint_with(&title, t, Some(&plain));
                let mut with_site = want.clone();
                with_site.site = site_key(articles[i].url.as_deref());
                proptest::prop_assert_eq!(&from_door[i], &with_site);
                proptest::prop_assert_eq!(with_site.site != 0, i % 2 == 0);
                proptest::prop_assert_eq!(&fingerprint_folded(&title, f, Some(&lines)), &want);
                proptest::prop_assert_eq!(&fingerprint(&title, t), &reference::fingerprint_with(&title, t, None));
            }
        }
    }

    #[test]
    fn unspaced_scripts_get_character_shingles() {
        let f = fp("日本銀行は金利を引き上げたと発表した。市場は反応した。");
        assert!(f.shingles.len() > 10);
    }
}
