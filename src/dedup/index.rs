//! The candidate index: each live story's representative and up to [`MAX_STORY_COPIES`]
//! of its copies in all, each filed under its sampled shingle keys and its title key, in
//! one shard per day of publication. A new copy is compared with every indexed copy it
//! shares keys with (single linkage), so which copy of a story came first does not decide
//! whether a later one finds it. Finding the
//! candidates of a copy probes only the days within the window, a few hash lookups per
//! key — no scan over stored articles — and days older than the window are dropped whole.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::policy::{
    COVERED_OC, EVICT_FLOOR_STORIES, LONG_WORDS, MAX_POSTINGS, MAX_STORY_COPIES, MIN_SHARED_KEYS,
    SPARSE_MOD,
};
use super::profile::Profile;
use super::profile::overlap;
use crate::platform;

const DAY: i64 = 86_400;

/// A hasher for keys that are already hashes: one multiply spreads the bits the sampling
/// fixed (sampled keys all share their low bits).
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// A map keyed by hashes (or ids), with [`KeyHasher`].
pub(super) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// Postings of a key: one story slot inline, or (high bit set) an index into the shard's
/// overflow lists. Most keys belong to one story, so most cost one 8-byte table entry.
const MANY: u32 = 1 << 31;

/// The value of an empty [`KeyTable`] entry (an overflow index never gets this high).
const EMPTY: u32 = u32::MAX;

/// A shard's map from keys to postings: open addressing with linear probing over one flat
/// array of (key, postings) pairs, at most 80% full. A std map takes a control byte more
/// per entry in a power-of-two table; this one is sized from the previous day's (a day
/// holds about as many keys as the one before), so it seldom grows, and a lookup's first
/// cache line can be prefetched: finding a copy's candidates probes ~40 keys in each day
/// of the window, nearly all misses in tables far larger than the cache, so their memory
/// latencies overlap instead of adding up.
///
/// Once [`KeyTable::seal`]ed, beside the entries, a Bloom filter of the keys held (one byte
/// per entry; two bits per key in one 64-bit word): most keys a copy probes are in no
/// story, and the filter, an eighth of the table's size, says so from the cache where the
/// table would cost a trip to memory (the probes of a day's table far outnumber the memory
/// loads a core can have in flight). A day's table is sealed when the next day's begins:
/// the filter is then made in one pass, not bit by bit as the day's keys are filed (a
/// random write each); the few keys filed under a sealed day later set their bits.
struct KeyTable<K> {
    entries: Vec<(K, u32)>,
    len: usize,
    filter: Vec<u64>,
}

impl<K> Default for KeyTable<K> {
    fn default() -> Self {
        KeyTable {
            entries: Vec::new(),
            len: 0,
            filter: Vec::new(),
        }
    }
}

impl<K: Copy + Eq + Default + Into<u64>> KeyTable<K> {
    /// A table holding `n` keys without growing.
    fn with_room(n: usize) -> Self {
        let mut t = KeyTable::default();
        if n > 0 {
            let size = n + n / 4 + 16;
            t.entries = Vec::with_capacity(size);
            // Before the entries are written: the pages are not touched yet, so the kernel
            // can back them with huge pages as they are first written.
            ask_for_huge_pages(&t.entries);
            t.entries.resize(size, (K::default(), EMPTY));
        }
        t
    }

    /// Makes the filter of the keys held (see [`KeyTable`]).
    fn seal(&mut self) {
        let words = self.entries.len().div_ceil(8);
        if words == 0 || !self.filter.is_empty() {
            return;
        }
        self.filter = Vec::with_capacity(words);
        ask_for_huge_pages(&self.filter);
        self.filter.resize(words, 0);
        for i in 0..self.entries.len() {
            let (k, v) = self.entries[i];
            if v != EMPTY {
                self.remember(k);
            }
        }
    }

    /// The filter word of `k` and the two bits `k` sets in it. The bits are taken from
    /// another product than [`KeyTable::home`]'s, away from the low bits the sampling fixed.
    fn filter_bits(&self, k: K) -> (usize, u64) {
        let h = k.into().wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        let word = ((u128::from(h) * self.filter.len() as u128) >> 64) as usize;
        (word, 1 << ((h >> 20) & 63) | 1 << ((h >> 32) & 63))
    }

    /// False when `k` is surely not in the table; true when it may be (always, before the
    /// table is sealed).
    fn may_contain(&self, k: K) -> bool {
        if self.filter.is_empty() {
            return !self.entries.is_empty();
        }
        let (word, bits) = self.filter_bits(k);
        self.filter[word] & bits == bits
    }

