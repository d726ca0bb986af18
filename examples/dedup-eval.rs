//! Scores the dedup stage on a labelled set through the real pipeline (parse → dedup →
//! store, from files, no network).
//!
//! ```text
//! cargo run --release --example dedup-eval -- /work/shared/dedup            # generated set
//! cargo run --release --example dedup-eval -- /work/shared/dedup/real-dev.json --mode full
//! cargo run --release --example dedup-eval -- /work/shared/dedup/real-dev.json --mode lede
//! cargo run --release --example dedup-eval -- /work/shared/dedup/real-dev.json --mode mixed
//! ```
//! `mixed`: every other document description-only, the rest full text.
//! Add `--errors N` to print N wrong merges and N missed pairs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tributary::config::DedupConfig;
use tributary::dedup::fingerprint::fingerprint;
use tributary::dedup::profile::{Profile, number_conflicts, overlap, shared};
use tributary::dedup::verify::compare;
use tributary::ingest::{ingest_with, open_dedup};
use tributary::model::MatchKind;
use tributary::parse::{FeedContext, parse};
use tributary::store::{FeedSpec, Store, StoryView};

#[path = "common/real_score.rs"]
mod real_score;
use real_score::{Counts, Pair, judge_pairs, ratio, url_key};

/// One labelled entry.
struct Truth {
    key: String,
    feed: String,
    story: String,
    event: String,
    kind: String,
    soft: bool,
}

/// A feed document to ingest.
struct Doc {
    feed: String,
    url: String,
    bytes: Vec<u8>,
}

fn generated(dir: &Path) -> Result<(Vec<Truth>, Vec<Doc>)> {
    let text =
        std::fs::read_to_string(dir.join("truth.jsonl")).context("cannot read truth.jsonl")?;
    let mut truth = Vec::new();
    let mut feeds = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        feeds.insert(s("feed"));
        truth.push(Truth {
            key: url_key(&s("link")),
            feed: s("feed"),
            story: s("story_id"),
            event: s("event_id"),
            kind: s("kind"),
            soft: false,
        });
    }
    let docs = feeds
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join("feeds").join(format!("{f}.xml")))?;
            Ok(Doc {
                url: format!("http://127.0.0.1:8765/feeds/{f}.xml"),
                feed: f,
                bytes,
            })
        })
        .collect::<Result<_>>()?;
    Ok((truth, docs))
}

#[path = "../tests/support/real_set.rs"]
mod real_set;

/// One one-item RSS feed per document, as shared/tools/make_case.py builds them.
fn real(file: &Path, mode: &str) -> Result<(Vec<Truth>, Vec<Doc>)> {
    let docs: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let mut truth = Vec::new();
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
        let outlet = s("outlet");
        let feed = format!("{outlet} ({})", s("id"));
        out.push(Doc {
            url: format!("http://127.0.0.1:8765/{}.xml", s("id")),
            feed: feed.clone(),
            bytes: real_set::real_item_feed(
                d,
                i,
                mode == "lede" || (mode == "mixed" && i % 2 == 1),
                None,
            ),
        });
        truth.push(Truth {
            key: url_key(&s("url")),
            feed,
            story: s("story_id"),
            event: s("event_id"),
            kind: s("role"),
            soft: s("role") == "rewrite-crediting-wire"
                || d["borderline"].as_bool().unwrap_or(false),
        });
    }
    Ok((truth, out))
}

/// `--pairs FILE`: every pair of labelled documents with what the rules see of it, one JSON
/// object a line, for calibrating thresholds on real copies.
fn write_pairs(out: &str, truth: &[Truth], docs: &[(usize, Profile)]) -> Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let policy = tributary::dedup::Policy::default();
    for (i, (da, pa)) in docs.iter().enumerate() {
        for (db, pb) in &docs[i + 1..] {
            let (ta, tb) = (&truth[*da], &truth[*db]);
            let ab = compare(pa, pb, &policy);
            let ba = compare(pb, pa, &policy);
            let (small, big) = if pa.set().len() <= pb.set().len() {
                (pa, pb)
            } else {
                (pb, pa)
            };
            let row = serde_json::json!({
                "a": ta.key, "b": tb.key, "same": ta.story == tb.story,
                "soft": ta.soft || tb.soft, "event": ta.event == tb.event,
                "event_a": ta.event, "event_b": tb.event,
                "hours": (pa.published - pb.published).abs() as f64 / 3600.0,
                "wa": pa.words, "wb": pb.words, "na": pa.set().len(), "nb": pb.set().len(),
                "oc": overlap(pa.set(), pb.set()), "shared": shared(pa.set(), pb.set()),
                "title": overlap(pa.title_words(), pb.title_words()),
                "title_n": pa.title_words().len().min(pb.title_words().len()),
                "same_title": pa.title_hash().is_some() && pa.title_hash() == pb.title_hash(),
                // Both ways, the larger, as `verify::compare` counts them.
                "numconf": number_conflicts(small.numbers(), big.numbers())
                    .max(number_conflicts(big.numbers(), small.numbers())),
                "numshared": shared(pa.numbers(), pb.numbers()),
                "merge_ab": ab.merge, "merge_ba": ba.merge,
            });
            writeln!(w, "{row}")?;
        }
    }
    Ok(())
}

