//! retrace: find where texts came from.
//!
//! Data flows one way through stages, each a module with a small typed interface:
//! ingest → prepare → fingerprint → candidates → align → relate → report.
//!
//! - ingest: [`ingest`], [`html`], [`document`]
//! - prepare: [`normalize`], [`segment`], [`langid`], [`boilerplate`], [`prepare`]
//! - fingerprint: [`shingle`], [`minhash`], [`fingerprint`]
//! - candidates: [`anchors`], [`lsh`], [`candidates`]
//! - embed: [`sentvec`] (sentence and document vectors from an [`encode::Encoder`])
//! - candidates by meaning: [`neighbors`]
//! - align: [`align`] (lexical), [`semalign`] (sentences, by meaning)
//! - relate: [`relate`], [`stories`], [`dates`], [`provenance`]
//! - report: [`report`]
//!
//! [`pipeline::scan`] runs them all.

pub mod align;
pub mod anchors;
pub mod boilerplate;
pub mod candidates;
pub mod dates;
pub mod document;
pub mod entities;
pub mod fingerprint;
pub mod html;
pub mod ingest;
pub mod langid;
pub mod lsh;
pub mod minhash;
pub mod namekeys;
pub mod neighbors;
pub mod normalize;
pub mod pipeline;
pub mod prepare;
pub mod progress;
pub mod provenance;
pub mod relate;
pub mod report;
pub mod segment;
pub mod semalign;
pub mod sentvec;
pub mod shingle;
pub mod stories;
#[cfg(test)]
mod test_files;

pub use retrace_encode as encode;
