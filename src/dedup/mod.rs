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
//!
//! A fetched document's articles are fingerprinted through one door,
//! [`FeedLines::learn_and_fingerprint`] (the feed's recurring lines learned first, each
//! fingerprint's site set from its link); [`fingerprint::fingerprint`] fingerprints a single
//! text for tests and benchmarks.

mod chrome;
mod dateline;
pub mod fingerprint;
mod folded;
pub mod index;
mod learned;
pub mod normalize;
pub mod policy;
pub mod profile;
pub mod verify;
pub mod wording;
mod words;

pub use fingerprint::Fingerprint;
pub(crate) use folded::FoldedText;
pub use learned::{FeedLines, LearnedLines};
pub use policy::{Policy, Rule};
pub use profile::{Profile, Rank};
pub use verify::Verdict;

use std::sync::Arc;

use crate::model::{Article, MatchKind};
use index::{KeyMap, StoryIndex};
use policy::{MAX_CANDIDATES, MIN_SHARED_KEYS};

/// The dedup stage's state: the policy, the index of live stories, the learned boilerplate
/// (each feed's recurring lines: the one home of them, shared with the threads that
/// fingerprint documents through [`Dedup::learned_lines`]).
pub struct Dedup {
    policy: Policy,
    index: StoryIndex,
    learned: Arc<LearnedLines>,
}

/// A story a copy was compared with, and the outcome.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Store id of the story.
    pub story: i64,
    /// Store id of the story's copy the verdict was reached against (the closest one).
    pub copy: i64,
    /// Sampled keys the new copy shares with it.
    pub shared_keys: usize,
    /// The new copy's text is (nearly) all in that copy's, and it is not a short text: a
    /// later copy that matches it matches that copy too, so it need not be indexed.
    pub covered: bool,
    /// The verdict against that copy.
    pub verdict: Verdict,
}

/// Where a new copy goes, with the comparisons that decided it.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The story it joins (the best merging comparison), if any.
    pub join: Option<Comparison>,
    /// Other stories it also matches: they are one story with `join`'s and merge into the
    /// oldest of them (the smallest id).
    pub also: Vec<Comparison>,
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

/// One copy staged for the index.
struct StagedCopy {
    story: i64,
    profile: Profile,
    /// Its sampled index keys, sorted.
    keys: Vec<u32>,
}

/// An index change, in the order decided.
enum Op {
    /// `copies[entry]` filed under `story`, as its representative or not.
    Copy {
        entry: usize,
        story: i64,
        as_rep: bool,
    },
    Title(i64, u64, i64),
    Remove(i64),
    RemoveCopy(i64, i64),
    Merge {
        absorbed: i64,
        survivor: i64,
        absorbed_rep_wins: bool,
    },
}

/// Index changes decided inside one transaction: visible to later decisions of the same
/// batch at once, applied to the index by [`Dedup::apply`] after the commit (and dropped
/// with a rollback).
#[derive(Default)]
pub struct Staged {
    /// Copies in the order they were staged; `None` once replaced or removed (positions
    /// stay, so the order of comparisons does too).
    copies: Vec<Option<StagedCopy>>,
    /// Story → its staged representative's entry in `copies`.
    rep: KeyMap<i64, usize>,
    /// Story → the story (in the index) whose representative represents it now: it
    /// absorbed that story in this batch and the absorbed representative ranked higher.
    rep_from: KeyMap<i64, i64>,
    /// Article → its latest entry in `copies`.
    by_article: KeyMap<i64, usize>,
    /// Index key (or title key) → the entries of `copies` that carry it, so [`Dedup::place`]
    /// looks at the staged copies that share a key rather than at all of them (a writer
    /// that groups many feeds into one transaction stages thousands).
    by_key: Postings<u32>,
    by_title: Postings<u64>,
    ops: Vec<Op>,
    /// Absorbed story → the story that absorbed it.
    merged: KeyMap<i64, i64>,
    removed: Vec<i64>,
    /// Articles that left their story in this batch.
    left: Vec<i64>,
}