fn bucket(words: usize) -> &'static str {
    match words {
        0..=40 => "<=40",
        41..=150 => "40-150",
        _ => ">150",
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = PathBuf::from(
        args.first()
            .context("usage: dedup-eval DIR|FILE.json [--mode full|lede|mixed] [--errors N]")?,
    );
    let opt = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mode = opt("--mode").unwrap_or_else(|| "full".into());
    anyhow::ensure!(
        ["full", "lede", "mixed"].contains(&mode.as_str()),
        "--mode {mode}: expected full, lede or mixed"
    );
    let show: usize = opt("--errors").and_then(|n| n.parse().ok()).unwrap_or(0);
    let pairs_out = opt("--pairs");
    let (truth, docs) = if target.is_dir() {
        generated(&target)?
    } else {
        real(&target, &mode)?
    };

    let tmp = tempfile::tempdir()?;
    let mut store = Store::open(&tmp.path().join("eval.db"))?;
    let specs: Vec<FeedSpec> = docs
        .iter()
        .map(|d| FeedSpec {
            url: d.url.clone(),
            name: d.feed.clone(),
            tags: vec![],
            full_text: Default::default(),
        })
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let mut dedup = open_dedup(&store, &DedupConfig::default())?;
    let now: DateTime<Utc> = Utc::now();
    let mut words_of: HashMap<String, usize> = HashMap::new();
    let mut desc_only: HashSet<String> = HashSet::new();
    let mut dedup_time = std::time::Duration::ZERO;
    let mut for_pairs: Vec<(usize, Profile)> = Vec::new();
    for (doc_no, d) in docs.iter().enumerate() {
        let ctx = FeedContext {
            url: &d.url,
            content_type: None,
            fetched_at: now,
        };
        let parsed = parse(&d.bytes, &ctx).map_err(|e| anyhow::anyhow!("{}: {e}", d.feed))?;
        for a in &parsed.articles {
            if let Some(u) = &a.url {
                let fp = fingerprint(&a.title, &a.text);
                words_of.insert(url_key(u), fp.words as usize);
                if pairs_out.is_some() {
                    let published = a.published.unwrap_or(now).timestamp();
                    let profile = Profile::new(doc_no as i64, doc_no as i64, published, false, &fp);
                    for_pairs.push((doc_no, profile));
                }
                if a.content_html.is_none() {
                    desc_only.insert(url_key(u));
                }
            }
        }
        let t = std::time::Instant::now();
        ingest_with(&mut store, &mut dedup, ids[&d.url], &parsed, now)?;
        dedup_time += t.elapsed();
    }
    let stories: Vec<StoryView> = store.recent_stories(usize::MAX)?;
    if let Some(out) = &pairs_out {
        write_pairs(out, &truth, &for_pairs)?;
    }

    // Predicted clusters over labelled keys.
    let by_key: HashMap<&str, &Truth> = truth.iter().map(|t| (t.key.as_str(), t)).collect();
    let mut cluster_of: HashMap<String, usize> = HashMap::new();
    let mut kind_of: HashMap<String, (MatchKind, bool)> = HashMap::new();
    for (i, s) in stories.iter().enumerate() {
        for c in &s.copies {
            if let Some(u) = &c.url {
                cluster_of.insert(url_key(u), i);
                kind_of.insert(url_key(u), (c.kind, c.representative));
            }
        }
    }
    let missing = truth
        .iter()
        .filter(|t| !cluster_of.contains_key(&t.key))
        .count();
    let n = truth.len();
    // Pairwise counts, overall and by the shorter text's length and by match kind.
    let mut all = Counts::default();
    let mut hard_fp = 0usize;
    let mut soft_merged = 0usize;
    let mut by_len: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut desc = [0usize; 2];
    let mut wrong: Vec<String> = Vec::new();
    let mut missed: Vec<String> = Vec::new();
    let pairs = judge_pairs(
        n,
        |i, j| truth[i].story == truth[j].story,
        |i| truth[i].soft,
        |i| cluster_of.get(&truth[i].key).copied(),
    );
    for (i, j, pair) in pairs {
        let (a, b) = (&truth[i], &truth[j]);
        if pair == Pair::SoftMerged {
            soft_merged += 1;
            continue;
        }
        let len = bucket(
            words_of
                .get(&a.key)
                .copied()
                .unwrap_or(0)
                .min(words_of.get(&b.key).copied().unwrap_or(0)),
        );
        by_len.entry(len).or_default().add(pair);
        all.add(pair);
        match pair {
            Pair::Fn if missed.len() < show => missed.push(format!(
                "missed {} ({}) ~ {} ({})",
                a.key, a.feed, b.key, b.feed
            )),
            Pair::Fp => {
                if a.event == b.event {
                    hard_fp += 1;
                }
                if wrong.len() < show {
                    wrong.push(format!(
                        "false {} ({} {}) ~ {} ({} {})",
                        a.key, a.feed, a.kind, b.key, b.feed, b.kind
                    ));
                }
            }
            _ => {}
        }
        if matches!(pair, Pair::Tp | Pair::Fn)
            && (desc_only.contains(&a.key) || desc_only.contains(&b.key))
        {
            desc[0] += usize::from(pair == Pair::Tp);
            desc[1] += 1;
        }
    }
    let (tp, fp_pairs, fn_pairs) = (all.tp, all.fp, all.fn_);
    let (p, r, f1) = (all.p(), all.r(), all.f1());
    // B-cubed over labelled entries (soft entries left out).
    let hard: Vec<&Truth> = truth.iter().filter(|t| !t.soft).collect();
    let mut members: HashMap<usize, Vec<&Truth>> = HashMap::new();
    for t in &hard {
        if let Some(&c) = cluster_of.get(&t.key) {
            members.entry(c).or_default().push(t);
        }
    }
    let story_size: HashMap<&str, usize> = hard.iter().fold(HashMap::new(), |mut m, t| {
        *m.entry(t.story.as_str()).or_default() += 1;
        m
    });
    let (mut bp, mut br) = (0.0, 0.0);
    let mut false_merges = 0usize;
    for t in &hard {
        let Some(c) = cluster_of.get(&t.key) else {
            continue;
        };
        let ms = &members[c];
        let correct = ms.iter().filter(|m| m.story == t.story).count() as f64;
        bp += correct / ms.len() as f64;
        br += correct / story_size[t.story.as_str()] as f64;
    }
    for ms in members.values() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for m in ms {
            *counts.entry(m.story.as_str()).or_default() += 1;
        }
        false_merges += ms.len() - counts.values().max().copied().unwrap_or(0);
    }
    let hn = hard.len().max(1) as f64;
    // Joins by match kind: right when the copy's story is its representative's.
    let mut by_kind: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for s in &stories {
        let rep_story = s
            .copies
            .iter()
            .find(|c| c.representative)
            .and_then(|c| c.url.as_ref())
            .and_then(|u| by_key.get(url_key(u).as_str()))
            .map(|t| t.story.clone());
        for c in s
            .copies
            .iter()
            .filter(|c| !c.representative && c.kind != MatchKind::First)
        {
            let Some(t) = c.url.as_ref().and_then(|u| by_key.get(url_key(u).as_str())) else {
                continue;
            };
            if t.soft {
                continue;
            }
            let e = by_kind.entry(c.kind.as_str()).or_default();
            e[0] += 1;
            let bad = rep_story.as_deref() != Some(t.story.as_str());
            e[1] += usize::from(bad);
            let rule = c.thresholds.split(':').next().unwrap_or("").to_string();
            let r = by_rule
                .entry(format!(
                    "{rule:>9} score {:.1}",
                    (c.score * 10.0).floor() / 10.0
                ))
                .or_default();
            r[0] += 1;
            r[1] += usize::from(bad);
        }
    }

    println!(
        "set {} ({} entries, {} stored, {} stories, {} missing)",
        target.display(),
        n,
        cluster_of.len(),
        stories.len(),
        missing
    );
    println!("pairwise   P {p:.4}  R {r:.4}  F1 {f1:.4}   (tp {tp}, fp {fp_pairs}, fn {fn_pairs})");
    println!("b-cubed    P {:.4}  R {:.4}", bp / hn, br / hn);
    println!(
        "false merges per 1,000 articles: {:.2} ({false_merges} articles)",
        1000.0 * false_merges as f64 / hn
    );
    println!(
        "hard-negative false merges: {hard_fp} pairs (hard-negative precision {:.4})",
        ratio(tp, tp + hard_fp)
    );
    println!(
        "description-only copies: recall {:.4} ({} of {} pairs)",
        ratio(desc[0], desc[1]),
        desc[0],
        desc[1]
    );
    if soft_merged > 0 {
        println!("soft pairs merged (scored apart): {soft_merged}");
    }
    for (len, c) in &by_len {
        println!(
            "  words {len:>7}: P {:.4}  R {:.4}  (tp {}, fp {}, fn {})",
            c.p(),
            c.r(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    for (kind, [joins, bad]) in &by_kind {
        println!(
            "  match {kind:>7}: {joins} joins, {bad} wrong (precision {:.4})",
            ratio(joins - bad, *joins)
        );
    }
    if show > 0 {
        for (rule, [joins, bad]) in &by_rule {
            println!("  rule {rule}: {joins} joins, {bad} wrong");
        }
    }
    println!(
        "ingest (parse excluded, dedup + store): {:.0} articles/s",
        n as f64 / dedup_time.as_secs_f64().max(1e-9)
    );
    for l in wrong.iter().chain(&missed) {
        println!("{l}");
    }
    Ok(())
}
