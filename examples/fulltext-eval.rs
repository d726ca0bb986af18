//! Scores article extraction (`parse::page::extract`, what `[fetch] full_text` uses) on
//! Mozilla Readability's test pages: each page's `source.html` is extracted as if found at
//! `http://fakehost/test/page.html` and compared with the page's `expected.html` (word-level
//! F1, both sides through the same HTML → text conversion, `page::text_of`) and its
//! `expected-metadata.json` (title and byline).
//!
//! ```text
//! cargo run --release --example fulltext-eval -- /work/shared/fulltext/mozilla-readability-test-pages
//! ```
//! Prints the number of pages, the median F1, the share with F1 ≥ 0.9, extraction time per
//! page, title and byline matches, then each page below 0.9. Always exits 0.
//! `--show NAME` prints that page's extracted text and expected text instead; `--meta` adds
//! the title and byline mismatches.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use tributary::parse::page::{extract, text_of};

/// What one page scored.
struct Scored {
    name: String,
    f1: f64,
    got: usize,
    expected: usize,
    ms: f64,
    title_ok: bool,
    byline_ok: bool,
    /// The byline matches once a leading "By" is dropped from both sides.
    byline_loose: bool,
    error: Option<String>,
    /// (got, expected) title and byline, for `--meta`.
    meta: [(Option<String>, Option<String>); 2],
}

/// Lowercased words of `text`, counted.
fn bag(text: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in text.split_whitespace() {
        *m.entry(w.to_lowercase()).or_default() += 1;
    }
    m
}

/// Word-level F1 of `got` against `want` (multiset overlap), with the word counts.
fn f1(got: &str, want: &str) -> (f64, usize, usize) {
    let (g, w) = (bag(got), bag(want));
    let ng: usize = g.values().sum();
    let nw: usize = w.values().sum();
    if ng == 0 && nw == 0 {
        return (1.0, 0, 0);
    }
    let common: usize = g
        .iter()
        .map(|(k, n)| (*n).min(w.get(k).copied().unwrap_or(0)))
        .sum();
    if common == 0 {
        return (0.0, ng, nw);
    }
    let p = common as f64 / ng as f64;
    let r = common as f64 / nw as f64;
    (2.0 * p * r / (p + r), ng, nw)
}

/// Whitespace-collapsed, so layout differences do not count as a mismatch.
fn norm(s: Option<&str>) -> Option<String> {
    s.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: fulltext-eval DIR (Mozilla Readability's test-pages folder)")?,
    );
    let url = url::Url::parse("http://fakehost/test/page.html")?;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--show") {
        let page = dir.join(args.get(i + 1).context("--show NAME")?);
        let source = std::fs::read(page.join("source.html"))?;
        let expected = std::fs::read_to_string(page.join("expected.html"))?;
        match extract(&source, Some("text/html; charset=utf-8"), &url) {
            Ok(a) => println!("=== extracted ({} words)\n{}", a.words, a.text),
            Err(e) => println!("=== extracted: {e}"),
        }
        println!("=== expected\n{}", text_of(&expected));
        return Ok(());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("source.html").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();

    // Quiet the default panic message: a panicking extraction is reported as its error.
    std::panic::set_hook(Box::new(|_| {}));
    let mut scored = Vec::new();
    for name in &names {
        let page = dir.join(name);
        let source = std::fs::read(page.join("source.html"))?;
        let expected = std::fs::read_to_string(page.join("expected.html")).unwrap_or_default();
        let meta: serde_json::Value = std::fs::read_to_string(page.join("expected-metadata.json"))
            .ok()
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or(serde_json::Value::Null);
        let want = text_of(&expected);
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            extract(&source, Some("text/html; charset=utf-8"), &url)
        }));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let (text, title, byline, error) = match result {
            Ok(Ok(a)) => (a.text, a.title, a.byline, None),
            Ok(Err(e)) => (String::new(), None, None, Some(e.to_string())),
            Err(_) => (
                String::new(),
                None,
                None,
                Some("extraction panicked".into()),
            ),
        };
        let (score, got, expected_words) = f1(&text, &want);
        let score = if error.is_some() { 0.0 } else { score };
        let title_ok = error.is_none() && norm(title.as_deref()) == norm(meta["title"].as_str());
        let byline_ok = error.is_none() && norm(byline.as_deref()) == norm(meta["byline"].as_str());
        let loose = |b: Option<String>| {
            b.map(|b| {
                let l = b.to_lowercase();
                match l.strip_prefix("by ") {
                    Some(rest) => rest.to_string(),
                    None => l,
                }
            })
        };
        let byline_loose = error.is_none()
            && loose(norm(byline.as_deref())) == loose(norm(meta["byline"].as_str()));
        scored.push(Scored {
            name: name.clone(),
            f1: score,
            got,
            expected: expected_words,
            ms,
            title_ok,
            byline_ok,
            byline_loose,
            error,
            meta: [
                (norm(title.as_deref()), norm(meta["title"].as_str())),
                (norm(byline.as_deref()), norm(meta["byline"].as_str())),
            ],
        });
    }
    let _ = std::panic::take_hook();

    let n = scored.len();
    let mut f1s: Vec<f64> = scored.iter().map(|s| s.f1).collect();
    let mut times: Vec<f64> = scored.iter().map(|s| s.ms).collect();
    let good = scored.iter().filter(|s| s.f1 >= 0.9).count();
    let failed = scored.iter().filter(|s| s.error.is_some()).count();
    let mean_ms = times.iter().sum::<f64>() / n.max(1) as f64;
    println!("pages {n} ({failed} without an article)");
    println!("median F1 {:.4}", median(&mut f1s));
    println!(
        "F1 >= 0.9: {good} of {n} ({:.1} %)",
        100.0 * good as f64 / n.max(1) as f64
    );
    println!(
        "extraction ms per page: mean {mean_ms:.2}, median {:.2}",
        median(&mut times)
    );
    println!(
        "title matches {} of {n}, byline matches {} of {n} ({} ignoring case and a leading \"By\")",
        scored.iter().filter(|s| s.title_ok).count(),
        scored.iter().filter(|s| s.byline_ok).count(),
        scored.iter().filter(|s| s.byline_loose).count()
    );
    let mut low: Vec<&Scored> = scored.iter().filter(|s| s.f1 < 0.9).collect();
    low.sort_by(|a, b| a.f1.total_cmp(&b.f1));
    if !low.is_empty() {
        println!("pages below 0.9:");
    }
    for s in low {
        println!(
            "  {:<40} F1 {:.3}  words {}/{}{}",
            s.name,
            s.f1,
            s.got,
            s.expected,
            s.error
                .as_deref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    if args.iter().any(|a| a == "--meta") {
        for s in &scored {
            for (what, ok, (got, want)) in [
                ("title", s.title_ok, &s.meta[0]),
                ("byline", s.byline_ok, &s.meta[1]),
            ] {
                if !ok {
                    println!(
                        "  {what} mismatch {}: got {got:?}, expected {want:?}",
                        s.name
                    );
                }
            }
        }
    }
    Ok(())
}
