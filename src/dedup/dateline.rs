//! Dates and datelines: date and time lines ("Published: 12:16, 14 July 2025"), the
//! datelines that open wire copy ("LAGOS, Nov 25 (Reuters) -") and the date phrases and
//! caption prefixes a description flattens into a text's first words. Outlets restate
//! these in their own style, so copies of one wire text differ here first; the chrome
//! module treats a date line as chrome and a dateline as a wire's credit, and
//! fingerprinting strips the prefixes from each line.

use std::sync::OnceLock;

use super::policy::{
    CAPTION_MAX_OFFSET, CAPTION_NAME_WORDS, DATE_LINE_OTHER_WORDS, DATE_WORD_MIN_LEN,
    DATELINE_MAX_OFFSET, DATELINE_NAME_MAX_BYTES, DATELINE_PLACE_WORDS, LATE_DATELINE_DATE_WORDS,
    LATE_DATELINE_WORDS,
};
use super::words::WordSet;

/// Month names, folded: a date line's words, and a number beside one is a date.
pub(super) const MONTHS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
];

/// Other words of date and time lines.
pub(super) const DATE_WORDS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
    "am",
    "pm",
    "a",
    "p",
    "m",
    "gmt",
    "utc",
    "ist",
    "bst",
    "edt",
    "est",
    "cet",
    "cest",
    "pst",
    "pdt",
    "wat",
    "published",
    "updated",
    "posted",
    "last",
    "on",
    "at",
    "first",
    "modified",
    "ago",
    "hours",
    "hour",
    "minutes",
    "minute",
    "days",
    "day",
    "h",
    "min",
    "mins",
    "hrs",
    "today",
    "yesterday",
    "st",
    "nd",
    "rd",
    "th",
    "by",
    "and",
    "time",
    "read",
    "reading",
];

/// The wires a dateline or credit names, in parentheses as folded lines hold them: after a
/// date, or as one of these, a parenthesis further into a line is a dateline.
pub(super) const WIRE_NAMES: &[&str] = &[
    "(reuters)",
    "(ap)",
    "(afp)",
    "(ani)",
    "(pti)",
    "(ians)",
    "(dpa)",
    "(efe)",
    "(xinhua)",
    "(bloomberg)",
    "(upi)",
    "(aap)",
    "(cp)",
];

/// [`MONTHS`] and [`DATE_WORDS`] as a set: most words of short lines are looked up.
fn date_words() -> &'static WordSet {
    static SET: OnceLock<WordSet> = OnceLock::new();
    SET.get_or_init(|| WordSet::new(MONTHS.iter().chain(DATE_WORDS).copied()))
}

fn is_date_word(w: &str) -> bool {
    date_words().contains(w)
}

/// "Published: 12:16, 14 July 2025", "Updated 3 hours ago", "Mon 14 Jul 2025 09.30 BST".
pub(super) fn is_date_line(folded: &str) -> bool {
    let date_words = date_words();
    let mut has_date = false;
    let mut other = 0;
    for w in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if w.bytes().all(|b| b.is_ascii_digit()) {
            has_date = true;
        } else if date_words.contains(w) {
            has_date |=
                w.len() >= DATE_WORD_MIN_LEN && !matches!(w, "and" | "ago" | "last" | "the");
        } else {
            other += 1;
            if other > DATE_LINE_OTHER_WORDS {
                return false;
            }
        }
    }
    has_date && other <= DATE_LINE_OTHER_WORDS
}

/// Where a dateline ends: "paris (gna) - ", "lagos, nov 25 (reuters) -", "dakar (afp) -"
/// at the start of a folded line. The text before the parenthesis is short and the
/// parenthesis holds one short name followed by a dash.
pub(super) fn dateline_end(folded: &str) -> Option<usize> {
    let open = memchr::memchr(b'(', folded.as_bytes())?;
    if open > DATELINE_MAX_OFFSET
        || folded[..open].split_whitespace().count() > DATELINE_PLACE_WORDS
    {
        return None;
    }
    dateline_at(folded, open)
}

/// The end of "(name) -" when the parenthesis opening at `open` holds one short name
/// followed by a dash or colon.
fn dateline_at(folded: &str, open: usize) -> Option<usize> {
    let close = open + memchr::memchr(b')', &folded.as_bytes()[open..])?;
    let inside = &folded[open + 1..close];
    if inside.is_empty()
        || inside.len() > DATELINE_NAME_MAX_BYTES
        || !inside
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '-')
    {
        return None;
    }
    let after = folded[close + 1..].trim_start();
    let rest = after.strip_prefix(['-', ':'])?;
    Some(folded.len() - rest.len())
}

