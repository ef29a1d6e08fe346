//! A small reader for NumPy `.npz` archives (zip of `.npy` files, stored or deflated):
//! little-endian `f4`, `f8`, `u1` and `i1` arrays in C order, which is all the model weights
//! use.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use thiserror::Error;

/// Errors reading an `.npz` archive.
#[derive(Debug, Error)]
pub enum NpzError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid zip archive: {source}")]
    Zip {
        path: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("array {name}: {reason}")]
    Array { name: String, reason: String },
    #[error("array {0} is missing")]
    Missing(String),
}

/// The element data of one array.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U8(Vec<u8>),
    I8(Vec<i8>),
}

/// One array: shape and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Data,
}

/// All arrays of an archive, by name (without `.npy`).
#[derive(Debug, Default)]
pub struct Npz {
    arrays: HashMap<String, Array>,
}

impl Npz {
    /// Reads every array of the archive at `path`.
    pub fn read(path: &Path) -> Result<Self, NpzError> {
        let p = path.display().to_string();
        let file = File::open(path).map_err(|source| NpzError::Io {
            path: p.clone(),
            source,
        })?;
        Self::from_reader(BufReader::new(file), &p)
    }

    /// Reads every array of an archive held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NpzError> {
        Self::from_reader(std::io::Cursor::new(bytes), "<bytes>")
    }

    /// Reads every array of the archive `r` (named `p` in errors).
    fn from_reader<R: Read + Seek>(r: R, p: &str) -> Result<Self, NpzError> {
        let p = p.to_string();
        let mut zip = zip::ZipArchive::new(r).map_err(|source| NpzError::Zip {
            path: p.clone(),
            source,
        })?;
        let mut arrays = HashMap::new();
        let mut bytes = Vec::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|source| NpzError::Zip {
                path: p.clone(),
                source,
            })?;
            let name = entry
                .name()
                .map_err(|source| NpzError::Zip {
                    path: p.clone(),
                    source,
                })?
                .trim_end_matches(".npy")
                .to_string();
            bytes.clear();
            // Reading to the end makes the zip crate check the entry's CRC-32.
            entry
                .read_to_end(&mut bytes)
                .map_err(|source| NpzError::Io {
                    path: format!("{p} ({name})"),
                    source,
                })?;
            let array = parse_npy(&bytes).map_err(|reason| NpzError::Array {
                name: name.clone(),
                reason,
            })?;
            arrays.insert(name, array);
        }
        Ok(Npz { arrays })
    }

    /// Removes and returns array `name`.
    pub fn take(&mut self, name: &str) -> Result<Array, NpzError> {
        self.arrays
            .remove(name)
            .ok_or_else(|| NpzError::Missing(name.to_string()))
    }

    /// Removes array `name` and checks it is `f32` with the given shape.
    pub fn f32(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, NpzError> {
        let a = self.take(name)?;
        let bad = |reason: String| NpzError::Array {
            name: name.to_string(),
            reason,
        };
        if a.shape != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", a.shape)));
        }
        match a.data {
            Data::F32(v) => Ok(v),
            other => Err(bad(format!("dtype {other:?} is not f32")
                .chars()
                .take(60)
                .collect())),
        }
    }

    /// Names of the arrays left.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arrays.keys().map(String::as_str)
    }
}

/// Parses one `.npy` file (format versions 1 to 3).
pub fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an .npy file".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated header")?;
    let descr = dict_value(header, "descr").ok_or("no descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if dict_value(header, "fortran_order").map(str::trim) != Some("False") {
        return Err("Fortran-order arrays are not supported".into());
    }
    let shape_text = dict_value(header, "shape").ok_or("no shape")?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape {shape_text}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    let need = |size: usize| -> Result<&[u8], String> {
        body.get(..count * size)
            .ok_or_else(|| format!("data truncated: {} bytes for {count} elements", body.len()))
    };
    let data = match descr {
        "<f4" => Data::F32(
            need(4)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        "<f8" => Data::F64(
            need(8)?
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        "|u1" => Data::U8(need(1)?.to_vec()),
        "|i1" => Data::I8(need(1)?.iter().map(|&b| b as i8).collect()),
        other => return Err(format!("unsupported dtype {other}")),
    };
    Ok(Array { shape, data })
}

/// The raw text of `key`'s value in a Python dict literal such as the `.npy` header.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn parses_arrays() {
        let body: Vec<u8> = [1.0f32, -2.5]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let a = parse_npy(&npy("<f4", "(2,)", &body)).expect("f4");
        assert_eq!(a.shape, vec![2]);
        assert_eq!(a.data, Data::F32(vec![1.0, -2.5]));
        let s = parse_npy(&npy("<f8", "()", &1e-12f64.to_le_bytes())).expect("scalar");
        assert_eq!(s.shape, Vec::<usize>::new());
        let m = parse_npy(&npy("|u1", "(2, 3)", &[1, 2, 3, 4, 5, 6])).expect("u1");
        assert_eq!(m.shape, vec![2, 3]);
    }

    #[test]
    fn rejects_truncated_data() {
        assert!(parse_npy(&npy("|u1", "(2, 3)", &[1, 2])).is_err());
        assert!(parse_npy(b"garbage").is_err());
        assert!(parse_npy(&npy("<c8", "(1,)", &[0; 8])).is_err());
    }
}
