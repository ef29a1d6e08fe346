//! Language-light anchors for same-story detection: the names and numbers of a document.
//! A name is a capitalised word ([`crate::prepare::names`]) of at least two characters; a
//! number has at least two digits. Two reports of one event share rare names and numbers even when they share no
//! passage; the weight of what they share is the sum of the inverse document frequencies.

use crate::document::Document;
use crate::id::DocId;
use crate::prepare::names::for_each_word;
use crate::prepare::normalize::Tokenizer;
use crate::prepare::Prepared;
use foldhash::HashMap;
use rayon::prelude::*;

/// What a larger collection knows of entities (see [`Entities::build_in`]).
#[derive(Clone, Copy)]
pub struct KnownEntities<'a> {
    /// Documents the collection counts.
    pub documents: usize,
    /// Documents of the collection holding an entity.
    pub df: &'a (dyn Fn(u64) -> u32 + Sync),
    /// For each document given, whether the collection counts it already.
    pub counted: &'a [bool],
}

/// Entity hashes per document (sorted, unique) and their inverse document frequencies.
#[derive(Debug, Default)]
pub struct Entities {
    /// Each document's entity hashes, sorted and unique.
    pub per_doc: Vec<Vec<u64>>,
    idf: HashMap<u64, f32>,
    /// Summed inverse document frequency of each document's entities.
    totals: Vec<f64>,
}

impl Entities {
    /// The entities of every document and their document frequencies.
    pub fn build(docs: &[Document], prepared: &[Prepared]) -> Self {
        Self::build_in(docs, prepared, None)
    }

    /// [`Entities::build`] for documents that are part of a larger collection: `known` gives
    /// how many documents the collection counts, how many of them hold an entity, and which
    /// of these documents it counts already; frequencies are the collection's.
    pub fn build_in(
        docs: &[Document],
        prepared: &[Prepared],
        known: Option<KnownEntities>,
    ) -> Self {
        let per_doc: Vec<Vec<u64>> = docs
            .par_iter()
            .zip(prepared.par_iter())
            .map_init(
                || (Tokenizer::default(), Vec::new()),
                |(tk, toks), (d, p)| {
                    let mut ents = Vec::new();
                    for_each_word(&d.text, p, tk, toks, |w| {
                        let digits = w.text.chars().filter(|c| c.is_ascii_digit()).count();
                        if (w.capitalised && w.text.chars().count() > 1) || digits >= 2 {
                            ents.push(w.token.hash);
                        }
                    });
                    ents.sort_unstable();
                    ents.dedup();
                    ents
                },
            )
            .collect();
        let mut df: HashMap<u64, u32> = HashMap::default();
        for ents in &per_doc {
            for &e in ents {
                *df.entry(e).or_default() += 1;
            }
        }
        if let Some(k) = &known {
            // Only the documents the collection does not count yet add to its counts.
            let mut fresh: HashMap<u64, u32> = HashMap::default();
            for (ents, &counted) in per_doc.iter().zip(k.counted) {
                if !counted {
                    for &e in ents {
                        *fresh.entry(e).or_default() += 1;
                    }
                }
            }
            for (e, v) in df.iter_mut() {
                *v = (k.df)(*e) + fresh.get(e).copied().unwrap_or(0);
            }
        }
        let n = match &known {
            Some(k) => (k.documents + k.counted.iter().filter(|c| !**c).count()).max(1) as f32,
            None => docs.len().max(1) as f32,
        };
        let idf: HashMap<u64, f32> = df
            .into_iter()
            .map(|(k, v)| (k, (1.0 + n / v.max(1) as f32).ln()))
            .collect();
        let totals = per_doc
            .iter()
            .map(|e| {
                e.iter()
                    .map(|h| idf.get(h).copied().unwrap_or(0.0) as f64)
                    .sum()
            })
            .collect();
        Entities {
            per_doc,
            idf,
            totals,
        }
    }

    /// Share of the smaller entity weight of `a` and `b` that they share (0..1): a
    /// weighted containment, independent of the size of the collection.
    pub fn overlap(&self, a: DocId, b: DocId) -> f64 {
        let m = self.totals[a.index()].min(self.totals[b.index()]);
        if m <= 0.0 {
            0.0
        } else {
            self.shared_weight(a, b) / m
        }
    }

    /// Summed inverse document frequency of the entities `a` and `b` share.
    pub fn shared_weight(&self, a: DocId, b: DocId) -> f64 {
        let (x, y) = (&self.per_doc[a.index()], &self.per_doc[b.index()]);
        let (mut i, mut j) = (0, 0);
        let mut w = 0.0f64;
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    w += self.idf.get(&x[i]).copied().unwrap_or(0.0) as f64;
                    i += 1;
                    j += 1;
                }
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::prepared;

    #[test]
    fn shared_names_and_numbers_weigh() {
        let docs = vec![
            Document::new(
                "a",
                "The minister met Lecornu in Paris on Wednesday. They spoke for 45 minutes.",
            ),
            Document::new(
                "b",
                "On Wednesday Shoigu called Lecornu. The call lasted 45 minutes, officials said.",
            ),
            Document::new(
                "c",
                "A recipe for bread needs flour, water and salt. Bake it for one hour.",
            ),
        ];
        let p = prepared(&docs);
        let e = Entities::build(&docs, &p);
        let (a, b, c) = (DocId(0), DocId(1), DocId(2));
        assert!(e.shared_weight(a, b) > 1.0);
        assert_eq!(e.shared_weight(a, c), 0.0);
        assert!(e.overlap(a, b) > 0.3 && e.overlap(a, b) <= 1.0);
        // "The" and "On" open their sentences; "Lecornu", "Paris", "45" are entities.
        assert_eq!(e.per_doc[0].len(), 4, "Lecornu, Paris, Wednesday, 45");
    }
}
