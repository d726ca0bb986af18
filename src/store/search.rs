//! Full-text search over every copy's title and text: the query language subscribers type,
//! turned into a safe SQLite FTS5 expression, and the index the writer keeps in step.
//!
//! The index (`search`, schema v8) is an FTS5 table without content of its own
//! (`content=''`): it keeps the terms and their positions, not the text, so nothing is
//! stored twice. One row per copy, so merges and splits of stories cost the index nothing
//! (a story matches when one of its copies does); a copy is indexed when it is stored,
//! again when its text changes (an update, its article page), and leaves with its article
//! (a trigger, so pruning and every other delete keep it).
//!
//! Walking the matches: FTS5 reads a term's matches in rowid (article id) order, latest
//! stored first when asked, cheaply and without collecting them. `search_blocks` (schema v9)
//! keeps, per 1,024 article ids, the latest publication any copy among them ever had. A story
//! is never newer than the copy that founded it or joined it at the time it did (its first
//! publication is the earliest of theirs, and a story split off takes its copy's date), so
//! no story reached through a match at or below an article id is newer than the latest of
//! the blocks up to it. Once the page is full and that bound falls below the page's oldest
//! story, no match further down can change the page: a search costs what its page costs,
//! not what its matches do (a word in half of a million copies: a few hundred matches read,
//! not 500,000). The bound follows the arrival order, which follows publication closely; a
//! copy dated in the future (by at most the day the parse stage allows) only makes the
//! walks of that day read further.
//!
//! User input is never passed to FTS5 as syntax. [`Search::parse`] reads a small language —
//! words (all must occur), `"a phrase"`, `prefix*`, `-excluded` — and [`Search::fts5`]
//! writes each term as a quoted FTS5 string, so FTS5's operators (`NEAR`, `OR`, `^`,
//! column filters, parentheses) are words to it and no input can be a syntax error.

use std::collections::{BTreeSet, HashSet};

use rusqlite::{Connection, ToSql, named_params, params};

use super::{Backend, Batch, Hot, On, Result, SqliteBatch, Store, StoryView};
use crate::markup::text::html_to_text;

/// Longest search accepted, in characters: ample for any phrase a person types, and it
/// bounds the work of one query with [`MAX_SEARCH_TERMS`].
pub const MAX_SEARCH_CHARS: usize = 256;

/// Most terms in one search: each is one FTS5 cursor merged with the others' lists.
pub const MAX_SEARCH_TERMS: usize = 16;

/// Fewest letters before a `*`. FTS5 without a prefix index (which would grow the index by
/// about a quarter per prefix length) answers `ab*` by merging the lists of every term
/// that starts with `ab`; three letters keep that to a small part of the vocabulary.
pub const MIN_PREFIX_CHARS: usize = 3;

/// A parsed search: what the subscriber asked for, in a canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    terms: Vec<Term>,
}

/// One term of a search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Term {
    /// The word, or the phrase's words separated by single spaces.
    words: String,
    /// Written in quotes: the words must occur together, in order.
    phrase: bool,
    /// Ends in `*`: the last word is a prefix.
    prefix: bool,
    /// Starts with `-`: stories with it are left out.
    exclude: bool,
}

/// Why a search was refused (one line, shown to the subscriber).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// Nothing to look for: empty, or only punctuation.
    #[error("the search has no words to look for")]
    NoWords,
    /// Only `-excluded` terms.
    #[error("the search only excludes words; name at least one word to look for")]
    OnlyExclusions,
    /// Longer than [`MAX_SEARCH_CHARS`].
    #[error("the search is longer than {MAX_SEARCH_CHARS} characters")]
    TooLong,
    /// More than [`MAX_SEARCH_TERMS`] terms.
    #[error("the search has more than {MAX_SEARCH_TERMS} words or phrases")]
    TooManyTerms,
    /// A prefix shorter than [`MIN_PREFIX_CHARS`].
    #[error("a prefix search needs at least {MIN_PREFIX_CHARS} letters before the *, as in quak*")]
    ShortPrefix,
    /// Control characters.
    #[error("the search contains control characters")]
    Control,
}

