//! Publication dates: from the document's metadata when present, else from a dateline in
//! its first lines (ISO `2024-04-05` or `2024-04`, `4 April 2024`, `April 4, 2024`).

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A date with year, and month and day when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Date {
    /// The year.
    pub year: u16,
    /// The month (1..=12), when known.
    pub month: Option<u8>,
    /// The day of the month, when known.
    pub day: Option<u8>,
}

impl Date {
    /// Order at the precision both dates have; `None` when they agree at that precision.
    pub fn strictly_cmp(&self, other: &Date) -> Option<Ordering> {
        let a = (self.year, self.month, self.day);
        let b = (other.year, other.month, other.day);
        let o = a.0.cmp(&b.0);
        if o != Ordering::Equal {
            return Some(o);
        }
        match (a.1, b.1) {
            (Some(x), Some(y)) if x != y => return Some(x.cmp(&y)),
            (Some(_), Some(_)) => {}
            _ => return None,
        }
        match (a.2, b.2) {
            (Some(x), Some(y)) if x != y => Some(x.cmp(&y)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_of(word: &str) -> Option<u8> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(w) && (w.len() >= 3))
        .map(|i| i as u8 + 1)
}

/// Parse an ISO date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, with anything after) at the start of `s`.
pub fn parse_iso(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let year = num(0..4)? as u16;
    if !(1800..=2200).contains(&year) {
        return None;
    }
    let mut date = Date {
        year,
        month: None,
        day: None,
    };
    if b.get(4) == Some(&b'-') {
        if let Some(m) = num(5..7).filter(|m| (1..=12).contains(m)) {
            date.month = Some(m as u8);
            if b.get(7) == Some(&b'-') {
                if let Some(d) = num(8..10).filter(|d| (1..=31).contains(d)) {
                    date.day = Some(d as u8);
                }
            }
        }
    }
    Some(date)
}

/// Bytes at the start of a line that [`find_date`] reads: room for its first five words, and
/// a bound for a line without spaces (Chinese, Japanese, Thai), which is one long word.
const DATELINE_BYTES: usize = 160;

/// A dateline in `line`: an ISO date, `D Month YYYY` or `Month D, YYYY`, starting within
/// the line's first three words (a date further into a sentence is not a dateline).
pub fn find_date(line: &str) -> Option<Date> {
    let line = crate::prepare::segment::prefix(line, DATELINE_BYTES);
    let head_end = line
        .split_whitespace()
        .take(3)
        .last()
        .map(|w| w.as_ptr() as usize - line.as_ptr() as usize + w.len())
        .unwrap_or(0);
    let line_all = line;
    let line = &line[..head_end];
    for (i, _) in line.char_indices() {
        let prev_digit = line[..i].chars().last().is_some_and(|c| c.is_ascii_digit());
        if !prev_digit {
            let rest = &line[i..];
            if rest.len() >= 7 && rest.as_bytes()[4] == b'-' {
                if let Some(d) = parse_iso(rest).filter(|d| d.month.is_some()) {
                    return Some(d);
                }
            }
        }
    }
    let words: Vec<&str> = line_all
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take(5)
        .collect();
    for k in 0..words.len().saturating_sub(2).min(3) {
        let (w0, w1, w2) = (words[k], words[k + 1], words[k + 2]);
        let year = |w: &str| w.parse::<u16>().ok().filter(|y| (1800..=2200).contains(y));
        let day = |w: &str| {
            w.trim_end_matches('.')
                .parse::<u8>()
                .ok()
                .filter(|d| (1..=31).contains(d))
        };
        // Both orders end with the year: looked at first (it is rarely there).
        let Some(y) = year(w2) else {
            continue;
        };
        if let (Some(d), Some(m)) = (day(w0), month_of(w1)) {
            return Some(Date {
                year: y,
                month: Some(m),
                day: Some(d),
            });
        }
        if let (Some(m), Some(d)) = (month_of(w0), day(w1)) {
            return Some(Date {
                year: y,
                month: Some(m),
                day: Some(d),
            });
        }
    }
    None
}

/// The document's date: metadata first, else a dateline among its first `head` lines.
pub fn document_date<'a>(
    meta: Option<&str>,
    first_lines: impl Iterator<Item = &'a str>,
) -> Option<Date> {
    if let Some(d) = meta.and_then(|m| parse_iso(m.trim())) {
        return Some(d);
    }
    first_lines.take(3).find_map(find_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_datelines() {
        assert_eq!(
            find_date("date 2024-04-05 Connect with us")
                .unwrap()
                .to_string(),
            "2024-04-05"
        );
        assert_eq!(
            find_date(" date 2024-04 Mercredi, les")
                .unwrap()
                .to_string(),
            "2024-04"
        );
        assert_eq!(find_date("4 April 2024").unwrap().to_string(), "2024-04-04");
        assert_eq!(
            find_date("Posted April 4, 2024 by admin")
                .unwrap()
                .to_string(),
            "2024-04-04"
        );
        assert_eq!(find_date("Published 12345-67"), None);
        // A line without spaces is read from its start only.
        let long = format!("{}2024-04-05", "東".repeat(60));
        assert_eq!(find_date(&long), None);
        assert_eq!(
            find_date(&format!("2024-04-05{}", "東".repeat(60)))
                .unwrap()
                .to_string(),
            "2024-04-05"
        );
        assert_eq!(find_date("Shoigu spoke with Lecornu"), None);
        assert_eq!(
            find_date("This undated photo provided Thursday January 5, 2023 by the army"),
            None
        );
        assert_eq!(
            parse_iso("2024-06-13T10:00:00Z").unwrap().to_string(),
            "2024-06-13"
        );
    }

    #[test]
    fn compares_at_common_precision() {
        let a = parse_iso("2024-04-04").unwrap();
        let b = parse_iso("2024-04-05").unwrap();
        let m = parse_iso("2024-04").unwrap();
        assert_eq!(a.strictly_cmp(&b), Some(Ordering::Less));
        assert_eq!(a.strictly_cmp(&m), None);
        assert_eq!(
            parse_iso("2023-12-31").unwrap().strictly_cmp(&m),
            Some(Ordering::Less)
        );
    }
}
