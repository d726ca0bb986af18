//! The comparison form of a copy: its fingerprint as sorted 16-bit sets (compact enough to
//! keep every story's representative in memory), with who published it when, and the rank
//! that decides which copy represents a story.

use super::fingerprint::Fingerprint;
use super::policy::LONG_WORDS;

/// One copy, ready to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Store id of the article.
    pub article: i64,
    /// Store id of its feed.
    pub feed: i64,
    /// Publication time, Unix seconds.
    pub published: i64,
    /// Shingles, truncated to 16 bits, sorted, each once. Truncation merges unrelated
    /// shingles with odds |set|/65536 per shingle: under 0.5% of overlap for news lengths.
    pub set: Box<[u16]>,
    /// The lede's shingles, the same way.
    pub lede: Box<[u16]>,
    /// Words of the cleaned text.
    pub words: u32,
    /// Hash of the cleaned text.
    pub text_hash: u64,
    /// Significant title words, sorted.
    pub title_words: Box<[u32]>,
    /// Title-rule key.
    pub title_hash: Option<u64>,
    /// The numbers the text states (hashed, sorted).
    pub numbers: Box<[u32]>,
    /// How well it would represent its story.
    pub rank: Rank,
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

fn short_set(hashes: &[u32]) -> Box<[u16]> {
    let mut v: Vec<u16> = hashes.iter().map(|h| (h >> 16) as u16).collect();
    v.sort_unstable();
    v.dedup();
    v.into_boxed_slice()
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
        let lede = &fp.shingles[..(fp.lede_len as usize).min(fp.shingles.len())];
        Profile {
            article,
            feed,
            published,
            set: short_set(&fp.shingles),
            lede: short_set(lede),
            words: fp.words,
            text_hash: fp.text_hash,
            title_words: fp.title_words.clone().into_boxed_slice(),
            title_hash: fp.title_hash,
            numbers: fp.numbers.clone().into_boxed_slice(),
            rank: Rank {
                preferred,
                credited_words: if fp.credit && fp.words as usize >= LONG_WORDS {
                    fp.words
                } else {
                    0
                },
                earliness: -published,
                words: fp.words,
            },
        }
    }
}

/// How many elements two sorted, deduplicated slices share.
pub fn shared<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
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

    #[test]
    fn overlap_is_containment_in_the_smaller_set() {
        assert_eq!(overlap(&[1, 2, 3], &[1, 2, 3, 4, 5, 6]), 1.0);
        assert_eq!(overlap(&[1, 2, 3, 4], &[3, 4, 5, 6]), 0.5);
        assert_eq!(overlap::<u16>(&[], &[1]), 0.0);
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
