//! The bytes of a model file: memory-mapped from disk, or owned (read from a buffer, as the
//! fuzz targets and tests do), behind one `&[u8]` view.

use std::ops::Deref;

use memmap2::Mmap;

/// A model file's bytes.
pub(crate) enum FileBytes {
    /// A read-only map of the file.
    Map(Mmap),
    /// Bytes handed over by the caller.
    Owned(Vec<u8>),
}

impl FileBytes {
    /// The map, when the bytes are mapped (page advice applies only then).
    pub(crate) fn as_map(&self) -> Option<&Mmap> {
        match self {
            FileBytes::Map(m) => Some(m),
            FileBytes::Owned(_) => None,
        }
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Map(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}
