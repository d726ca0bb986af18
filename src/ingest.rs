//! Ingest: one parsed feed into the store, as one transaction — the join between the
//! parse, dedup and store stages that the daemon and `fetch` both use.
//!
//! For each new copy: exact identity first (the same canonical URL or GUID in another
//! feed, or a `<source>` naming a copy we have — store lookups), else the dedup index's
//! verdict against candidate stories' copies, else a new story. An update (same feed and
//! key), or a copy whose article page arrived ([`record_page`]), is fingerprinted again and
//! stays in its story while it still matches one of the story's other copies. Index
//! changes reach the [`Dedup`] only after the commit.
//!
//! An ingest fails only when the store does, so its errors are the store's
//! ([`StoreError`](crate::store::StoreError)): the daemon's writer reads from them whether a
//! feed's data or the whole database failed.

use chrono::{DateTime, Utc};

use crate::config::{DedupConfig, FullText};
use crate::dedup::policy::{EVICT_FLOOR_STORIES, article_url, global_guid};
use crate::dedup::{
    Dedup, Fingerprint, FoldedText, Placement, Policy, Profile, Rule, Staged, verify,
};
use crate::fetch::policy::FULL_TEXT_BELOW_WORDS;
use crate::model::{Article, MatchKind, PageState, ParsedFeed};
use crate::store::{Batch, PageWrite, Result, Store, StoredFingerprint, Upsert};

/// What ingesting one feed's document changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Copies never seen before.
    pub new_articles: usize,
    /// Existing copies whose text or title changed.
    pub updated_articles: usize,
    /// Stories founded by new copies (or by updated copies that left their story).
    pub new_stories: usize,
    /// New copies that joined an existing story.
    pub merged: usize,
    /// Stories absorbed by another: a new copy matched both.
    pub story_merges: usize,
    /// Entries handed over to the daemon that places copies (several daemons on
    /// PostgreSQL): stored and placed by that daemon, so not counted above.
    pub handed_over: usize,
}

/// The dedup stage loaded from the store: every story with a copy published within the
/// window of the newest stored copy, rebuilt from the stored fingerprints.
pub fn open_dedup(store: &Store, config: &DedupConfig) -> Result<Dedup> {
    open_dedup_with(store, Policy::from_config(config))
}

/// [`open_dedup`] with a policy already made.
pub fn open_dedup_with(store: &Store, policy: Policy) -> Result<Dedup> {
    let mut dedup = Dedup::new(policy);
    let Some(newest) = store.newest_fingerprint()? else {
        return Ok(dedup);
    };
    // The window before the newest copy, and at least the newest stories the index keeps
    // anyway (a few copies dated "now" among older ones must not hide those).
    let mut since = newest.saturating_sub(dedup.policy().window_secs.saturating_mul(2));
    if let Some(t) = store.nth_newest_fingerprint(EVICT_FLOOR_STORIES)? {
        since = since.min(t);
    } else {
        since = i64::MIN;
    }
    // SQLite reads the rows on this thread while another builds the index from them, in
    // the order read (half the restart is each): batches of rows go through a short
    // queue, so few are held at once.
    let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<Vec<StoredFingerprint>>(2);
    std::thread::scope(|scope| {
        let builder = scope.spawn(move || {
            // Copies whose story's representative comes later in the table: filed once it
            // is there (the others at once, as the writer filed them).
            let mut later = Vec::new();
            for rows in rows_rx {
                for row in rows {
                    restore_row(&mut dedup, row, &mut later);
                }
                // The days that left the window go as the rows move on, as they go while
                // the writer files copies (the table's order is the order they came in):
                // the index never holds more days than it does then.
                dedup.evict();
            }
            for row in later {
                let _ = dedup.restore_copy(row.story, row.profile(), &row.fingerprint, false);
            }
            dedup.evict();
            dedup
        });
        let mut batch = Vec::with_capacity(RESTORE_BATCH_ROWS);
        let read = store.for_each_live_fingerprint(since, |row| {
            batch.push(row);
            if batch.len() == RESTORE_BATCH_ROWS {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(RESTORE_BATCH_ROWS));
                // Fails only when the builder is gone, which its join reports.
                let _ = rows_tx.send(full);
            }
        });
        if !batch.is_empty() {
            let _ = rows_tx.send(batch);
        }
        drop(rows_tx);
        let dedup = builder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        Ok(dedup)
    })
}

/// Files one stored copy in the index being restored: a representative with its story, or
/// another copy of its story (kept in `later` while the story's representative, further on
/// in the table, is not there yet).
fn restore_row(dedup: &mut Dedup, row: StoredFingerprint, later: &mut Vec<StoredFingerprint>) {
    if !dedup.restore_copy(
        row.story,
        row.profile(),
        &row.fingerprint,
        row.representative,
    ) {
        later.push(row);
    }
}

/// Rows of stored fingerprints handed at once from the restart's reader to its builder.
const RESTORE_BATCH_ROWS: usize = 1024;

/// Stores the articles of `parsed` for feed `feed_id`, all or nothing, placing each new
/// copy in its story with `dedup` (the caller's: [`open_dedup`] loads one), which learns
/// of the new stories once the transaction has committed.
pub fn ingest_with(
    store: &mut Store,
    dedup: &mut Dedup,
    feed_id: i64,
    parsed: &ParsedFeed,
    now: DateTime<Utc>,
) -> Result<IngestReport> {
    let mut batch = store.begin_ingest()?;
    let mut staged = Staged::default();
    let report = ingest_into(&mut batch, dedup, &mut staged, feed_id, parsed, None, now)?;
    batch.commit()?;
    dedup.apply(staged);
    Ok(report)
}

