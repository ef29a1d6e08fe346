//! retrace: find where texts came from.
//!
//! Given a collection of documents, retrace tells for every pair that matters whether one is
//! a **copy** (or excerpt) of the other, a **rewrite**, a **translation** or an independent
//! report of the **same story**; it aligns the passages they share, groups documents into
//! stories and works out which document derives from which.
//!
//! # Stages
//!
//! Data flows one way, through stages that each live in a module of their own and hand
//! plain data (serde types that can be written to disk and read back) to the next:
//!
//! | stage | module | input → output |
//! | --- | --- | --- |
//! | ingest | [`ingest`] | files, JSONL, stdin → [`Document`]s |
//! | prepare | [`prepare`] | documents → [`Prepared`] (language, boilerplate, sentences, date) |
//! | fingerprint | [`fingerprint`] | prepared documents → [`Fingerprint`]s (anchors, LSH bands, exact hash) |
//! | candidates | [`candidates`] | fingerprints → lexical [`Candidate`] pairs; document vectors → nearest neighbours ([`NeighborIndex`]) |
//! | align | [`align`] | candidate pairs → passages ([`Alignment`]), lexical or sentence by sentence |
//! | embed | [`embed`] | prepared documents and an [`Encoder`] → [`SentenceVectors`] |
//! | relate | [`relate`] | alignments → [`Relation`]s; relations → stories and provenance |
//! | report | [`report`] | a [`Scan`] → `pairs.jsonl`, `documents.jsonl`, `run.json` |
//!
//! [`pipeline::scan`] composes them over a whole collection in one process; each stage
//! function can also be called on its own, so that a stage can run in another process or
//! on another machine.
//!
//! Documents are referred to by [`DocId`] (their position in the collection) and pairs by
//! [`Pair`]; the input's string ids appear only in ingest and report.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod align;
pub mod candidates;
pub mod document;
pub mod embed;
pub mod fingerprint;
#[doc(hidden)]
pub mod fuzzing;
pub mod id;
pub mod ingest;
pub mod pipeline;
pub mod prepare;
pub mod progress;
pub mod relate;
pub mod report;
#[cfg(test)]
mod test_files;
#[cfg(test)]
mod testing;

pub use align::{Alignment, Passage};
pub use candidates::{Candidate, ExactIndex, NeighborIndex};
pub use document::{Document, Meta, Source};
pub use embed::SentenceVectors;
pub use fingerprint::Fingerprint;
pub use id::{DocId, Pair};
pub use ingest::{ingest, IngestOptions, Ingested, Input};
pub use pipeline::{scan, Meaning, Scan, ScanOptions, ScannedDocument};
pub use prepare::Prepared;
pub use progress::{NoProgress, Progress};
pub use relate::{Calibration, Kind, Relation};
/// The sentence encoders (the `retrace-encode` crate).
pub use retrace_encode as encode;
pub use retrace_encode::Encoder;
