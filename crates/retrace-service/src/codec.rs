//! The binary records of a segment's documents and relations: little-endian integers,
//! `f64`/`f32` as their bits (so a value reads back exactly as it was written), strings as
//! a `u32` byte length and their UTF-8 bytes, an optional value as a `0`/`1` byte and the
//! value. Written and read only here; a segment keeps a table of each record's offset.
//!
//! | record | fields, in order |
//! | --- | --- |
//! | document | id, text, url?, date?, title?, source file, source line (`u64`), lang?, text_from? |
//! | relation | a, b (`u32`), kind (`u8`: copy 0, rewrite 1, translation 2, same_story 3), coverage_a, coverage_b, score, density (`f64`), similarity?, shared_entities? (`f64`), passages (`u32` count), each: tokens_a, tokens_b, a, b (`u32` start, end), matched (`u32`), score (`f32`) |

use retrace::document::{Meta, Source};
use retrace::relate::Kind;
use retrace::{DocId, Document, Passage, Relation};

fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(&x.to_bits().to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

fn put_opt_f64(out: &mut Vec<u8>, x: Option<f64>) {
    match x {
        Some(x) => {
            out.push(1);
            put_f64(out, x);
        }
        None => out.push(0),
    }
}

fn put_range(out: &mut Vec<u8>, r: &std::ops::Range<u32>) {
    put_u32(out, r.start);
    put_u32(out, r.end);
}

/// Append document `d`'s record to `out`.
pub(crate) fn put_document(out: &mut Vec<u8>, d: &Document) {
    put_str(out, &d.id);
    put_str(out, &d.text);
    let m = &d.meta;
    put_opt_str(out, m.url.as_deref());
    put_opt_str(out, m.date.as_deref());
    put_opt_str(out, m.title.as_deref());
    put_str(out, &m.source.file);
    out.extend_from_slice(&(m.source.line as u64).to_le_bytes());
    put_opt_str(out, m.lang.as_deref());
    put_opt_str(out, m.text_from.as_deref());
}

fn kind_code(k: Kind) -> u8 {
    match k {
        Kind::Copy => 0,
        Kind::Rewrite => 1,
        Kind::Translation => 2,
        Kind::SameStory => 3,
    }
}

/// Append relation `r`'s record to `out`.
pub(crate) fn put_relation(out: &mut Vec<u8>, r: &Relation) {
    put_u32(out, r.a.0);
    put_u32(out, r.b.0);
    out.push(kind_code(r.kind));
    put_f64(out, r.coverage_a);
    put_f64(out, r.coverage_b);
    put_f64(out, r.score);
    put_f64(out, r.density);
    put_opt_f64(out, r.similarity);
    put_opt_f64(out, r.shared_entities);
    put_u32(out, r.evidence.len() as u32);
    for p in &r.evidence {
        put_range(out, &p.tokens_a);
        put_range(out, &p.tokens_b);
        put_range(out, &p.a);
        put_range(out, &p.b);
        put_u32(out, p.matched);
        out.extend_from_slice(&p.score.to_bits().to_le_bytes());
    }
}

/// Reads one record's fields in order; every read says what was missing or malformed.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(format!(
                "record ends at byte {} before its {what}",
                self.b.len()
            ));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let mut x = [0u8; 8];
        x.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(x))
    }

    fn f64(&mut self, what: &str) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64(what)?))
    }

    fn str(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.u32(what)? as usize;
        let s = self.take(n, what)?;
        std::str::from_utf8(s).map_err(|e| format!("{what}: {e}"))
    }

    fn flag(&mut self, what: &str) -> Result<bool, String> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            x => Err(format!("{what}: presence byte {x}")),
        }
    }

    fn opt_str(&mut self, what: &str) -> Result<Option<String>, String> {
        Ok(match self.flag(what)? {
            true => Some(self.str(what)?.to_string()),
            false => None,
        })
    }

    fn opt_f64(&mut self, what: &str) -> Result<Option<f64>, String> {
        Ok(match self.flag(what)? {
            true => Some(self.f64(what)?),
            false => None,
        })
    }

    fn range(&mut self, what: &str) -> Result<std::ops::Range<u32>, String> {
        Ok(self.u32(what)?..self.u32(what)?)
    }

    /// The record must end here.
    fn end(&self) -> Result<(), String> {
        match self.b.len() - self.at {
            0 => Ok(()),
            n => Err(format!("{n} bytes past the end of the record")),
        }
    }
}

/// The document a record holds.
pub(crate) fn document(b: &[u8]) -> Result<Document, String> {
    let mut r = Reader { b, at: 0 };
    let id = r.str("id")?.to_string();
    let text = r.str("text")?.to_string();
    let url = r.opt_str("url")?;
    let date = r.opt_str("date")?;
    let title = r.opt_str("title")?;
    let file: std::sync::Arc<str> = r.str("source file")?.into();
    let line = usize::try_from(r.u64("source line")?).map_err(|e| format!("source line: {e}"))?;
    let lang = r.opt_str("lang")?;
    let text_from = r.opt_str("text_from")?;
    r.end()?;
    Ok(Document {
        id,
        text,
        meta: Meta {
            url,
            date,
            title,
            source: Source { file, line },
            lang,
            text_from,
        },
    })
}

