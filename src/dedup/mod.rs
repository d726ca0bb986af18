//! The dedup stage: decides which story each new copy belongs to (SPEC.md "Dedup").
//!
//! It sits between parse and store and knows nothing of SQL: it holds an in-memory index
//! of live stories (keyed by the store's story and article ids) and pure decision
//! functions; `crate::ingest` asks it where a copy goes, writes the answer in the feed's
//! transaction, and hands the index changes back with [`Dedup::apply`] once that commits.
//!
//! How a copy is placed, in order: exact identity (same URL, GUID or `<source>`, looked up
//! in the store by `ingest`); else the index's candidate stories within the window, each
//! verified against its **representative** only ([`verify::compare`]: overlap coefficient
//! of quote-stripped shingles, with the short-text, title and same-feed rules); else it
//! founds its own story. The numbers are in [`policy`].

pub mod boilerplate;
pub mod fingerprint;
pub mod index;
pub mod normalize;
pub mod policy;
pub mod profile;
pub mod verify;

pub use boilerplate::FeedLines;
pub use fingerprint::{Fingerprint, FoldedText};
pub use policy::{Policy, Rule};
pub use profile::{Profile, Rank};
pub use verify::Verdict;

use crate::model::MatchKind;
use boilerplate::LearnedLines;
use index::{KeyMap, StoryIndex};
use policy::{LONG_WORDS, MAX_CANDIDATES, MIN_SHARED_KEYS, MIN_SHARED_KEYS_SHORT};

/// Makes glibc's malloc give every allocation of 256 KiB or more its own mapping, returned
/// to the system when freed. By default glibc raises that threshold to the size of each
/// large block freed (up to 32 MiB), after which the index's day tables (tens of MiB,
/// replaced day after day) and growing vectors are carved from the heap and leave holes
/// it cannot return: `dedup-bench` at a million articles peaked at 436-449 MB that way,
/// 365 MB with the threshold fixed. Call it once at startup.
pub fn keep_large_allocations_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of glibc's allocator (under its lock).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// The dedup stage's state: the policy, the index of live stories, the learned boilerplate.
pub struct Dedup {
    policy: Policy,
    index: StoryIndex,
    learned: LearnedLines,
}

/// A story a copy was compared with, and the outcome.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Store id of the story.
    pub story: i64,
    /// Store id of its representative.
    pub representative: i64,
    /// Sampled keys the copy shares with the story.
    pub shared_keys: usize,
    /// The verdict against the representative.
    pub verdict: Verdict,
}

/// Where a new copy goes, with the comparisons that decided it.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The story it joins (the best merging comparison), if any.
    pub join: Option<Comparison>,
    /// The other stories compared, best score first: what `explain` shows as not joined.
    pub others: Vec<Comparison>,
}

impl Placement {
    /// The match kind a content placement records.
    pub fn kind(c: &Comparison) -> MatchKind {
        match c.verdict.rule {
            Rule::Title => MatchKind::Title,
            _ => MatchKind::Content,
        }
    }
}

/// Index changes decided inside one transaction: visible to later decisions of the same
/// batch at once, applied to the index by [`Dedup::apply`] after the commit (and dropped
/// with a rollback).
#[derive(Default)]
pub struct Staged {
    /// Representatives in the order they were staged, with their sorted index keys; `None`
    /// once replaced or removed (positions stay, so the order of comparisons does too).
    reps: Vec<Option<(i64, Profile, Vec<u32>)>>,
    /// Story → its live entry in `reps`.
    current: KeyMap<i64, usize>,
    /// Index key (or title key) → the entries of `reps` that carry it, so [`Dedup::place`]
    /// looks at the staged stories that share a key rather than at all of them (a writer
    /// that groups many feeds into one transaction stages thousands).
    by_key: Postings<u32>,
    by_title: Postings<u64>,
    titles: Vec<(i64, u64, i64)>,
    removed: Vec<i64>,
}

