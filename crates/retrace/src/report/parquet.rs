//! Parquet output (feature `parquet`): `pairs.parquet`, `evidence.parquet` and
//! `documents.parquet`, the same records as the JSON Lines files in columns (README,
//! "Outputs"): pairs in id order, a row per pair with its passage count; evidence a row per
//! passage, keyed by the pair's ids and the passage's place in it; documents in input
//! order, `boilerplate_lines` a list of strings. One row group a file, no compression.
//!
//! Input: a [`Scan`]; output: the files.

use super::{doc_out, pair_out, DocOut, PairOut};
use crate::pipeline::Scan;
use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// A Parquet file that could not be written.
#[derive(Debug, Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct ParquetError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: ::parquet::errors::ParquetError,
}

/// One column's values, with definition and repetition levels where the column has them.
enum Column {
    Str(Vec<ByteArray>, Option<Vec<i16>>, Option<Vec<i16>>),
    F64(Vec<f64>, Option<Vec<i16>>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    Bool(Vec<bool>, Option<Vec<i16>>),
}

fn strs<'a>(v: impl Iterator<Item = &'a str>) -> Column {
    Column::Str(v.map(ByteArray::from).collect(), None, None)
}

fn opt_strs<'a>(v: impl Iterator<Item = Option<&'a str>>) -> Column {
    let (mut vals, mut defs) = (Vec::new(), Vec::new());
    for x in v {
        defs.push(i16::from(x.is_some()));
        if let Some(s) = x {
            vals.push(ByteArray::from(s));
        }
    }
    Column::Str(vals, Some(defs), None)
}

fn opt_f64(v: impl Iterator<Item = Option<f64>>) -> Column {
    let (mut vals, mut defs) = (Vec::new(), Vec::new());
    for x in v {
        defs.push(i16::from(x.is_some()));
        vals.extend(x);
    }
    Column::F64(vals, Some(defs))
}

/// Write `columns` (in the schema's order) as one row group of `path`.
fn write(path: &Path, schema: &str, columns: Vec<Column>) -> Result<(), ParquetError> {
    let err = |source| ParquetError {
        path: path.into(),
        source,
    };
    let io = |e: std::io::Error| err(::parquet::errors::ParquetError::External(Box::new(e)));
    let schema = Arc::new(parse_message_type(schema).map_err(err)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_created_by(format!("retrace {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let file = fs::File::create(path).map_err(io)?;
    let mut w = SerializedFileWriter::new(file, schema, props).map_err(err)?;
    let mut rg = w.next_row_group().map_err(err)?;
    let mut columns = columns.into_iter();
    while let Some(mut col) = rg.next_column().map_err(err)? {
        let Some(data) = columns.next() else {
            return Err(err(::parquet::errors::ParquetError::General(
                "fewer columns than the schema has".into(),
            )));
        };
        match data {
            Column::Str(v, d, r) => {
                col.typed::<ByteArrayType>()
                    .write_batch(&v, d.as_deref(), r.as_deref())
            }
            Column::F64(v, d) => col
                .typed::<DoubleType>()
                .write_batch(&v, d.as_deref(), None),
            Column::I64(v) => col.typed::<Int64Type>().write_batch(&v, None, None),
            Column::I32(v) => col.typed::<Int32Type>().write_batch(&v, None, None),
            Column::Bool(v, d) => col.typed::<BoolType>().write_batch(&v, d.as_deref(), None),
        }
        .map_err(err)?;
        col.close().map_err(err)?;
    }
    rg.close().map_err(err)?;
    w.close().map_err(err)?;
    Ok(())
}

const PAIRS: &str = "message pairs {
  required binary a (UTF8);
  required binary b (UTF8);
  required binary kind (UTF8);
  required double coverage_a;
  required double coverage_b;
  required double density;
  required double score;
  optional double similarity;
  optional double shared_entities;
  required int32 passages;
}";

const EVIDENCE: &str = "message evidence {
  required binary a (UTF8);
  required binary b (UTF8);
  required int32 passage;
  required int64 a_start;
  required int64 a_end;
  required int64 b_start;
  required int64 b_end;
  required double score;
  required int32 matched_tokens;
}";

const DOCUMENTS: &str = "message documents {
  required binary id (UTF8);
  required binary lang (UTF8);
  required int64 chars;
  required int64 main_chars;
  required int64 tokens;
  required int64 sentences;
  repeated binary boilerplate_lines (UTF8);
  optional boolean encoder_covered;
  optional binary encoder (UTF8);
  optional binary story (UTF8);
  optional binary parent (UTF8);
  optional binary why (UTF8);
  optional binary duplicate_of (UTF8);
  optional binary url (UTF8);
  optional binary date (UTF8);
  optional binary dated (UTF8);
  optional binary title (UTF8);
}";