impl Search {
    /// Reads what a subscriber typed: words separated by spaces (a story must contain all
    /// of them), `"quoted phrases"` (an unclosed quote runs to the end), a trailing `*` for
    /// a prefix, a leading `-` to leave out stories containing the term. Case and accents
    /// do not matter; punctuation separates words, as it does in the text.
    pub fn parse(input: &str) -> Result<Search, SearchError> {
        if input.chars().count() > MAX_SEARCH_CHARS {
            return Err(SearchError::TooLong);
        }
        if input.chars().any(char::is_control) {
            return Err(SearchError::Control);
        }
        let mut terms = Vec::new();
        let mut rest = input.trim_start();
        while !rest.is_empty() {
            let exclude = rest.starts_with('-') && rest.len() > 1;
            if exclude {
                rest = &rest[1..];
            }
            let (words, phrase, after) = if let Some(inner) = rest.strip_prefix('"') {
                let end = inner.find('"').unwrap_or(inner.len());
                let after = inner.get(end + 1..).unwrap_or("");
                (
                    inner[..end]
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                    true,
                    after,
                )
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                (rest[..end].to_string(), false, &rest[end..])
            };
            let stars = after.len() - after.trim_start_matches('*').len();
            let (mut words, mut prefix) = (words, stars > 0);
            if !phrase {
                let trimmed = words.trim_end_matches('*');
                prefix = trimmed.len() < words.len();
                words = trimmed.to_string();
            }
            rest = after[stars..].trim_start();
            if !words.chars().any(char::is_alphanumeric) {
                continue; // punctuation alone: nothing the index holds
            }
            if prefix {
                let last = words
                    .rsplit(|c: char| !c.is_alphanumeric())
                    .find(|w| !w.is_empty())
                    .unwrap_or("");
                if last.chars().count() < MIN_PREFIX_CHARS {
                    return Err(SearchError::ShortPrefix);
                }
            }
            terms.push(Term {
                words,
                phrase,
                prefix,
                exclude,
            });
            if terms.len() > MAX_SEARCH_TERMS {
                return Err(SearchError::TooManyTerms);
            }
        }
        if terms.is_empty() {
            return Err(SearchError::NoWords);
        }
        if terms.iter().all(|t| t.exclude) {
            return Err(SearchError::OnlyExclusions);
        }
        Ok(Search { terms })
    }

    /// The FTS5 expression: every term a quoted string (quotes inside doubled), the wanted
    /// ones ANDed, the excluded ones subtracted with NOT.
    pub(crate) fn fts5(&self) -> String {
        let quoted = |t: &Term| {
            let mut s = format!("\"{}\"", t.words.replace('"', "\"\""));
            if t.prefix {
                s.push('*');
            }
            s
        };
        let wanted: Vec<String> = self
            .terms
            .iter()
            .filter(|t| !t.exclude)
            .map(quoted)
            .collect();
        let mut expr = format!("({})", wanted.join(" AND "));
        for t in self.terms.iter().filter(|t| t.exclude) {
            expr.push_str(" NOT ");
            expr.push_str(&quoted(t));
        }
        expr
    }
}

impl Search {
    /// The PostgreSQL `tsquery`: each term's [`index_words`] quoted as lexemes, a term of
    /// several words (a phrase, or a word with punctuation inside, as FTS5 reads a quoted
    /// string) joined with `<->` (the next position), a prefix as `:*`, the wanted terms
    /// joined with `&` and the excluded ones added as `& !`. Lexemes are letters and digits
    /// only, so quoting them needs no escapes. `None` when the search can match nothing: a
    /// wanted term without words, or with a word longer than the index keeps.
    pub(crate) fn tsquery(&self) -> Option<String> {
        let term = |t: &Term| -> Option<String> {
            let words = index_words(&t.words);
            if words.iter().any(|w| w.len() > TSVECTOR_WORD_BYTES) {
                return None;
            }
            let last = words.len().checked_sub(1)?;
            let lexemes: Vec<String> = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if t.prefix && i == last {
                        format!("'{w}':*")
                    } else {
                        format!("'{w}'")
                    }
                })
                .collect();
            Some(format!("({})", lexemes.join(" <-> ")))
        };
        let wanted: Vec<String> = self
            .terms
            .iter()
            .filter(|t| !t.exclude)
            .map(term)
            .collect::<Option<_>>()?;
        let mut query = wanted.join(" & ");
        for t in self.terms.iter().filter(|t| t.exclude) {
            if let Some(t) = term(t) {
                query.push_str(" & !");
                query.push_str(&t);
            }
        }
        Some(query)
    }
}

