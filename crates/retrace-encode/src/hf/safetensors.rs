//! A reader for the safetensors format (an 8-byte little-endian header length, a JSON header
//! naming each tensor's dtype, shape and byte range, then the data), memory-mapped, with
//! F32 / F16 / BF16 tensors converted to f32 on request. Several files (sharded checkpoints)
//! can be opened together.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::Deserialize;

use super::HfError;
use crate::e5::q4::{bf16_to_f32, f16_to_f32};

#[derive(Debug, Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// One tensor's place in a file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub dtype: String,
    pub shape: Vec<usize>,
    file: usize,
    start: usize,
    end: usize,
}

/// The tensors of one or more safetensors files.
pub struct SafeTensors {
    maps: Vec<(PathBuf, Mmap)>,
    tensors: HashMap<String, TensorInfo>,
}

impl SafeTensors {
    /// Open every file in `paths`; a tensor name found twice is an error.
    pub fn open(paths: &[PathBuf]) -> Result<Self, HfError> {
        let mut maps = Vec::new();
        let mut tensors = HashMap::new();
        for path in paths {
            let file = std::fs::File::open(path).map_err(|e| HfError::io(path, e))?;
            // SAFETY: memmap2 maps the file read-only (PROT_READ, MAP_SHARED); the hazard it
            // documents is the file being modified or truncated by someone else while mapped,
            // which would change (or unmap) the bytes behind the `&[u8]` this map derefs to.
            // The map lives only while the encoder loads (every tensor is copied out into a
            // Vec and `SafeTensors` is dropped at the end of `HfEncoder::open`), so the model
            // directory must merely not be rewritten in place during that load, as with any
            // memory-mapped reader of checkpoints. All reads are bounds-checked against the
            // map's length.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| HfError::io(path, e))?;
            let bad = |why: String| HfError::Safetensors {
                path: path.display().to_string(),
                reason: why,
            };
            if map.len() < 8 {
                return Err(bad("shorter than its 8-byte header length".into()));
            }
            let mut n = [0u8; 8];
            n.copy_from_slice(&map[..8]);
            let n = usize::try_from(u64::from_le_bytes(n))
                .ok()
                .filter(|&n| n <= map.len() - 8)
                .ok_or_else(|| bad("header length exceeds the file".into()))?;
            let header: HashMap<String, serde_json::Value> = serde_json::from_slice(&map[8..8 + n])
                .map_err(|e| bad(format!("header is not JSON: {e}")))?;
            let data_start = 8 + n;
            let idx = maps.len();
            for (name, v) in header {
                if name == "__metadata__" {
                    continue;
                }
                let raw: RawEntry =
                    serde_json::from_value(v).map_err(|e| bad(format!("tensor {name}: {e}")))?;
                let [a, b] = raw.data_offsets;
                let (start, end) = (data_start.saturating_add(a), data_start.saturating_add(b));
                if a > b || end > map.len() {
                    return Err(bad(format!("tensor {name} lies outside the file")));
                }
                if tensors.contains_key(&name) {
                    return Err(bad(format!("tensor {name} appears in two files")));
                }
                tensors.insert(
                    name,
                    TensorInfo {
                        dtype: raw.dtype,
                        shape: raw.shape,
                        file: idx,
                        start,
                        end,
                    },
                );
            }
            maps.push((path.clone(), map));
        }
        Ok(SafeTensors { maps, tensors })
    }

    /// Names of all tensors.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// Tensor `name` as f32, checking that its shape is `shape`.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, HfError> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| HfError::MissingTensor(name.to_string()))?;
        let (path, map) = &self.maps[t.file];
        let bad = |why: String| HfError::Safetensors {
            path: path.display().to_string(),
            reason: format!("tensor {name}: {why}"),
        };
        if t.shape != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", t.shape)));
        }
        let count: usize = shape.iter().product();
        let bytes = &map[t.start..t.end];
        let width = match t.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => return Err(bad(format!("unsupported dtype {other}"))),
        };
        if bytes.len() != count * width {
            return Err(bad(format!(
                "{} bytes for {count} {} values",
                bytes.len(),
                t.dtype
            )));
        }
        Ok(match t.dtype.as_str() {
            "F32" => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            "F16" => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        })
    }
}

/// The safetensors files of a model directory, sorted by name.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, HfError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| HfError::io(dir, e))? {
        let path = entry.map_err(|e| HfError::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