/// The writes of [`ingest_with`] inside `batch`, which the caller commits. Index changes are
/// added to `staged`, for the caller to apply to `dedup` once the batch has landed; several
/// feeds may share one batch and one `staged` (the later ones see the earlier ones' stories).
///
/// `fingerprints`, when given, are those of `parsed.articles` in order, made beforehand
/// with the feed's learned lines ([`crate::dedup::FeedLines`], taken out of `dedup`'s
/// [`Dedup::learned_lines`]) off the writer; else the copies are learned from and
/// fingerprinted here, with the same lines.
pub fn ingest_into(
    batch: &mut Batch<'_>,
    dedup: &mut Dedup,
    staged: &mut Staged,
    feed_id: i64,
    parsed: &ParsedFeed,
    fingerprints: Option<&[Fingerprint]>,
    now: DateTime<Utc>,
) -> Result<IngestReport> {
    // Each text folded once, for learning and (when it is new or changed) fingerprinting.
    let folded: Vec<FoldedText> = match fingerprints {
        Some(_) => Vec::new(),
        None => parsed
            .articles
            .iter()
            .map(|a| FoldedText::new(&a.text))
            .collect(),
    };
    for text in &folded {
        dedup.learn_folded(feed_id, text);
    }
    let mut report = IngestReport::default();
    let feed_name = batch.feed_name(feed_id)?;
    let full_text = batch.feed_full_text(feed_id)?;
    for (i, article) in parsed.articles.iter().enumerate() {
        let upsert = batch.upsert_article(feed_id, article, now)?;
        let (Upsert::New { article: id } | Upsert::Updated { article: id, .. }) = upsert else {
            continue;
        };
        if let Some(page) = page_wanted(full_text, article) {
            batch.want_page(id, page, now)?;
        }
        let published = article.published.unwrap_or(now).timestamp();
        let preferred = dedup.policy().prefers(&feed_name, article.url.as_deref());
        // An updated copy whose page gave its article keeps being judged by that article.
        let page_text = match upsert {
            Upsert::Updated { .. } if full_text != FullText::Never => batch
                .page_content(id)?
                .map(|html| crate::parse::page::text_of(&html)),
            _ => None,
        };
        let with_page = page_text.map(|text| Article {
            text,
            ..article.clone()
        });
        let made;
        let fp = match (&with_page, fingerprints.and_then(|f| f.get(i))) {
            (Some(with_page), _) => {
                made = dedup.fingerprint_article(
                    feed_id,
                    with_page,
                    &FoldedText::new(&with_page.text),
                );
                &made
            }
            (None, Some(fp)) => fp,
            (None, None) => {
                made = match folded.get(i) {
                    Some(text) => dedup.fingerprint_article(feed_id, article, text),
                    None => {
                        dedup.fingerprint_article(feed_id, article, &FoldedText::new(&article.text))
                    }
                };
                &made
            }
        };
        match upsert {
            Upsert::New { .. } => batch.add_fingerprint(id, feed_id, published, preferred, fp)?,
            _ => batch.replace_fingerprint(id, feed_id, published, preferred, fp)?,
        }
        // Searched by the text it is judged by: its page's article once that arrived.
        let indexed = with_page.as_ref().unwrap_or(article);
        let new = matches!(upsert, Upsert::New { .. });
        batch.index_copy(id, &indexed.title, &indexed.text, new)?;
        let profile = Profile::new(id, feed_id, published, preferred, fp);
        if let Upsert::Updated { .. } = upsert {
            report.updated_articles += 1;
            if stay_or_leave(batch, dedup, staged, profile, fp, now)? {
                report.new_stories += 1;
            } else if let Some((story, _)) = batch.copy_of(id)? {
                report.new_stories += split_story(batch, dedup, staged, story, now)?;
            }
            continue;
        }
        report.new_articles += 1;
        if let Some((story, kind)) = exact_match(batch, feed_id, article)? {
            batch.join_story(id, story, kind, 1.0, &Rule::Exact.describe(), now)?;
            promote(batch, dedup, staged, story, profile, fp, false, now)?;
            report.merged += 1;
            continue;
        }
        let placement = dedup.place(&profile, fp, staged);
        let mut joined = Vec::new();
        for c in placement.join.into_iter().chain(placement.also) {
            if batch.story_exists(c.story)? {
                joined.push(c);
            } else {
                staged.remove(c.story);
            }
        }
        match joined.first() {
            Some(best) => {
                let kind = Placement::kind(best);
                batch.join_story(
                    id,
                    best.story,
                    kind,
                    best.verdict.score,
                    &best.verdict.rule.describe(),
                    now,
                )?;
                // Every story the copy matches is one story: the oldest id survives.
                let survivor = joined.iter().map(|c| c.story).min().unwrap_or(best.story);
                for c in &joined {
                    if c.story != survivor {
                        let reason = format!(
                            "{} (feed {feed_name}) matched both stories: {}",
                            article.url.as_deref().unwrap_or(&article.title),
                            c.verdict.reason
                        );
                        merge_stories(batch, dedup, staged, c.story, survivor, &reason, now)?;
                        report.story_merges += 1;
                    }
                }
                let covered = best.covered;
                promote(batch, dedup, staged, survivor, profile, fp, covered, now)?;
                report.merged += 1;
            }
            None => {
                let story = batch.new_story(id, now)?;
                staged.set_representative(story, profile, fp);
                report.new_stories += 1;
            }
        }
    }
    Ok(report)
}

/// The page to fetch for `article` under its feed's `full_text` setting: its link, when
/// the setting asks for it (`auto`: only when the feed's text is a summary).
fn page_wanted(full_text: FullText, article: &Article) -> Option<&str> {
    let wanted = match full_text {
        FullText::Never => false,
        FullText::Always => true,
        FullText::Auto => article.text.split_whitespace().count() < FULL_TEXT_BELOW_WORDS,
    };
    article
        .url
        .as_deref()
        .filter(|u| wanted && (u.starts_with("http://") || u.starts_with("https://")))
}

