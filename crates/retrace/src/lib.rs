//! retrace: find where texts came from.
//!
//! Data flows one way through stages, each a module with a small typed interface:
//! ingest → prepare → fingerprint → candidates → align → relate → report.
//!
//! - ingest: [`ingest`], [`html`], [`document`]
//! - prepare: [`normalize`], [`segment`], [`langid`], [`boilerplate`], [`prepare`]
//! - fingerprint: [`shingle`], [`minhash`], [`fingerprint`]
//! - candidates: [`anchors`], [`lsh`], [`candidates`]
//! - align: [`align`]
//! - relate: [`relate`]
//! - report: [`report`]
//!
//! [`pipeline::scan`] runs them all.

pub mod align;
pub mod anchors;
pub mod boilerplate;
pub mod candidates;
pub mod document;
pub mod fingerprint;
pub mod html;
pub mod ingest;
pub mod langid;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod pipeline;
pub mod prepare;
pub mod progress;
pub mod relate;
pub mod report;
pub mod segment;
pub mod shingle;

pub use retrace_encode as encode;