/// Where a dateline further into the first words ends, when a description flattened the
/// outlet's chrome (headline, byline, caption) in front of it: "... for reuters adds
/// context abuja, march 26 (reuters) - nigeria's ...". Only a known wire's name, or a
/// name after a date, counts there ("the central bank (cbn) - which" is no dateline).
fn late_dateline_end(folded: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(open) = memchr::memchr(b'(', &folded.as_bytes()[from..]).map(|o| o + from) {
        let before: Vec<&str> = folded[..open].split_whitespace().collect();
        if before.len() > LATE_DATELINE_WORDS {
            return None;
        }
        if let Some(end) = dateline_at(folded, open) {
            let name = &folded[open..=open + folded[open..].find(')')?];
            let dated = before.iter().rev().take(LATE_DATELINE_DATE_WORDS).any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                MONTHS.contains(&w) || w.bytes().any(|b| b.is_ascii_digit())
            });
            if dated || WIRE_NAMES.contains(&name) {
                return Some(end);
            }
        }
        from = open + 1;
    }
    None
}

/// Where a date phrase at the start of a line ends ("published: 08:34, 10 july 2025 ",
/// "date 2024-03-26 "): a description flattens the outlet's date line into its first
/// words. It must state a number; a line of dates only is chrome already.
fn date_phrase_end(folded: &str) -> Option<usize> {
    let mut end = 0;
    let mut numbered = false;
    let mut at = 0;
    for word in folded.split_inclusive([' ', '|']) {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric());
        let number = !w.is_empty()
            && w.bytes().any(|b| b.is_ascii_digit())
            && w.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '/' | '-'));
        if w.is_empty() || number || is_date_word(w) || matches!(w, "date" | "created") {
            numbered |= number;
            at += word.len();
            end = at;
        } else {
            break;
        }
    }
    (numbered && end > 0).then_some(end)
}

/// The line without a leading date phrase, dateline or photo-caption prefix (a
/// description flattens the caption paragraph into the text: "Lima. Photo: Yusuf Barros
/// Shares in ...").
pub(super) fn strip_prefixes(folded: &str) -> &str {
    let mut line = folded;
    if let Some(end) = date_phrase_end(line) {
        line = line[end..].trim_start_matches([' ', '|', ':', ',', '.', '-']);
    }
    // Only a match starting within CAPTION_MAX_OFFSET bytes counts: search no further.
    let head = &line.as_bytes()[..line.len().min(CAPTION_MAX_OFFSET + "photo: ".len() - 1)];
    let photo = memchr::memchr_iter(b'p', head).find(|&at| head[at..].starts_with(b"photo: "));
    if let Some(at) = photo {
        let after = &line[at + "photo: ".len()..];
        // The photographer's name: a few words at most.
        let mut cut = after;
        for _ in 0..CAPTION_NAME_WORDS {
            let w = cut.trim_start();
            match w.find(' ') {
                Some(sp) => cut = &w[sp..],
                None => cut = "",
            }
        }
        line = cut.trim_start();
    }
    if let Some(end) = dateline_end(line).or_else(|| late_dateline_end(line)) {
        line = line[end..].trim_start();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datelines_and_caption_prefixes_are_stripped() {
        assert_eq!(
            strip_prefixes("lagos, nov 25 (reuters) - nigeria's central bank"),
            "nigeria's central bank"
        );
        assert_eq!(
            strip_prefixes("paris (gna) - pinnacle airlines"),
            "pinnacle airlines"
        );
        assert_eq!(
            strip_prefixes("lima. photo: yusuf barros shares in x"),
            "shares in x"
        );
        assert_eq!(
            strip_prefixes("rates (in percent) rose"),
            "rates (in percent) rose"
        );
        // A description flattens date lines, headlines and bylines in front of the text.
        assert_eq!(
            strip_prefixes("published: 08:34, 10 july 2025 health authorities in egypt"),
            "health authorities in egypt"
        );
        assert_eq!(
            strip_prefixes("date 2024-03-26 | the bank raised rates"),
            "the bank raised rates"
        );
        assert_eq!(
            strip_prefixes(
                "rates rise written by jo bloggs for reuters adds context abuja, march 26 (reuters) - nigeria's bank"
            ),
            "nigeria's bank"
        );
        assert_eq!(
            strip_prefixes("a social media ban passes melbourne, australia (ap) - a ban for"),
            "a ban for"
        );
        // Not a date phrase (no number), not a dateline (no wire, no date before it).
        assert_eq!(strip_prefixes("may the best win"), "may the best win");
        assert_eq!(
            strip_prefixes("officials said the central bank of nigeria (cbn) - which sets rates"),
            "officials said the central bank of nigeria (cbn) - which sets rates"
        );
    }
}
