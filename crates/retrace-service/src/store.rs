//! Files of an index: written whole and made durable before they are named (write to a
//! temporary name, `fsync`, rename, `fsync` the directory), so that a process killed at any
//! moment leaves either the old file or the new one; and read back memory-mapped, as
//! arrays of little-endian records decoded on access (no copy of the file, no alignment
//! assumed).

use crate::IndexError;
use rayon::slice::ParallelSliceMut;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An error about `path`.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `fsync` a directory, so that the names created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), IndexError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Write `bytes` to `path` durably: into `path.tmp`, synced, then renamed over `path` (and
/// the directory synced).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let tmp = tmp_path(path);
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Write `bytes` to a new file `path`, synced (its directory is synced by whoever names it).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// A read-only memory map of a whole file (empty files map to an empty slice).
pub(crate) struct Mapped {
    map: Option<memmap2::Mmap>,
}

impl Mapped {
    /// Map `path`.
    pub fn open(path: &Path) -> Result<Mapped, IndexError> {
        let f = File::open(path).map_err(io(path))?;
        let len = f.metadata().map_err(io(path))?.len();
        if len == 0 {
            return Ok(Mapped { map: None });
        }
        // SAFETY: the index's files are written whole under a temporary name and renamed
        // into place, never modified after (a new version is a new file): no process
        // changes the bytes while they are mapped, which is what makes a read-only map
        // sound. A file truncated or replaced behind our back by something else would be a
        // corrupted index, as with any file-backed store.
        let map = unsafe { memmap2::Mmap::map(&f) }.map_err(io(path))?;
        Ok(Mapped { map: Some(map) })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Records of fixed size `R` bytes in a mapped file.
pub(crate) struct Records<const R: usize> {
    file: Mapped,
}

impl<const R: usize> Records<R> {
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let file = Mapped::open(path)?;
        if file.bytes().len() % R != 0 {
            return Err(IndexError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("length not a multiple of {R} bytes"),
            });
        }
        Ok(Records { file })
    }

    pub fn len(&self) -> usize {
        self.file.bytes().len() / R
    }

    pub fn get(&self, i: usize) -> &[u8; R] {
        let b = &self.file.bytes()[i * R..(i + 1) * R];
        b.try_into().unwrap_or(&[0; R])
    }

    /// The records `[lo, hi)` whose key (`key` of a record) equals `k`, in a file sorted by
    /// key.
    pub fn equal_range<K: Ord + Copy>(&self, k: K, key: impl Fn(&[u8; R]) -> K) -> (usize, usize) {
        let n = self.len();
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(self.get(mid)) < k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let start = lo;
        hi = n;
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(self.get(mid)) <= k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (start, lo)
    }
}

/// Little-endian field readers of a record.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// `f32` values of a mapped file (native little-endian encoding).
pub(crate) fn f32_at(b: &[u8], i: usize) -> f32 {
    f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// Sorted `(u32 key, u32 doc)` records, 8 bytes each.
pub(crate) fn key32_records(mut items: Vec<(u32, u32)>) -> Vec<u8> {
    items.par_sort_unstable();
    let mut out = Vec::with_capacity(items.len() * 8);
    for (k, d) in items {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

/// Sorted `(u64 key, u32 doc)` records, 12 bytes each.
pub(crate) fn key64_records(mut items: Vec<(u64, u32)>) -> Vec<u8> {
    items.par_sort_unstable();
    let mut out = Vec::with_capacity(items.len() * 12);
    for (k, d) in items {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_records_are_found_by_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("k64");
        let bytes = key64_records(vec![(9, 1), (3, 0), (9, 4), (12, 2), (3, 7)]);
        write_atomic(&path, &bytes).expect("write");
        assert!(
            !dir.path().join("k64.tmp").exists(),
            "the temporary name is gone"
        );
        let r: Records<12> = Records::open(&path).expect("open");
        assert_eq!(r.len(), 5);
        let key = |b: &[u8; 12]| u64_at(b, 0);
        let doc = |b: &[u8; 12]| u32_at(b, 8);
        let (lo, hi) = r.equal_range(9u64, key);
        let docs: Vec<u32> = (lo..hi).map(|i| doc(r.get(i))).collect();
        assert_eq!(docs, [1, 4]);
        assert_eq!(r.equal_range(5u64, key), (2, 2), "absent: an empty range");
        assert_eq!(r.equal_range(3u64, key), (0, 2));
        // An empty file maps to no records.
        write_atomic(&path, &[]).expect("write");
        let r: Records<12> = Records::open(&path).expect("open");
        assert_eq!(r.len(), 0);
        assert_eq!(r.equal_range(3u64, key), (0, 0));
    }
}