/// Key → entries of [`Staged::reps`], as linked lists in one vector: staging a story
/// files about a hundred keys, and a vector per key was the writer's biggest allocator.
struct Postings<K> {
    /// Key → its latest link.
    heads: KeyMap<K, u32>,
    /// (entry, previous link of the same key or [`Postings::END`]).
    links: Vec<(u32, u32)>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            heads: KeyMap::default(),
            links: Vec::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Copy> Postings<K> {
    const END: u32 = u32::MAX;

    /// Files `entry` under `key`. (Past `u32::MAX` links, which no transaction reaches,
    /// postings would be dropped: fewer candidates, never a wrong one.)
    fn add(&mut self, key: K, entry: usize) {
        let link = u32::try_from(self.links.len()).unwrap_or(Self::END);
        let previous = self.heads.insert(key, link).unwrap_or(Self::END);
        self.links
            .push((u32::try_from(entry).unwrap_or(Self::END), previous));
    }

    /// The entries filed under `key`, latest first.
    fn get(&self, key: K) -> impl Iterator<Item = usize> + '_ {
        let mut link = self.heads.get(&key).copied().unwrap_or(Self::END);
        std::iter::from_fn(move || {
            if link == Self::END {
                return None;
            }
            let &(entry, previous) = self.links.get(link as usize)?;
            link = previous;
            Some(entry as usize)
        })
    }
}

impl Staged {
    /// Makes `rep` (fingerprinted as `fp`) the representative of `story`.
    pub fn set_representative(&mut self, story: i64, rep: Profile, fp: &Fingerprint) {
        self.forget(story);
        self.removed.retain(|s| *s != story);
        // Sorted, so [`Dedup::place`] counts shared keys by merging, not by a scan per key.
        let mut keys = fp.index_key_vec();
        keys.sort_unstable();
        let at = self.reps.len();
        for &k in &keys {
            self.by_key.add(k, at);
        }
        if let Some(t) = rep.title_hash {
            self.by_title.add(t, at);
        }
        self.current.insert(story, at);
        self.reps.push(Some((story, rep, keys)));
    }

    /// Files another copy's title under `story`.
    pub fn add_title(&mut self, story: i64, title: Option<u64>, published: i64) {
        if let Some(t) = title {
            self.titles.push((story, t, published));
        }
    }

    /// Forgets `story` (its only copy left it).
    pub fn remove(&mut self, story: i64) {
        self.forget(story);
        self.removed.push(story);
    }

    fn forget(&mut self, story: i64) {
        if let Some(at) = self.current.remove(&story) {
            self.reps[at] = None;
        }
    }

    /// The staged representative of `story`, if any.
    fn representative(&self, story: i64) -> Option<&Profile> {
        let at = *self.current.get(&story)?;
        self.reps[at].as_ref().map(|(_, p, _)| p)
    }

    /// The live staged entries that share an index key or the title with a copy, in the
    /// order they were staged.
    fn near(&self, sorted_keys: &[u32], title: Option<u64>) -> Vec<&(i64, Profile, Vec<u32>)> {
        if self.reps.is_empty() {
            return Vec::new();
        }
        let mut at: Vec<usize> = sorted_keys
            .iter()
            .flat_map(|&k| self.by_key.get(k))
            .chain(title.into_iter().flat_map(|t| self.by_title.get(t)))
            .collect();
        at.sort_unstable();
        at.dedup();
        at.into_iter()
            .filter_map(|i| self.reps.get(i).and_then(Option::as_ref))
            .collect()
    }
}

