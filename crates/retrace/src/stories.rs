//! Stories: documents connected by reuse or same-story relations. Reuse links always join;
//! a same-story link joins two groups only when it is strong (cosine of the document vectors
//! and shared names and numbers above `min_link_cos` and `min_link_entities`, stricter than
//! what reports a same-story pair), so that one weak link cannot chain unrelated stories
//! together.

use crate::relate::{Kind, Relation};

/// Story settings.
#[derive(Debug, Clone)]
pub struct StoryOptions {
    pub min_link_cos: f64,
    /// ... and this weighted share of names and numbers.
    pub min_link_entities: f64,
}

impl Default for StoryOptions {
    fn default() -> Self {
        StoryOptions {
            min_link_cos: 0.8,
            min_link_entities: 0.5,
        }
    }
}

fn find(p: &mut [u32], x: u32) -> u32 {
    let mut r = x;
    while p[r as usize] != r {
        r = p[r as usize];
    }
    let mut y = x;
    while p[y as usize] != r {
        let n = p[y as usize];
        p[y as usize] = r;
        y = n;
    }
    r
}

/// A story index per document (the smallest document index of its story).
pub fn stories(n: usize, relations: &[Relation], opts: &StoryOptions) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    for r in relations.iter().filter(|r| r.kind != Kind::SameStory) {
        let (x, y) = (find(&mut parent, r.a), find(&mut parent, r.b));
        if x != y {
            parent[x.max(y) as usize] = x.min(y);
        }
    }
    // Strong same-story links, strongest first.
    let mut links: Vec<(f64, u32, u32)> = relations
        .iter()
        .filter(|r| r.kind == Kind::SameStory)
        .filter(|r| r.shared_entities.unwrap_or(0.0) >= opts.min_link_entities)
        .map(|r| (r.similarity.unwrap_or(0.0), r.a, r.b))
        .filter(|l| l.0 >= opts.min_link_cos)
        .collect();
    links.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    for (_, a, b) in links {
        let (x, y) = (find(&mut parent, a), find(&mut parent, b));
        if x != y {
            parent[x.max(y) as usize] = x.min(y);
        }
    }
    (0..n as u32).map(|d| find(&mut parent, d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: u32, b: u32, kind: Kind, cos: f64, ent: f64) -> Relation {
        Relation {
            a,
            b,
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
        assert_eq!(s, vec![0, 0, 0, 3, 4]);
    }
}