    /// Sets the filter bits of `k` (when the table is sealed).
    fn remember(&mut self, k: K) {
        if self.filter.is_empty() {
            return;
        }
        let (word, bits) = self.filter_bits(k);
        self.filter[word] |= bits;
    }

    /// Where the probe for `k` starts. Keys are hashes whose low bits the sampling fixed:
    /// one multiply spreads them, and the product's high bits pick the entry.
    fn home(&self, k: K) -> usize {
        let h = k.into().wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((u128::from(h) * self.entries.len() as u128) >> 64) as usize
    }

    /// The entry holding `k`, or the empty one where it would go. Never full.
    fn find(&self, k: K) -> usize {
        let mut i = self.home(k);
        loop {
            let (key, v) = self.entries[i];
            if v == EMPTY || key == k {
                return i;
            }
            i += 1;
            if i == self.entries.len() {
                i = 0;
            }
        }
    }

    fn get(&self, k: K) -> Option<&u32> {
        if self.entries.is_empty() {
            return None;
        }
        let v = &self.entries[self.find(k)].1;
        (*v != EMPTY).then_some(v)
    }

    /// The entry holding `k`, or the empty one where it would go, after growing the
    /// table if one more key would fill it past 80%.
    fn entry(&mut self, k: K) -> usize {
        if (self.len + 1) * 5 > self.entries.len() * 4 {
            self.grow();
        }
        self.find(k)
    }

    /// Sets entry `i` (from [`KeyTable::entry`] for `k`) to `k` with postings `v` (never
    /// [`EMPTY`]).
    fn set_at(&mut self, i: usize, k: K, v: u32) {
        if self.entries[i].1 == EMPTY {
            self.len += 1;
            self.remember(k);
        }
        self.entries[i] = (k, v);
    }

    fn grow(&mut self) {
        let sealed = !self.filter.is_empty();
        let mut old =
            std::mem::replace(self, KeyTable::with_room((self.len + self.len / 2).max(8)));
        if sealed {
            self.seal();
        }
        old.filter = Vec::new();
        for (k, v) in old.entries {
            if v != EMPTY {
                let i = self.find(k);
                self.entries[i] = (k, v);
                self.len += 1;
                self.remember(k);
            }
        }
    }

    /// Asks the CPU to load the cache line where the probe for `k` starts.
    fn prefetch(&self, k: K) {
        if self.entries.is_empty() {
            return;
        }
        platform::prefetch(&self.entries, self.home(k));
    }

    /// [`KeyTable::prefetch`], and the filter word `k` sets (for filing `k` in a sealed
    /// table).
    fn prefetch_for_filing(&self, k: K) {
        if self.entries.is_empty() {
            return;
        }
        self.prefetch(k);
        if !self.filter.is_empty() {
            platform::prefetch(&self.filter, self.filter_bits(k).0);
        }
    }
}

/// Tables at least this large are backed by huge pages where the system allows it.
const HUGE_TABLE_BYTES: usize = 2 << 20;

/// Backs `v` with huge pages ([`platform::ask_for_huge_pages`]) when it is a table large
/// enough to be probed across many pages: a day's key table is tens of MiB and every probe
/// lands on a random entry.
fn ask_for_huge_pages<T>(v: &Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() >= HUGE_TABLE_BYTES {
        platform::ask_for_huge_pages(v);
    }
}

/// Files `slot` under `key`: inline when it is the key's only story, else in an overflow
/// list of at most `cap` + 1 slots.
fn file<K: Copy + Eq + Default + Into<u64>>(
    table: &mut KeyTable<K>,
    overflow: &mut Vec<Vec<u32>>,
    key: K,
    slot: u32,
    cap: usize,
) {
    // One probe finds the key or the entry it takes (the table grown first if a new key
    // could overfill it).
    let i = table.entry(key);
    match table.entries[i].1 {
        EMPTY => table.set_at(i, key, slot),
        v if v & MANY == 0 => {
            if v != slot {
                overflow.push(vec![v, slot]);
                table.set_at(i, key, MANY | (overflow.len() as u32 - 1));
            }
        }
        v => {
            let list = &mut overflow[(v & !MANY) as usize];
            if list.len() <= cap && list.last() != Some(&slot) {
                list.push(slot);
            }
        }
    }
}

/// One day of the index.
#[derive(Default)]
struct Shard {
    keys: KeyTable<u32>,
    titles: KeyTable<u64>,
    overflow: Vec<Vec<u32>>,
}