/// The words of `text` as the search index holds them, for PostgreSQL's index and queries:
/// runs of letters and digits, everything else separating them, in compatibility
/// decomposition without combining marks and in lower case — how SQLite's FTS5 tokeniser
/// (`unicode61`, `remove_diacritics`) reads the same text, so a search finds the same copies
/// on both backends ("Zürich" is found by "zurich").
pub(crate) fn index_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut take = |c: char, word: &mut String| {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    for c in text.chars() {
        if c.is_ascii() {
            take(c, &mut word);
        } else {
            unicode_normalization::char::decompose_compatible(c, |d| {
                if !unicode_normalization::char::is_combining_mark(d) {
                    take(d, &mut word);
                }
            });
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Positions PostgreSQL keeps in a `tsvector`: a word's position is at most this, and a
/// copy's words after the first this many are not indexed on PostgreSQL (SQLite indexes
/// them all; 16,383 words is a long book chapter).
const TSVECTOR_POSITIONS: usize = 16_383;
/// Positions PostgreSQL keeps per word.
const TSVECTOR_POSITIONS_PER_WORD: usize = 256;
/// Longest word PostgreSQL indexes, in bytes (longer ones are no words people search for).
const TSVECTOR_WORD_BYTES: usize = 2046;
/// Most bytes of distinct words in one `tsvector` (PostgreSQL refuses more than 1 MiB): a
/// copy's further new words are not indexed (a text of 16,383 words reaches it only when
/// made of very long ones, as a script without spaces gives).
const TSVECTOR_WORDS_BYTES: usize = 1_000_000;

/// The `tsvector` of a copy's title and text, as PostgreSQL reads it (`'word':1,7 …`): its
/// [`index_words`] with their positions, the title's first, in PostgreSQL's own order (by
/// word), so the server has nothing to sort.
pub(crate) fn tsvector(title: &str, text: &str) -> String {
    use std::fmt::Write;
    let mut words = index_words(title);
    words.extend(index_words(text));
    words.truncate(TSVECTOR_POSITIONS);
    // Word indexes by word, then by position: each word's positions in one run.
    let mut order: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].len() <= TSVECTOR_WORD_BYTES)
        .collect();
    order.sort_by(|&a, &b| words[a].cmp(&words[b]).then(a.cmp(&b)));
    let mut runs: Vec<&[usize]> = order.chunk_by(|&a, &b| words[a] == words[b]).collect();
    // Within PostgreSQL's size: the distinct words in the order they first occur, until
    // their bytes would pass the limit.
    if runs.iter().map(|r| words[r[0]].len()).sum::<usize>() > TSVECTOR_WORDS_BYTES {
        let mut firsts: Vec<usize> = runs.iter().map(|r| r[0]).collect();
        firsts.sort_unstable();
        let mut bytes = 0;
        let kept: HashSet<usize> = firsts
            .into_iter()
            .take_while(|&i| {
                bytes += words[i].len();
                bytes <= TSVECTOR_WORDS_BYTES
            })
            .collect();
        runs.retain(|r| kept.contains(&r[0]));
    }
    let mut out = String::with_capacity(words.len() * 10);
    for run in runs {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "'{}':", words[run[0]]);
        for (k, i) in run.iter().take(TSVECTOR_POSITIONS_PER_WORD).enumerate() {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", i + 1);
        }
    }
    out
}

impl std::fmt::Display for Search {
    /// The canonical spelling: [`Search::parse`] reads it back as the same search.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if t.exclude {
                f.write_str("-")?;
            }
            if t.phrase {
                write!(f, "\"{}\"", t.words)?;
            } else {
                f.write_str(&t.words)?;
            }
            if t.prefix {
                f.write_str("*")?;
            }
        }
        Ok(())
    }
}

/// Article ids per row of `search_blocks` (schema v9): `block = id >> 10`. A walk reads at
/// most a block's worth of matches past the point where an exact bound would stop it; a
/// row per 1,024 copies keeps the table a few hundred rows per million copies, read whole by
/// each search.
const SEARCH_BLOCK_BITS: u32 = 10;

/// Raises the latest publication of `article`'s block of ids to `published`
/// (`search_blocks`): for every copy stored and every copy re-dated. Two plain statements,
/// not an upsert or a trigger, which would give every insert of an article a statement
/// journal (a trigger did: +55 % on a cold poll cycle).
pub(super) fn note_published(b: &SqliteBatch<'_>, article: i64, published: i64) -> Result<()> {
    let block = article >> SEARCH_BLOCK_BITS;
    let raised = b.with_hot(
        Hot::RaiseSearchBlock,
        "UPDATE search_blocks SET latest = ?2 WHERE block = ?1 AND latest < ?2",
        |s| s.execute(params![block, published]),
    )?;
    if raised == 0 {
        b.with_hot(
            Hot::AddSearchBlock,
            "INSERT OR IGNORE INTO search_blocks (block, latest) VALUES (?1, ?2)",
            |s| s.execute(params![block, published]),
        )?;
    }
    Ok(())
}