/// What recording one page attempt changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageReport {
    /// The copy's text is now its page's article.
    pub completed: bool,
    /// With its full text, the copy left its story for a story of its own.
    pub left: bool,
    /// Stories merged because the copy, with its full text, matched them.
    pub story_merges: usize,
    /// Stories founded by copies of the copy's story that, with its full text, no longer
    /// matched the rest.
    pub stories_split: usize,
}

/// An attempt at a copy's article page, to record: `text` (the article's plain text) is
/// given when `write` is a `Done` page.
#[derive(Debug, Clone)]
pub struct PageResult {
    /// The copy.
    pub article: i64,
    /// What to record.
    pub write: PageWrite,
    /// The article's plain text (paragraphs as lines), when the page gave one.
    pub text: Option<String>,
    /// When the attempt ended.
    pub fetched_at: DateTime<Utc>,
}

/// Records `page` inside `batch`. A page that gave an article replaces the copy's text for
/// dedup: the copy is fingerprinted again and placed again with the same rules as a new
/// copy — it stays in its story while it still matches it (or leaves), and every other
/// story it now matches merges with its own, the oldest id surviving. Index changes go to
/// `staged`, for the caller to apply after the commit.
pub fn record_page(
    batch: &mut Batch<'_>,
    dedup: &mut Dedup,
    staged: &mut Staged,
    page: &PageResult,
    now: DateTime<Utc>,
) -> Result<PageReport> {
    let mut report = PageReport::default();
    batch.record_page(page.article, &page.write, now)?;
    if page.write.state != Some(PageState::Done) {
        return Ok(report);
    }
    // A page that did not change (304) gives its stored article again.
    let stored_text;
    let text = match page.text.as_deref() {
        Some(text) => text,
        None => match batch.page_content(page.article)? {
            Some(html) => {
                stored_text = crate::parse::page::text_of(&html);
                &stored_text
            }
            None => return Ok(report),
        },
    };
    let Some(stored) = batch.article(page.article)? else {
        return Ok(report); // pruned meanwhile
    };
    batch.fill_from_page(
        page.article,
        page.write.title.as_deref(),
        page.write.byline.as_deref(),
    )?;
    let feed_id = stored.feed_id;
    let mut article = stored.article;
    if article.title.trim().is_empty() {
        article.title = page.write.title.clone().unwrap_or_default();
    }
    article.text = text.to_string();
    let fp = dedup.fingerprint_article(feed_id, &article, &FoldedText::new(&article.text));
    let published = article.published.unwrap_or(now).timestamp();
    let feed_name = batch.feed_name(feed_id)?;
    let preferred = dedup.policy().prefers(&feed_name, article.url.as_deref());
    batch.replace_fingerprint(page.article, feed_id, published, preferred, &fp)?;
    batch.index_copy(page.article, &article.title, &article.text, false)?;
    report.completed = true;
    let profile = Profile::new(page.article, feed_id, published, preferred, &fp);
    report.left = stay_or_leave(batch, dedup, staged, profile.clone(), &fp, now)?;
    let Some((story, _)) = batch.copy_of(page.article)? else {
        return Ok(report);
    };
    let placement = dedup.place(&profile, &fp, staged);
    let mut matched = Vec::new();
    for c in placement.join.into_iter().chain(placement.also) {
        let other = staged.resolve(c.story);
        if other != story
            && !matched.iter().any(|(s, _)| *s == other)
            && batch.story_exists(other)?
            && !dedup.stories_clash(story, other, staged)
        {
            matched.push((other, c.verdict.reason));
        }
    }
    let Some(survivor) = matched.iter().map(|(s, _)| *s).chain([story]).min() else {
        return Ok(report);
    };

    let evidence: Vec<&str> = matched.iter().map(|(_, r)| r.as_str()).collect();
    let reason = format!(
        "{} (feed {feed_name}), with the full text of its page, matched both stories: {}",
        article.url.as_deref().unwrap_or(&article.title),
        evidence.join("; ")
    );
    for other in matched.iter().map(|(s, _)| *s).chain([story]) {
        if other != survivor {
            merge_stories(batch, dedup, staged, other, survivor, &reason, now)?;
            report.story_merges += 1;
        }
    }
    report.stories_split = split_story(batch, dedup, staged, survivor, now)?;
    Ok(report)
}

/// A copy whose text changed (the feed updated it, or its page gave its article): it stays
/// in its story while it still matches one of the story's other copies (or is the story's only one, or joined it
/// by identity), as the representative when it now ranks first; otherwise it leaves and
/// founds a story of its own. Returns whether it left.
fn stay_or_leave(
    batch: &mut Batch<'_>,
    dedup: &Dedup,
    staged: &mut Staged,
    profile: Profile,
    fp: &Fingerprint,
    now: DateTime<Utc>,
) -> Result<bool> {
    let article = profile.article;
    let Some((story, kind)) = batch.copy_of(article)? else {
        return Ok(false);
    };
    batch.touch_story(story, now)?;
    let others: Vec<StoredFingerprint> = batch
        .story_fingerprints(story)?
        .into_iter()
        .filter(|f| f.article != article)
        .collect();
    let identical = matches!(kind, MatchKind::Url | MatchKind::Guid | MatchKind::Source);
    let stays = identical
        || others.is_empty()
        || others
            .iter()
            .any(|f| verify::compare(&profile, &f.profile(), dedup.policy()).merge);
    let rep = dedup
        .representative(story, staged)
        .map(|r| (r.article, r.rank()));
    if stays {
        match rep {
            Some((a, rank)) if a != article && profile.rank() <= rank => {
                staged.add_copy(story, profile, fp)
            }
            _ => {
                batch.set_representative(story, article, now)?;
                staged.set_representative(story, profile, fp);
            }
        }
        return Ok(false);
    }
    if rep.is_none_or(|(a, _)| a == article) {
        let best = others
            .iter()
            .map(|f| (f.profile(), f))
            .max_by(|a, b| a.0.rank().cmp(&b.0.rank()));
        if let Some((p, f)) = best {
            batch.set_representative(story, p.article, now)?;
            staged.set_representative(story, p, &f.fingerprint);
        }
    }
    staged.remove_copy(story, article);
    let own = batch.new_story(article, now)?;
    staged.set_representative(own, profile, fp);
    Ok(true)
}