impl Dedup {
    /// An empty stage with `policy`.
    pub fn new(policy: Policy) -> Dedup {
        Dedup {
            policy,
            index: StoryIndex::default(),
            learned: LearnedLines::default(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Changes the policy (a reloaded `[dedup]` section); stories already placed stay.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// Live stories in the index.
    pub fn live_stories(&self) -> usize {
        self.index.len()
    }

    /// Counts the lines of one of `feed`'s articles, so lines the feed repeats in every
    /// article become its boilerplate. Call it for every article of a fetched document
    /// before fingerprinting them.
    pub fn learn(&mut self, feed: i64, text: &str) {
        self.learned.observe(feed, &fingerprint::line_hashes(text));
    }

    /// [`Dedup::learn`] for a text folded already: fold each article once
    /// ([`FoldedText::new`]), learn from all of a document's, then fingerprint each with
    /// [`Dedup::fingerprint_folded`].
    pub fn learn_folded(&mut self, feed: i64, text: &FoldedText) {
        self.learned.learn_folded(feed, text);
    }

    /// Takes the lines learned for `feed` out of the stage (empty when none were), so that
    /// feed's copies can be learned from and fingerprinted apart from the index (another
    /// thread, before the store's writer is taken) with [`FeedLines::learn`] and
    /// [`FeedLines::fingerprint`]; give them back with [`Dedup::put_feed_lines`].
    pub fn take_feed_lines(&mut self, feed: i64) -> FeedLines {
        self.learned.take(feed)
    }

    /// Gives back the lines learned for `feed` (see [`Dedup::take_feed_lines`]).
    pub fn put_feed_lines(&mut self, feed: i64, lines: FeedLines) {
        self.learned.put(feed, lines);
    }

    /// The fingerprint of a copy of `feed`.
    pub fn fingerprint(&self, feed: i64, title: &str, text: &str) -> Fingerprint {
        fingerprint::fingerprint(title, text, feed, &self.learned)
    }

    /// [`Dedup::fingerprint`] of a text folded already.
    pub fn fingerprint_folded(&self, feed: i64, title: &str, text: &FoldedText) -> Fingerprint {
        fingerprint::fingerprint_folded(title, text, self.learned.feed(feed))
    }

    /// The current representative of `story`: the staged one, else the index's.
    pub fn representative<'a>(&'a self, story: i64, staged: &'a Staged) -> Option<&'a Profile> {
        if staged.removed.contains(&story) {
            return None;
        }
        staged
            .representative(story)
            .or_else(|| self.index.story(story).map(|e| &e.rep))
    }

    /// Decides where copy `profile` (fingerprint `fp`) goes, comparing it with the
    /// representatives of the candidate stories (the index's and the batch's).
    pub fn place(&self, profile: &Profile, fp: &Fingerprint, staged: &Staged) -> Placement {
        let keys = fp.index_key_vec();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        let min_shared = if (fp.words as usize) < LONG_WORDS {
            MIN_SHARED_KEYS_SHORT
        } else {
            MIN_SHARED_KEYS
        };
        let window = self.policy.window_secs;
        let mut compared: Vec<Comparison> = Vec::new();
        let consider =
            |story: i64, rep: &Profile, shared_keys: usize, compared: &mut Vec<Comparison>| {
                if rep.article == profile.article || compared.iter().any(|c| c.story == story) {
                    return;
                }
                compared.push(Comparison {
                    story,
                    representative: rep.article,
                    shared_keys,
                    verdict: verify::compare(profile, &fp.shingles, rep, &self.policy),
                });
            };
        for (story, rep, rep_keys) in staged.near(&sorted_keys, profile.title_hash) {
            // Both sorted and each key once (shingles are unique).
            let shared = profile::shared(&sorted_keys, rep_keys);
            let title = profile.title_hash.is_some() && profile.title_hash == rep.title_hash;
            if (shared >= min_shared || title)
                && (rep.published - profile.published).abs() <= window
            {
                consider(*story, rep, shared, &mut compared);
            }
        }
        for c in self.index.candidates(
            &keys,
            profile.title_hash,
            profile.published,
            window,
            min_shared,
            MAX_CANDIDATES,
        ) {
            if staged.removed.contains(&c.story.story) {
                continue;
            }
            let rep = self
                .representative(c.story.story, staged)
                .unwrap_or(&c.story.rep);
            consider(c.story.story, rep, c.shared, &mut compared);
        }
        compared.sort_by(|a, b| {
            let key = |c: &Comparison| {
                (
                    c.verdict.merge,
                    c.verdict.rule != Rule::Title,
                    c.verdict.score,
                )
            };
            key(b)
                .partial_cmp(&key(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let join = if compared.first().is_some_and(|c| c.verdict.merge) {
            Some(compared.remove(0))
        } else {
            None
        };
        Placement {
            join,
            others: compared,
        }
    }

    /// Applies a committed batch's changes to the index, and drops the days that left the
    /// window.
    pub fn apply(&mut self, staged: Staged) {
        for story in staged.removed {
            self.index.remove(story);
        }
        for (story, rep, keys) in staged.reps.into_iter().flatten() {
            self.index.set_representative(story, rep, keys.into_iter());
        }
        for (story, title, published) in staged.titles {
            // A story gone from the index (evicted) takes no more titles.
            let _ = self.index.add_title(story, title, published);
        }
        self.index.evict(self.policy.window_secs);
    }

    /// Restores one live story from the store at startup: its representative.
    pub fn restore_representative(&mut self, story: i64, rep: Profile, fp: &Fingerprint) {
        self.index
            .set_representative(story, rep, fp.index_key_vec().into_iter());
    }

    /// Restores another copy's title at startup; false (nothing restored) when `story`
    /// has no representative restored (yet).
    pub fn restore_title(&mut self, story: i64, title: u64, published: i64) -> bool {
        self.index.add_title(story, title, published)
    }

    /// Drops the days that left the window (after a restore).
    pub fn evict(&mut self) {
        self.index.evict(self.policy.window_secs);
    }
}