/// The latest publication of any copy at or below each block of article ids
/// (`search_blocks`, the running maximum from the first block up), ascending by block.
fn latest_up_to_blocks(conn: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut st = conn.prepare_cached("SELECT block, latest FROM search_blocks ORDER BY block")?;
    let mut rows = st.query([])?;
    let mut out: Vec<(i64, i64)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (block, latest): (i64, i64) = (r.get(0)?, r.get(1)?);
        let before = out.last().map_or(i64::MIN, |&(_, l)| l);
        out.push((block, latest.max(before)));
    }
    Ok(out)
}

/// The ids of the `limit` newest stories (by first publication, then id) that have a copy
/// matching `search` and meet `conditions` (SQL on the story `s`, with their `params`):
/// walks the matches newest first and stops as soon as no further match can change the
/// result (the module's "Walking the matches").
pub(super) fn matching_stories(
    conn: &Connection,
    search: &Search,
    conditions: &[&str],
    params: &[(&str, &dyn ToSql)],
    limit: usize,
) -> Result<Vec<i64>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut walk =
        conn.prepare_cached("SELECT rowid FROM search WHERE search MATCH ?1 ORDER BY rowid DESC")?;
    let probe_sql = std::iter::once(
        "SELECT s.id, s.first_published FROM copies c JOIN stories s ON s.id = c.story_id \
         WHERE c.article_id = :article",
    )
    .chain(conditions.iter().copied())
    .collect::<Vec<_>>()
    .join(" AND ");
    let mut probe = conn.prepare_cached(&probe_sql)?;
    // The best `limit` stories so far, by (first publication, id); the first is the page's
    // oldest, the one a later match must beat.
    let mut page: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut seen: HashSet<i64> = HashSet::new();
    let blocks = latest_up_to_blocks(conn)?;
    let mut matches = walk.query([search.fts5()])?;
    while let Some(row) = matches.next()? {
        let article: i64 = row.get(0)?;
        if page.len() >= limit {
            // The latest publication of any copy at or below this one (no block: unbounded).
            let block = article >> SEARCH_BLOCK_BITS;
            let at = blocks.partition_point(|&(b, _)| b <= block);
            let latest = match at.checked_sub(1).map(|i| blocks[i]) {
                Some((b, latest)) if b == block => latest,
                _ => i64::MAX,
            };
            if page.first().is_some_and(|&(oldest, _)| latest < oldest) {
                break;
            }
        }
        let mut bound: Vec<(&str, &dyn ToSql)> = Vec::with_capacity(params.len() + 1);
        bound.push((":article", &article));
        bound.extend_from_slice(params);
        let mut stories = probe.query(bound.as_slice())?;
        while let Some(s) = stories.next()? {
            let (id, first_published): (i64, i64) = (s.get(0)?, s.get(1)?);
            if seen.insert(id) {
                page.insert((first_published, id));
                if page.len() > limit {
                    page.pop_first();
                }
            }
        }
    }
    Ok(page.into_iter().rev().map(|(_, id)| id).collect())
}

/// The condition that keeps the stories [`matching_stories`] found, bound as a JSON array
/// to `:found`.
pub(super) const STORY_FOUND: &str = "s.id IN (SELECT value FROM json_each(:found))";

impl Batch<'_> {
    /// Indexes copy `article` under its title and plain text, in this transaction: a new
    /// copy (`new`) is added, a changed one replaces what it was indexed under.
    pub fn index_copy(&mut self, article: i64, title: &str, text: &str, new: bool) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => {
                return super::postgres::search::index_copy(&mut tx, article, title, text);
            }
        };
        if new {
            b.with_hot(
                Hot::IndexCopy,
                "INSERT INTO search (rowid, text) VALUES (?1, ?2 || char(10) || ?3)",
                |s| s.execute(params![article, title, text]),
            )?;
        } else {
            b.tx.prepare_cached(
                "INSERT OR REPLACE INTO search (rowid, text) VALUES (?1, ?2 || char(10) || ?3)",
            )?
            .execute(params![article, title, text])?;
        }
        Ok(())
    }
}

impl Store {
    /// The `limit` newest stories (by first publication) with a copy that matches
    /// `search`, each with its copies: `stories --search`.
    pub fn search_stories(&self, search: &Search, limit: usize) -> Result<Vec<StoryView>> {
        let conn = match self.backend() {
            Backend::Sqlite(conn) => conn,
            Backend::Postgres(pg) => return pg.search_stories(search, limit),
        };
        let found = matching_stories(conn, search, &[], &[], limit)?;
        super::dedup::sqlite_stories_where(
            conn,
            &format!(
                "SELECT s.id, s.representative, s.first_published FROM stories s \
                 WHERE {STORY_FOUND} ORDER BY s.first_published DESC, s.id DESC"
            ),
            named_params! { ":found": super::merged::JsonIds(&found) },
        )
    }
}