/// Checks `story` again after one of its copies' text changed: its copies must still form
/// one story, each linked to the others by a chain of matching copies (copies joined by
/// identity count as linked to the representative). A group no longer linked to the
/// representative's leaves and founds a story of its own, its best-ranked copy first: a
/// merge decided on a summary that the copy's full text no longer supports is undone when
/// that text arrives. Returns the stories founded.
fn split_story(
    batch: &mut Batch<'_>,
    dedup: &Dedup,
    staged: &mut Staged,
    story: i64,
    now: DateTime<Utc>,
) -> Result<usize> {
    let members = batch.story_fingerprints(story)?;
    if members.len() < 2 {
        return Ok(0);
    }
    let profiles: Vec<Profile> = members.iter().map(StoredFingerprint::profile).collect();
    let rep = dedup
        .representative(story, staged)
        .map(|p| p.article)
        .and_then(|a| profiles.iter().position(|p| p.article == a))
        .unwrap_or(0);
    // Union-find over the copies: one set per group of copies linked by matches.
    let mut parent: Vec<usize> = (0..profiles.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, m) in members.iter().enumerate() {
        if let Some((_, MatchKind::Url | MatchKind::Guid | MatchKind::Source)) =
            batch.copy_of(m.article)?
        {
            let (a, b) = (root(&mut parent, i), root(&mut parent, rep));
            parent[a] = b;
        }
    }
    for i in 0..profiles.len() {
        for j in i + 1..profiles.len() {
            if root(&mut parent, i) != root(&mut parent, j)
                && verify::compare(&profiles[i], &profiles[j], dedup.policy()).merge
            {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let keep = root(&mut parent, rep);
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..profiles.len() {
        let r = root(&mut parent, i);
        if r != keep {
            groups.entry(r).or_default().push(i);
        }
    }
    for group in groups.values() {
        let Some(&first) = group
            .iter()
            .max_by_key(|&&i| (profiles[i].rank(), std::cmp::Reverse(profiles[i].article)))
        else {
            continue;
        };
        for &i in group {
            staged.remove_copy(story, profiles[i].article);
        }
        let own = batch.new_story(profiles[first].article, now)?;
        staged.set_representative(own, profiles[first].clone(), &members[first].fingerprint);
        for &i in group.iter().filter(|&&i| i != first) {
            let v = verify::compare(&profiles[i], &profiles[first], dedup.policy());
            batch.join_story(
                profiles[i].article,
                own,
                MatchKind::Content,
                v.score,
                &v.rule.describe(),
                now,
            )?;
            staged.add_copy(own, profiles[i].clone(), &members[i].fingerprint);
        }
    }
    if !groups.is_empty() {
        batch.touch_story(story, now)?;
    }
    Ok(groups.len())
}

/// The story of a copy with the same identity: the same canonical URL or GUID in another
/// feed, or the copy its `<source>` names.
fn exact_match(batch: &Batch<'_>, feed: i64, a: &Article) -> Result<Option<(i64, MatchKind)>> {
    let by_url = |u: Option<&str>| match u.filter(|u| article_url(u)) {
        Some(u) => batch.story_by_url(u, feed),
        None => Ok(None),
    };
    let by_guid = |g: Option<&str>| match g.filter(|g| global_guid(g)) {
        Some(g) => batch.story_by_guid(g, feed),
        None => Ok(None),
    };
    if let Some(s) = by_url(a.url.as_deref())? {
        return Ok(Some((s, MatchKind::Url)));
    }
    if let Some(s) = by_guid(a.guid.as_deref())? {
        return Ok(Some((s, MatchKind::Guid)));
    }
    let src = a.source.as_ref();
    if let Some(s) = by_url(src.and_then(|s| s.url.as_deref()))? {
        return Ok(Some((s, MatchKind::Source)));
    }
    if let Some(s) = by_guid(src.and_then(|s| s.id.as_deref()))? {
        return Ok(Some((s, MatchKind::Source)));
    }
    Ok(None)
}

/// Merges story `absorbed` into `survivor` in the store and the batch's index changes; the
/// absorbed story's representative represents both when it ranks higher.
fn merge_stories(
    batch: &mut Batch<'_>,
    dedup: &Dedup,
    staged: &mut Staged,
    absorbed: i64,
    survivor: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let theirs = dedup
        .representative(absorbed, staged)
        .map(|p| (p.rank(), p.article));
    let ours = dedup.representative(survivor, staged).map(|p| p.rank());
    let theirs_wins = match (theirs, ours) {
        (Some((t, _)), Some(o)) => t > o,
        (Some(_), None) => true,
        _ => false,
    };
    batch.merge_stories(absorbed, survivor, reason, now)?;
    if let (true, Some((_, article))) = (theirs_wins, theirs) {
        batch.set_representative(survivor, article, now)?;
    }
    staged.merge(absorbed, survivor, theirs_wins);
    Ok(())
}

/// After `profile` joined `story`: makes it the representative when it ranks above the
/// current one, else files it as one of the story's copies (only its title when it is
/// `covered` by the copy it matched).
#[allow(clippy::too_many_arguments)]
fn promote(
    batch: &mut Batch<'_>,
    dedup: &Dedup,
    staged: &mut Staged,
    story: i64,
    profile: Profile,
    fp: &Fingerprint,
    covered: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let better = match dedup.representative(story, staged) {
        Some(rep) => profile.rank() > rep.rank(),
        None => return Ok(()), // the story left the window: its index entry is gone
    };
    if better {
        batch.set_representative(story, profile.article, now)?;
        staged.set_representative(story, profile, fp);
    } else if covered {
        staged.add_title(story, fp.title_hash, profile.published);
    } else {
        staged.add_copy(story, profile, fp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FeedSpec;

    /// A sentence of its own words: sentences with different `i` share no shingle.
    fn s(i: usize) -> String {
        format!(
            "Officials in district{i} said the council{i} approved plan{i} after a long vote{i} on measure{i} this week."
        )
    }

    fn text(range: std::ops::Range<usize>) -> String {
        range.map(s).collect::<Vec<_>>().join("\n")
    }

    fn art(key: &str, title: &str, body: &str, hour: i64) -> Article {
        Article {
            guid: Some(format!("urn:test:article:{key}")),
            key: key.into(),
            url: Some(format!("https://{key}.example/news/{key}")),
            title: title.into(),
            text: body.into(),
            content_html: Some(body.into()),
            published: Some(DateTime::from_timestamp(1_750_000_000 + hour * 3600, 0).unwrap()),
            ..Default::default()
        }
    }

    struct World {
        _dir: tempfile::TempDir,
        store: Store,
        dedup: Dedup,
        feeds: Vec<i64>,
        // After `store`: the database goes after its connection.
        _database: Option<crate::store::postgres::scratch::ScratchDatabase>,
    }

    /// Runs `check` in a new world on SQLite, then in one on PostgreSQL (a database of its
    /// own; skipped with the reason printed when the server is not there, unless
    /// `TRIBUTARY_CI_STRICT` is set): dedup decides the same on both backends.
    fn each_world(test: &str, check: impl Fn(&mut World)) {
        check(&mut World::new());
        if let Some(db) = crate::store::postgres::scratch::ScratchDatabase::create(test) {
            let store = Store::open_postgres(db.url()).unwrap();
            check(&mut World::on(store, Some(db)));
        }
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("t.db")).unwrap();
            World::on(store, None)
        }

        fn on(
            mut store: Store,
            database: Option<crate::store::postgres::scratch::ScratchDatabase>,
        ) -> World {
            let dir = tempfile::tempdir().unwrap();
            let specs: Vec<FeedSpec> = (0..4)
                .map(|i| FeedSpec {
                    url: format!("https://f{i}.example/rss"),
                    name: format!("F{i}"),
                    tags: vec![],
                    full_text: Default::default(),
                })
                .collect();
            let ids = store.sync_feeds(&specs).unwrap();
            let feeds = specs.iter().map(|s| ids[&s.url]).collect();
            let dedup = open_dedup(&store, &DedupConfig::default()).unwrap();
            World {
                _dir: dir,
                store,
                dedup,
                feeds,
                _database: database,
            }
        }

        fn add(&mut self, feed: usize, a: Article) -> IngestReport {
            let parsed = ParsedFeed {
                articles: vec![a],
                ..Default::default()
            };
            ingest_with(
                &mut self.store,
                &mut self.dedup,
                self.feeds[feed],
                &parsed,
                Utc::now(),
            )
            .unwrap()
        }

        /// The sets of article keys (URL hosts) merged together, sorted.
        fn stories(&self) -> Vec<Vec<String>> {
            let mut out: Vec<Vec<String>> = self
                .store
                .recent_stories(1000)
                .unwrap()
                .iter()
                .map(|s| {
                    let mut v: Vec<String> = s
                        .copies
                        .iter()
                        .map(|c| {
                            c.url
                                .clone()
                                .unwrap()
                                .split('/')
                                .next_back()
                                .unwrap()
                                .to_string()
                        })
                        .collect();
                    v.sort();
                    v
                })
                .collect();
            out.sort();
            out
        }
    }

    impl World {
        /// Sets the `full_text` of the first feeds, in order.
        fn full_text(&mut self, settings: &[FullText]) {
            let specs: Vec<FeedSpec> = settings
                .iter()
                .enumerate()
                .map(|(i, &full_text)| FeedSpec {
                    url: format!("https://f{i}.example/rss"),
                    name: format!("F{i}"),
                    tags: vec![],
                    full_text,
                })
                .collect();
            self.store.sync_feeds(&specs).unwrap();
        }

        /// Records the page of the copy `key` as giving `text`.
        fn page(&mut self, key: &str, text: &str) -> PageReport {
            let url = format!("https://{key}.example/news/{key}");
            let id = self.store.articles_by_url(&url).unwrap()[0];
            let mut batch = self.store.begin_ingest().unwrap();
            let mut staged = Staged::default();
            let page = PageResult {
                article: id,
                write: PageWrite {
                    state: Some(PageState::Done),
                    content: Some(format!("<p>{text}</p>")),
                    words: Some(text.split_whitespace().count()),
                    ..Default::default()
                },
                text: Some(text.into()),
                fetched_at: Utc::now(),
            };
            let r =
                record_page(&mut batch, &mut self.dedup, &mut staged, &page, Utc::now()).unwrap();
            batch.commit().unwrap();
            self.dedup.apply(staged);
            r
        }
    }

    fn together(w: &World, a: &str, b: &str) -> bool {
        w.stories()
            .iter()
            .any(|s| s.iter().any(|x| x == a) && s.iter().any(|x| x == b))
    }

    #[test]
    fn a_copy_with_chrome_and_a_trimmed_tail_joins_as_content() {
        each_world(
            "a_copy_with_chrome_and_a_trimmed_tail_joins_as_content",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                let copy = format!(
                    "Advertisement\nPublished: 12:16, 14 July 2025\nLONDON (Reuters) - {}\nRead more",
                    text(0..9)
                );
                let r = w.add(1, art("b", "Plan approved", &copy, 2));
                assert_eq!(r.merged, 1);
                assert!(together(w, "a", "b"));
                let s = &w.store.recent_stories(10).unwrap()[0];
                let b = s
                    .copies
                    .iter()
                    .find(|c| c.url.as_deref().unwrap().ends_with("/b"))
                    .unwrap();
                assert_eq!(b.kind, MatchKind::Content);
                assert!(b.score > 0.9 && b.thresholds.contains("overlap"));
                // The copy crediting the wire in full text represents the story.
                assert!(b.representative);
            },
        );
    }

    #[test]
    fn a_copy_that_matches_two_stories_merges_them_and_the_older_id_survives() {
        each_world(
            "a_copy_that_matches_two_stories_merges_them_and_the_older_id_survives",
            |w| {
                w.add(0, art("a", "First half", &text(0..10), 0));
                w.add(1, art("c", "Second half", &text(10..20), 1));
                assert!(!together(w, "a", "c"));
                let ids: Vec<i64> = w
                    .store
                    .recent_stories(10)
                    .unwrap()
                    .iter()
                    .map(|s| s.id)
                    .collect();
                let (older, newer) = (*ids.iter().min().unwrap(), *ids.iter().max().unwrap());
                // The whole text, of which each is a trimmed copy: one story.
                let r = w.add(2, art("b", "Both halves", &text(0..20), 2));
                assert_eq!((r.merged, r.story_merges), (1, 1));
                assert!(together(w, "a", "c") && together(w, "a", "b"));
                let s = w.store.recent_stories(10).unwrap();
                assert_eq!(s.len(), 1);
                assert_eq!(s[0].id, older);
                assert_eq!(w.store.merged_into(newer).unwrap(), Some(older));
                let merges = w.store.merges_into(older).unwrap();
                assert_eq!(merges.len(), 1);
                assert!(merges[0].2.contains("matched both"), "{merges:?}");
                assert!(w.store.check().unwrap().is_empty());
                // A later copy of the absorbed story's text joins the survivor.
                w.add(3, art("d", "Second half again", &text(10..19), 3));
                assert!(together(w, "a", "d"));
                assert_eq!(w.store.recent_stories(10).unwrap().len(), 1);
            },
        );
    }

    #[test]
    fn the_absorbed_storys_better_representative_represents_the_merged_story() {
        each_world(
            "the_absorbed_storys_better_representative_represents_the_merged_story",
            |w| {
                // The older story (id) founded by a later copy; the newer story by the earliest.
                w.add(0, art("c", "Second half", &text(10..20), 5));
                w.add(1, art("a", "First half", &text(0..10), 1));
                // Matches both: they merge into the older id, represented by the earliest copy,
                // which the bridging copy (published between them) does not displace.
                w.add(2, art("b", "Both halves", &text(0..20), 3));
                let s = w.store.recent_stories(10).unwrap();
                assert_eq!(s.len(), 1);
                let rep = s[0].copies.iter().find(|c| c.representative).unwrap();
                assert!(
                    rep.url.as_deref().unwrap().ends_with("/a"),
                    "{:?}",
                    s[0].copies
                );
                assert!(w.store.check().unwrap().is_empty());
            },
        );
    }

    #[test]
    fn a_copy_matching_two_items_of_one_outlet_does_not_merge_their_stories() {
        each_world(
            "a_copy_matching_two_items_of_one_outlet_does_not_merge_their_stories",
            |w| {
                // One outlet's two different items (its own site in two feeds), a day apart.
                let mut a = art("a", "First half", &text(0..10), 0);
                a.url = Some("https://outlet.example/news/1".into());
                w.add(0, a);
                let mut c = art("c", "Second half", &text(10..20), 20);
                c.url = Some("https://outlet.example/news/2".into());
                w.add(1, c);
                // A roundup elsewhere holding both: it joins one, the two stay apart.
                w.add(2, art("b", "Both halves", &text(0..20), 21));
                let s = w.store.recent_stories(10).unwrap();
                assert_eq!(s.len(), 2, "{:?}", w.stories());
                assert!(w.store.check().unwrap().is_empty());
            },
        );
    }

    #[test]
    fn a_copy_matching_a_non_representative_copy_joins_its_story() {
        each_world(
            "a_copy_matching_a_non_representative_copy_joins_its_story",
            |w| {
                // b contains a: joins a's story, where a represents it (earlier).
                w.add(0, art("a", "First part", &text(0..8), 0));
                w.add(1, art("b", "The whole", &text(0..24), 1));
                assert!(together(w, "a", "b"));
                // c shares only the end of b, nothing of a.
                w.add(2, art("c", "The end", &text(14..24), 2));
                assert!(together(w, "b", "c"), "{:?}", w.stories());
            },
        );
    }

    #[test]
    fn shared_quotes_alone_do_not_merge() {
        each_world("shared_quotes_alone_do_not_merge", |w| {
            let quote = "\u{201C}We will not accept any plan that raises taxes on working families in this country, and we will fight it in every court of the land for as long as it takes,\u{201D}";
            let one = format!("{quote} the minister said.\n{}", text(0..4));
            let two = format!("{quote} the minister told reporters.\n{}", text(50..54));
            w.add(0, art("a", "Minister vows fight", &one, 0));
            w.add(1, art("b", "Minister vows fight over plan", &two, 1));
            assert!(!together(w, "a", "b"));
        });
    }

    #[test]
    fn an_update_stays_while_it_matches_and_leaves_when_its_text_changes() {
        each_world(
            "an_update_stays_while_it_matches_and_leaves_when_its_text_changes",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                w.add(1, art("b", "Council approves plan", &text(0..12), 1));
                assert!(together(w, "a", "b"));
                // An edit keeps it in.
                let r = w.add(
                    1,
                    art("b", "Council approves plan (updated)", &text(0..13), 1),
                );
                assert_eq!((r.updated_articles, r.new_stories), (1, 0));
                assert!(together(w, "a", "b"));
                // A different text takes it out into its own story.
                let r = w.add(1, art("b", "Something else entirely", &text(100..112), 1));
                assert_eq!((r.updated_articles, r.new_stories), (1, 1));
                assert!(!together(w, "a", "b"));
                assert_eq!(w.stories().len(), 2);
                assert!(w.store.check().unwrap().is_empty());
            },
        );
    }

    #[test]
    fn same_feed_items_merge_only_when_one_contains_the_other() {
        each_world(
            "same_feed_items_merge_only_when_one_contains_the_other",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                // The next day's item of the same series: half of it is the same background.
                let next = format!("{}\n{}", text(100..106), text(6..12));
                w.add(0, art("b", "Council approves another plan", &next, 20));
                assert!(!together(w, "a", "b"));
                // Republished under a new GUID with an update paragraph added.
                let updated = format!(
                    "Update: the vote was confirmed.\n{}\n{}",
                    text(0..12),
                    text(200..202)
                );
                w.add(0, art("c", "Council approves plan (updated)", &updated, 2));
                assert!(together(w, "a", "c"));
            },
        );
    }

    #[test]
    fn one_sites_items_in_two_feeds_are_held_to_the_same_outlet_rule() {
        each_world(
            "one_sites_items_in_two_feeds_are_held_to_the_same_outlet_rule",
            |w| {
                let mut a = art("a", "Council approves plan", &text(0..12), 0);
                a.url = Some("https://www.outlet.example/news/1".into());
                w.add(0, a);
                // Another feed of the same site, the next story re-using half of the background.
                let mut b = art(
                    "b",
                    "Council approves plan",
                    &format!("{}\n{}", text(100..106), text(6..12)),
                    20,
                );
                b.url = Some("https://outlet.example/news/2".into());
                w.add(1, b);
                let s = w.store.recent_stories(10).unwrap();
                assert_eq!(s.len(), 2);
            },
        );
    }

    #[test]
    fn a_truncated_description_joins_the_full_copy() {
        each_world("a_truncated_description_joins_the_full_copy", |w| {
            w.add(0, art("a", "Council approves plan", &text(0..12), 0));
            let full = text(0..12);
            let desc: Vec<&str> = full.split_whitespace().take(30).collect();
            let mut d = art(
                "b",
                "Council approves plan",
                &format!("{}\u{2026}", desc.join(" ")),
                1,
            );
            d.content_html = None;
            w.add(1, d);
            assert!(together(w, "a", "b"));
        });
    }

    #[test]
    fn titles_alone_merge_only_exactly_across_feeds_within_48_hours() {
        each_world(
            "titles_alone_merge_only_exactly_across_feeds_within_48_hours",
            |w| {
                let t = "Central bank raises interest rates to record high - Reuters";
                w.add(0, art("a", t, "", 0));
                w.add(
                    1,
                    art(
                        "b",
                        "Central bank raises interest rates to record high | The Hindu",
                        "",
                        1,
                    ),
                );
                w.add(
                    2,
                    art(
                        "c",
                        "Central bank raises interest rates to record high",
                        "",
                        60,
                    ),
                );
                w.add(3, art("d", "Rates rise", "", 1));
                w.add(0, art("e", t, "", 2)); // same feed
                assert!(together(w, "a", "b"));
                assert!(!together(w, "a", "c"));
                assert!(!together(w, "a", "d"));
                assert!(!together(w, "a", "e"));
                let s = w.store.recent_stories(10).unwrap();
                let b = s
                    .iter()
                    .flat_map(|s| &s.copies)
                    .find(|c| c.url.as_deref().unwrap().ends_with("/b"))
                    .unwrap();
                assert_eq!(b.kind, MatchKind::Title);
            },
        );
    }

    #[test]
    fn the_same_url_or_guid_through_two_feeds_is_an_exact_match() {
        each_world(
            "the_same_url_or_guid_through_two_feeds_is_an_exact_match",
            |w| {
                w.add(0, art("a", "One", &text(0..3), 0));
                let mut same_url = art("x", "Other words", &text(20..23), 1);
                same_url.url = Some("https://a.example/news/a".into());
                w.add(1, same_url);
                let mut same_guid = art("y", "More words", &text(30..33), 1);
                same_guid.guid = Some("urn:test:article:a".into());
                w.add(2, same_guid);
                let s = w.store.recent_stories(10).unwrap();
                let kinds: Vec<&str> = s[0].copies.iter().map(|c| c.kind.as_str()).collect();
                assert_eq!(s.len(), 1, "{kinds:?}");
                assert!(kinds.contains(&"url") && kinds.contains(&"guid"));
            },
        );
    }

    #[test]
    fn the_index_rebuilt_after_a_restart_places_copies_the_same_way() {
        each_world(
            "the_index_rebuilt_after_a_restart_places_copies_the_same_way",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                w.dedup = open_dedup(&w.store, &DedupConfig::default()).unwrap();
                assert_eq!(w.dedup.live_stories(), 1);
                w.add(1, art("b", "Plan approved", &text(0..10), 1));
                assert!(together(w, "a", "b"));
            },
        );
    }

    #[test]
    fn unspaced_scripts_match_by_characters() {
        each_world("unspaced_scripts_match_by_characters", |w| {
            let zh = "中国人民银行周二宣布将一年期贷款市场报价利率下调十个基点以支持经济增长。分析人士表示此举符合市场预期，但房地产市场仍然疲软。央行还表示将继续实施稳健的货币政策并保持流动性合理充裕。";
            w.add(0, art("a", "央行下调利率", zh, 0));
            w.add(
                1,
                art("b", "中国央行降息", &format!("新华社北京电 {zh}"), 1),
            );
            w.add(2, art("c", "其他新闻", "日本政府周三公布了新的经济刺激计划，总额达到二十万亿日元，旨在应对物价上涨和提振国内消费。首相表示计划将在年内实施。", 1));
            assert!(together(w, "a", "b"));
            assert!(!together(w, "a", "c"));
        });
    }

    #[test]
    fn a_summary_joins_its_wire_story_when_its_page_gives_the_full_text() {
        each_world(
            "a_summary_joins_its_wire_story_when_its_page_gives_the_full_text",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                // A teaser in other words, under another headline: nothing to match on yet.
                w.add(
                    1,
                    art(
                        "b",
                        "What the vote means",
                        "A short teaser in words of its own.",
                        1,
                    ),
                );
                assert!(!together(w, "a", "b"));
                let r = w.page("b", &text(1..11));
                assert!(r.completed && r.story_merges == 1, "{r:?}");
                assert!(together(w, "a", "b"));
                // The older story survives; the teaser's own story is gone.
                assert_eq!(w.stories().len(), 1);
                // Placed again in a later batch, the copy stays (its fingerprint is the page's).
                assert_eq!(w.page("b", &text(1..11)).story_merges, 0);
                assert_eq!(w.stories().len(), 1);
            },
        );
    }

    #[test]
    fn two_summaries_merge_when_both_pages_arrive() {
        each_world("two_summaries_merge_when_both_pages_arrive", |w| {
            w.add(0, art("a", "Plan approved", "Teaser one.", 0));
            w.add(1, art("b", "Council vote", "Teaser two, other words.", 1));
            w.page("a", &text(0..10));
            assert!(!together(w, "a", "b"));
            w.page("b", &text(2..12));
            assert!(together(w, "a", "b"));
        });
    }

    #[test]
    fn a_copy_whose_page_is_another_story_leaves_the_story_its_summary_put_it_in() {
        each_world(
            "a_copy_whose_page_is_another_story_leaves_the_story_its_summary_put_it_in",
            |w| {
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                // A summary quoting the story's opening, linking to a page about something else.
                w.add(1, art("b", "Weekly roundup", &text(0..4), 1));
                assert!(together(w, "a", "b"), "{:?}", w.stories());
                let r = w.page("b", &text(40..52));
                assert!(r.left, "{r:?}");
                assert!(!together(w, "a", "b"));
                assert_eq!(w.stories().len(), 2);
            },
        );
    }

    #[test]
    fn a_feed_set_to_fetch_pages_wants_the_page_of_each_new_summary() {
        each_world(
            "a_feed_set_to_fetch_pages_wants_the_page_of_each_new_summary",
            |w| {
                w.full_text(&[FullText::Auto, FullText::Never]);
                w.add(0, art("a", "Teaser", "A short summary.", 0));
                w.add(0, art("b", "Full", &text(0..20), 0));
                w.add(1, art("c", "Teaser", "Another short summary.", 0));
                let due = w.store.due_pages(Utc::now(), 10, &|_| false).unwrap();
                let urls: Vec<&str> = due.iter().map(|p| p.url.as_str()).collect();
                assert_eq!(urls, ["https://a.example/news/a"]);
            },
        );
    }

    #[test]
    fn an_updated_summary_keeps_being_judged_by_its_pages_article() {
        each_world(
            "an_updated_summary_keeps_being_judged_by_its_pages_article",
            |w| {
                w.full_text(&[FullText::Never, FullText::Auto]);
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                w.add(
                    1,
                    art("b", "What the vote means", "A teaser of its own.", 1),
                );
                w.page("b", &text(1..11));
                assert!(together(w, "a", "b"));
                // The feed rewrites the teaser: the copy is still its page's article, and the page
                // is not asked for again.
                let r = w.add(1, art("b", "What the vote means", "A rewritten teaser.", 1));
                assert_eq!((r.updated_articles, r.new_stories), (1, 0));
                assert!(together(w, "a", "b"));
                assert!(
                    w.store
                        .due_pages(Utc::now(), 10, &|_| false)
                        .unwrap()
                        .is_empty()
                );
            },
        );
    }

    #[test]
    fn a_copy_is_searched_by_the_text_it_is_judged_by_its_pages_once_that_arrived() {
        let mut w = World::new();
        w.full_text(&[FullText::Auto]);
        w.add(0, art("a", "What the vote means", "A teaser.", 0));
        let found = |w: &World, q: &str| {
            let q = crate::store::Search::parse(q).unwrap();
            w.store.search_stories(&q, 10).unwrap().len()
        };
        assert_eq!((found(&w, "teaser"), found(&w, "zanzibar")), (1, 0));
        w.page("a", "The Zanzibar council approved the plan.");
        assert_eq!((found(&w, "teaser"), found(&w, "zanzibar")), (0, 1));
        assert_eq!(found(&w, "\"vote means\""), 1, "the title is searched too");
        w.add(0, art("a", "What the vote means", "A rewritten teaser.", 0));
        assert_eq!((found(&w, "teaser"), found(&w, "zanzibar")), (0, 1));
    }

    #[test]
    fn a_merge_made_on_a_summary_is_undone_when_the_full_text_disagrees() {
        each_world(
            "a_merge_made_on_a_summary_is_undone_when_the_full_text_disagrees",
            |w| {
                // a and b are one story; c's summary quotes a sentence of it, so c joins.
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                w.add(1, art("b", "Plan approved", "Teaser b.", 1));
                w.add(2, art("c", "Roundup", &text(0..4), 1));
                w.page("b", &text(0..10));
                assert!(together(w, "a", "b") && together(w, "a", "c"));
                // c's page is another story: c leaves, and a and b stay together.
                let r = w.page("c", &text(60..72));
                assert!(r.left, "{r:?}");
                assert!(together(w, "a", "b") && !together(w, "a", "c"));
            },
        );
    }

    #[test]
    fn copies_linked_only_through_a_summary_part_when_its_page_arrives() {
        each_world(
            "copies_linked_only_through_a_summary_part_when_its_page_arrives",
            |w| {
                // b's summary holds the openings of two different stories; it links a and c.
                let summary = format!("{}\n{}", text(0..3), text(40..43));
                w.add(0, art("a", "Council approves plan", &text(0..12), 0));
                w.add(2, art("c", "Storm hits coast", &text(40..52), 0));
                w.add(1, art("b", "Roundup", &summary, 1));
                assert!(together(w, "a", "c"), "{:?}", w.stories());
                // b's page is the first story: c no longer belongs with them.
                let r = w.page("b", &text(0..10));
                assert_eq!(r.stories_split, 1, "{r:?}");
                assert!(together(w, "a", "b") && !together(w, "a", "c"));
            },
        );
    }
}
