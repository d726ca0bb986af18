//! The comparison form of a copy: its fingerprint as sorted 16-bit sets (compact enough to
//! keep every story's representative in memory), with who published it when, and the rank
//! that decides which copy represents a story.

use zerocopy::{FromBytes, IntoBytes};

use super::fingerprint::Fingerprint;
use super::policy::LONG_WORDS;

/// One copy, ready to compare. Kept for several copies of every live story (a third of
/// a million of them at a million stored), so it is 80 bytes and one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Store id of the article.
    pub article: i64,
    /// Store id of its feed.
    pub feed: i64,
    /// Publication time, Unix seconds.
    pub published: i64,
    /// Hash of the cleaned text.
    pub text_hash: u64,
    /// Title-rule key, 0 for none.
    title: u64,
    /// [`Profile::set`] (two 16-bit values a word), then [`Profile::title_words`], then
    /// [`Profile::numbers`].
    data: Box<[u32]>,
    /// Its site ([`super::fingerprint::site_key`]; 0 unknown).
    pub site: u32,
    /// Length of the set at the start of `data`, in 16-bit values.
    set_len: u32,
    /// Length of the title words in `data`.
    title_len: u32,
    /// Words of the cleaned text.
    pub words: u32,
    /// From a `[dedup].prefer` source.
    preferred: bool,
    /// The text credits a wire service.
    credit: bool,
}

/// Representative priority, compared field by field (greater is better): a preferred
/// source, then the longest full text crediting a wire, then the earliest, then the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Rank {
    /// From a `[dedup].prefer` source.
    pub preferred: bool,
    /// Words of a full text that credits a wire (0 otherwise).
    pub credited_words: u32,
    /// Minus the publication time: earlier is greater.
    pub earliness: i64,
    /// Words of the text.
    pub words: u32,
}

/// Appends the 16-bit set of `hashes` to `out`: truncated, sorted, each once. A long text
/// is sorted through a bitmap of all 65,536 values, read in order through a summary of its
/// non-empty words and cleared as it is read (kept per thread, so neither zeroing nor
/// scanning its 8 KiB costs more than the values do): cheaper than a comparison sort of a
/// few hundred values. The restart builds one for every live story.
fn push_short_set(hashes: &[u32], out: &mut Vec<u16>) {
    if hashes.len() > 64 {
        SHORT_SET_BITS.with(|bits| {
            let (words, summary) = &mut *bits.borrow_mut();
            for &h in hashes {
                let v = (h >> 16) as usize;
                words[v >> 6] |= 1 << (v & 63);
                summary[v >> 12] |= 1 << ((v >> 6) & 63);
            }
            for (s, group) in summary.iter_mut().enumerate() {
                let mut g = std::mem::take(group);
                while g != 0 {
                    let w = s << 6 | g.trailing_zeros() as usize;
                    let mut b = std::mem::take(&mut words[w]);
                    while b != 0 {
                        out.push((w << 6 | b.trailing_zeros() as usize) as u16);
                        b &= b - 1;
                    }
                    g &= g - 1;
                }
            }
        });
        return;
    }
    let from = out.len();
    out.extend(hashes.iter().map(|h| (h >> 16) as u16));
    out[from..].sort_unstable();
    let mut kept = from;
    for i in from..out.len() {
        if kept == from || out[i] != out[kept - 1] {
            out[kept] = out[i];
            kept += 1;
        }
    }
    out.truncate(kept);
}

thread_local! {
    /// [`push_short_set`]'s bitmap (1,024 words of 64 values) and its summary (a bit per
    /// word that holds a value), all zero between calls.
    static SHORT_SET_BITS: std::cell::RefCell<([u64; 1 << 10], [u64; 16])> =
        const { std::cell::RefCell::new(([0; 1 << 10], [0; 16])) };
}

impl Profile {
    /// The profile of a fingerprinted copy.
    pub fn new(
        article: i64,
        feed: i64,
        published: i64,
        preferred: bool,
        fp: &Fingerprint,
    ) -> Profile {
        let mut set = Vec::with_capacity(fp.shingles.len());
        push_short_set(&fp.shingles, &mut set);
        let mut data =
            Vec::with_capacity(set.len().div_ceil(2) + fp.title_words.len() + fp.numbers.len());
        // Two values a word, each in its own two bytes in memory order, so [`Profile::set`]
        // reads them back as `u16`s on any platform.
        data.extend(set.chunks(2).map(|pair| {
            let (a, b) = (
                pair[0].to_ne_bytes(),
                pair.get(1).copied().unwrap_or(0).to_ne_bytes(),
            );
            u32::from_ne_bytes([a[0], a[1], b[0], b[1]])
        }));
        data.extend_from_slice(&fp.title_words);
        data.extend_from_slice(&fp.numbers);
        Profile {
            article,
            feed,
            published,
            text_hash: fp.text_hash,
            title: fp.title_hash.unwrap_or(0),
            data: data.into_boxed_slice(),
            site: fp.site,
            set_len: set.len() as u32,
            title_len: fp.title_words.len() as u32,
            words: fp.words,
            preferred,
            credit: fp.credit,
        }
    }
}

impl Profile {
    /// Shingles, truncated to 16 bits, sorted, each once. Truncation merges unrelated
    /// shingles with odds |set|/65536 per shingle: under 0.5% of overlap for news lengths.
    pub fn set(&self) -> &[u16] {
        let words = self.set_len.div_ceil(2) as usize;
        let packed = self.data[..words].as_bytes();
        // `packed` is `words` u32s, so it holds `2 * words` >= `set_len` u16s at an alignment
        // u16 accepts: the cast cannot fail (an empty set if it somehow did).
        <[u16]>::ref_from_prefix_with_elems(packed, self.set_len as usize)
            .map_or(&[], |(set, _)| set)
    }

