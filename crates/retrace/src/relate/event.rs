//! Same event or same topic: what two texts say about who, where and when. Two reports of
//! one event name the same people and places and give the same numbers and dates; two
//! reports on one topic (two elections, two storms) share the topic's words but not these.
//!
//! Each document's *facts* are its names (capitalised words that do not open a sentence,
//! reduced to the script-independent skeleton of [`crate::candidates::namekeys::name_key`],
//! so that `Zelensky` and `Зеленський` agree) and its numbers (two or more digits, in any
//! script's digits, so that `2020`, `２０２０` and `٢٠٢٠` agree; years and dates are
//! numbers). What a pair shares is weighed by inverse document frequency over the
//! documents given, as a containment: the shared weight over the smaller side's weight.
//!
//! [`same_event`] combines these with the texts' cosines into one score in [0, 1].

use crate::candidates::namekeys::name_key;
use crate::document::Document;
use crate::id::DocId;
use crate::prepare::dates::Date;
use crate::prepare::names::for_each_word;
use crate::prepare::normalize::Tokenizer;
use crate::prepare::Prepared;
use foldhash::HashMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A document's names and numbers (hashes, sorted and unique).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Facts {
    names: Vec<u64>,
    numbers: Vec<u64>,
}

/// The ASCII digits of a number written in any one script's decimal digits (ASCII,
/// full-width, Arabic-Indic, Extended Arabic-Indic, Devanagari), or `None` when the word
/// holds anything else or fewer than two digits.
pub fn number_digits(word: &str) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let zero = match c {
            '0'..='9' => '0',
            '０'..='９' => '０',
            '\u{0660}'..='\u{0669}' => '\u{0660}',
            '\u{06f0}'..='\u{06f9}' => '\u{06f0}',
            '\u{0966}'..='\u{096f}' => '\u{0966}',
            _ => return None,
        };
        let d = c as u32 - zero as u32;
        out.push(char::from(b'0' + d as u8));
    }
    (out.len() >= 2).then_some(out)
}

/// The names and numbers of every document, with their inverse document frequencies.
#[derive(Debug, Default)]
pub struct EventFacts {
    per_doc: Vec<Facts>,
    idf: HashMap<u64, f64>,
}

/// What a pair shares of its facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedFacts {
    /// Weighted share of the names of the side with fewer that the other holds (0..1).
    pub names: f64,
    /// The same for numbers.
    pub numbers: f64,
    /// Names both hold.
    pub shared_names: u32,
    /// Numbers both hold.
    pub shared_numbers: u32,
}

impl EventFacts {
    /// The facts of `docs` (frequencies are counted over them).
    pub fn build(docs: &[Document], prepared: &[Prepared]) -> Self {
        let per_doc: Vec<Facts> = docs
            .par_iter()
            .zip(prepared.par_iter())
            .map_init(
                || (Tokenizer::default(), Vec::new()),
                |(tk, toks), (d, p)| {
                    let mut f = Facts::default();
                    for_each_word(&d.text, p, tk, toks, |w| {
                        if let Some(n) = number_digits(w.text) {
                            f.numbers
                                .push(xxhash_rust::xxh3::xxh3_64_with_seed(n.as_bytes(), 1));
                        } else if w.capitalised {
                            if let Some(k) = name_key(w.text) {
                                f.names
                                    .push(xxhash_rust::xxh3::xxh3_64_with_seed(k.as_bytes(), 2));
                            }
                        }
                    });
                    for v in [&mut f.names, &mut f.numbers] {
                        v.sort_unstable();
                        v.dedup();
                    }
                    f
                },
            )
            .collect();
        let mut df: HashMap<u64, u32> = HashMap::default();
        for f in &per_doc {
            for &h in f.names.iter().chain(&f.numbers) {
                *df.entry(h).or_default() += 1;
            }
        }
        let n = docs.len().max(1) as f64;
        let idf = df
            .into_iter()
            .map(|(h, c)| (h, (1.0 + n / c.max(1) as f64).ln()))
            .collect();
        EventFacts { per_doc, idf }
    }

    /// What `a` and `b` share.
    pub fn shared(&self, a: DocId, b: DocId) -> SharedFacts {
        let (fa, fb) = (&self.per_doc[a.index()], &self.per_doc[b.index()]);
        let (names, shared_names) = self.containment(&fa.names, &fb.names);
        let (numbers, shared_numbers) = self.containment(&fa.numbers, &fb.numbers);
        SharedFacts {
            names,
            numbers,
            shared_names,
            shared_numbers,
        }
    }

