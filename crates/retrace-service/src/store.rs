//! Files of an index: written whole and made durable before they are named (write to a
//! temporary name, `fsync`, rename, `fsync` the directory), so that a process killed at any
//! moment leaves either the old file or the new one; and read back memory-mapped, as
//! arrays of little-endian records decoded on access (no copy of the file, no alignment
//! assumed).

use crate::IndexError;
use rayon::slice::ParallelSliceMut;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

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

/// Write `bytes` to a new file `path`, to be synced by `syncs` (its directory is synced by
/// whoever names it).
pub(crate) fn write_file(path: &Path, bytes: &[u8], syncs: &Syncs) -> Result<(), IndexError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    syncs.add(path, f)
}

/// New files being synced, each on a thread of its own (waiting for the disk then holds up
/// no worker of the computation, and the files' syncs overlap); [`Syncs::wait`] returns once
/// every one is durable.
#[derive(Default)]
pub(crate) struct Syncs {
    pending: Mutex<Vec<(PathBuf, JoinHandle<std::io::Result<()>>)>>,
}

impl Syncs {
    /// Start syncing `f` (the file `path`, written in full).
    pub fn add(&self, path: &Path, f: File) -> Result<(), IndexError> {
        let h = std::thread::Builder::new()
            .name("retrace-fsync".into())
            .spawn(move || f.sync_all())
            .map_err(io(path))?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.push((path.to_path_buf(), h));
        Ok(())
    }

    /// Wait until every file added is synced; the first that could not be, if any.
    pub fn wait(&self) -> Result<(), IndexError> {
        let pending = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *p)
        };
        let mut first = Ok(());
        for (path, h) in pending {
            let r = match h.join() {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::other("the thread syncing it panicked")),
            };
            if let (Err(e), true) = (r, first.is_ok()) {
                first = Err(IndexError::Io { path, source: e });
            }
        }
        first
    }
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

/// A new file written through a buffer (no whole-file copy in memory), synced when finished;
/// its directory is synced by whoever names it.
pub(crate) struct Sink {
    path: PathBuf,
    w: BufWriter<File>,
    written: u64,
}

impl Sink {
    pub fn create(path: &Path) -> Result<Sink, IndexError> {
        let f = File::create(path).map_err(io(path))?;
        Ok(Sink {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 20, f),
            written: 0,
        })
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn put(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.written += bytes.len() as u64;
        self.w.write_all(bytes).map_err(io(&self.path))
    }

    /// Flush the file, and have `syncs` sync it.
    pub fn finish(self, syncs: &Syncs) -> Result<(), IndexError> {
        let Sink { path, w, .. } = self;
        let f = w.into_inner().map_err(|e| IndexError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        syncs.add(&path, f)
    }
}

/// Sort packed `u64` values (by their whole value), least significant 11-bit digit first;
/// digits that are the same in every value are skipped. When `low_sorted`, the values
/// are known to be in order of their low 32 bits already, and (the sort being stable) only
/// the high 32 bits are sorted.
fn radix_sort(v: &mut Vec<u64>, low_sorted: bool) {
    const BITS: [(u32, u32); 6] = [(0, 11), (11, 11), (22, 10), (32, 11), (43, 11), (54, 10)];
    let n = v.len();
    if n < 2 {
        return;
    }
    let digits = if low_sorted { &BITS[3..] } else { &BITS[..] };
    let mut hist = vec![[0usize; 2048]; digits.len()];
    for &x in v.iter() {
        for (h, &(shift, width)) in hist.iter_mut().zip(digits) {
            h[((x >> shift) & ((1 << width) - 1)) as usize] += 1;
        }
    }
    let mut other = vec![0u64; n];
    for (h, &(shift, width)) in hist.iter().zip(digits) {
        if h.contains(&n) {
            continue; // the same digit everywhere: this pass would change nothing
        }
        let mut at = [0usize; 2048];
        let mut sum = 0;
        for (a, &c) in at.iter_mut().zip(h.iter()) {
            *a = sum;
            sum += c;
        }
        let mask = (1u64 << width) - 1;
        for &x in v.iter() {
            let d = ((x >> shift) & mask) as usize;
            other[at[d]] = x;
            at[d] += 1;
        }
        std::mem::swap(v, &mut other);
    }
}

/// Write sorted `(u32 key, u32 doc)` records, 8 bytes each, to a new file `path` (synced by
/// `syncs`).
/// Records given in order of `doc` sort fastest.
pub(crate) fn write_key32(
    path: &Path,
    items: Vec<(u32, u32)>,
    syncs: &Syncs,
) -> Result<(), IndexError> {
    let packed: Vec<u64> = items.into_iter().map(|(k, d)| pack32(k, d)).collect();
    write_packed32(path, packed, syncs)
}

/// Record `(key, doc)` as one `u64` that sorts as the pair does.
pub(crate) fn pack32(key: u32, doc: u32) -> u64 {
    (u64::from(key) << 32) | u64::from(doc)
}

/// [`write_key32`] of records packed by [`pack32`].
pub(crate) fn write_packed32(
    path: &Path,
    mut packed: Vec<u64>,
    syncs: &Syncs,
) -> Result<(), IndexError> {
    let low_sorted = packed.windows(2).all(|w| w[0] as u32 <= w[1] as u32);
    radix_sort(&mut packed, low_sorted);
    let mut sink = Sink::create(path)?;
    let mut buf = Vec::with_capacity(64 << 10);
    for chunk in packed.chunks(8 << 10) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&((x >> 32) as u32).to_le_bytes());
            buf.extend_from_slice(&(x as u32).to_le_bytes());
        }
        sink.put(&buf)?;
    }
    sink.finish(syncs)
}

