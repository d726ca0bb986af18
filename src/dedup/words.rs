//! Text helpers the other dedup modules share: counting a line's words fast, small sets of
//! constant words, a prefilter that rules out phrase searches, and the dedup seed's hash.
//! They sit below the chrome, dateline, folded-text and fingerprint modules, and use none
//! of them.

use super::policy::HASH_SEED;

/// 64-bit hash of a string with the dedup seed.
pub fn hash64(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(s.as_bytes(), HASH_SEED)
}

/// The whitespace-separated words of `s` (as `split_whitespace` counts them), counted up
/// to `limit`: ASCII is classified eight bytes at a time.
pub(super) fn count_words(s: &str, limit: usize) -> usize {
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

/// A prefilter for a list of phrases: bytes and words of which every phrase holds at least
/// one. A text holding none of them holds no phrase, and needs no search of the phrases'
/// automaton.
pub(super) struct Anchors {
    bytes: [u8; 4],
    /// Each searched for on its own (a search for one word skips ahead on its rarest
    /// bytes).
    words: Vec<memchr::memmem::Finder<'static>>,
}

impl Anchors {
    /// The prefilter of anchor `bytes` and `words`.
    pub(super) fn new(bytes: [u8; 4], words: &[&'static str]) -> Anchors {
        Anchors {
            bytes,
            words: words
                .iter()
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
                .collect(),
        }
    }

    /// False when `s` surely holds none of the phrases: it holds none of the anchors.
    pub(super) fn may_hold(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let [b1, b2, b3, b4] = self.bytes;
        memchr::memchr3(b1, b2, b3, b).is_some()
            || memchr::memchr(b4, b).is_some()
            || self.words.iter().any(|w| w.find(b).is_some())
    }
}
