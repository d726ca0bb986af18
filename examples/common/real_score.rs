//! Scoring dedup on labelled documents as shared/tools/harness.py does: documents are
//! matched to stories by `url_key`, and every pair is judged against the labels (pairwise
//! precision and recall over the must-merge pairs; pairs touching a soft document that are
//! not must-merge pairs are left out). Shared by `dedup-eval` and `fulltext-dedup`, included
//! with `#[path]`.
#![allow(dead_code)]

/// harness.py's url_key: host without www., path without trailing slash, query without
/// tracking parameters.
pub fn url_key(u: &str) -> String {
    let Ok(p) = url::Url::parse(u.trim()) else {
        return u.trim().to_string();
    };
    let host = p.host_str().unwrap_or("").to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let mut q: Vec<&str> = p
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("").to_lowercase();
            !kv.is_empty()
                && ![
                    "utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "igshid", "ref_src", "ref",
                ]
                .iter()
                .any(|t| k.starts_with(t))
        })
        .collect();
    q.sort();
    let path = p.path().trim_end_matches('/');
    if q.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{host}{path}?{}", q.join("&"))
    }
}

/// `a / b`, 1 when `b` is 0.
pub fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// How a pair of labelled documents counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// One story, merged.
    Tp,
    /// One story, kept apart.
    Fn,
    /// Different stories, merged.
    Fp,
    /// Different stories, one of them soft, merged: scored apart.
    SoftMerged,
}

/// Every pair `i < j` of `n` labelled documents that counts (one story, or merged), in
/// order: `same(i, j)` says whether they are one story, `soft(i)` whether a document is
/// soft, `cluster(i)` which predicted story holds it.
pub fn judge_pairs(
    n: usize,
    same: impl Fn(usize, usize) -> bool,
    soft: impl Fn(usize) -> bool,
    cluster: impl Fn(usize) -> Option<usize>,
) -> Vec<(usize, usize, Pair)> {
    let mut out = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let merged = matches!((cluster(i), cluster(j)), (Some(x), Some(y)) if x == y);
            let pair = if same(i, j) {
                if merged { Pair::Tp } else { Pair::Fn }
            } else if !merged {
                continue;
            } else if soft(i) || soft(j) {
                Pair::SoftMerged
            } else {
                Pair::Fp
            };
            out.push((i, j, pair));
        }
    }
    out
}

/// Pairwise counts.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn add(&mut self, pair: Pair) {
        match pair {
            Pair::Tp => self.tp += 1,
            Pair::Fp => self.fp += 1,
            Pair::Fn => self.fn_ += 1,
            Pair::SoftMerged => {}
        }
    }
    pub fn p(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn r(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.p(), self.r());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}
