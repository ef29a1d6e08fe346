//! Document identity inside a run: a [`DocId`] is a document's position in the collection
//! (input order), and a [`Pair`] is an unordered pair of them, kept as `a < b`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A document's position in its collection (input order, from 0).
///
/// Every stage refers to documents by `DocId`; ids of the input (strings) appear only in
/// ingest and report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct DocId(pub u32);

impl DocId {
    /// The id of the document at `index`.
    ///
    /// # Panics
    /// When `index` does not fit in 32 bits (a collection holds fewer than 2³² documents).
    #[inline]
    pub fn new(index: usize) -> DocId {
        match u32::try_from(index) {
            Ok(i) => DocId(i),
            Err(_) => panic!("document index {index} exceeds the 2^32 documents of a run"),
        }
    }

    /// The position of the document, to index per-document slices.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Every id of a collection of `n` documents, in order.
    pub fn all(n: usize) -> impl DoubleEndedIterator<Item = DocId> + ExactSizeIterator {
        (0..n).map(DocId::new)
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An unordered pair of distinct documents, stored with `a < b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pair {
    /// The smaller id.
    pub a: DocId,
    /// The larger id.
    pub b: DocId,
}

impl Pair {
    /// The pair of `x` and `y` in either order.
    ///
    /// # Panics
    /// When `x == y` (a document is not paired with itself).
    #[inline]
    pub fn new(x: DocId, y: DocId) -> Pair {
        assert!(x != y, "a pair needs two documents, got {x} twice");
        Pair {
            a: x.min(y),
            b: x.max(y),
        }
    }

    /// The member that is not `d` (`d` must be a member).
    #[inline]
    pub fn other(self, d: DocId) -> DocId {
        if d == self.a {
            self.b
        } else {
            self.a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_ordered_and_serialise_plainly() {
        let p = Pair::new(DocId(7), DocId(3));
        assert_eq!((p.a, p.b), (DocId(3), DocId(7)));
        assert_eq!(p.other(DocId(3)), DocId(7));
        assert_eq!(p, Pair::new(DocId(3), DocId(7)));
        let json = serde_json::to_string(&p).expect("json");
        assert_eq!(json, r#"{"a":3,"b":7}"#);
        let back: Pair = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, p);
        assert_eq!(DocId::new(5).index(), 5);
        assert_eq!(
            DocId::all(3).collect::<Vec<_>>(),
            [DocId(0), DocId(1), DocId(2)]
        );
    }

    #[test]
    #[should_panic(expected = "two documents")]
    fn a_document_is_not_paired_with_itself() {
        let _ = Pair::new(DocId(1), DocId(1));
    }
}
