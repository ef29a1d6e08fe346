//! Same event or same topic, within a scan (the stage `events`): every same-story pair
//! judged by meaning is scored by [`same_event`] — the cosines of its documents, of their
//! main texts embedded whole and of their first sentences, the names and numbers they
//! share, the time between their publication dates — and kept only when the score reaches
//! the calibration's `story_min_event`. `retrace compare --pairs` scores its pairs the same
//! way ([`EventVectors`], [`event_evidence`]).

use super::{Encoders, Meaning, Vectors};
use crate::document::Document;
use crate::embed::dot;
use crate::id::{DocId, Pair};
use crate::prepare::Prepared;
use crate::progress::Progress;
use crate::relate::event::{
    days_apart, same_event, same_event_bound, EventEvidence, EventFacts, EventWeights,
};
use crate::relate::union_find::UnionFind;
use crate::relate::{Kind, Relation};
use retrace_encode::{EncodeError, Encoder};
use std::collections::HashSet;

/// Bytes of a main text embedded whole for the whole-text cosine.
pub const TEXT_BYTES: usize = 2000;

/// Bytes of a first sentence embedded (as the sentence vectors cut a sentence).
const FIRST_BYTES: usize = 1000;

/// Texts embedded in one call.
const BATCH: usize = 256;

/// The vectors [`same_event`] reads beyond the document vectors: each chosen document's main
/// text embedded whole (its main lines joined, cut at [`TEXT_BYTES`]) and its first
/// sentence, L2-normalised; zeros for the documents not chosen. The whole texts are
/// embedded only for weights that read them (long inputs are the costly part).
pub struct EventVectors {
    dim: usize,
    text: Option<Vec<f32>>,
    first: Vec<f32>,
}

impl EventVectors {
    /// Embed the documents `which` marks with `encoder` (their whole texts too when
    /// `weights` reads them).
    pub fn new(
        docs: &[Document],
        prepared: &[Prepared],
        encoder: &dyn Encoder,
        which: &[bool],
        weights: &EventWeights,
    ) -> Result<Self, EncodeError> {
        let dim = encoder.dim();
        let chosen: Vec<usize> = (0..docs.len()).filter(|&d| which[d]).collect();
        let with_text = weights.text != 0.0;
        let texts: Vec<String> = chosen
            .iter()
            .filter(|_| with_text)
            .map(|&d| {
                let text = &docs[d].text;
                let lines: Vec<&str> = prepared[d].main_lines().map(|r| &text[r]).collect();
                let joined = lines.join(" ");
                crate::prepare::segment::prefix(&joined, TEXT_BYTES).to_string()
            })
            .collect();
        let firsts: Vec<&str> = chosen
            .iter()
            .map(|&d| {
                let s = prepared[d]
                    .sentences
                    .first()
                    .map_or(0..0, |r| r.start as usize..r.end as usize);
                crate::prepare::segment::prefix(&docs[d].text[s], FIRST_BYTES)
            })
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(EventVectors {
            dim,
            text: if with_text {
                Some(embed_rows(encoder, docs.len(), &chosen, &texts)?)
            } else {
                None
            },
            first: embed_rows(encoder, docs.len(), &chosen, &firsts)?,
        })
    }

    fn row<'v>(&self, v: &'v [f32], d: DocId) -> &'v [f32] {
        &v[d.index() * self.dim..(d.index() + 1) * self.dim]
    }

    /// Cosine of the two main texts, when they were embedded.
    pub fn text_cos(&self, p: Pair) -> Option<f64> {
        let t = self.text.as_ref()?;
        Some(dot(self.row(t, p.a), self.row(t, p.b)) as f64)
    }

    /// Cosine of the two first sentences.
    pub fn first_cos(&self, p: Pair) -> f64 {
        dot(self.row(&self.first, p.a), self.row(&self.first, p.b)) as f64
    }
}