/// Key → entries of [`Staged::copies`], as linked lists in one vector: staging a copy
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
    /// The story `story` is now part of (itself unless it was absorbed in this batch).
    pub fn resolve(&self, mut story: i64) -> i64 {
        while let Some(&s) = self.merged.get(&story) {
            story = s;
        }
        story
    }

    /// Makes `rep` (fingerprinted as `fp`) the representative of `story`; the previous
    /// representative stays one of its indexed copies unless it is the same article.
    pub fn set_representative(&mut self, story: i64, rep: Profile, fp: &Fingerprint) {
        self.removed.retain(|s| *s != story);
        self.stage(story, rep, fp, true);
    }

    /// Files copy `profile` of `story` (not its representative) in the index, as one of the
    /// copies new copies are compared with while the story holds fewer than
    /// [`policy::MAX_STORY_COPIES`], else by its title.
    pub fn add_copy(&mut self, story: i64, profile: Profile, fp: &Fingerprint) {
        self.stage(story, profile, fp, false);
    }

    fn stage(&mut self, story: i64, profile: Profile, fp: &Fingerprint, as_rep: bool) {
        // A copy staged before (an update in the same batch) is replaced.
        let at = self.copies.len();
        if let Some(before) = self.by_article.insert(profile.article, at) {
            self.copies[before] = None;
        }
        // Sorted, so [`Dedup::place`] counts shared keys by merging, not by a scan per key.
        let mut keys = fp.index_key_vec();
        keys.sort_unstable();
        for &k in &keys {
            self.by_key.add(k, at);
        }
        if let Some(t) = profile.title_hash() {
            self.by_title.add(t, at);
        }
        if as_rep {
            self.rep.insert(story, at);
            self.rep_from.remove(&story);
        }
        self.ops.push(Op::Copy {
            entry: at,
            story,
            as_rep,
        });
        self.copies.push(Some(StagedCopy {
            story,
            profile,
            keys,
        }));
    }

    /// Files another copy's title under `story`.
    pub fn add_title(&mut self, story: i64, title: Option<u64>, published: i64) {
        if let Some(t) = title {
            self.ops.push(Op::Title(story, t, published));
        }
    }

    /// Forgets `story` (its only copy left it).
    pub fn remove(&mut self, story: i64) {
        self.rep.remove(&story);
        for c in self.copies.iter_mut() {
            if c.as_ref().is_some_and(|c| c.story == story) {
                *c = None;
            }
        }
        self.removed.push(story);
        self.ops.push(Op::Remove(story));
    }

    /// Forgets copy `article` of `story`: it left the story (an update that no longer
    /// matches). It must not be its representative.
    pub fn remove_copy(&mut self, story: i64, article: i64) {
        for c in self.copies.iter_mut() {
            if c.as_ref()
                .is_some_and(|c| c.story == story && c.profile.article == article)
            {
                *c = None;
            }
        }
        self.left.push(article);
        self.ops.push(Op::RemoveCopy(story, article));
    }

    /// Records that `absorbed` is part of `survivor` from now on, the survivor's
    /// representative replaced by the absorbed one's when `absorbed_rep_wins`.
    pub fn merge(&mut self, absorbed: i64, survivor: i64, absorbed_rep_wins: bool) {
        for c in self.copies.iter_mut().flatten() {
            if c.story == absorbed {
                c.story = survivor;
            }
        }
        let staged_rep = self.rep.remove(&absorbed);
        let index_rep = self.rep_from.remove(&absorbed).unwrap_or(absorbed);
        if absorbed_rep_wins {
            match staged_rep {
                Some(at) => {
                    self.rep.insert(survivor, at);
                    self.rep_from.remove(&survivor);
                }
                None => {
                    self.rep.remove(&survivor);
                    self.rep_from.insert(survivor, index_rep);
                }
            }
        }
        self.merged.insert(absorbed, survivor);
        self.ops.push(Op::Merge {
            absorbed,
            survivor,
            absorbed_rep_wins,
        });
    }

    /// The staged representative of `story`, if any.
    fn representative(&self, story: i64) -> Option<&Profile> {
        let at = *self.rep.get(&story)?;
        self.copies[at].as_ref().map(|c| &c.profile)
    }

    /// The live staged copies that share an index key or the title with a copy, in the
    /// order they were staged.
    fn near(&self, sorted_keys: &[u32], title: Option<u64>) -> Vec<&StagedCopy> {
        if self.copies.is_empty() {
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
            .filter_map(|i| self.copies.get(i).and_then(Option::as_ref))
            .collect()
    }
}

