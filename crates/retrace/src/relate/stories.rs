//! Stories: documents connected by reuse or same-story relations. Reuse links always join;
//! a same-story link joins two groups only when it is strong (cosine of the document vectors
//! and shared names and numbers above `min_link_cos` and `min_link_entities`, stricter than
//! what reports a same-story pair), so that one weak link cannot chain unrelated stories
//! together.

use super::union_find::UnionFind;
use super::{Kind, Relation};
use crate::id::DocId;
use serde::{Deserialize, Serialize};

/// Story settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryOptions {
    /// A same-story link joins two stories at this document cosine ...
    pub min_link_cos: f64,
    /// ... and this weighted share of names and numbers.
    pub min_link_entities: f64,
}

impl Default for StoryOptions {
    /// The USE-m3 table's ([`super::calibration::USE_M3`]).
    fn default() -> Self {
        super::calibration::USE_M3.stories
    }
}

/// Each document's story, as the smallest id of its story (input order: the story's first
/// document).
pub fn stories(n: usize, relations: &[Relation], opts: &StoryOptions) -> Vec<DocId> {
    let mut groups = UnionFind::new(n);
    for r in relations.iter().filter(|r| r.kind != Kind::SameStory) {
        groups.union(r.a.0, r.b.0);
    }
    // Strong same-story links, strongest first.
    let mut links: Vec<(f64, DocId, DocId)> = relations
        .iter()
        .filter(|r| r.kind == Kind::SameStory)
        .filter(|r| r.shared_entities.unwrap_or(0.0) >= opts.min_link_entities)
        .map(|r| (r.similarity.unwrap_or(0.0), r.a, r.b))
        .filter(|l| l.0 >= opts.min_link_cos)
        .collect();
    links.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    for (_, a, b) in links {
        groups.union(a.0, b.0);
    }
    groups.labels().into_iter().map(DocId).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: u32, b: u32, kind: Kind, cos: f64, ent: f64) -> Relation {
        Relation {
            a: DocId(a),
            b: DocId(b),
            kind,
            coverage_a: 0.0,
            coverage_b: 0.0,
            score: 0.0,
            density: 0.0,
            similarity: Some(cos),
            shared_entities: Some(ent),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn reuse_joins_and_weak_same_story_links_do_not() {
        let rels = vec![
            rel(0, 1, Kind::Copy, 0.9, 0.9),
            rel(1, 2, Kind::SameStory, 0.85, 0.7),
            rel(2, 3, Kind::SameStory, 0.72, 0.2),
        ];
        let s = stories(5, &rels, &StoryOptions::default());
        assert_eq!(s, [0, 0, 0, 3, 4].map(DocId));
    }
}
