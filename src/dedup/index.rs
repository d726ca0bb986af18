//! The candidate index: each live story's representative, filed under its sampled
//! shingle keys and its title key, in one shard per day of publication. Finding the
//! candidates of a copy probes only the days within the window, a few hash lookups per
//! key — no scan over stored articles — and days older than the window are dropped whole.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::policy::{EVICT_FLOOR_STORIES, MAX_POSTINGS};
use super::profile::Profile;

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

type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// Postings of a key: one story slot inline, or (high bit set) an index into the shard's
/// overflow lists. Most keys belong to one story, so most cost 8 bytes of map.
const MANY: u32 = 1 << 31;

#[derive(Default)]
struct Shard {
    keys: KeyMap<u32, u32>,
    overflow: Vec<Vec<u32>>,
    titles: KeyMap<u64, Vec<u32>>,
    /// Slots filed here, to free when the shard is dropped.
    slots: Vec<u32>,
}

impl Shard {
    fn add_key(&mut self, key: u32, slot: u32) {
        match self.keys.get_mut(&key) {
            None => {
                self.keys.insert(key, slot);
            }
            Some(v) if *v & MANY == 0 => {
                if *v != slot {
                    self.overflow.push(vec![*v, slot]);
                    *v = MANY | (self.overflow.len() as u32 - 1);
                }
            }
            Some(v) => {
                let list = &mut self.overflow[(*v & !MANY) as usize];
                if list.len() <= MAX_POSTINGS && list.last() != Some(&slot) {
                    list.push(slot);
                }
            }
        }
    }

    fn postings(&self, key: u32) -> &[u32] {
        match self.keys.get(&key) {
            None => &[],
            Some(v) if v & MANY == 0 => std::slice::from_ref(v),
            Some(v) => &self.overflow[(v & !MANY) as usize],
        }
    }
}

/// A live story as the index knows it.
#[derive(Debug, Clone)]
pub struct IndexedStory {
    /// Store id of the story.
    pub story: i64,
    /// Its representative.
    pub rep: Profile,
    /// The latest day it was filed under (it lives until that day leaves the window).
    day: i64,
}

/// A story found for a copy.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The story and its representative.
    pub story: &'a IndexedStory,
    /// Sampled keys shared with the copy.
    pub shared: usize,
    /// Filed under the copy's title key.
    pub title: bool,
}

/// The in-memory index of live stories.
#[derive(Default)]
pub struct StoryIndex {
    slots: Vec<Option<IndexedStory>>,
    free: Vec<u32>,
    by_story: KeyMap<i64, u32>,
    shards: BTreeMap<i64, Shard>,
    newest: i64,
}

impl StoryIndex {
    /// Live stories held.
    pub fn len(&self) -> usize {
        self.by_story.len()
    }

    /// Whether no story is held.
    pub fn is_empty(&self) -> bool {
        self.by_story.is_empty()
    }

    /// The story `story`, when it is live.
    pub fn story(&self, story: i64) -> Option<&IndexedStory> {
        let slot = *self.by_story.get(&story)?;
        self.slots[slot as usize].as_ref()
    }

    /// Files `rep` as the representative of `story` (new, or replacing its previous one),
    /// under `keys`; other copies' titles are filed with [`StoryIndex::add_title`].
    pub fn set_representative(
        &mut self,
        story: i64,
        rep: Profile,
        keys: impl Iterator<Item = u32>,
    ) {
        let day = rep.published.div_euclid(DAY);
        let slot = match self.by_story.get(&story) {
            Some(&s) => s,
            None => {
                let s = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(None);
                    self.slots.len() as u32 - 1
                });
                self.by_story.insert(story, s);
                s
            }
        };
        let title = rep.title_hash;
        let entry = &mut self.slots[slot as usize];
        let keep_day = entry.as_ref().map_or(day, |e| e.day.max(day));
        *entry = Some(IndexedStory {
            story,
            rep,
            day: keep_day,
        });
        let shard = self.shards.entry(day).or_default();
        shard.slots.push(slot);
        for k in keys {
            shard.add_key(k, slot);
        }
        if let Some(t) = title {
            shard.titles.entry(t).or_default().push(slot);
        }
        self.newest = self.newest.max(day);
    }

    /// Files another copy's title key under `story`, so a title-only copy finds it.
    pub fn add_title(&mut self, story: i64, title: u64, published: i64) {
        let Some(&slot) = self.by_story.get(&story) else {
            return;
        };
        let day = published.div_euclid(DAY);
        if let Some(e) = self.slots[slot as usize].as_mut() {
            e.day = e.day.max(day);
        }
        let shard = self.shards.entry(day).or_default();
        shard.slots.push(slot);
        shard.titles.entry(title).or_default().push(slot);
    }

    /// Forgets `story` (its copies left or it was pruned). Its postings go stale and are
    /// skipped.
    pub fn remove(&mut self, story: i64) {
        if let Some(slot) = self.by_story.remove(&story) {
            self.slots[slot as usize] = None;
            self.free.push(slot);
        }
    }

    /// The stories sharing at least `min_shared` sampled keys, or the title key, with a
    /// copy published at `published`, within `window` seconds: title matches first, then
    /// the most shared keys first, at most `limit`.
    pub fn candidates(
        &self,
        keys: &[u32],
        title: Option<u64>,
        published: i64,
        window: i64,
        min_shared: usize,
        limit: usize,
    ) -> Vec<Candidate<'_>> {
        let from = published.saturating_sub(window).div_euclid(DAY);
        let to = published.saturating_add(window).div_euclid(DAY);
        let mut hits: Vec<u32> = Vec::new();
        let mut title_hits: Vec<u32> = Vec::new();
        for (_, shard) in self.shards.range(from..=to) {
            for &k in keys {
                let p = shard.postings(k);
                if p.len() <= MAX_POSTINGS {
                    hits.extend_from_slice(p);
                }
            }
            if let Some(t) = title.and_then(|t| shard.titles.get(&t)) {
                title_hits.extend_from_slice(t);
            }
        }
        hits.sort_unstable();
        title_hits.sort_unstable();
        title_hits.dedup();
        let mut counted: Vec<(u32, usize, bool)> = Vec::new();
        for s in hits {
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
        counted.retain(|&(_, n, t)| t || n >= min_shared);
        counted.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        let mut out: Vec<Candidate<'_>> = Vec::new();
        for (slot, shared, title) in counted {
            let Some(e) = self.slots[slot as usize].as_ref() else {
                continue;
            };
            if (e.rep.published - published).abs() > window
                || out.iter().any(|o| o.story.story == e.story)
            {
                continue;
            }
            out.push(Candidate {
                story: e,
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
        if self.by_story.len() <= EVICT_FLOOR_STORIES {
            return;
        }
        let keep_from = self.newest - window.div_euclid(DAY) - 1;
        while let Some((&day, _)) = self.shards.first_key_value() {
            if day >= keep_from {
                break;
            }
            let Some(shard) = self.shards.remove(&day) else {
                break;
            };
            for slot in shard.slots {
                let dead = self.slots[slot as usize]
                    .as_ref()
                    .is_some_and(|e| e.day <= day);
                if let Some(e) = self.slots[slot as usize].take_if(|_| dead) {
                    self.by_story.remove(&e.story);
                    self.free.push(slot);
                }
            }
        }
    }
}
