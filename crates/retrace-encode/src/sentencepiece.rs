//! SentencePiece `.model` files: a minimal protobuf reader for `ModelProto`, the normaliser
//! (the precompiled darts-clone character map of e.g. `nmt_nfkc`, dummy prefix, whitespace
//! escaping and squeezing, exactly as `normalizer.cc` does it) and a tokenizer that chains
//! the normaliser with the [`Unigram`] segmenter.

use std::cell::RefCell;
use std::path::Path;

use thiserror::Error;

use crate::unigram::{Piece, PieceKind, Unigram, UnigramError, UnigramOptions};

/// The whitespace escape symbol, U+2581 LOWER ONE EIGHTH BLOCK.
pub const SPACE_SYMBOL: &str = "\u{2581}";

/// Errors reading a SentencePiece model.
#[derive(Debug, Error)]
pub enum SentencePieceError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid `ModelProto`.
    #[error("malformed sentencepiece model: {0}")]
    Malformed(&'static str),
    /// The model is not a unigram model.
    #[error("unsupported sentencepiece model type {0} (only unigram is supported)")]
    Unsupported(u64),
    /// The vocabulary was rejected.
    #[error(transparent)]
    Vocab(#[from] UnigramError),
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/// A field value of the protobuf wire format.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
    Fixed64,
}

/// Iterates over `(field number, value)` of one protobuf message.
struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(data: &'a [u8]) -> Self {
        Fields { data, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, SentencePieceError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.pos)
                .ok_or(SentencePieceError::Malformed("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SentencePieceError::Malformed("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SentencePieceError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(SentencePieceError::Malformed("truncated field"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn next_field(&mut self) -> Option<Result<(u64, Value<'a>), SentencePieceError>> {
        if self.pos >= self.data.len() {
            return None;
        }
        Some(self.read_field())
    }

    fn read_field(&mut self) -> Result<(u64, Value<'a>), SentencePieceError> {
        let tag = self.varint()?;
        let field = tag >> 3;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n = usize::try_from(self.varint()?)
                    .map_err(|_| SentencePieceError::Malformed("field too long"))?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            _ => return Err(SentencePieceError::Malformed("unsupported wire type")),
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), SentencePieceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_field()
    }
}

/// The parts of a `ModelProto` this crate uses.
#[derive(Debug, Clone)]
pub struct ModelProto {
    pub pieces: Vec<Piece>,
    pub byte_fallback: bool,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl ModelProto {
    /// Parses a serialized `ModelProto`.
    pub fn parse(data: &[u8]) -> Result<Self, SentencePieceError> {
        let mut m = ModelProto {
            pieces: Vec::new(),
            byte_fallback: false,
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        };
        for f in Fields::new(data) {
            match f? {
                (1, Value::Bytes(b)) => m.pieces.push(parse_piece(b)?),
                (2, Value::Bytes(b)) => {
                    // TrainerSpec: model_type = 3 (1 = unigram), byte_fallback = 35.
                    for f in Fields::new(b) {
                        match f? {
                            (3, Value::Varint(t)) if t != 1 => {
                                return Err(SentencePieceError::Unsupported(t))
                            }
                            (35, Value::Varint(v)) => m.byte_fallback = v != 0,
                            _ => {}
                        }
                    }
                }
                (3, Value::Bytes(b)) => {
                    // NormalizerSpec.
                    for f in Fields::new(b) {
                        match f? {
                            (2, Value::Bytes(c)) => m.precompiled_charsmap = c.to_vec(),
                            (3, Value::Varint(v)) => m.add_dummy_prefix = v != 0,
                            (4, Value::Varint(v)) => m.remove_extra_whitespaces = v != 0,
                            (5, Value::Varint(v)) => m.escape_whitespaces = v != 0,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if m.pieces.is_empty() {
            return Err(SentencePieceError::Malformed("no pieces"));
        }
        Ok(m)
    }
}

fn parse_piece(data: &[u8]) -> Result<Piece, SentencePieceError> {
    let mut piece = Piece::new(String::new(), 0.0, PieceKind::Normal);
    for f in Fields::new(data) {
        match f? {
            (1, Value::Bytes(b)) => {
                piece.text = std::str::from_utf8(b)
                    .map_err(|_| SentencePieceError::Malformed("piece is not UTF-8"))?
                    .to_string()
            }
            (2, Value::Fixed32(bits)) => piece.score = f32::from_bits(bits),
            (3, Value::Varint(t)) => piece.kind = PieceKind::from_proto(t),
            _ => {}
        }
    }
    Ok(piece)
}

// ---------------------------------------------------------------------------------------------
// Normaliser

/// The SentencePiece normaliser (see `normalizer.cc`).
#[derive(Debug, Clone)]
pub struct Normalizer {
    /// darts-clone double-array units.
    units: Vec<u32>,
    /// NUL-terminated replacement strings, indexed by trie value.
    replacements: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

#[inline]
fn unit_offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
}

impl Normalizer {
    /// Builds a normaliser from a precompiled character map (empty: identity) and flags.
    pub fn new(
        charsmap: &[u8],
        add_dummy_prefix: bool,
        remove_extra_whitespaces: bool,
        escape_whitespaces: bool,
    ) -> Result<Self, SentencePieceError> {
        let (units, replacements) = if charsmap.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let head = charsmap
                .get(..4)
                .ok_or(SentencePieceError::Malformed("charsmap too short"))?;
            let trie_size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let trie = charsmap
                .get(4..4 + trie_size)
                .filter(|t| t.len() % 4 == 0)
                .ok_or(SentencePieceError::Malformed("charsmap trie truncated"))?;
            let units = trie
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (units, charsmap[4 + trie_size..].to_vec())
        };
        Ok(Normalizer {
            units,
            replacements,
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces,
        })
    }

    /// Longest charsmap match at the start of `input`: (replacement, consumed bytes), or the
    /// first character unchanged when nothing matches. `input` must be non-empty.
    #[inline]
    fn normalize_prefix<'a>(&'a self, input: &'a [u8]) -> (&'a [u8], usize) {
        let mut best_len = 0;
        let mut best_value = 0usize;
        if let Some(&root) = self.units.first() {
            let mut node = unit_offset(root);
            for (i, &c) in input.iter().enumerate() {
                node ^= c as usize;
                let Some(&unit) = self.units.get(node) else {
                    break;
                };
                if unit & 0x8000_00FF != u32::from(c) {
                    break;
                }
                node ^= unit_offset(unit);
                if unit & 0x100 != 0 {
                    if let Some(&leaf) = self.units.get(node) {
                        best_len = i + 1;
                        best_value = (leaf & 0x7FFF_FFFF) as usize;
                    }
                }
            }
        }
        if best_len > 0 && best_value < self.replacements.len() {
            let rest = &self.replacements[best_value..];
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            return (&rest[..end], best_len);
        }
        // No match: copy one UTF-8 character (input comes from a &str, so it is valid).
        let len = match input[0] {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        }
        .min(input.len());
        (&input[..len], len)
    }

    /// Normalises `text` into `out` (cleared first).
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        out.clear();
        let mut buf = std::mem::take(out).into_bytes();
        let mut input = text.as_bytes();
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (p, n) = self.normalize_prefix(input);
                if p != b" " {
                    break;
                }
                input = &input[n..];
            }
        }
        if !input.is_empty() {
            let space: &[u8] = if self.escape_whitespaces {
                SPACE_SYMBOL.as_bytes()
            } else {
                b" "
            };
            if self.add_dummy_prefix {
                buf.extend_from_slice(space);
            }
            let mut is_prev_space = self.remove_extra_whitespaces;
            while !input.is_empty() {
                let (mut p, n) = self.normalize_prefix(input);
                input = &input[n..];
                if is_prev_space && self.remove_extra_whitespaces {
                    while let [b' ', rest @ ..] = p {
                        p = rest;
                    }
                }
                if let Some(&last) = p.last() {
                    for &b in p {
                        if b == b' ' {
                            buf.extend_from_slice(space);
                        } else {
                            buf.push(b);
                        }
                    }
                    is_prev_space = last == b' ';
                }
            }
            if self.remove_extra_whitespaces {
                while buf.ends_with(space) {
                    buf.truncate(buf.len() - space.len());
                }
            }
        }
        // The charsmap's replacements are UTF-8 and whole characters are copied, so this holds;
        // fall back to a lossy conversion rather than panic on a corrupt map.
        *out = match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
    }

    /// Normalises `text` into a new string.
    pub fn normalize(&self, text: &str) -> String {
        let mut s = String::new();
        self.normalize_into(text, &mut s);
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

thread_local! {
    static NORMALIZED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A SentencePiece unigram tokenizer: normaliser + segmenter, as the C++ `SentencePieceProcessor`.
#[derive(Debug, Clone)]
pub struct SentencePiece {
    normalizer: Normalizer,
    unigram: Unigram,
    bos_id: Option<u32>,
    eos_id: Option<u32>,
}

impl SentencePiece {
    /// Reads a `.model` file.
    pub fn load(path: &Path) -> Result<Self, SentencePieceError> {
        let data = std::fs::read(path).map_err(|source| SentencePieceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&data)
    }

    /// Parses a serialized `ModelProto`.
    pub fn from_bytes(data: &[u8]) -> Result<Self, SentencePieceError> {
        let m = ModelProto::parse(data)?;
        let normalizer = Normalizer::new(
            &m.precompiled_charsmap,
            m.add_dummy_prefix,
            m.remove_extra_whitespaces,
            m.escape_whitespaces,
        )?;
        let unk_id = m
            .pieces
            .iter()
            .position(|p| p.kind == PieceKind::Unknown)
            .ok_or(SentencePieceError::Malformed("no unknown piece"))? as u32;
        let mut options = UnigramOptions::new(unk_id);
        options.byte_fallback = m.byte_fallback;
        let unigram = Unigram::with_pieces(m.pieces, options)?;
        let control = |name: &str| {
            unigram
                .piece_to_id(name)
                .filter(|&id| unigram.piece(id).map(|p| p.kind) == Some(PieceKind::Control))
        };
        let bos_id = control("<s>");
        let eos_id = control("</s>");
        Ok(SentencePiece {
            normalizer,
            unigram,
            bos_id,
            eos_id,
        })
    }

    /// The normaliser.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The segmenter.
    pub fn unigram(&self) -> &Unigram {
        &self.unigram
    }

    /// Id of `<s>`, if the model has it.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos_id
    }

    /// Id of `</s>`, if the model has it.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos_id
    }

    /// Appends the piece ids of `text` to `out`, optionally framed by BOS/EOS (as
    /// `sp.encode(text, add_bos=..., add_eos=...)`). Empty or all-space text gives no piece.
    pub fn encode(&self, text: &str, add_bos: bool, add_eos: bool, out: &mut Vec<u32>) {
        if add_bos {
            out.extend(self.bos_id);
        }
        NORMALIZED.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => {
                self.normalizer.normalize_into(text, &mut s);
                self.unigram.encode(&s, out);
            }
            Err(_) => self.unigram.encode(&self.normalizer.normalize(text), out),
        });
        if add_eos {
            out.extend(self.eos_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Normalizer {
        Normalizer::new(&[], true, true, true).expect("identity normaliser")
    }

    #[test]
    fn squeezes_and_escapes_whitespace() {
        let n = plain();
        assert_eq!(n.normalize("  a  b   c "), "▁a▁b▁c");
        assert_eq!(n.normalize("a"), "▁a");
        assert_eq!(n.normalize(""), "");
        assert_eq!(n.normalize("    "), "");
        let keep = Normalizer::new(&[], false, false, true).expect("normaliser");
        assert_eq!(keep.normalize(" a  b "), "▁a▁▁b▁");
    }

    #[test]
    fn rejects_truncated_models() {
        assert!(ModelProto::parse(&[0x0A, 0x05, 0x0A]).is_err());
        assert!(ModelProto::parse(&[]).is_err());
        assert!(Normalizer::new(&[9, 0, 0, 0, 1], true, true, true).is_err());
    }

    #[test]
    fn parses_a_tiny_model() {
        // Three pieces: <unk> (type 2), <s> (3), "▁a" score -1.
        fn piece(text: &str, score: f32, kind: u8) -> Vec<u8> {
            let mut p = vec![0x0A, text.len() as u8];
            p.extend_from_slice(text.as_bytes());
            p.push(0x15);
            p.extend_from_slice(&score.to_le_bytes());
            p.extend_from_slice(&[0x18, kind]);
            let mut f = vec![0x0A, p.len() as u8];
            f.extend(p);
            f
        }
        let mut data = piece("<unk>", 0.0, 2);
        data.extend(piece("<s>", 0.0, 3));
        data.extend(piece("▁a", -1.0, 1));
        let sp = SentencePiece::from_bytes(&data).expect("tiny model");
        let mut out = Vec::new();
        sp.encode("  a  ", true, false, &mut out);
        assert_eq!(out, vec![1, 2]);
        out.clear();
        sp.encode("a b", false, false, &mut out);
        assert_eq!(out, vec![2, 0]);
        out.clear();
        sp.encode("", true, true, &mut out);
        assert_eq!(out, vec![1]);
    }
}