/// Write `pairs.parquet`, `evidence.parquet` and `documents.parquet` into `dir`.
pub fn write_parquet(scan: &Scan, dir: &Path) -> Result<(), ParquetError> {
    let mut pairs: Vec<PairOut<'_>> = scan.relations.iter().map(|r| pair_out(scan, r)).collect();
    pairs.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)));
    write(
        &dir.join("pairs.parquet"),
        PAIRS,
        vec![
            strs(pairs.iter().map(|p| p.a)),
            strs(pairs.iter().map(|p| p.b)),
            strs(pairs.iter().map(|p| p.kind)),
            Column::F64(pairs.iter().map(|p| p.coverage_a).collect(), None),
            Column::F64(pairs.iter().map(|p| p.coverage_b).collect(), None),
            Column::F64(pairs.iter().map(|p| p.density).collect(), None),
            Column::F64(pairs.iter().map(|p| p.score).collect(), None),
            opt_f64(pairs.iter().map(|p| p.similarity)),
            opt_f64(pairs.iter().map(|p| p.shared_entities)),
            Column::I32(pairs.iter().map(|p| p.evidence.len() as i32).collect()),
        ],
    )?;
    let rows: Vec<(&PairOut<'_>, usize)> = pairs
        .iter()
        .flat_map(|p| (0..p.evidence.len()).map(move |i| (p, i)))
        .collect();
    let ev = |f: fn(&super::EvidenceOut) -> i64| -> Column {
        Column::I64(rows.iter().map(|(p, i)| f(&p.evidence[*i])).collect())
    };
    write(
        &dir.join("evidence.parquet"),
        EVIDENCE,
        vec![
            strs(rows.iter().map(|(p, _)| p.a)),
            strs(rows.iter().map(|(p, _)| p.b)),
            Column::I32(rows.iter().map(|(_, i)| *i as i32).collect()),
            ev(|e| e.a[0] as i64),
            ev(|e| e.a[1] as i64),
            ev(|e| e.b[0] as i64),
            ev(|e| e.b[1] as i64),
            Column::F64(
                rows.iter().map(|(p, i)| p.evidence[*i].score).collect(),
                None,
            ),
            Column::I32(
                rows.iter()
                    .map(|(p, i)| p.evidence[*i].matched_tokens as i32)
                    .collect(),
            ),
        ],
    )?;
    let dups = scan.duplicate_of();
    let docs: Vec<DocOut<'_>> = (0..scan.len()).map(|i| doc_out(scan, &dups, i)).collect();
    // A repeated column: a row's first value at repetition level 0, the rest at 1; an
    // empty list is one level pair (definition 0) without a value.
    let (mut lines, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
    for d in &docs {
        if d.boilerplate_lines.is_empty() {
            defs.push(0);
            reps.push(0);
        }
        for (j, l) in d.boilerplate_lines.iter().enumerate() {
            lines.push(ByteArray::from(*l));
            defs.push(1);
            reps.push(i16::from(j > 0));
        }
    }
    let (mut covered, mut covered_defs) = (Vec::new(), Vec::new());
    for d in &docs {
        covered_defs.push(i16::from(d.encoder_covered.is_some()));
        covered.extend(d.encoder_covered);
    }
    write(
        &dir.join("documents.parquet"),
        DOCUMENTS,
        vec![
            strs(docs.iter().map(|d| d.id)),
            strs(docs.iter().map(|d| d.lang)),
            Column::I64(docs.iter().map(|d| d.chars as i64).collect()),
            Column::I64(docs.iter().map(|d| i64::from(d.main_chars)).collect()),
            Column::I64(docs.iter().map(|d| i64::from(d.tokens)).collect()),
            Column::I64(docs.iter().map(|d| d.sentences as i64).collect()),
            Column::Str(lines, Some(defs), Some(reps)),
            Column::Bool(covered, Some(covered_defs)),
            opt_strs(docs.iter().map(|d| d.encoder)),
            opt_strs(docs.iter().map(|d| d.story)),
            opt_strs(docs.iter().map(|d| d.parent)),
            opt_strs(docs.iter().map(|d| d.why)),
            opt_strs(docs.iter().map(|d| d.duplicate_of)),
            opt_strs(docs.iter().map(|d| d.url)),
            opt_strs(docs.iter().map(|d| d.date)),
            opt_strs(docs.iter().map(|d| d.dated.as_deref())),
            opt_strs(docs.iter().map(|d| d.title)),
        ],
    )
}
