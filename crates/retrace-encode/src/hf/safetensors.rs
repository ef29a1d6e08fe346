//! A reader for the safetensors format (an 8-byte little-endian header length, a JSON header
//! naming each tensor's dtype, shape and byte range, then the data), memory-mapped, with
//! F32 / F16 / BF16 tensors converted to f32 on request. Several files (sharded checkpoints)
//! can be opened together, or read from buffers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::Deserialize;

use super::HfError;
use crate::bytes::FileBytes;
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
    maps: Vec<(PathBuf, FileBytes)>,
    tensors: HashMap<String, TensorInfo>,
}

impl SafeTensors {
    /// Open every file in `paths`; a tensor name found twice is an error.
    pub fn open(paths: &[PathBuf]) -> Result<Self, HfError> {
        let mut files = Vec::new();
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
            files.push((path.clone(), FileBytes::Map(map)));
        }
        Self::index(files)
    }

    /// Read safetensors files held in memory (each with the name used in errors), as
    /// [`SafeTensors::open`] reads files; a tensor name found twice is an error.
    pub fn from_bytes(files: Vec<(PathBuf, Vec<u8>)>) -> Result<Self, HfError> {
        Self::index(
            files
                .into_iter()
                .map(|(p, b)| (p, FileBytes::Owned(b)))
                .collect(),
        )
    }

    /// Parse the header of every file.
    fn index(files: Vec<(PathBuf, FileBytes)>) -> Result<Self, HfError> {
        let mut maps = Vec::new();
        let mut tensors = HashMap::new();
        for (path, map) in files {
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
            maps.push((path, map));
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
        let bytes = &map[t.start..t.end];
        let width = match t.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => return Err(bad(format!("unsupported dtype {other}"))),
        };
        // (A corrupt shape's product may not fit a usize: then it fits no file either.)
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if count.and_then(|n| n.checked_mul(width)) != Some(bytes.len()) {
            let count = count.map_or("too many".to_string(), |n| n.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_tensors_from_bytes() {
        let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                    "b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}"#;
        let mut data = [1.5f32, -2.0].map(f32::to_le_bytes).concat();
        data.extend_from_slice(&[0x80, 0x3f]);
        let st = SafeTensors::from_bytes(vec![("x.safetensors".into(), file(h, &data))])
            .expect("parses");
        assert_eq!(st.f32("a", &[2]).unwrap(), vec![1.5, -2.0]);
        assert_eq!(st.f32("b", &[1]).unwrap(), vec![1.0]);
        assert!(st.f32("a", &[3]).is_err());
    }

    #[test]
    fn a_shape_too_large_for_a_usize_is_an_error() {
        // A shape whose product overflows (a panic with overflow checks, a wrapped count
        // without) is an error naming the tensor.
        let big = 1u64 << 33;
        let h = format!(r#"{{"x":{{"dtype":"F32","shape":[{big},{big}],"data_offsets":[0,0]}}}}"#);
        let st =
            SafeTensors::from_bytes(vec![("x.safetensors".into(), file(&h, &[]))]).expect("parses");
        let shape = st.shape("x").unwrap().to_vec();
        let e = st.f32("x", &shape).unwrap_err().to_string();
        assert!(e.contains("tensor x"), "{e}");
    }
}
