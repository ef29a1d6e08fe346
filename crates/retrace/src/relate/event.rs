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

/// Weights of [`same_event`]'s logistic formula, fitted on half of the SemEval-2022 Task 8
/// training pairs (`bench/semeval.py`): bias, document cosine (token-weighted mean of the
/// sentence vectors), whole-text cosine, first-sentence (headline) cosine, shared names,
/// shared numbers.
pub const SAME_EVENT_WEIGHTS: [f64; 6] = [-4.36, 3.62, 3.56, 1.04, 0.70, 0.29];

/// How likely two texts report the same event, in [0, 1]: a logistic function of the cosine
/// of their document vectors (`similarity`), the cosine of their main texts embedded whole
/// (`text_similarity`), the cosine of their first sentences (`first_similarity`: the
/// headlines of news; `None` for any of them: no encoder reads both languages, taken as 0)
/// and the weighted shares of names and numbers they share ([`SharedFacts`]), with the
/// weights [`SAME_EVENT_WEIGHTS`]. 0.5 is the cut between same event and not.
pub fn same_event(
    similarity: Option<f64>,
    text_similarity: Option<f64>,
    first_similarity: Option<f64>,
    facts: &SharedFacts,
) -> f64 {
    let [b, w_cos, w_text, w_first, w_names, w_numbers] = SAME_EVENT_WEIGHTS;
    let z = b
        + w_cos * similarity.unwrap_or(0.0)
        + w_text * text_similarity.unwrap_or(0.0)
        + w_first * first_similarity.unwrap_or(0.0)
        + w_names * facts.names
        + w_numbers * facts.numbers;
    1.0 / (1.0 + (-z).exp())
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
        let c = Some(0.6);
        assert!(same_event(c, c, c, &same) > same_event(c, c, c, &other));
        let (hi, lo) = (Some(0.9), Some(0.1));
        assert!(same_event(hi, hi, hi, &same) > 0.5);
        assert!(same_event(lo, lo, lo, &other) < 0.5);
        assert!(same_event(None, None, None, &other) < same_event(None, None, None, &same));
    }
}
