//! Full-text search over every copy's title and text: the query language subscribers type,
//! turned into a safe SQLite FTS5 expression, and the index the writer keeps in step.
//!
//! The index (`search`, schema v8) is an FTS5 table without content of its own
//! (`content=''`): it keeps the terms and their positions, not the text, so nothing is
//! stored twice. One row per copy, its rowid the article id, so merges and splits of
//! stories cost the index nothing (a story matches when one of its copies does); a copy is
//! indexed when it is stored, again when its text changes (an update, its article page),
//! and leaves with its article (a trigger, so pruning and every other delete keep it).
//!
//! User input is never passed to FTS5 as syntax. [`Search::parse`] reads a small language —
//! words (all must occur), `"a phrase"`, `prefix*`, `-excluded` — and [`Search::fts5`]
//! writes each term as a quoted FTS5 string, so FTS5's operators (`NEAR`, `OR`, `^`,
//! column filters, parentheses) are words to it and no input can be a syntax error.

use rusqlite::{named_params, params};

use super::{Backend, Batch, Hot, On, Result, Store, StoreError, StoryView};
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

/// The stories (`s.id`) with a copy that matches the FTS5 expression bound to `:search`:
/// the condition the merged feed and `stories --search` add to their selection.
pub(super) const STORY_MATCHES: &str = "s.id IN (SELECT c.story_id FROM search \
     JOIN copies c ON c.article_id = search.rowid WHERE search MATCH :search)";

impl Batch<'_> {
    /// Indexes copy `article` under its title and plain text, in this transaction: a new
    /// copy (`new`) is added, a changed one replaces what it was indexed under.
    pub fn index_copy(&mut self, article: i64, title: &str, text: &str, new: bool) -> Result<()> {
        // PostgreSQL has no search index yet ([`NO_SEARCH_ON_POSTGRES`]): nothing to keep.
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(_) => return Ok(()),
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

/// What a search on a PostgreSQL store answers: the index is SQLite's FTS5 alone so far.
pub(crate) const NO_SEARCH_ON_POSTGRES: &str =
    "search is not available on a PostgreSQL store yet (its index is SQLite's FTS5)";

impl Store {
    /// The `limit` newest stories (by first publication) with a copy that matches
    /// `search`, each with its copies: `stories --search`.
    pub fn search_stories(&self, search: &Search, limit: usize) -> Result<Vec<StoryView>> {
        let conn = match self.backend() {
            Backend::Sqlite(conn) => conn,
            Backend::Postgres(_) => return Err(StoreError::WrongBackend(NO_SEARCH_ON_POSTGRES)),
        };
        super::dedup::sqlite_stories_where(
            conn,
            &format!(
                "SELECT s.id, s.representative, s.first_published FROM stories s \
                 WHERE {STORY_MATCHES} ORDER BY s.first_published DESC, s.id DESC LIMIT :limit"
            ),
            named_params! {
                ":search": search.fts5(),
                ":limit": i64::try_from(limit).unwrap_or(i64::MAX),
            },
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

    /// A database from before search (schema v7) is indexed by the upgrade: each copy by
    /// its page's article when there is one, else its content, else its summary.
    #[test]
    fn the_upgrade_indexes_the_copies_already_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            crate::store::migrations().to_version(&mut conn, 7).unwrap();
            conn.execute_batch(
                "INSERT INTO feeds (id, url, name, created) VALUES (1, 'https://a.example/rss', 'A', 0);
                 INSERT INTO articles (id, feed_id, key, title, summary, content, published, first_seen, last_changed, content_hash)
                     VALUES (1, 1, 'k1', 'Harbour plan', '<p>A <b>summary</b> only</p>', NULL, 100, 100, 100, 1),
                            (2, 1, 'k2', 'Second', '<p>teaser</p>', '<p>Full &amp; content</p>', 200, 200, 200, 2),
                            (3, 1, 'k3', 'Third', '<p>teaser</p>', NULL, 300, 300, 300, 3);
                 INSERT INTO pages (article_id, url, state, content) VALUES (3, 'https://a.example/3', 'done', '<p>Page zanzibar</p>');
                 INSERT INTO stories (id, representative, first_published, last_changed)
                     VALUES (1, 1, 100, 100), (2, 2, 200, 200), (3, 3, 300, 300);
                 INSERT INTO copies (article_id, story_id, match, score, joined)
                     VALUES (1, 1, 'first', 1.0, 100), (2, 2, 'first', 1.0, 200), (3, 3, 'first', 1.0, 300);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
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