/// `texts[k]` embedded into row `chosen[k]` of `n` rows, normalised.
fn embed_rows(
    encoder: &dyn Encoder,
    n: usize,
    chosen: &[usize],
    texts: &[&str],
) -> Result<Vec<f32>, EncodeError> {
    let dim = encoder.dim();
    let mut out = vec![0f32; n * dim];
    for (ids, batch) in chosen.chunks(BATCH).zip(texts.chunks(BATCH)) {
        let e = encoder.encode(batch)?;
        if e.len() != batch.len() || e.dim != dim {
            return Err(EncodeError::Failed(format!(
                "encoder {} returned {} vectors of {} for {} texts",
                encoder.name(),
                e.len(),
                e.dim,
                batch.len()
            )));
        }
        for (k, &d) in ids.iter().enumerate() {
            let v = &mut out[d * dim..(d + 1) * dim];
            v.copy_from_slice(&e.data[k * dim..(k + 1) * dim]);
            let norm = dot(v, v).sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }
    Ok(out)
}

/// What [`same_event`] reads of pair `p`, whose document cosine is `similarity`.
pub fn event_evidence(
    vectors: &EventVectors,
    facts: &EventFacts,
    prepared: &[Prepared],
    p: Pair,
    similarity: f64,
) -> EventEvidence {
    EventEvidence {
        similarity: Some(similarity),
        text_similarity: vectors.text_cos(p),
        first_similarity: Some(vectors.first_cos(p)),
        facts: facts.shared(p.a, p.b),
        days_apart: days_apart(prepared[p.a.index()].date, prepared[p.b.index()].date),
    }
}

/// The stage `events`: score every same-story relation by [`same_event`] with the encoder
/// whose vectors judged it (the main one when both documents rest on its vectors, else the
/// fallback), keep those at the encoder's `story_min_event` or above, and those of which one
/// side is a version (copy, rewrite, translation) of a document kept as the same event as
/// the other side, with the score as their `score`; drop the others, and any between two
/// versions of one text. `known` holds relations found earlier among the documents (an
/// index's), read for versions and confirmed reports alongside `relations`. Returns how
/// many were dropped.
pub(super) fn confirm_same_story(
    docs: &[Document],
    prepared: &[Prepared],
    relations: &mut Vec<Relation>,
    known: &[Relation],
    encoders: &Encoders,
    vectors: &[Vectors],
    progress: &dyn Progress,
) -> Result<usize, EncodeError> {
    let n = docs.len();
    let by = |r: &Relation| -> Option<(usize, Meaning)> {
        let primary =
            vectors[r.a.index()] == Vectors::Primary && vectors[r.b.index()] == Vectors::Primary;
        match (primary, encoders.primary, encoders.fallback) {
            (true, Some(m), _) => Some((0, m)),
            (false, _, Some(m)) => Some((1, m)),
            (false, Some(m), None) => Some((0, m)),
            _ => None,
        }
    };
    let stories: Vec<usize> = (0..relations.len())
        .filter(|&i| relations[i].kind == Kind::SameStory)
        .collect();
    if stories.is_empty() {
        return Ok(0);
    }
    progress.start("events", stories.len() as u64);
    let mut versions: Vec<Vec<DocId>> = vec![Vec::new(); n];
    let mut texts = UnionFind::new(n);
    for r in relations
        .iter()
        .chain(known)
        .filter(|r| r.kind != Kind::SameStory)
    {
        versions[r.a.index()].push(r.b);
        versions[r.b.index()].push(r.a);
        texts.union(r.a.0, r.b.0);
    }
    let facts = EventFacts::build(docs, prepared);
    let base = |r: &Relation| EventEvidence {
        similarity: r.similarity,
        facts: facts.shared(r.a, r.b),
        days_apart: days_apart(prepared[r.a.index()].date, prepared[r.b.index()].date),
        ..EventEvidence::default()
    };
    // Versions of one text (joined by copies, rewrites and translations) are no independent
    // reports of an event: no same-story pair between them. Of the others, those that could
    // reach the cut are scored.
    let mut keep = vec![true; relations.len()];
    let mut scored = vec![false; relations.len()];
    let mut open: Vec<usize> = Vec::new();
    for &i in &stories {
        let r = &relations[i];
        keep[i] = false;
        if texts.find(r.a.0) == texts.find(r.b.0) {
            continue;
        }
        match by(r) {
            Some((_, m))
                if same_event_bound(&base(r), &m.calibration.event)
                    >= m.calibration.relations.story_min_event =>
            {
                open.push(i)
            }
            _ => {}
        }
    }
    let score = |which: &[usize],
                 relations: &mut [Relation],
                 keep: &mut [bool],
                 scored: &mut [bool]|
     -> Result<(), EncodeError> {
        for k in 0..2 {
            let mine: Vec<usize> = which
                .iter()
                .copied()
                .filter(|&i| by(&relations[i]).is_some_and(|(e, _)| e == k))
                .collect();
            let Some(m) = mine.first().and_then(|&i| by(&relations[i])).map(|x| x.1) else {
                continue;
            };
            let mut chosen = vec![false; n];
            for &i in &mine {
                chosen[relations[i].a.index()] = true;
                chosen[relations[i].b.index()] = true;
            }
            let ev = EventVectors::new(docs, prepared, m.encoder, &chosen, &m.calibration.event)?;
            for &i in &mine {
                let r = &mut relations[i];
                let sim = r.similarity.unwrap_or(0.0);
                let e = event_evidence(&ev, &facts, prepared, r.pair(), sim);
                r.score = same_event(&e, &m.calibration.event);
                keep[i] = r.score >= m.calibration.relations.story_min_event;
                scored[i] = true;
            }
        }
        Ok(())
    };
    score(&open, relations, &mut keep, &mut scored)?;
    // Versions of one text report the same event: a candidate below the cut is kept when
    // one side is a copy, rewrite or translation of a document confirmed as reporting the
    // same event as the other side (scored now if it was not).
    let confirmed: HashSet<Pair> = stories
        .iter()
        .filter(|&&i| keep[i])
        .map(|&i| relations[i].pair())
        .chain(
            known
                .iter()
                .filter(|r| r.kind == Kind::SameStory)
                .map(Relation::pair),
        )
        .collect();
    let mut lifted: Vec<usize> = Vec::new();
    for &i in &stories {
        let Pair { a, b } = relations[i].pair();
        if keep[i] || texts.find(a.0) == texts.find(b.0) {
            continue;
        }
        let via = |x: DocId, other: DocId| {
            versions[x.index()]
                .iter()
                .any(|&c| c != other && confirmed.contains(&Pair::new(c, other)))
        };
        if via(a, b) || via(b, a) {
            lifted.push(i);
        }
    }
    let unscored: Vec<usize> = lifted.iter().copied().filter(|&i| !scored[i]).collect();
    score(&unscored, relations, &mut keep, &mut scored)?;
    for i in lifted {
        keep[i] = true;
    }
    progress.advance(stories.len() as u64);
    progress.finish();
    let before = relations.len();
    let mut i = 0;
    relations.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    Ok(before - relations.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use crate::testing::{bilingual, prepared};

    fn story(a: u32, b: u32, kind: Kind) -> Relation {
        Relation {
            a: DocId(a),
            b: DocId(b),
            kind,
            coverage_a: 0.0,
            coverage_b: 0.0,
            score: 0.0,
            density: 0.0,
            similarity: Some(0.8),
            shared_entities: Some(0.5),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn the_time_of_publication_and_versions_decide_same_story_pairs() {
        let (base, enc) = bilingual();
        let text = base[0].text.clone();
        // 0 and 1 tell one event the same week; 2 is months later; 3 is a version of 0.
        let mut docs: Vec<Document> = (0..4)
            .map(|i| Document::new(format!("d{i}"), text.clone()))
            .collect();
        for (d, date) in docs
            .iter_mut()
            .zip(["2024-05-01", "2024-05-02", "2024-09-01"])
        {
            d.meta.date = Some(date.to_string());
        }
        let p = prepared(&docs);
        let encoders = Encoders {
            primary: Some(Meaning::new(&enc)),
            fallback: None,
        };
        let mut rels = vec![
            story(0, 1, Kind::SameStory),
            story(0, 2, Kind::SameStory),
            story(0, 3, Kind::Copy),
            story(1, 3, Kind::SameStory),
        ];
        let vectors = vec![Vectors::Primary; 4];
        let dropped =
            confirm_same_story(&docs, &p, &mut rels, &[], &encoders, &vectors, &NoProgress)
                .unwrap();
        let kept: Vec<(u32, u32)> = rels.iter().map(|r| (r.a.0, r.b.0)).collect();
        assert_eq!(kept, [(0, 1), (0, 3), (1, 3)], "{rels:?}");
        assert_eq!(dropped, 1);
        assert!(rels[0].score >= 0.95 && rels[0].score <= 1.0, "{rels:?}");
        // Between two versions of one text there is no same-story pair.
        let mut rels = vec![story(0, 3, Kind::Copy), story(0, 1, Kind::SameStory)];
        rels.push(story(1, 3, Kind::Translation));
        confirm_same_story(&docs, &p, &mut rels, &[], &encoders, &vectors, &NoProgress).unwrap();
        assert!(rels.iter().all(|r| r.kind != Kind::SameStory), "{rels:?}");
    }
}