impl Dedup {
    /// An empty stage with `policy`.
    pub fn new(policy: Policy) -> Dedup {
        Dedup {
            policy,
            index: StoryIndex::default(),
            learned: Arc::default(),
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

    /// Copies the index holds to compare new ones with (representatives included).
    pub fn indexed_copies(&self) -> usize {
        self.index.copies_held()
    }

    /// Live stories in the index.
    pub fn live_stories(&self) -> usize {
        self.index.len()
    }

    /// Counts the lines of one of `feed`'s articles, folded, so lines the feed repeats in
    /// every article become its boilerplate: `ingest` learns from every article of a
    /// fetched document, then fingerprints the new and changed ones with
    /// [`Dedup::fingerprint_article`] (what [`FeedLines::learn_and_fingerprint`] does for
    /// all of them).
    pub(crate) fn learn_folded(&mut self, feed: i64, text: &FoldedText) {
        self.learned.learn_folded(feed, text);
    }

    /// The fingerprint of `article` of `feed`, its text folded already, with the lines
    /// learned for the feed and its site from its link.
    pub(crate) fn fingerprint_article(
        &self,
        feed: i64,
        article: &Article,
        text: &FoldedText,
    ) -> Fingerprint {
        self.learned.with_feed(feed, |lines| {
            fingerprint::fingerprint_article(article, text, lines)
        })
    }

    /// The stage's learned lines, shared: threads that fingerprint documents apart from
    /// the index (the daemon's preparing threads, while the writer writes) take a feed's
    /// lines out with [`LearnedLines::take`], learn from and fingerprint its document with
    /// [`FeedLines::learn_and_fingerprint`], and put them back with [`LearnedLines::put`].
    pub fn learned_lines(&self) -> Arc<LearnedLines> {
        self.learned.clone()
    }

    /// Makes the stage keep its learned lines in `lines` (those of a stage it replaces,
    /// such as one reloaded from the store, so the lines learned so far stay).
    pub fn share_learned_lines(&mut self, lines: Arc<LearnedLines>) {
        self.learned = lines;
    }

    /// Takes the lines learned for `feed` out of the stage (empty when none were), so that
    /// feed's documents can be learned from and fingerprinted apart from the index (another
    /// thread, before the store's writer is taken) with
    /// [`FeedLines::learn_and_fingerprint`]; give them back with [`Dedup::put_feed_lines`].
    pub fn take_feed_lines(&mut self, feed: i64) -> FeedLines {
        self.learned.take(feed)
    }

    /// Gives back the lines learned for `feed` (see [`Dedup::take_feed_lines`]).
    pub fn put_feed_lines(&mut self, feed: i64, lines: FeedLines) {
        self.learned.put(feed, lines);
    }

    /// The current representative of `story` (followed through the batch's merges): the
    /// staged one, else the index's.
    pub fn representative<'a>(&'a self, story: i64, staged: &'a Staged) -> Option<&'a Profile> {
        let story = staged.resolve(story);
        if staged.removed.contains(&story) {
            return None;
        }
        staged.representative(story).or_else(|| {
            let from = staged.rep_from.get(&story).copied().unwrap_or(story);
            self.index.representative(from)
        })
    }

    /// Decides where copy `profile` (fingerprint `fp`) goes, comparing it with the indexed
    /// copies of the candidate stories (the index's and the batch's): the best verdict per
    /// story decides, and every story it merges with is one story.
    pub fn place(&self, profile: &Profile, fp: &Fingerprint, staged: &Staged) -> Placement {
        let keys = fp.index_key_vec();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        let window = self.policy.window_secs;
        let mut compared: Vec<Comparison> = Vec::new();
        let better = |a: &Comparison, b: &Comparison| {
            let key = |c: &Comparison| {
                (
                    c.verdict.merge,
                    c.verdict.rule != Rule::Title,
                    c.verdict.score,
                )
            };
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        let consider =
            |story: i64, other: &Profile, shared_keys: usize, compared: &mut Vec<Comparison>| {
                if other.article == profile.article {
                    return;
                }
                let verdict = verify::compare(profile, other, &self.policy);
                let c = Comparison {
                    story,
                    copy: other.article,
                    shared_keys,
                    covered: verdict.merge && index::covered_by(profile, other),
                    verdict,
                };
                match compared.iter_mut().find(|x| x.story == story) {
                    Some(x) => {
                        if better(&c, x).is_gt() {
                            *x = c;
                        }
                    }
                    None => compared.push(c),
                }
            };
        for copy in staged.near(&sorted_keys, profile.title_hash()) {
            let story = staged.resolve(copy.story);
            // Both sorted and each key once (shingles are unique).
            let shared = profile::shared(&sorted_keys, &copy.keys);
            let title =
                profile.title_hash().is_some() && profile.title_hash() == copy.profile.title_hash();
            if (shared >= MIN_SHARED_KEYS || title)
                && (copy.profile.published - profile.published).abs() <= window
            {
                consider(story, &copy.profile, shared, &mut compared);
            }
        }
        for c in self.index.candidates(
            &keys,
            profile.title_hash(),
            profile.published,
            window,
            MAX_CANDIDATES,
        ) {
            let story = staged.resolve(c.story);
            if staged.removed.contains(&story) {
                continue;
            }
            for copy in self.index.copies(c.story) {
                if (copy.published - profile.published).abs() <= window
                    && !staged.left.contains(&copy.article)
                {
                    consider(story, copy, c.shared, &mut compared);
                }
            }
        }
        // One outlet's two items are one story only when one republishes the other: a
        // story that holds another item of this copy's outlet takes it only then, whatever
        // its other copies say.
        for c in compared.iter_mut().filter(|c| c.verdict.merge) {
            if let Some(own) = self.outlet_copy(c.story, profile, staged) {
                let v = verify::compare(profile, own, &self.policy);
                if !v.merge {
                    c.copy = own.article;
                    c.covered = false;
                    c.verdict = Verdict {
                        merge: false,
                        rule: Rule::SameFeed,
                        score: v.score,
                        reason: format!(
                            "the story holds another item of the same outlet, and {}",
                            v.reason
                        ),
                    };
                }
            }
        }
        compared.sort_by(|a, b| better(b, a));
        let merging = compared.iter().take_while(|c| c.verdict.merge).count();
        let mut also: Vec<Comparison> = compared.drain(..merging).collect();
        let join = if also.is_empty() {
            None
        } else {
            Some(also.remove(0))
        };
        // Stories that each hold a different item of one outlet stay apart.
        if let Some(j) = &join {
            let mut kept: Vec<i64> = vec![j.story];
            let mut merging = Vec::with_capacity(also.len());
            for mut c in also {
                if kept.iter().any(|&s| self.stories_clash(s, c.story, staged)) {
                    c.verdict.merge = false;
                    c.covered = false;
                    c.verdict.reason = format!(
                        "{}; but it and the joined story each hold a different item of one outlet: not merged",
                        c.verdict.reason
                    );
                    compared.insert(0, c);
                } else {
                    kept.push(c.story);
                    merging.push(c);
                }
            }
            also = merging;
        }
        Placement {
            join,
            also,
            others: compared,
        }
    }

    /// The indexed copies of `story`: the batch's and the index's (its own, and those of
    /// the stories the batch merged into it).
    fn story_copies<'a>(
        &'a self,
        story: i64,
        staged: &'a Staged,
    ) -> impl Iterator<Item = &'a Profile> + 'a {
        staged
            .copies
            .iter()
            .flatten()
            .filter(move |c| staged.resolve(c.story) == story)
            .map(|c| &c.profile)
            .chain(
                std::iter::once(story)
                    .chain(
                        staged
                            .merged
                            .keys()
                            .copied()
                            .filter(move |&s| staged.resolve(s) == story),
                    )
                    .flat_map(|s| self.index.copies(s))
                    .filter(|p| !staged.left.contains(&p.article)),
            )
    }

    /// An indexed copy of `story` from the same feed or site as `copy`, other than `copy`.
    fn outlet_copy<'a>(
        &'a self,
        story: i64,
        copy: &Profile,
        staged: &'a Staged,
    ) -> Option<&'a Profile> {
        self.story_copies(story, staged).find(|p| {
            p.article != copy.article
                && (p.feed == copy.feed || (p.site != 0 && p.site == copy.site))
        })
    }

