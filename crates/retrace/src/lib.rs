//! retrace: find where texts came from.
//!
//! Data flows one way through stages, each a module with a small typed interface:
//! ingest → prepare → fingerprint → candidates → align → relate → report.

pub use retrace_encode as encode;
