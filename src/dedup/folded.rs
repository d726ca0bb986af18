//! A text's plain lines folded once, with each line's word count and hash: the one form of
//! a text that both learning a feed's lines and fingerprinting a copy read, so that a
//! document's articles are folded once for both. It depends on neither: the learned lines
//! and the fingerprint modules both build on it.

use super::normalize::fold_append;
use super::words::{count_words, hash64};
use crate::markup::whitespace::for_each_line;

/// A text's plain lines, folded once: learning a feed's lines and fingerprinting a copy
/// both start from it (a document's articles are learned from, then fingerprinted: each
/// is folded and its lines hashed once for both).
#[derive(Debug, Default, Clone)]
pub struct FoldedText {
    /// The folded lines one after another.
    folded: String,
    lines: Vec<FoldedLine>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct FoldedLine {
    /// Where the line ends in `folded` (it starts where the one before ends).
    end: usize,
    /// Its whitespace-separated words ([`count_words`]).
    pub(super) words: usize,
    /// [`hash64`] of it: learned lines are kept by this hash.
    pub(super) hash: u64,
}

impl FoldedText {
    /// The plain lines of `text` (as [`crate::model::Article`] holds it), folded.
    pub(crate) fn new(text: &str) -> FoldedText {
        let mut folded = String::with_capacity(text.len() + text.len() / 8);
        let mut lines = Vec::new();
        for_each_line(text, |line| {
            let start = folded.len();
            fold_append(line, &mut folded);
            let l = &folded[start..];
            lines.push(FoldedLine {
                end: folded.len(),
                words: count_words(l, usize::MAX),
                hash: hash64(l),
            });
        });
        FoldedText { folded, lines }
    }

    /// The hashes of the folded lines, which a feed's learned lines count.
    pub(super) fn line_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.lines.iter().map(|l| l.hash)
    }

    /// How many lines there are.
    pub(super) fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The bytes of the folded lines together.
    pub(super) fn folded_len(&self) -> usize {
        self.folded.len()
    }

    /// The folded lines with their facts.
    pub(super) fn lines(&self) -> impl Iterator<Item = (&str, &FoldedLine)> + '_ {
        let mut start = 0;
        self.lines.iter().map(move |l| {
            let line = &self.folded[start..l.end];
            start = l.end;
            (line, l)
        })
    }
}