    /// Shared weight over the smaller side's weight, and the count shared.
    fn containment(&self, x: &[u64], y: &[u64]) -> (f64, u32) {
        let w = |h: &u64| self.idf.get(h).copied().unwrap_or(0.0);
        let (tx, ty): (f64, f64) = (x.iter().map(w).sum(), y.iter().map(w).sum());
        let (mut i, mut j, mut shared, mut count) = (0, 0, 0.0, 0u32);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += w(&x[i]);
                    count += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let m = tx.min(ty);
        (if m > 0.0 { shared / m } else { 0.0 }, count)
    }
}

/// The weights of [`same_event`]'s logistic formula, for one encoder family (cosines differ
/// in scale between encoders): bias, document cosine (token-weighted mean of the sentence
/// vectors), whole-text cosine, first-sentence (headline) cosine, shared names, shared
/// numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventWeights {
    /// The constant term.
    pub bias: f64,
    /// Weight of the document cosine.
    pub cos: f64,
    /// Weight of the whole-text cosine.
    pub text: f64,
    /// Weight of the first sentences' cosine.
    pub first: f64,
    /// Weight of the shared names.
    pub names: f64,
    /// Weight of the shared numbers.
    pub numbers: f64,
}

/// USE-m3's weights, fitted on half of the SemEval-2022 Task 8 training pairs
/// (`bench/semeval.py`).
pub const SAME_EVENT_WEIGHTS: EventWeights = EventWeights {
    bias: -4.36,
    cos: 3.62,
    text: 3.56,
    first: 1.04,
    names: 0.70,
    numbers: 0.29,
};

/// Publication dates at most this many days apart make two reports more likely to be about
/// one event ([`time_term`]).
pub const NEAR_DAYS: u32 = 3;
/// Publication dates more than this many days apart make them less likely to be.
pub const FAR_DAYS: u32 = 7;
/// The term added to [`same_event`]'s logit for dates [`NEAR_DAYS`] apart or fewer ...
pub const NEAR_WEIGHT: f64 = 2.0;
/// ... and the term taken off for dates more than [`FAR_DAYS`] apart. Fitted on the dev
/// collection's same-event reports against reports of the same topic (`bench/events.py`):
/// the time of publication is what tells the two apart when the texts share their topic's
/// names.
pub const FAR_WEIGHT: f64 = 4.0;

