//! The document model shared by every stage: text plus the metadata kept from ingest.

use serde::Serialize;

/// Metadata kept from the input when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub url: Option<String>,
    /// As given in the input (ISO 8601 dates are compared lexically by later stages).
    pub date: Option<String>,
    pub title: Option<String>,
    /// Where the document came from: a file path, or `file:line` for JSONL records.
    pub source: String,
}

/// One input document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Unique within a run.
    pub id: String,
    /// The original text (valid UTF-8; invalid input was decoded lossily, with a warning).
    pub text: String,
    pub meta: Meta,
}

impl Document {
    /// A document with no metadata beyond its source.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        let id = id.into();
        Document {
            meta: Meta {
                source: id.clone(),
                ..Meta::default()
            },
            id,
            text: text.into(),
        }
    }
}