/// Schema v8's step after its SQL: indexes every stored copy — its title and the plain text
/// of its article page when one was fetched, else of its content, else of its summary
/// (what ingest indexes) — so a database from before search answers searches at once.
pub(super) fn index_stored_copies(
    tx: &rusqlite::Transaction<'_>,
) -> std::result::Result<(), rusqlite_migration::HookError> {
    let copies: i64 = tx.query_row("SELECT count(*) FROM articles", [], |r| r.get(0))?;
    if copies > 0 {
        // Minutes for a large store: say why the start waits.
        tracing::info!(
            copies,
            "indexing the stored copies for search (once, on upgrade)"
        );
    }
    let mut read = tx.prepare(
        "SELECT a.id, a.title, COALESCE(p.content, a.content, a.summary) FROM articles a \
         LEFT JOIN pages p ON p.article_id = a.id AND p.state = 'done'",
    )?;
    let mut insert =
        tx.prepare("INSERT INTO search (rowid, text) VALUES (?1, ?2 || char(10) || ?3)")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let title: String = r.get::<_, Option<String>>(1)?.unwrap_or_default();
        let html: Option<String> = r.get(2)?;
        let text = html.as_deref().map(html_to_text).unwrap_or_default();
        insert.execute(params![id, title, text])?;
    }
    Ok(())
}

/// Test fixture: three copies stored before search existed (by summary only; by content;
/// by a fetched page), each its own story — the same rows on both backends' upgrade tests.
#[cfg(test)]
pub(crate) const PRE_SEARCH_ROWS: &str = "INSERT INTO feeds (id, url, name, created) VALUES (1, 'https://a.example/rss', 'A', 0);
     INSERT INTO articles (id, feed_id, key, title, summary, content, published, first_seen, last_changed, content_hash)
     VALUES (1, 1, 'k1', 'Harbour plan', '<p>A <b>summary</b> only</p>', NULL, 100, 100, 100, 1),
     (2, 1, 'k2', 'Second', '<p>teaser</p>', '<p>Full &amp; content</p>', 200, 200, 200, 2),
     (3, 1, 'k3', 'Third', '<p>teaser</p>', NULL, 300, 300, 300, 3);
     INSERT INTO pages (article_id, url, state, content) VALUES (3, 'https://a.example/3', 'done', '<p>Page zanzibar</p>');
     INSERT INTO stories (id, representative, first_published, last_changed)
     VALUES (1, 1, 100, 100), (2, 2, 200, 200), (3, 3, 300, 300);
     INSERT INTO copies (article_id, story_id, match, score, joined)
     VALUES (1, 1, 'first', 1.0, 100), (2, 2, 'first', 1.0, 200), (3, 3, 'first', 1.0, 300);";

