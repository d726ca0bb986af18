//! `explain URL`: for one stored article, its story and copies, how it joined, and the
//! nearest stories it did not join with the scores against the thresholds.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::{load_config, open_store};
use crate::dedup::wording::match_in_words;
use crate::ingest::open_dedup;
use crate::model::PageState;
use crate::store::PageRecord;

/// Prints the explanation for the article at `url`.
pub fn run(config_path: &Path, url: &str) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let mut ids = store.articles_by_url(url.trim())?;
    if let (true, Ok(u)) = (ids.is_empty(), url::Url::parse(url.trim())) {
        ids = store.articles_by_url(u.as_str())?;
    }
    let Some(&article) = ids.first() else {
        eprintln!("tributary: no stored article has the URL {url}");
        return Ok(ExitCode::FAILURE);
    };
    let Some(fp) = store.fingerprint(article)? else {
        eprintln!(
            "tributary: the article {url} has no dedup fingerprint yet (stored before dedup ran)"
        );
        return Ok(ExitCode::FAILURE);
    };
    let Some(story) = store.story(fp.story)? else {
        anyhow::bail!("the article {url} belongs to no story");
    };
    println!("{url}");
    println!(
        "  story #{}: {} ({} copies)",
        story.id,
        story.title(),
        story.copies.len()
    );
    let page = store.page(article)?;
    let source = match &page {
        Some(p) if p.state == PageState::Done => "the article on its page",
        _ => "the feed's",
    };
    println!(
        "  text: {source}, {} words after boilerplate removal, {} shingles{}",
        fp.fingerprint.words,
        fp.fingerprint.shingles.len(),
        if fp.fingerprint.credit {
            ", credits a wire"
        } else {
            ""
        }
    );
    if let Some(p) = &page {
        println!("  page: {}", page_line(p));
    }
    for c in &story.copies {
        let me = if c.article == article {
            "  <- this article"
        } else {
            ""
        };
        let rule = if c.thresholds.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.thresholds)
        };
        println!(
            "    {}{} {} — {}: {} ({} score {:.2}{rule}){me}",
            if c.representative { "* " } else { "  " },
            c.feed,
            c.url.as_deref().unwrap_or("(no link)"),
            c.title,
            match_in_words(c.kind, c.score, &c.thresholds),
            c.kind.as_str(),
            c.score,
        );
    }
    for (absorbed, when, reason) in store.merges_into(story.id)? {
        println!(
            "  story #{absorbed} merged into this one at {}: {reason}",
            when.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let dedup = open_dedup(&store, &config.dedup)?;
    let profile = fp.profile();
    let placement = dedup.place(&profile, &fp.fingerprint, &Default::default());
    let others: Vec<_> = placement
        .join
        .iter()
        .chain(&placement.others)
        .filter(|c| c.story != story.id)
        .take(5)
        .collect();
    if others.is_empty() {
        println!("  no other story within the window shares enough of its text or its title");
    } else {
        println!("  nearest other stories (compared with the closest of their copies):");
    }
    for c in others {
        let title = store
            .story(c.story)?
            .map(|s| s.title().to_string())
            .unwrap_or_default();
        let outcome = if c.verdict.merge {
            "would merge now"
        } else {
            "not merged"
        };
        println!(
            "    #{} {title}: {outcome} — {} ({} shared index keys)",
            c.story, c.verdict.reason, c.shared_keys
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line on a copy's article page: where it stands and why.
fn page_line(p: &PageRecord) -> String {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    let url = p.final_url.as_deref().unwrap_or(&p.url);
    let why = p.reason.as_deref().unwrap_or("no reason recorded");
    match p.state {
        PageState::Done => format!(
            "{url}: full text fetched at {}, {} words",
            when(p.fetched),
            p.words.unwrap_or(0)
        ),
        PageState::Wanted if p.attempts == 0 => format!("{}: to be fetched", p.url),
        PageState::Wanted => format!(
            "{}: attempt {} failed ({why}); tried again at {}",
            p.url,
            p.attempts,
            when(p.due)
        ),
        PageState::Empty => {
            format!("{url}: fetched, but no article on it ({why}); the feed's text is kept")
        }
        PageState::Failed => format!(
            "{}: failed {} times, last: {why}; the feed's text is kept",
            p.url, p.attempts
        ),
        PageState::Refused => format!(
            "{}: refused, not fetched: {}",
            p.url,
            why.trim_start_matches("refused: ")
        ),
    }
}
