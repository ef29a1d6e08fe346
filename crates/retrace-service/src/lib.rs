//! retrace as a living index: documents added as they arrive, kept on disk in immutable,
//! memory-mapped segments, and asked what a new text relates to — from Rust, from the
//! `retrace index` commands, or over HTTP (`retrace serve`, with a web page).
//!
//! The index runs the same stages as `retrace scan` ([`retrace::pipeline::scan_in`]): a
//! batch is scanned together with the documents the index proposes as its candidates, so a
//! scan of the whole collection and the index judge a pair the same way (see [`index`] for
//! where corpus statistics make them differ, and how a refresh removes the difference).

#![deny(missing_docs)]

mod cache;
mod codec;
pub mod http;
pub mod index;
mod segment;
mod store;

pub use index::{
    AddReport, DocumentOut, Evidence, Index, IndexOptions, Models, ParentOut, QueryResult, Related,
    SearchHit, Snapshot, StoryMember, StoryOut, StoryRelation, MERGE_FACTOR,
};

use std::path::PathBuf;

/// What can go wrong with an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A file of the index could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the index does not hold what it should.
    #[error("{path}: corrupt index file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The index was written in a format this build does not read.
    #[error(
        "{path}: index format {found}, but this build reads format {reads}: make the index \
         again from its documents (`retrace index create`, then `retrace index add`), or \
         export them with the build that wrote it (`retrace index export`)"
    )]
    Format {
        /// The manifest.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// The one this build reads.
        reads: u32,
    },
    /// The directory holds no index.
    #[error("{0}: no index here (no index.json)")]
    NotAnIndex(PathBuf),
    /// The directory already holds an index.
    #[error("{0}: an index already exists here")]
    Exists(PathBuf),
    /// Something could not be written as JSON.
    #[error("could not encode: {0}")]
    Encode(String),
    /// An encoder failed.
    #[error(transparent)]
    Encoder(#[from] retrace::encode::EncodeError),
    /// A document's id is already in the index (or twice in the batch).
    #[error("document id {0:?} is already in the index or twice in the batch")]
    DuplicateId(String),
    /// The encoders given are not the ones the index was made with.
    #[error("the index was made with encoders {index}, not {given}")]
    EncoderMismatch {
        /// The index's (main, fallback).
        index: String,
        /// The ones given.
        given: String,
    },
    /// A writer panicked while holding the index's lock.
    #[error("a writer of this index panicked; reopen it")]
    Poisoned,
}