/// Test check: a store holding [`PRE_SEARCH_ROWS`] finds each copy by the text it is indexed
/// under (its page's article, else its content, else its summary), and passes `check`.
#[cfg(test)]
pub(crate) fn assert_finds_pre_search_rows(store: &Store) {
    let ids = |q: &str| -> Vec<i64> {
        let s = Search::parse(q).unwrap();
        store
            .search_stories(&s, 10)
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids("summary"), [1]);
    assert_eq!(ids("harbour"), [1]);
    assert_eq!(ids("content"), [2]);
    assert_eq!(ids("zanzibar"), [3]);
    assert_eq!(
        ids("teaser"),
        Vec::<i64>::new(),
        "a fuller text stands for the summary"
    );
    assert!(store.check().unwrap().is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn words_phrases_prefixes_and_exclusions_become_quoted_fts5_strings() {
        for (input, fts5, canonical) in [
            ("earthquake", r#"("earthquake")"#, "earthquake"),
            (
                r#"  "new  zealand"   quak*  -sport "#,
                r#"("new zealand" AND "quak"*) NOT "sport""#,
                r#""new zealand" quak* -sport"#,
            ),
            (r#""new zeal"*"#, r#"("new zeal"*)"#, r#""new zeal"*"#),
            ("NEAR(a b)", r#"("NEAR(a" AND "b)")"#, "NEAR(a b)"),
            ("title:foo", r#"("title:foo")"#, "title:foo"),
            (
                r#"say "unclosed phrase"#,
                r#"("say" AND "unclosed phrase")"#,
                r#"say "unclosed phrase""#,
            ),
            (
                "a OR b ^c",
                r#"("a" AND "OR" AND "b" AND "^c")"#,
                "a OR b ^c",
            ),
            ("( ) * ** - earthquake", r#"("earthquake")"#, "earthquake"),
        ] {
            let s = Search::parse(input).unwrap();
            assert_eq!(s.fts5(), fts5, "{input}");
            assert_eq!(s.to_string(), canonical, "{input}");
            assert_eq!(Search::parse(&s.to_string()).unwrap(), s, "{input}");
        }
    }

    /// The walk of the matches newest first gives exactly what collecting every match and
    /// sorting gives: for stories whose copies are published long after the story (a copy
    /// joining a day later, a copy re-dated by an update), for tag filters and cursors, and
    /// for every page size.
    #[test]
    fn walking_the_matches_finds_what_collecting_them_all_finds() {
        use crate::model::{Article, MatchKind};
        use crate::store::{FeedSpec, Position, StoryFilter, Upsert};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let feeds = store
            .sync_feeds(&[
                FeedSpec {
                    url: "https://a.example/rss".into(),
                    name: "A".into(),
                    tags: vec!["world".into()],
                    full_text: Default::default(),
                },
                FeedSpec {
                    url: "https://b.example/rss".into(),
                    name: "B".into(),
                    tags: vec![],
                    full_text: Default::default(),
                },
            ])
            .unwrap();
        let feed = [
            feeds["https://a.example/rss"],
            feeds["https://b.example/rss"],
        ];
        let words = ["harbour", "council", "storm", "rescue", "summit"];
        let now = chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let article = |n: u64, secs: i64| Article {
            key: format!("k{n}"),
            url: Some(format!("https://x.example/{n}")),
            title: format!("Item {n}"),
            text: format!(
                "{} {} report",
                words[(n % 5) as usize],
                words[(n * 7 / 3 % 5) as usize]
            ),
            published: chrono::DateTime::from_timestamp(secs, 0),
            ..Default::default()
        };
        let mut batch = store.begin().unwrap();
        let mut stories = Vec::new();
        // Three blocks of article ids and more: stored roughly in publication order, each copy
        // up to half an hour off it, every 97th from a backlog a week old.
        let when = |n: u64| -> i64 {
            let jitter = ((n * 7919) % 61) as i64 * 60 - 30 * 60;
            let backlog = if n.is_multiple_of(97) { -7 * 86_400 } else { 0 };
            1_700_000_000 + n as i64 * 5 + jitter + backlog
        };
        for n in 0..3_500u64 {
            let secs = when(n);
            let a = article(n, secs);
            let Upsert::New { article: id } = batch
                .upsert_article(feed[(n % 2) as usize], &a, now)
                .unwrap()
            else {
                panic!("new")
            };
            batch.index_copy(id, &a.title, &a.text, true).unwrap();
            if n % 3 == 2 && !stories.is_empty() {
                let story = stories[(n as usize * 13) % stories.len()];
                batch
                    .join_story(id, story, MatchKind::Content, 0.5, "", now)
                    .unwrap();
            } else {
                stories.push(batch.new_story(id, now).unwrap());
            }
        }
        // An update moves one copy's date a week earlier and another's two hours later.
        for (n, shift) in [(3_410u64, -7 * 86_400), (3_300, 2 * 3600)] {
            let secs = when(n) + shift;
            let mut a = article(n, secs);
            a.text.push_str(" updated");
            a.summary_html = Some(a.text.clone());
            let Upsert::Updated { article: id, .. } = batch
                .upsert_article(feed[(n % 2) as usize], &a, now)
                .unwrap()
            else {
                panic!("updated")
            };
            batch.index_copy(id, &a.title, &a.text, false).unwrap();
        }
        batch.commit().unwrap();
        let conn = match store.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(_) => unreachable!(),
        };
        let all = |q: &Search, f: &StoryFilter| -> Vec<i64> {
            // Every match collected, then the filter and the order.
            let mut st = conn
                .prepare(
                    "SELECT s.id, s.first_published FROM stories s WHERE s.id IN \
                     (SELECT c.story_id FROM search JOIN copies c ON c.article_id = search.rowid \
                      WHERE search MATCH ?1) \
                     ORDER BY s.first_published DESC, s.id DESC",
                )
                .unwrap();
            let rows: Vec<(i64, i64)> = st
                .query_map([q.fts5()], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .filter(|&(id, fp)| f.before.is_none_or(|b| (fp, id) < (b.first_published, b.id)))
                .filter(|&(id, _)| {
                    f.tag.is_none()
                        || conn
                            .query_row(
                                "SELECT count(*) FROM copies c JOIN articles a ON a.id = c.article_id \
                                 WHERE c.story_id = ?1 AND a.feed_id = ?2",
                                [id, feed[0]],
                                |r| r.get::<_, i64>(0),
                            )
                            .unwrap()
                            > 0
                })
                .collect();
            rows.into_iter().take(f.limit).map(|(id, _)| id).collect()
        };
        let mut checked = 0;
        for q in [
            "harbour",
            "storm rescue",
            "\"harbour council\"",
            "summ*",
            "updated",
            "report -storm",
        ] {
            let q = Search::parse(q).unwrap();
            for tag in [None, Some("world".to_string())] {
                for before in [
                    None,
                    Some(Position {
                        first_published: when(2_000),
                        id: 1_500,
                    }),
                ] {
                    let every = all(
                        &q,
                        &StoryFilter {
                            tag: tag.clone(),
                            before,
                            limit: usize::MAX,
                            ..Default::default()
                        },
                    );
                    for limit in [1, 2, 5, 17, 50, 400] {
                        let f = StoryFilter {
                            tag: tag.clone(),
                            search: Some(q.clone()),
                            before,
                            limit,
                            ..Default::default()
                        };
                        let walked: Vec<i64> = store
                            .merged_stories(&f)
                            .unwrap()
                            .iter()
                            .map(|s| s.id)
                            .collect();
                        assert_eq!(
                            walked,
                            every[..limit.min(every.len())],
                            "{q} limit {limit} tag {tag:?} before {before:?}"
                        );
                        checked += walked.len();
                    }
                }
            }
            let cli: Vec<i64> = store
                .search_stories(&q, 7)
                .unwrap()
                .iter()
                .map(|s| s.id)
                .collect();
            assert_eq!(
                cli,
                all(
                    &q,
                    &StoryFilter {
                        limit: 7,
                        ..Default::default()
                    }
                ),
                "{q}"
            );
        }
        assert!(
            checked > 1000,
            "the searches found too little to compare: {checked}"
        );
        assert!(store.check().unwrap().is_empty());
    }

    /// A database from before search (schema v7) is indexed by the upgrade: each copy by
    /// its page's article when there is one, else its content, else its summary.
    #[test]
    fn the_upgrade_indexes_the_copies_already_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            crate::store::migrations().to_version(&mut conn, 7).unwrap();
            conn.execute_batch(PRE_SEARCH_ROWS).unwrap();
        }
        assert_finds_pre_search_rows(&Store::open(&path).unwrap());
    }

    #[test]
    fn postgresql_reads_searches_and_texts_as_the_same_folded_words() {
        assert_eq!(
            index_words("Zürich's e-mail: ÉTÉ 2025, ﬁnal naïveté"),
            [
                "zurich", "s", "e", "mail", "ete", "2025", "final", "naivete"
            ]
        );
        for (input, tsquery) in [
            ("earthquake", "('earthquake')"),
            (
                r#"  "new  zealand"   quak*  -sport "#,
                "('new' <-> 'zealand') & ('quak':*) & !('sport')",
            ),
            (r#""new zeal"*"#, "('new' <-> 'zeal':*)"),
            ("NEAR(a b)", "('near' <-> 'a') & ('b')"),
            ("title:Foo", "('title' <-> 'foo')"),
            ("Zürich's", "('zurich' <-> 's')"),
            // Quotes, backslashes and operators never reach PostgreSQL as syntax.
            (r#"it's a\b | !c"#, "('it' <-> 's') & ('a' <-> 'b') & ('c')"),
        ] {
            let got = Search::parse(input).unwrap().tsquery();
            assert_eq!(got.as_deref(), Some(tsquery), "{input:?}");
        }
        assert_eq!(
            tsvector("Storm, storm", "The storm's end"),
            "'end':6 's':5 'storm':1,2,4 'the':3"
        );
        let long = "word ".repeat(TSVECTOR_POSITIONS + 10);
        let v = tsvector("", &long);
        assert_eq!(v.matches(',').count(), TSVECTOR_POSITIONS_PER_WORD - 1);
        // Long distinct words stop before PostgreSQL's 1 MiB; the longest word it keeps.
        let huge: Vec<String> = (0..1_000).map(|n| format!("{n:0>2000}")).collect();
        let v = tsvector("", &huge.join(" "));
        assert!(v.len() < 1_048_575 && v.len() > 900_000, "{}", v.len());
        assert!(v.contains(&format!("'{:0>2000}':1 ", 0)));
        assert_eq!(tsvector("", &"x".repeat(3000)), "");
        // A search for a word the index cannot hold matches nothing; excluded, it is dropped.
        let too_long = "한".repeat(240); // 2,160 bytes decomposed
        assert_eq!(Search::parse(&too_long).unwrap().tsquery(), None);
        assert_eq!(
            Search::parse(&format!("storm -{too_long}"))
                .unwrap()
                .tsquery(),
            Some("('storm')".into())
        );
    }

    /// The same copies, stories and searches on SQLite and PostgreSQL find the same stories,
    /// newest first: words, phrases, prefixes, exclusions, accents, a text changed by an
    /// update, through `stories --search` and the merged feed's selection.
    #[test]
    fn both_backends_find_the_same_stories() {
        use crate::model::Article;
        use crate::store::{FeedSpec, StoryFilter, Upsert, on_each_backend};
        on_each_backend("search_both_backends", |store| {
            let feeds = store
                .sync_feeds(&[FeedSpec {
                    url: "https://a.example/rss".into(),
                    name: "A".into(),
                    tags: vec!["world".into()],
                    full_text: Default::default(),
                }])
                .unwrap();
            let feed = feeds["https://a.example/rss"];
            let now = chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap();
            let texts = [
                (
                    "Storm hits Zürich",
                    "The storm closed the harbour of Zürich.",
                ),
                ("Council meets", "The city council met on Monday; no storm."),
                ("New Zealand quake", "A quake shook New Zealand's capital."),
                ("Sport", "The football final ended in a storm of goals."),
            ];
            let mut batch = store.begin().unwrap();
            let (mut ids, mut articles) = (Vec::new(), Vec::new());
            for (n, (title, text)) in texts.iter().enumerate() {
                let a = Article {
                    key: format!("k{n}"),
                    url: Some(format!("https://a.example/{n}")),
                    title: title.to_string(),
                    text: text.to_string(),
                    published: chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0),
                    ..Default::default()
                };
                let Upsert::New { article } = batch.upsert_article(feed, &a, now).unwrap() else {
                    panic!("new");
                };
                batch.index_copy(article, title, text, true).unwrap();
                ids.push(batch.new_story(article, now).unwrap());
                articles.push(article);
            }
            // The council's copy is updated: its old words go, its new ones count.
            batch
                .index_copy(articles[1], "Council meets", "The mayor resigned.", false)
                .unwrap();
            batch.commit().unwrap();
            let found = |q: &str| -> Vec<i64> {
                let s = Search::parse(q).unwrap();
                let by_cli: Vec<i64> = store
                    .search_stories(&s, 10)
                    .unwrap()
                    .iter()
                    .map(|s| s.id)
                    .collect();
                let filter = StoryFilter {
                    limit: 10,
                    search: Some(s),
                    ..Default::default()
                };
                let by_feed: Vec<i64> = store
                    .merged_stories(&filter)
                    .unwrap()
                    .iter()
                    .map(|s| s.id)
                    .collect();
                assert_eq!(by_cli, by_feed, "{q}");
                by_cli
            };
            assert_eq!(found("storm"), [ids[3], ids[0]]);
            assert_eq!(found("zurich"), [ids[0]]);
            assert_eq!(found("ZÜRICH harbour"), [ids[0]]);
            assert_eq!(found("\"new zealand\""), [ids[2]]);
            assert_eq!(found("\"zealand new\""), Vec::<i64>::new());
            assert_eq!(found("zeal*"), [ids[2]]);
            assert_eq!(found("storm -goals"), [ids[0]]);
            assert_eq!(found("mayor"), [ids[1]]);
            assert_eq!(found("monday"), Vec::<i64>::new());
            assert_eq!(found("zealand's"), [ids[2]]);
        });
    }

    #[test]
    fn searches_without_words_or_too_big_are_refused_with_a_reason() {
        for (input, err) in [
            ("", SearchError::NoWords),
            ("*", SearchError::NoWords),
            (r#""""#, SearchError::NoWords),
            ("( ) - \"", SearchError::NoWords),
            ("-sport", SearchError::OnlyExclusions),
            ("ab*", SearchError::ShortPrefix),
            ("\"new z\"*", SearchError::ShortPrefix),
            ("a\u{7}b", SearchError::Control),
        ] {
            assert_eq!(Search::parse(input).unwrap_err(), err, "{input:?}");
        }
        assert_eq!(
            Search::parse(&"x".repeat(MAX_SEARCH_CHARS + 1)).unwrap_err(),
            SearchError::TooLong
        );
        let many = vec!["w"; MAX_SEARCH_TERMS + 1].join(" ");
        assert_eq!(Search::parse(&many).unwrap_err(), SearchError::TooManyTerms);
    }
}