/// The relation a record holds.
pub(crate) fn relation(b: &[u8]) -> Result<Relation, String> {
    let mut r = Reader { b, at: 0 };
    let a = DocId(r.u32("a")?);
    let b_ = DocId(r.u32("b")?);
    let kind = match r.u8("kind")? {
        0 => Kind::Copy,
        1 => Kind::Rewrite,
        2 => Kind::Translation,
        3 => Kind::SameStory,
        x => return Err(format!("kind {x}")),
    };
    let coverage_a = r.f64("coverage_a")?;
    let coverage_b = r.f64("coverage_b")?;
    let score = r.f64("score")?;
    let density = r.f64("density")?;
    let similarity = r.opt_f64("similarity")?;
    let shared_entities = r.opt_f64("shared_entities")?;
    let n = r.u32("passage count")? as usize;
    // Each passage takes 40 bytes: a count the record cannot hold is corrupt, not a reason
    // to reserve memory.
    if n > (b.len() - r.at) / 40 {
        return Err(format!("{n} passages in {} bytes", b.len() - r.at));
    }
    let mut evidence = Vec::with_capacity(n);
    for _ in 0..n {
        evidence.push(Passage {
            tokens_a: r.range("passage tokens_a")?,
            tokens_b: r.range("passage tokens_b")?,
            a: r.range("passage a")?,
            b: r.range("passage b")?,
            matched: r.u32("passage matched")?,
            score: f32::from_bits(r.u32("passage score")?),
        });
    }
    r.end()?;
    Ok(Relation {
        a,
        b: b_,
        kind,
        coverage_a,
        coverage_b,
        score,
        density,
        similarity,
        shared_entities,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_document() -> Document {
        Document {
            id: "a/é\"1".into(),
            text: "Ünïcode text\nwith \"quotes\" and \u{0}.".into(),
            meta: Meta {
                url: Some("https://example.org/a".into()),
                date: Some("2024-05-01".into()),
                title: Some("Title".into()),
                source: Source {
                    file: "in/docs.jsonl".into(),
                    line: 42,
                },
                lang: Some("de".into()),
                text_from: Some("html, windows-1252".into()),
            },
        }
    }

    fn full_relation() -> Relation {
        Relation {
            a: DocId(3),
            b: DocId(70_000),
            kind: Kind::Translation,
            coverage_a: 0.1 + 0.2,
            coverage_b: 1.0 / 3.0,
            score: f64::MIN_POSITIVE,
            density: 0.7400881057268722,
            similarity: Some(-0.25),
            shared_entities: None,
            evidence: vec![
                Passage {
                    tokens_a: 0..28,
                    tokens_b: 1..29,
                    a: 0..217,
                    b: 5..248,
                    matched: 18,
                    score: 0.631_578_9,
                },
                Passage {
                    tokens_a: 44..89,
                    tokens_b: 39..84,
                    a: 323..662,
                    b: 342..676,
                    matched: 31,
                    score: 0.875,
                },
            ],
        }
    }

    #[test]
    fn documents_and_relations_read_back_exactly() {
        for d in [full_document(), Document::new("x", "")] {
            let mut b = Vec::new();
            put_document(&mut b, &d);
            assert_eq!(document(&b).expect("reads back"), d);
        }
        let mut r = full_relation();
        for kind in [
            Kind::Copy,
            Kind::Rewrite,
            Kind::Translation,
            Kind::SameStory,
        ] {
            r.kind = kind;
            let mut b = Vec::new();
            put_relation(&mut b, &r);
            assert_eq!(b.len(), 4 + 4 + 1 + 32 + 9 + 1 + 4 + 2 * 40);
            let back = relation(&b).expect("reads back");
            assert_eq!(back, r);
            assert_eq!(back.coverage_a.to_bits(), r.coverage_a.to_bits());
        }
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let mut b = Vec::new();
        put_relation(&mut b, &full_relation());
        for n in 0..b.len() {
            assert!(relation(&b[..n]).is_err(), "truncated at {n}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(relation(&longer)
            .unwrap_err()
            .contains("past the end of the record"));
        let mut bad_kind = b.clone();
        bad_kind[8] = 9;
        assert_eq!(relation(&bad_kind).unwrap_err(), "kind 9");
        // A passage count the record cannot hold.
        let mut many = b[..b.len() - 80].to_vec();
        let at = many.len() - 4;
        many[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(relation(&many).unwrap_err().contains("passages in"));
        let mut d = Vec::new();
        put_document(&mut d, &full_document());
        for n in 0..d.len() {
            assert!(document(&d[..n]).is_err(), "truncated at {n}");
        }
        // Invalid UTF-8 in the id.
        let mut bad = d.clone();
        bad[4] = 0xff;
        assert!(document(&bad).unwrap_err().starts_with("id:"));
    }
}
