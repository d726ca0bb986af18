//! Dates as real feeds send them: RFC 3339 and RFC 822 as specified, and what they send
//! instead — named zones (`BST`, `CEST`, `IST`, `AEST`), no weekday, no seconds, a wrong
//! weekday, ISO 8601 inside `pubDate`, a space instead of `T`, no zone at all (read as UTC).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Parses one date; `None` when nothing sensible can be read.
pub fn parse(input: &str) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 80 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    if s.as_bytes()[0].is_ascii_digit() && s.as_bytes().get(4) == Some(&b'-') {
        return iso8601(s);
    }
    rfc822_lenient(s)
}

/// Named zones feeds use, as offsets in minutes east of UTC.
const ZONES: &[(&str, i32)] = &[
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 60),
    ("BST", 60),
    ("IST", 330),
    ("CET", 60),
    ("CEST", 120),
    ("MET", 60),
    ("MEST", 120),
    ("EET", 120),
    ("EEST", 180),
    ("MSK", 180),
    ("EST", -300),
    ("EDT", -240),
    ("CST", -360),
    ("CDT", -300),
    ("MST", -420),
    ("MDT", -360),
    ("PST", -480),
    ("PDT", -420),
    ("AKST", -540),
    ("AKDT", -480),
    ("HST", -600),
    ("AST", -240),
    ("ADT", -180),
    ("NST", -210),
    ("NDT", -150),
    ("AEST", 600),
    ("AEDT", 660),
    ("ACST", 570),
    ("ACDT", 630),
    ("AWST", 480),
    ("NZST", 720),
    ("NZDT", 780),
    ("JST", 540),
    ("KST", 540),
    ("HKT", 480),
    ("SGT", 480),
    ("PHT", 480),
    ("WIB", 420),
    ("ICT", 420),
    ("PKT", 300),
    ("SAST", 120),
    ("CAT", 120),
    ("EAT", 180),
    ("WAT", 60),
    ("BRT", -180),
    ("ART", -180),
];

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn zone_offset(token: &str) -> Option<i32> {
    let t = token.trim_matches(|c: char| c == '(' || c == ')');
    if let Some(&(_, minutes)) = ZONES.iter().find(|(name, _)| name.eq_ignore_ascii_case(t)) {
        return Some(minutes);
    }
    let (sign, digits) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

fn month(token: &str) -> Option<u32> {
    let t = token.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| t.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn time(token: &str) -> Option<NaiveTime> {
    let mut parts = token.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(sec) => sec.split('.').next()?.parse().ok()?,
        None => 0,
    };
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

/// `[Weekday,] DD Mon YYYY HH:MM[:SS] [zone]`, in any of the ways feeds get it wrong.
fn rfc822_lenient(s: &str) -> Option<DateTime<Utc>> {
    let mut day = None;
    let mut mon = None;
    let mut year = None;
    let mut clock = None;
    let mut offset = None;
    for token in s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        if clock.is_none() && token.contains(':') {
            // `10:00:00+01:00` glued to its zone.
            let split = token
                .char_indices()
                .skip(1)
                .find(|(_, c)| matches!(c, '+' | '-'))
                .map(|(i, _)| i);
            let (t, z) = split.map_or((token, None), |i| (&token[..i], Some(&token[i..])));
            clock = time(t);
            if let Some(z) = z {
                offset = zone_offset(z);
            }
        } else if let Ok(n) = token.trim_end_matches('.').parse::<i32>() {
            if day.is_none() && (1..=31).contains(&n) && token.len() <= 2 {
                day = Some(n as u32);
            } else if year.is_none() {
                year = Some(match n {
                    0..=49 => 2000 + n,
                    50..=99 => 1900 + n,
                    _ => n,
                });
            }
        } else if let Some(m) = month(token).filter(|_| mon.is_none()) {
            mon = Some(m);
        } else if clock.is_some() && offset.is_none() {
            offset = zone_offset(token);
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, mon?, day?)?;
    let naive = NaiveDateTime::new(date, clock.unwrap_or_default());
    let zone = FixedOffset::east_opt(offset.unwrap_or(0) * 60)?;
    Some(
        zone.from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

/// ISO 8601 variants: a space for `T`, no seconds, no zone, `+0100`, a date alone.
fn iso8601(s: &str) -> Option<DateTime<Utc>> {
    let s = s.replacen(' ', "T", 1);
    let (date_part, rest) = s.split_once('T').unwrap_or((&s, ""));
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?;
    if rest.is_empty() {
        return Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
    }
    let rest = rest.trim();
    let zone_at = rest.find(['Z', 'z', '+', '-', ' ']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = time(clock)?;
    let zone = zone.trim();
    let offset = if zone.is_empty() {
        0
    } else {
        zone_offset(zone)?
    };
    let naive = NaiveDateTime::new(date, clock);
    let zone = FixedOffset::east_opt(offset * 60)?;
    Some(
        zone.from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        parse(s).map(|d| d.to_rfc3339()).unwrap_or_default()
    }

    #[test]
    fn standard_forms() {
        assert_eq!(
            iso("2024-03-01T10:00:00+01:00"),
            "2024-03-01T09:00:00+00:00"
        );
        assert_eq!(
            iso("Fri, 01 Mar 2024 10:00:00 GMT"),
            "2024-03-01T10:00:00+00:00"
        );
    }

    #[test]
    fn named_zones_missing_parts_and_iso_in_pubdate() {
        assert_eq!(
            iso("Fri, 01 Mar 2024 10:00:00 BST"),
            "2024-03-01T09:00:00+00:00"
        );
        assert_eq!(
            iso("Fri, 01 Mar 2024 10:00:00 CEST"),
            "2024-03-01T08:00:00+00:00"
        );
        assert_eq!(iso("01 Mar 2024 10:00:00 IST"), "2024-03-01T04:30:00+00:00");
        assert_eq!(
            iso("Fri, 1 Mar 2024 10:00 AEST"),
            "2024-03-01T00:00:00+00:00"
        );
        assert_eq!(
            iso("Sat, 01 Mar 2024 10:00:00 +0000"),
            "2024-03-01T10:00:00+00:00"
        );
        assert_eq!(iso("2024-03-01 10:00:00"), "2024-03-01T10:00:00+00:00");
        assert_eq!(iso("2024-03-01T10:00+0100"), "2024-03-01T09:00:00+00:00");
        assert_eq!(iso("2024-03-01"), "2024-03-01T00:00:00+00:00");
        assert_eq!(iso("March 1, 2024 10:00 PST"), "2024-03-01T18:00:00+00:00");
        assert_eq!(iso("yesterday"), "");
        assert_eq!(iso("Fri, 31 Feb 2024 10:00:00 GMT"), "");
    }
}