/// Write sorted `(u64 key, u32 doc)` records, 12 bytes each, to a new file `path` (synced by
/// `syncs`).
pub(crate) fn write_key64(
    path: &Path,
    mut items: Vec<(u64, u32)>,
    syncs: &Syncs,
) -> Result<(), IndexError> {
    items.par_sort_unstable();
    let mut sink = Sink::create(path)?;
    let mut buf = Vec::with_capacity(96 << 10);
    for chunk in items.chunks(8 << 10) {
        buf.clear();
        for &(k, d) in chunk {
            buf.extend_from_slice(&k.to_le_bytes());
            buf.extend_from_slice(&d.to_le_bytes());
        }
        sink.put(&buf)?;
    }
    sink.finish(syncs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_records_are_found_by_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("k64");
        let syncs = Syncs::default();
        write_key64(&path, vec![(9, 1), (3, 0), (9, 4), (12, 2), (3, 7)], &syncs).expect("write");
        syncs.wait().expect("synced");
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
        assert!(
            !dir.path().join("k64.tmp").exists(),
            "the temporary name is gone"
        );
        let r: Records<12> = Records::open(&path).expect("open");
        assert_eq!(r.len(), 0);
        assert_eq!(r.equal_range(3u64, key), (0, 0));
    }

    #[test]
    fn radix_sort_orders_like_a_sort() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Keys of every width, docs in order (the fast path) and not (the full sort).
        let in_order: Vec<(u32, u32)> = (0..20_000u32)
            .flat_map(|d| {
                let k = next() as u32;
                [(k, d), (k >> 20, d), (k % 7, d)]
            })
            .collect();
        let mut shuffled = in_order.clone();
        shuffled.sort_by_key(|&(k, d)| (d.wrapping_mul(2_654_435_761), k));
        for items in [in_order, shuffled, vec![], vec![(5, 1)]] {
            let path = tempfile::NamedTempFile::new().expect("temp file");
            let syncs = Syncs::default();
            write_key32(path.path(), items.clone(), &syncs).expect("write");
            syncs.wait().expect("synced");
            let mut want = items;
            want.sort_unstable();
            let r: Records<8> = Records::open(path.path()).expect("open");
            let got: Vec<(u32, u32)> = (0..r.len())
                .map(|i| (u32_at(r.get(i), 0), u32_at(r.get(i), 4)))
                .collect();
            assert_eq!(got, want);
        }
        let mut wide: Vec<u64> = (0..5000).map(|_| next()).collect();
        let mut want = wide.clone();
        want.sort_unstable();
        radix_sort(&mut wide, false);
        assert_eq!(wide, want);
    }
}
