//! temporary calibration
use scraper::Html;

fn words(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let text: Vec<&str> = doc.root_element().text().collect();
    text.join(" ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn f1(got: &[String], want: &[String]) -> f64 {
    let mut counts = std::collections::HashMap::<&str, i64>::new();
    for w in want {
        *counts.entry(w).or_default() += 1;
    }
    let mut common = 0;
    for w in got {
        if let Some(c) = counts.get_mut(w.as_str()) && *c > 0 {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 { return 0.0; }
    let p = common as f64 / got.len() as f64;
    let r = common as f64 / want.len() as f64;
    2.0 * p * r / (p + r)
}

#[test]
fn calibrate() {
    let root = std::path::Path::new("/work/shared/fulltext/mozilla-readability-test-pages");
    let url = url::Url::parse("http://fakehost/test/page.html").unwrap();
    let mut rows = Vec::new();
    for e in std::fs::read_dir(root).unwrap() {
        let d = e.unwrap().path(); if !d.is_dir() { continue; }
        let src = std::fs::read(d.join("source.html")).unwrap();
        let exp = std::fs::read_to_string(d.join("expected.html")).unwrap();
        if src.len() > 70_000 { continue; }
        let want = words(&exp);
        let r = tributary::parse::page::extract(&src, Some("text/html"), &url);
        let (score, n) = match r {
            Ok(a) => (f1(&words(&a.html), &want), a.words),
            Err(_) => (-1.0, 0),
        };
        rows.push((src.len(), want.len(), n, score, d.file_name().unwrap().to_string_lossy().to_string()));
    }
    rows.sort_by_key(|r| r.0);
    for r in rows { println!("{:>7} {:>6} {:>6} {:.3} {}", r.0, r.1, r.2, r.3, r.4); }
}
