//! The document model shared by every stage: text plus the metadata kept from ingest.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Metadata kept from the input when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The document's URL.
    pub url: Option<String>,
    /// As given in the input (ISO 8601 dates are compared lexically by later stages).
    pub date: Option<String>,
    /// The document's title (an HTML `<title>`, or a JSONL field).
    pub title: Option<String>,
    /// Where the document came from.
    pub source: Source,
    /// Its language as the input states it (a code language identification reports, such
    /// as `en` or `und`): when set, prepare takes it instead of identifying the language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// How the text was made from the file, when it is not the file's bytes as they are
    /// (`html`, `windows-1252`, `html, windows-1252`, `utf-8, lossy`, ...): evidence offsets
    /// are then into this text, which the scan writes out (`texts.jsonl`). `None` for a
    /// UTF-8 file read as it is and for a JSONL record's text field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_from: Option<String>,
}

/// Where a document came from: a file, and for a JSONL record its line. Shown as `file` or
/// `file:line`. The name is shared by all the documents of a file (one allocation a file,
/// not one a document). Serialised as `{"file": ..., "line": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The file's path as given (or a name standing for a stream, such as `<stdin>`).
    pub file: Arc<str>,
    /// Line of a JSONL record (from 1); 0 for a document that is a whole file.
    pub line: usize,
}

impl Source {
    /// A whole file (or a name standing for one).
    pub fn file(name: impl Into<Arc<str>>) -> Self {
        Source {
            file: name.into(),
            line: 0,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}", self.file),
            n => write!(f, "{}:{n}", self.file),
        }
    }
}

/// One input document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Unique within a run.
    pub id: String,
    /// The original text (valid UTF-8; invalid input was decoded lossily, with a warning).
    pub text: String,
    /// Its metadata.
    pub meta: Meta,
}

impl Document {
    /// A document with no metadata beyond its source.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        let id = id.into();
        Document {
            meta: Meta {
                source: Source::file(id.as_str()),
                ..Meta::default()
            },
            id,
            text: text.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_shows_its_file_and_line() {
        let f: Arc<str> = "in/docs.jsonl".into();
        let s = Source {
            file: f.clone(),
            line: 3,
        };
        assert_eq!(s.to_string(), "in/docs.jsonl:3");
        assert_eq!(Source::file("site/a.html").to_string(), "site/a.html");
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(json, r#"{"file":"in/docs.jsonl","line":3}"#);
        let back: Source = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, s);
        // The name is shared, not copied.
        assert!(Arc::ptr_eq(&s.file, &f));
    }
}