impl Shard {
    /// A shard with room for as many keys and titles as `like` holds, and an eighth more.
    fn sized_like(like: Option<&Shard>) -> Shard {
        let (keys, titles) = like.map_or((0, 0), |s| (s.keys.len, s.titles.len));
        Shard {
            keys: KeyTable::with_room(keys + keys / 8),
            titles: KeyTable::with_room(titles + titles / 8),
            ..Shard::default()
        }
    }

    fn add_key(&mut self, key: u32, slot: u32) {
        file(&mut self.keys, &mut self.overflow, key, slot, MAX_POSTINGS);
    }

    fn add_title(&mut self, title: u64, slot: u32) {
        // A title's postings are not capped: a title match is evidence on its own.
        file(
            &mut self.titles,
            &mut self.overflow,
            title,
            slot,
            usize::MAX,
        );
    }

    fn postings<'a, K: Copy + Eq + Default + Into<u64>>(
        &'a self,
        table: &'a KeyTable<K>,
        key: K,
    ) -> &'a [u32] {
        match table.get(key) {
            None => &[],
            Some(v) if v & MANY == 0 => std::slice::from_ref(v),
            Some(v) => &self.overflow[(v & !MANY) as usize],
        }
    }
}

/// Whether copy `a` adds nothing to `b` for finding later copies: a text of some length
/// (a description is kept: a long copy may share only it) whose shingles are nearly all in
/// `b`'s.
pub fn covered_by(a: &Profile, b: &Profile) -> bool {
    a.words as usize >= LONG_WORDS
        && a.set().len() <= b.set().len()
        && overlap(a.set(), b.set()) >= COVERED_OC
}

/// A copy the index compares new copies with.
#[derive(Debug, Clone)]
pub struct IndexedCopy {
    /// Store id of its story.
    pub story: i64,
    /// The copy.
    pub profile: Profile,
}

/// A live story: its representative's slot and when it was last filed, in 8 bytes (one
/// per live story: a quarter of a million at a million stored); its other copies' slots
/// are in [`StoryIndex::members`], for the stories that have any.
#[derive(Debug, Clone, Copy)]
struct StoryEntry {
    /// The representative's slot.
    rep: u32,
    /// The latest day it was filed under (it lives until that day leaves the window).
    day: i32,
}

/// A story found for a new copy.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// The story.
    pub story: i64,
    /// Distinct sampled keys it shares with the new copy.
    pub shared: usize,
    /// One of its copies is filed under the new copy's title key.
    pub title: bool,
}

/// The in-memory index of live stories.
#[derive(Default)]
pub struct StoryIndex {
    slots: Vec<Option<IndexedCopy>>,
    free: Vec<u32>,
    stories: KeyMap<i64, StoryEntry>,
    /// The slots of the other indexed copies of the stories that have any.
    members: KeyMap<i64, Vec<u32>>,
    shards: BTreeMap<i64, Shard>,
    newest: i64,
}

impl StoryIndex {
    /// Live stories held.
    pub fn len(&self) -> usize {
        self.stories.len()
    }

    /// Copies held (representatives included).
    pub fn copies_held(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether no story is held.
    pub fn is_empty(&self) -> bool {
        self.stories.is_empty()
    }

    /// The representative of `story`, when it is live.
    pub fn representative(&self, story: i64) -> Option<&Profile> {
        let e = self.stories.get(&story)?;
        self.slots[e.rep as usize].as_ref().map(|c| &c.profile)
    }

    /// The indexed copies of `story` (representative first), when it is live.
    pub fn copies(&self, story: i64) -> impl Iterator<Item = &Profile> + '_ {
        self.stories
            .get(&story)
            .into_iter()
            .flat_map(move |e| std::iter::once(&e.rep).chain(self.members_of(story)))
            .filter_map(|&s| self.slots[s as usize].as_ref().map(|c| &c.profile))
    }

    fn members_of(&self, story: i64) -> &[u32] {
        self.members.get(&story).map_or(&[], Vec::as_slice)
    }

