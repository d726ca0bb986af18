//! Each feed's learned lines: lines an outlet repeats across its articles (a sign-off, a
//! promotion) are its boilerplate, found by counting in how many of the feed's articles
//! each line appears. Chrome lists cannot know every outlet's; counting finds them as
//! they recur. The counts are bounded per feed, and a feed's lines can be taken out to
//! learn from and fingerprint its documents on another thread: the stage's
//! [`LearnedLines`] are shared through an `Arc` with the threads that do (the daemon's
//! preparing threads), each feed's lines behind one lock held only to take them out or
//! put them back (or, in `ingest`, for one article). This module reads folded
//! texts and knows nothing of fingerprints (fingerprinting reads the lines learned here).

use parking_lot::Mutex;
use std::collections::HashMap;

use super::folded::FoldedText;
use super::policy::{
    LEARNED_LINE_MAX_WORDS, LEARNED_LINE_MIN_ARTICLES, LEARNED_LINE_SHARE, LEARNED_LINES_PER_FEED,
};

/// Per feed, how many of its articles each line appeared in: lines an outlet repeats
/// across its articles (a sign-off, a promotion) are its boilerplate. One [`FeedLines`]
/// per feed, which can be taken out to fingerprint a feed's copies apart from the rest.
/// Owned by the [`super::Dedup`] stage and shared with the threads that fingerprint
/// documents ([`super::Dedup::learned_lines`]); the lock is held only briefly.
#[derive(Debug, Default)]
pub struct LearnedLines {
    feeds: Mutex<HashMap<i64, FeedLines>>,
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
    #[cfg(test)]
    pub(super) fn observe(&self, feed: i64, line_hashes: &[u64]) {
        self.feeds
            .lock()
            .entry(feed)
            .or_default()
            .observe(line_hashes);
    }

    /// Counts the distinct lines of one article of `feed`, folded.
    pub(super) fn learn_folded(&self, feed: i64, text: &FoldedText) {
        self.feeds
            .lock()
            .entry(feed)
            .or_default()
            .learn_folded(text);
    }

    /// Whether a line is `feed`'s boilerplate (see [`FeedLines::is_learned`]).
    #[cfg(test)]
    pub(super) fn is_learned(&self, feed: i64, line_hash: u64, words: usize) -> bool {
        self.feeds
            .lock()
            .get(&feed)
            .is_some_and(|l| l.is_learned(line_hash, words))
    }

    /// Calls `f` with the lines learned for `feed`, if any (under the lock).
    pub(super) fn with_feed<T>(&self, feed: i64, f: impl FnOnce(Option<&FeedLines>) -> T) -> T {
        f(self.feeds.lock().get(&feed))
    }

    /// Takes `feed`'s lines out (empty when none were learned), to learn and fingerprint
    /// that feed's copies elsewhere; give them back with [`LearnedLines::put`].
    pub fn take(&self, feed: i64) -> FeedLines {
        self.feeds.lock().remove(&feed).unwrap_or_default()
    }

    /// Puts `feed`'s lines (back) in.
    pub fn put(&self, feed: i64, lines: FeedLines) {
        self.feeds.lock().insert(feed, lines);
    }
}

impl FeedLines {
    /// Counts the distinct lines of one of the feed's articles (hashes of folded lines).
    #[cfg(test)]
    pub(super) fn observe(&mut self, line_hashes: &[u64]) {
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

    /// Learns the lines of one of the feed's articles, folded: call it for every article of
    /// a fetched document before fingerprinting them (as
    /// [`FeedLines::learn_and_fingerprint`] does).
    pub(super) fn learn_folded(&mut self, text: &FoldedText) {
        self.observe_owned(text.line_hashes().collect());
    }

    /// Whether a line (hash of its folded form, `words` long) is the feed's boilerplate:
    /// seen in at least [`LEARNED_LINE_MIN_ARTICLES`] of its articles and in at least one
    /// in [`LEARNED_LINE_SHARE`] (a stock sentence that a few stories share is not chrome).
    pub(super) fn is_learned(&self, line_hash: u64, words: usize) -> bool {
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
        let l = LearnedLines::default();
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