/// What the time of publication says: days between two dates known to the day; with only
/// the month known, 28 a month for months two or more apart; with only the year, 365 a year
/// for years two or more apart (`None` closer than that, or when a date is missing).
pub fn days_apart(a: Option<Date>, b: Option<Date>) -> Option<u32> {
    let (a, b) = (a?, b?);
    match (a.month, a.day, b.month, b.day) {
        (Some(ma), Some(da), Some(mb), Some(db)) => {
            let x = days_from_civil(a.year, ma, da);
            let y = days_from_civil(b.year, mb, db);
            Some(x.abs_diff(y) as u32)
        }
        (Some(ma), _, Some(mb), _) => {
            let months = (a.year as i32 * 12 + ma as i32).abs_diff(b.year as i32 * 12 + mb as i32);
            (months >= 2).then_some(months * 28)
        }
        _ => {
            let years = a.year.abs_diff(b.year) as u32;
            (years >= 2).then_some(years * 365)
        }
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: u16, m: u8, d: u8) -> i64 {
    let (y, m, d) = (y as i64, m as i64, d as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The publication-time term of [`same_event`]'s logit: [`NEAR_WEIGHT`] within
/// [`NEAR_DAYS`], minus [`FAR_WEIGHT`] beyond [`FAR_DAYS`], 0 in between or unknown.
pub fn time_term(days: Option<u32>) -> f64 {
    match days {
        Some(d) if d <= NEAR_DAYS => NEAR_WEIGHT,
        Some(d) if d > FAR_DAYS => -FAR_WEIGHT,
        _ => 0.0,
    }
}

/// What [`same_event`] reads of a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EventEvidence {
    /// Cosine of the document vectors (`None`: no encoder reads both languages, taken as 0).
    pub similarity: Option<f64>,
    /// Cosine of the main texts embedded whole.
    pub text_similarity: Option<f64>,
    /// Cosine of the first sentences (the headlines of news).
    pub first_similarity: Option<f64>,
    /// The names and numbers they share.
    pub facts: SharedFacts,
    /// Days between their publication dates ([`days_apart`]).
    pub days_apart: Option<u32>,
}

/// How likely two texts report the same event, in [0, 1]: a logistic function of the
/// cosines of their document vectors, of their main texts embedded whole and of their
/// first sentences, of the weighted shares of names and numbers they share
/// ([`SharedFacts`]), with `weights`, plus the time of publication ([`time_term`]) where
/// both dates are known. 0.5 is the cut between same event and not for a pair on its own;
/// within a collection, where most neighbours of a report are reports on its topic, the
/// calibration's stricter `story_min_event` applies.
pub fn same_event(ev: &EventEvidence, weights: &EventWeights) -> f64 {
    let w = weights;
    let z = w.bias
        + w.cos * ev.similarity.unwrap_or(0.0)
        + w.text * ev.text_similarity.unwrap_or(0.0)
        + w.first * ev.first_similarity.unwrap_or(0.0)
        + w.names * ev.facts.names
        + w.numbers * ev.facts.numbers
        + time_term(ev.days_apart);
    1.0 / (1.0 + (-z).exp())
}

/// The most [`same_event`] can be for `ev` whatever its whole-text and first-sentence
/// cosines (at most 1): what a pair needs before those are worth computing.
pub fn same_event_bound(ev: &EventEvidence, weights: &EventWeights) -> f64 {
    let best = EventEvidence {
        text_similarity: Some(if weights.text > 0.0 { 1.0 } else { -1.0 }),
        first_similarity: Some(if weights.first > 0.0 { 1.0 } else { -1.0 }),
        ..*ev
    };
    same_event(&best, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::prepared;

    #[test]
    fn names_and_numbers_agree_across_scripts() {
        assert_eq!(number_digits("2020").as_deref(), Some("2020"));
        assert_eq!(number_digits("２０２０").as_deref(), Some("2020"));
        assert_eq!(number_digits("٢٠٢٠").as_deref(), Some("2020"));
        assert_eq!(number_digits("7"), None);
        assert_eq!(number_digits("20th"), None);
        let docs = vec![
            Document::new(
                "en",
                "President Zelensky met Scholz in Berlin on 14 May 2023. They spoke for 45 minutes.",
            ),
            Document::new(
                "ru",
                "Президент Зеленский встретился с Шольцем в Берлине 14 мая 2023 года.",
            ),
            Document::new(
                "other",
                "The festival in Rio opened on 3 March 2019. Dancers from 12 schools took part.",
            ),
        ];
        let p = prepared(&docs);
        let f = EventFacts::build(&docs, &p);
        let same = f.shared(DocId(0), DocId(1));
        assert!(same.shared_names >= 2, "{same:?}");
        assert_eq!(same.shared_numbers, 2, "14 and 2023: {same:?}");
        assert!(same.names > 0.5 && same.numbers > 0.5, "{same:?}");
        let other = f.shared(DocId(0), DocId(2));
        assert_eq!(other.shared_names, 0);
        assert_eq!(other.shared_numbers, 0);
        let ev = |c: Option<f64>, facts: SharedFacts| EventEvidence {
            similarity: c,
            text_similarity: c,
            first_similarity: c,
            facts,
            days_apart: None,
        };
        let w = &SAME_EVENT_WEIGHTS;
        let c = Some(0.6);
        assert!(same_event(&ev(c, same), w) > same_event(&ev(c, other), w));
        let (hi, lo) = (Some(0.9), Some(0.1));
        assert!(same_event(&ev(hi, same), w) > 0.5);
        assert!(same_event(&ev(lo, other), w) < 0.5);
        assert!(same_event(&ev(None, other), w) < same_event(&ev(None, same), w));
        // The time of publication: the same day raises it, months apart lowers it.
        let mid = ev(c, other);
        let near = EventEvidence {
            days_apart: Some(1),
            ..mid
        };
        let far = EventEvidence {
            days_apart: Some(60),
            ..mid
        };
        assert!(same_event(&near, w) > same_event(&mid, w));
        assert!(same_event(&far, w) < same_event(&mid, w));
        for e in [mid, near, far] {
            assert!(same_event_bound(&e, w) >= same_event(&e, w));
        }
    }

    #[test]
    fn days_apart_reads_the_precision_both_dates_have() {
        let d = |s: &str| crate::prepare::dates::parse_iso(s);
        assert_eq!(
            days_apart(d("2024-02-27"), d("2024-03-02")),
            Some(4),
            "leap year"
        );
        assert_eq!(days_apart(d("2023-12-31"), d("2024-01-01")), Some(1));
        assert_eq!(days_apart(d("2024-03-02"), d("2024-02-27")), Some(4));
        assert_eq!(
            days_apart(d("2024-03"), d("2024-03-20")),
            None,
            "same month"
        );
        assert_eq!(days_apart(d("2024-01"), d("2024-05")), Some(112));
        assert_eq!(days_apart(d("2019"), d("2024-05-01")), Some(5 * 365));
        assert_eq!(days_apart(d("2023"), d("2024")), None);
        assert_eq!(days_apart(None, d("2024-05-01")), None);
        assert_eq!(time_term(Some(0)), NEAR_WEIGHT);
        assert_eq!(time_term(Some(5)), 0.0);
        assert_eq!(time_term(Some(8)), -FAR_WEIGHT);
        assert_eq!(time_term(None), 0.0);
    }
}
