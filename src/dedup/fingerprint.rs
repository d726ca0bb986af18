//! Fingerprints: what dedup remembers of a copy. The cleaned text's quote-stripped
//! shingles (word 5-grams, or character 4-grams for unspaced scripts), hashed with a fixed
//! seed so they survive restarts and upgrades, in document order (the first ones are the
//! lede), plus the title's significant words and the facts the rules and the
//! representative choice need.

use super::boilerplate::{
    FeedLines, LearnedLines, MONTHS, count_words, credits_wire, is_chrome_counted, strip_prefixes,
};
use super::normalize::{fold, fold_into, for_each_plain_line, strip_quotes_into, tokenize};
use super::policy::{
    DENSE_MOD, DENSE_PREFIX_WORDS, HASH_SEED, LEDE_WORDS, MIN_UNQUOTED_WORDS, SHINGLE_CHARS,
    SHINGLE_WORDS, SPARSE_MOD, TITLE_MIN_WORDS,
};

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
}

/// Words that do not make a title specific.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "but", "is", "are", "was", "were", "be", "as", "its", "it", "this", "that", "after", "over",
    "into", "up", "out", "new", "says", "said", "say", "s", "de", "la", "le", "les", "des", "du",
    "et", "en", "un", "une",
];

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
            if at > 0 && tail.split_whitespace().count() <= 5 {
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

/// 64-bit hash of a string with the dedup seed.
pub fn hash64(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(s.as_bytes(), HASH_SEED)
}

fn mix(mut h: u64) -> u64 {
    // murmur3's finaliser: every input bit reaches every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The cleaned lines of a text: plain, folded, without chrome, the feed's learned
/// boilerplate, datelines and caption prefixes. Also says whether a wire is credited.
pub fn clean_lines(text: &str, feed: i64, learned: &LearnedLines) -> (Vec<String>, bool) {
    let mut kept = Vec::new();
    let credit = for_each_clean_line(text, learned.feed(feed), |l| kept.push(l.to_string()));
    (kept, credit)
}

/// [`clean_lines`] without a `String` per line: calls `each` with every cleaned line in
/// order (folded into one reused buffer) and returns whether a wire is credited.
/// `learned` are the lines learned for the copy's feed.
pub fn for_each_clean_line(
    text: &str,
    learned: Option<&FeedLines>,
    mut each: impl FnMut(&str),
) -> bool {
    let mut credit = false;
    let mut folded = String::new();
    for_each_plain_line(text, |line| {
        fold_into(line, &mut folded);
        // One credited line is enough: the others need not be searched.
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

/// Hashes of a text's folded lines, for [`LearnedLines::observe`].
pub fn line_hashes(text: &str) -> Vec<u64> {
    let mut hashes = Vec::new();
    let mut folded = String::new();
    for_each_plain_line(text, |l| {
        fold_into(l, &mut folded);
        hashes.push(hash64(&folded));
    });
    hashes
}

/// A set of shingle hashes for one text: open addressing in a table of at least twice the
/// shingles (a sort and a dedup cost more for a few hundred of them).
struct FirstSeen {
    /// `hash | 1 << 32` for a filled slot, 0 for an empty one.
    slots: Vec<u64>,
    shift: u32,
}

impl FirstSeen {
    fn with_room(n: usize) -> FirstSeen {
        let size = (2 * n).max(16).next_power_of_two();
        FirstSeen {
            slots: vec![0; size],
            shift: 64 - size.trailing_zeros(),
        }
    }

    /// Adds `h`; whether it was new.
    fn insert(&mut self, h: u32) -> bool {
        let entry = u64::from(h) | 1 << 32;
        let mask = self.slots.len() - 1;
        let mut i = (u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = entry;
                    return true;
                }
                e if e == entry => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// Fingerprints one copy of feed `feed`. The cleaned lines are kept in one buffer and
/// each is tokenised once (its quote-stripped form too, only when it holds a quote); the
/// tokens are slices of the buffer, not copies.
pub fn fingerprint(title: &str, text: &str, feed: i64, learned: &LearnedLines) -> Fingerprint {
    fingerprint_with(title, text, learned.feed(feed))
}

/// [`fingerprint`] with the lines learned for the copy's feed, if any.
pub fn fingerprint_with(title: &str, text: &str, learned: Option<&FeedLines>) -> Fingerprint {
    // The cleaned lines one after another in one buffer, and the lines holding quoted
    // speech once more without it in another: the tokens are slices of these two.
    let mut cleaned = String::with_capacity(text.len());
    let mut unquoted_text = String::new();
    let mut stripped = String::new();
    // Per line: its range in `cleaned`, and in `unquoted_text` when it holds a quote.
    type Span = (usize, usize);
    let mut lines: Vec<(Span, Option<Span>)> = Vec::new();
    let credit = for_each_clean_line(text, learned, |line| {
        let unquoted = line.contains('"').then(|| {
            strip_quotes_into(line, &mut stripped);
            let at = unquoted_text.len();
            unquoted_text.push_str(&stripped);
            (at, unquoted_text.len())
        });
        lines.push(((cleaned.len(), cleaned.len() + line.len()), unquoted));
        cleaned.push_str(line);
    });
    let mut all: Vec<&str> = Vec::with_capacity(text.len() / 5);
    let mut unquoted: Vec<&str> = Vec::with_capacity(text.len() / 5);
    let (mut unspaced, mut unquoted_unspaced) = (0, 0);
    for &((from, to), quoted) in &lines {
        let (first, first_unspaced) = (all.len(), unspaced);
        unspaced += tokenize(&cleaned[from..to], &mut all);
        match quoted {
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
    let mut joined: Vec<u8> = Vec::with_capacity(cleaned.len() + all.len());
    for t in &all {
        joined.extend_from_slice(t.as_bytes());
        joined.push(b' ');
    }
    let text_hash = xxhash_rust::xxh3::xxh3_64_with_seed(&joined, HASH_SEED);
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
    // Each shingle once, at its first position, in document order.
    let windows = token_hashes.len().saturating_sub(width) + 1;
    let windows = windows.min(token_hashes.len());
    let mut positioned: Vec<(u32, u32)> = Vec::with_capacity(windows);
    let mut seen = FirstSeen::with_room(windows);
    for start in 0..windows {
        let mut h = HASH_SEED;
        for &t in &token_hashes[start..(start + width).min(token_hashes.len())] {
            h = (h ^ t).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
        let shingle = mix(h) as u32;
        if seen.insert(shingle) {
            positioned.push((shingle, start as u32));
        }
    }
    let lede_len = positioned
        .iter()
        .take_while(|p| (p.1 as usize) < LEDE_WORDS)
        .count() as u32;
    let dense_len = positioned
        .iter()
        .take_while(|p| (p.1 as usize) < DENSE_PREFIX_WORDS)
        .count() as u32;
    let (title_words, title_hash) = title_key(title);
    let numbers = number_contexts(&all);
    Fingerprint {
        numbers,
        shingles: positioned.into_iter().map(|p| p.0).collect(),
        lede_len,
        dense_len,
        words: all.len() as u32,
        text_hash,
        title_words,
        title_hash,
        credit,
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

/// The significant words of a title (hashed, sorted) and its title-rule key.
pub fn title_key(title: &str) -> (Vec<u32>, Option<u64>) {
    let norm = normalise_title(title);
    let mut tokens = Vec::new();
    tokenize(&norm, &mut tokens);
    let mut words: Vec<u32> = tokens
        .iter()
        .filter(|t| !STOP_WORDS.contains(t))
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
        fingerprint("t", text, 1, &LearnedLines::default())
    }

    #[test]
    fn fingerprints_are_stable_and_ignore_chrome_case_and_quote_style() {
        let a = fp(
            "LAGOS (Reuters) - The central bank raised its key rate to 27.5% on Tuesday, the sixth rise this year.\nAdvertisement\nThe bank said inflation was the main worry.",
        );
        let b = fp(
            "<p>Published: 12:16, 14 July 2025</p><p>The Central Bank raised its key rate to 27.5% on Tuesday, the sixth rise this year.</p><p>The bank said inflation was the main worry.</p>",
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

    #[test]
    fn unspaced_scripts_get_character_shingles() {
        let f = fp("日本銀行は金利を引き上げたと発表した。市場は反応した。");
        assert!(f.shingles.len() > 10);
    }
}