    /// Significant title words, sorted.
    pub fn title_words(&self) -> &[u32] {
        let from = self.set_len.div_ceil(2) as usize;
        &self.data[from..from + self.title_len as usize]
    }

    /// The title-rule key, when the title qualifies.
    pub fn title_hash(&self) -> Option<u64> {
        (self.title != 0).then_some(self.title)
    }

    /// How well it would represent its story.
    pub fn rank(&self) -> Rank {
        Rank {
            preferred: self.preferred,
            credited_words: if self.credit && self.words as usize >= LONG_WORDS {
                self.words
            } else {
                0
            },
            earliness: -self.published,
            words: self.words,
        }
    }

    /// The numbers the text states with their contexts (see
    /// [`super::fingerprint::number_contexts`]).
    pub fn numbers(&self) -> &[u32] {
        &self.data[self.set_len.div_ceil(2) as usize + self.title_len as usize..]
    }
}

/// How many elements two sorted, deduplicated slices share.
pub fn shared<T: Ord>(a: &[T], b: &[T]) -> usize {
    // Without branches on the comparison: which side moves is data, not a guess the CPU
    // gets wrong half the time.
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (&a[i], &b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

/// How many of `small`'s numbers `big` contradicts: `big` has the same words before (or
/// after) a number but a different number there, and does not state `small`'s number
/// anywhere. Entries are [`super::fingerprint::number_contexts`]'s. A trimmed or
/// re-edited copy drops figures and outlets add dates, so a missing number is no evidence;
/// a different figure in the same sentence is ("shares rose 4.1%" against "shares rose
/// 2.7%").
pub fn number_conflicts(small: &[u32], big: &[u32]) -> usize {
    let context = |e: u32| e >> 16;
    let value = |e: u32| e & 0xffff;
    let mut big_values: Vec<u32> = big.iter().map(|&e| value(e)).collect();
    big_values.sort_unstable();
    small
        .iter()
        .filter(|&&e| {
            let at = big.partition_point(|&b| context(b) < context(e));
            let same_context = big[at..].iter().take_while(|&&b| context(b) == context(e));
            let mut seen = false;
            for &b in same_context {
                if value(b) == value(e) {
                    return false;
                }
                seen = true;
            }
            seen && big_values.binary_search(&value(e)).is_err()
        })
        .count()
}

/// Overlap coefficient: shared elements over the smaller set's size (0 when one is empty).
pub fn overlap<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let min = a.len().min(b.len());
    if min == 0 {
        0.0
    } else {
        shared(a, b) as f64 / min as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn short_sets_are_the_sorted_distinct_high_halves(
            hashes in proptest::collection::vec(proptest::num::u32::ANY, 0..400),
            // Few distinct values: many repeats, and runs of them.
            narrow in proptest::collection::vec(0u32..(1 << 21), 0..400),
            prefix in proptest::collection::vec(proptest::num::u16::ANY, 0..3),
        ) {
            let hashes: Vec<u32> = if narrow.len() % 2 == 0 { narrow } else { hashes };
            let mut out = prefix.clone();
            push_short_set(&hashes, &mut out);
            let mut want: Vec<u16> = hashes.iter().map(|h| (h >> 16) as u16).collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(&out[..prefix.len()], &prefix[..]);
            proptest::prop_assert_eq!(&out[prefix.len()..], &want[..]);
        }
    }

    #[test]
    fn overlap_is_containment_in_the_smaller_set() {
        assert_eq!(overlap(&[1, 2, 3], &[1, 2, 3, 4, 5, 6]), 1.0);
        assert_eq!(overlap(&[1, 2, 3, 4], &[3, 4, 5, 6]), 0.5);
        assert_eq!(overlap::<u16>(&[], &[1]), 0.0);
    }

    #[test]
    fn only_a_different_figure_in_the_same_words_is_a_conflict() {
        use crate::dedup::fingerprint::number_contexts;
        let numbers = |s: &str| {
            let mut t = Vec::new();
            crate::dedup::normalize::tokenize(s, &mut t);
            number_contexts(&t)
        };
        let wire = numbers("shares in acme rose 4.1% on tuesday after record results of 12 units");
        // A trimmed copy with a date line: nothing contradicts.
        let copy = numbers("july 14 2025 shares in acme rose 4.1 percent on tuesday after");
        assert_eq!(number_conflicts(&copy, &wire), 0);
        // Another story of the same template states another figure in the same words.
        let other = numbers("shares in zenith rose 2.7% on tuesday after record results");
        assert_eq!(number_conflicts(&other, &wire), 1);
        // A figure the other text does not state at all is no evidence.
        let extra = numbers("shares in acme rose 4.1% on tuesday as 300 staff left the plant");
        assert_eq!(number_conflicts(&extra, &wire), 0);
    }

    #[test]
    fn rank_prefers_preferred_then_credited_length_then_earliest() {
        let a = Rank {
            preferred: true,
            credited_words: 0,
            earliness: -10,
            words: 5,
        };
        let b = Rank {
            preferred: false,
            credited_words: 900,
            earliness: 0,
            words: 900,
        };
        let c = Rank {
            preferred: false,
            credited_words: 0,
            earliness: 0,
            words: 2000,
        };
        let d = Rank {
            preferred: false,
            credited_words: 0,
            earliness: -5,
            words: 3000,
        };
        assert!(a > b && b > c && c > d);
    }
}