    /// Whether stories `a` and `b` each hold an item of one outlet (same feed or site) and
    /// the two are not one item republished: one story would then carry an outlet's two
    /// different items, which no copy of a third outlet can make one.
    pub fn stories_clash(&self, a: i64, b: i64, staged: &Staged) -> bool {
        let theirs: Vec<&Profile> = self.story_copies(b, staged).collect();
        self.story_copies(a, staged).any(|x| {
            theirs.iter().any(|y| {
                x.article != y.article
                    && (x.feed == y.feed || (x.site != 0 && x.site == y.site))
                    && !verify::compare(x, y, &self.policy).merge
            })
        })
    }

    /// Applies a committed batch's changes to the index, in the order they were decided,
    /// and drops the days that left the window.
    pub fn apply(&mut self, staged: Staged) {
        let mut copies = staged.copies;
        for op in staged.ops {
            match op {
                Op::Copy {
                    entry,
                    story,
                    as_rep,
                } => {
                    if let Some(c) = copies.get_mut(entry).and_then(Option::take) {
                        self.index
                            .add_copy(story, c.profile, c.keys.into_iter(), as_rep);
                    }
                }
                Op::Title(story, title, published) => {
                    // A story gone from the index (evicted) takes no more titles.
                    let _ = self.index.add_title(story, title, published);
                }
                Op::Remove(story) => self.index.remove(story),
                Op::RemoveCopy(story, article) => self.index.remove_copy(story, article),
                Op::Merge {
                    absorbed,
                    survivor,
                    absorbed_rep_wins,
                } => self.index.merge(absorbed, survivor, absorbed_rep_wins),
            }
        }
        self.index.evict(self.policy.window_secs);
    }

    /// Restores one live story's copy from the store at startup: its representative, or
    /// another copy (false, nothing restored, while its story's representative is not).
    pub fn restore_copy(&mut self, story: i64, copy: Profile, fp: &Fingerprint, rep: bool) -> bool {
        // As when it joined: a copy covered by one already indexed files only its title.
        let covered = !rep
            && self
                .index
                .copies(story)
                .any(|other| index::covered_by(&copy, other));
        if covered {
            return match copy.title_hash() {
                Some(t) => self.index.add_title(story, t, copy.published),
                None => self.index.representative(story).is_some(),
            };
        }
        self.index
            .add_copy(story, copy, fp.index_key_vec().into_iter(), rep)
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