    fn take_slot(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            // Grown by a quarter, not doubled: at a quarter of a million slots of 120 bytes a
            // doubling holds 30 MB it may never use (glibc moves a block this large with
            // mremap, without copying it).
            if self.slots.len() == self.slots.capacity() {
                self.slots.reserve_exact(self.slots.len() / 4 + 1024);
            }
            self.slots.push(None);
            self.slots.len() as u32 - 1
        })
    }

    fn free_slot(&mut self, slot: u32) -> Option<IndexedCopy> {
        let c = self.slots[slot as usize].take();
        if c.is_some() {
            self.free.push(slot);
        }
        c
    }

    /// Files copy `profile` of `story` under `keys`: as its representative (a new story,
    /// or replacing the representative, which stays as an indexed copy unless it is the
    /// same article or its text is all in the new one's), or as another copy while the
    /// story holds fewer than [`MAX_STORY_COPIES`] (beyond that only its title is filed).
    /// A copy already indexed is replaced. False (nothing filed) for another copy of a
    /// story that is not live.
    pub fn add_copy(
        &mut self,
        story: i64,
        profile: Profile,
        keys: impl Iterator<Item = u32>,
        as_rep: bool,
    ) -> bool {
        let day = profile.published.div_euclid(DAY);
        let title = profile.title_hash();
        let article = profile.article;
        let entry = self.stories.get(&story).copied();
        let existing = entry.and_then(|e| {
            std::iter::once(e.rep)
                .chain(self.members_of(story).iter().copied())
                .find(|&s| {
                    self.slots[s as usize].as_ref().map(|c| c.profile.article) == Some(article)
                })
        });
        let slot = match (entry, existing) {
            (None, _) if !as_rep => return false,
            (Some(_), None) if !as_rep && 1 + self.members_of(story).len() >= MAX_STORY_COPIES => {
                if let Some(t) = title {
                    self.add_title(story, t, profile.published);
                }
                return true;
            }
            (_, Some(s)) => s,
            _ => self.take_slot(),
        };
        self.slots[slot as usize] = Some(IndexedCopy { story, profile });
        let day32 = i32::try_from(day).unwrap_or(i32::MAX);
        match entry {
            Some(e) => {
                let rep = if as_rep { slot } else { e.rep };
                self.stories.insert(
                    story,
                    StoryEntry {
                        rep,
                        day: e.day.max(day32),
                    },
                );
                let members = self.members.entry(story).or_default();
                members.retain(|&m| m != slot);
                if as_rep && e.rep != slot {
                    // The representative it replaces stays to be compared with, unless its
                    // text is all in the new one's (then only its title stays).
                    let covered = match (&self.slots[e.rep as usize], &self.slots[slot as usize]) {
                        (Some(o), Some(n)) => covered_by(&o.profile, &n.profile),
                        _ => false,
                    };
                    if !covered {
                        members.push(e.rep);
                    } else if let Some(t) = self
                        .free_slot(e.rep)
                        .and_then(|o| o.profile.title_hash().map(|t| (t, o.profile.published)))
                    {
                        let shard = self.shard(t.1.div_euclid(DAY));
                        shard.add_title(t.0, slot);
                    }
                } else if !as_rep && e.rep != slot {
                    members.push(slot);
                }
                if self.members.get(&story).is_some_and(Vec::is_empty) {
                    self.members.remove(&story);
                }
            }
            None => {
                self.stories.insert(
                    story,
                    StoryEntry {
                        rep: slot,
                        day: day32,
                    },
                );
            }
        }
        // Another copy of a story is not filed again under the keys its indexed copies
        // are filed under already: the story is found through any of them and then
        // compared copy by copy. A key sampled everywhere in a text (sparse) that another
        // copy's shingles hold is filed for it; a key sampled only in the lede is filed for
        // the other copy only if it is in its lede too, which its set does not tell.
        let mut keys: Vec<u32> = keys.collect();
        if !as_rep {
            let held: Vec<&[u16]> = self
                .copies(story)
                .filter(|p| p.article != article)
                .map(Profile::set)
                .collect();
            keys.retain(|&k| {
                k % SPARSE_MOD != 0
                    || !held
                        .iter()
                        .any(|set| set.binary_search(&((k >> 16) as u16)).is_ok())
            });
        }
        let shard = self.shard(day);
        for &k in &keys {
            shard.keys.prefetch_for_filing(k);
        }
        for k in keys {
            shard.add_key(k, slot);
        }
        if let Some(t) = title {
            shard.add_title(t, slot);
        }
        self.newest = self.newest.max(day);
        true
    }

    /// Files another copy's title key under `story`'s representative, so a title-only
    /// copy finds it; false (nothing filed) when `story` is not live.
    pub fn add_title(&mut self, story: i64, title: u64, published: i64) -> bool {
        let Some(e) = self.stories.get_mut(&story) else {
            return false;
        };
        let day = published.div_euclid(DAY);
        e.day = e.day.max(i32::try_from(day).unwrap_or(i32::MAX));
        let slot = e.rep;
        let shard = self.shard(day);
        shard.add_title(title, slot);
        true
    }

    /// The shard of `day`, made when missing: a new latest day is sized like the one
    /// before it, and the days before it are sealed (their filters made).
    fn shard(&mut self, day: i64) -> &mut Shard {
        if !self.shards.contains_key(&day) {
            let latest = self.shards.last_key_value().filter(|(d, _)| **d < day);
            let shard = Shard::sized_like(latest.map(|(_, s)| s));
            for (_, earlier) in self.shards.range_mut(..day) {
                earlier.keys.seal();
                earlier.titles.seal();
            }
            self.shards.insert(day, shard);
        }
        self.shards.entry(day).or_default()
    }

    /// Forgets `story` (its copies left, it was absorbed, or it was pruned). Its postings
    /// go stale and are skipped.
    pub fn remove(&mut self, story: i64) {
        if let Some(e) = self.stories.remove(&story) {
            let members = self.members.remove(&story).unwrap_or_default();
            for slot in std::iter::once(e.rep).chain(members) {
                self.free_slot(slot);
            }
        }
    }

    /// Forgets copy `article` of `story` (it left the story), unless it represents it.
    pub fn remove_copy(&mut self, story: i64, article: i64) {
        let Some(members) = self.members.remove(&story) else {
            return;
        };
        let mut kept = Vec::with_capacity(members.len());
        for s in members {
            let gone = self.slots[s as usize]
                .as_ref()
                .is_some_and(|c| c.profile.article == article);
            if gone {
                self.free_slot(s);
            } else {
                kept.push(s);
            }
        }
        if !kept.is_empty() {
            self.members.insert(story, kept);
        }
    }

    /// Moves the copies of `absorbed` into `survivor` (two stories found to be one), the
    /// survivor keeping its representative unless `absorbed_rep_wins`. When the survivor
    /// is not live, the absorbed story's entry becomes the survivor's.
    pub fn merge(&mut self, absorbed: i64, survivor: i64, absorbed_rep_wins: bool) {
        let Some(gone) = self.stories.remove(&absorbed) else {
            return;
        };
        let mut moved = self.members.remove(&absorbed).unwrap_or_default();
        for &slot in std::iter::once(&gone.rep).chain(&moved) {
            if let Some(c) = self.slots[slot as usize].as_mut() {
                c.story = survivor;
            }
        }
        match self.stories.get_mut(&survivor) {
            Some(e) => {
                e.day = e.day.max(gone.day);
                if absorbed_rep_wins {
                    moved.push(std::mem::replace(&mut e.rep, gone.rep));
                } else {
                    moved.push(gone.rep);
                }
                self.members.entry(survivor).or_default().extend(moved);
            }
            None => {
                self.stories.insert(survivor, gone);
                if !moved.is_empty() {
                    self.members.insert(survivor, moved);
                }
            }
        }
    }

    /// The stories sharing at least [`MIN_SHARED_KEYS`] distinct sampled keys, or the
    /// title key, with a copy published at `published`, within
    /// `window` seconds: title matches first, then the most shared keys first, at most
    /// `limit`. The caller compares the copy with each of their indexed copies.
    pub fn candidates(
        &self,
        keys: &[u32],
        title: Option<u64>,
        published: i64,
        window: i64,
        limit: usize,
    ) -> Vec<Candidate> {
        let from = published.saturating_sub(window).div_euclid(DAY);
        let to = published.saturating_add(window).div_euclid(DAY);
        // (story, key) for every posting found: a key filed under two copies of one story
        // counts once.
        let mut hits: Vec<(i64, u32)> = Vec::new();
        let mut title_hits: Vec<i64> = Vec::new();
        let shards: Vec<&Shard> = self.shards.range(from..=to).map(|(_, s)| s).collect();
        // The probes the filters let through, each probe's first cache line asked for
        // before any is read.
        let mut probes: Vec<(&Shard, u32)> = Vec::with_capacity(keys.len() * shards.len());
        for &shard in &shards {
            for &k in keys {
                if shard.keys.may_contain(k) {
                    shard.keys.prefetch(k);
                    probes.push((shard, k));
                }
            }
            if let Some(t) = title {
                shard.titles.prefetch(t);
            }
        }
        let story_of = |slot: u32| self.slots[slot as usize].as_ref().map(|c| c.story);
        for (shard, k) in probes {
            let p = shard.postings(&shard.keys, k);
            if p.len() <= MAX_POSTINGS {
                hits.extend(p.iter().filter_map(|&s| story_of(s)).map(|s| (s, k)));
            }
        }
        if let Some(t) = title {
            for shard in shards {
                title_hits.extend(
                    shard
                        .postings(&shard.titles, t)
                        .iter()
                        .filter_map(|&s| story_of(s)),
                );
            }
        }
        hits.sort_unstable();
        hits.dedup();
        title_hits.sort_unstable();
        title_hits.dedup();
        let mut counted: Vec<(i64, usize, bool)> = Vec::new();
        for (s, _) in hits {
            match counted.last_mut() {
                Some((last, n, _)) if *last == s => *n += 1,
                _ => counted.push((s, 1, false)),
            }
        }
        for (s, _, t) in counted.iter_mut() {
            *t = title_hits.binary_search(s).is_ok();
        }
        let sorted = counted.len();
        for &s in &title_hits {
            if counted[..sorted].binary_search_by_key(&s, |c| c.0).is_err() {
                counted.push((s, 0, true));
            }
        }
        counted.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        let mut out: Vec<Candidate> = Vec::new();
        for (story, shared, title) in counted {
            let near = self
                .copies(story)
                .any(|p| (p.published - published).abs() <= window);
            if !near || (!title && shared < MIN_SHARED_KEYS) {
                continue;
            }
            out.push(Candidate {
                story,
                shared,
                title,
            });
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    /// Drops the days that ended more than `window` seconds before the newest day filed,
    /// and the stories filed only there, once the index holds more than
    /// [`EVICT_FLOOR_STORIES`] stories.
    pub fn evict(&mut self, window: i64) {
        if self.stories.len() <= EVICT_FLOOR_STORIES {
            return;
        }
        let keep_from = self.newest - window.div_euclid(DAY) - 1;
        let mut dropped = false;
        while let Some((&day, _)) = self.shards.first_key_value() {
            if day >= keep_from {
                break;
            }
            self.shards.remove(&day);
            dropped = true;
        }
        if dropped {
            // Every story last filed before the days kept goes, found from the stories
            // (not from the dropped days' slots, which may have been freed or reused).
            let old: Vec<i64> = self
                .stories
                .iter()
                .filter(|(_, e)| i64::from(e.day) < keep_from)
                .map(|(&s, _)| s)
                .collect();
            for story in old {
                self.remove(story);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The flat tables file postings as the std maps they replaced did: a key's
        /// stories in filing order, repeats of the last one skipped, at most
        /// `MAX_POSTINGS` + 1 of them; a title's stories uncapped.
        #[test]
        fn shards_file_postings_as_a_map_does(
            ops in proptest::collection::vec((0u32..400, 0u32..40, proptest::bool::ANY), 0..4000)
        ) {
            let mut shard = Shard::sized_like(None);
            let mut keys: HashMap<u32, Vec<u32>> = HashMap::new();
            let mut titles: HashMap<u64, Vec<u32>> = HashMap::new();
            for (n, &(key, slot, is_title)) in ops.iter().enumerate() {
                // Sealed midway: keys filed before and after are found through the filter.
                if n == ops.len() / 2 {
                    shard.keys.seal();
                    shard.titles.seal();
                }
                // Sampled keys share their low bits, as the index's do.
                let key = key * 16;
                if is_title {
                    let title = u64::from(key) << 20 | 7;
                    shard.add_title(title, slot);
                    titles.entry(title).or_default().push(slot);
                } else {
                    shard.add_key(key, slot);
                    let list = keys.entry(key).or_default();
                    if list.last() != Some(&slot) && list.len() <= MAX_POSTINGS {
                        list.push(slot);
                    }
                }
            }
            for key in (0u32..400).map(|k| k * 16) {
                let want = keys.get(&key).cloned().unwrap_or_default();
                // The filter never turns away a key that is there.
                proptest::prop_assert!(want.is_empty() || shard.keys.may_contain(key));
                proptest::prop_assert_eq!(shard.postings(&shard.keys, key), &want[..]);
                let title = u64::from(key) << 20 | 7;
                let mut want = titles.get(&title).cloned().unwrap_or_default();
                let mut got = shard.postings(&shard.titles, title).to_vec();
                want.sort_unstable();
                want.dedup();
                got.sort_unstable();
                got.dedup();
                proptest::prop_assert_eq!(got, want);
            }
            proptest::prop_assert_eq!(shard.keys.len, keys.len());
        }
    }
}
