//! Sentence encoders for retrace.
//!
//! An [`Encoder`] maps a batch of sentences to L2-normalised vectors in which a sentence and
//! its translation land close together. The engine only ever talks to this trait, so an
//! encoder (a CPU model, a GPU model, a remote service) can be swapped without touching the
//! stages around it.

mod bytes;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod e5;
#[doc(hidden)]
pub mod fuzzing;
pub mod gemm;
#[cfg(feature = "hf")]
pub mod hf;
pub mod models;
pub mod npz;
pub mod qgemm;
pub mod sentencepiece;
pub mod stub;
pub mod unigram;
pub mod use_m3;

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where transformer encoders (e5-small, Hugging Face models) run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// The CUDA GPU with this ordinal (builds with the `cuda` feature).
    Cuda(usize),
}

/// How encoders are loaded: where the model cache is, where transformer encoders run and
/// the arithmetic of USE-m3 and e5-small. Passed to every loading function ([`load_encoder`],
/// [`e5::open_encoder`], [`e5::E5Encoder::open`], [`use_m3::UseM3::load`], ...); nothing
/// about loading is global.
///
/// The default: the default model cache ([`models::model_dir`]), the CPU, f32, and the
/// fastest int8 kernel this CPU runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The model cache directory; `None` for the default one ([`models::model_dir`]).
    pub model_dir: Option<PathBuf>,
    /// Where transformer encoders (e5-small, Hugging Face models) run; USE-m3 always runs
    /// on the CPU.
    pub device: Device,
    /// Arithmetic of the USE-m3 encoder's per-token layers and of e5-small's linear layers
    /// on the CPU (with `Int8`, e5-small's products run in the 8-bit kernels of [`qgemm`];
    /// on a GPU it computes in f32 whatever this says). Hugging Face directories ignore it.
    pub precision: use_m3::Precision,
    /// The int8 kernel of USE-m3 and e5-small with [`use_m3::Precision::Int8`]; `None` for
    /// [`qgemm::Kernel::detect`]'s. It must be one this CPU runs ([`qgemm::Kernel::by_name`]
    /// only returns those); loading fails otherwise.
    pub int8_kernel: Option<qgemm::Kernel>,
}

/// What kind of encoder produced a set of vectors: the identity thresholds by meaning are
/// calibrated for. Encoders differ in how similar unrelated sentences look (USE-m3 places
/// them near 0, e5 models above 0.7), so a threshold calibrated for one family means
/// nothing for another; an encoder's [`Encoder::name`] is for records, its family is for
/// calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Universal Sentence Encoder Multilingual v3 ([`use_m3::UseM3`]).
    UseM3,
    /// multilingual-e5 ([`e5::E5Encoder`]).
    E5,
    /// A transformer loaded from a Hugging Face model directory (`HfEncoder`, feature `hf`),
    /// whose calibration is unknown. It is closest in kind to [`Family::E5`] (a BERT / XLM-R
    /// encoder with mean or CLS pooling), whose calibration is the best guess for it.
    Transformer,
    /// The deterministic test encoder of [`stub`] ([`stub::HashEncoder`]): its cosines
    /// are word overlaps, calibrated for nothing.
    Stub,
}

/// Errors an encoder can report. They say what is wrong, not what to type: a tool adds
/// its own remedy (the CLI names the command or flag that fixes each kind). Each message is
/// complete on its own (`Unavailable` shows its [`models::ModelError`] rather than chaining it
/// as a `source`).
#[derive(Debug, Error)]
pub enum EncodeError {
    /// The model is unknown, not (completely) installed, or its installed files are corrupt,
    /// or the model cache cannot be located: installing the model fixes it, where possible.
    #[error("model {name} is not usable: {error}")]
    Unavailable {
        name: String,
        error: models::ModelError,
    },
    /// The model cannot run on the device asked for ([`LoadOptions::device`]): this build has
    /// no GPU support, no CUDA driver or library was found, no such GPU, ...
    #[error("model {name} is not usable: device: {reason}")]
    Device { name: String, reason: String },
    /// This build lacks the cargo feature of retrace-encode that opens such a model (`hf`
    /// for Hugging Face directories).
    #[error(
        "model {name} is not usable: this build has no {what} support (built without the `{feature}` feature)"
    )]
    FeatureOff {
        name: String,
        what: &'static str,
        feature: &'static str,
    },
    /// The model's files cannot be used for another reason (unreadable, unsupported).
    #[error("model {name} is not usable: {reason}")]
    Model { name: String, reason: String },
    /// Any other failure while encoding.
    #[error("encoding failed: {0}")]
    Failed(String),
}

/// A batch of embeddings: `len()` rows of `dim` floats, row-major, each row L2-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when the batch holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// A sentence encoder.
///
/// Invariants every implementation keeps: `encode` returns exactly one row per input
/// sentence, in input order, each of length `dim()` and L2-normalised (an empty sentence
/// gives the encoder's vector for empty input, never NaN); the same input gives the same
/// output on every call.
pub trait Encoder: Send + Sync {
    /// Short stable name, recorded in run outputs (e.g. `use-m3`).
    fn name(&self) -> &str;
    /// The kind of encoder, which thresholds by meaning are calibrated for.
    fn family(&self) -> Family;
    /// Output dimension.
    fn dim(&self) -> usize;
    /// ISO 639-1 codes of the languages whose vectors can be trusted.
    fn languages(&self) -> &[&'static str];
    /// Encode a batch of sentences.
    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError>;

    /// Number of tokens the model sees for `text` (for throughput statistics), if the
    /// encoder tokenises; `None` by default.
    fn count_tokens(&self, text: &str) -> Option<usize> {
        let _ = text;
        None
    }

    /// The arithmetic, where an encoder offers a choice (e.g. `int8/avx512-vnni`), for logs and
    /// run records.
    fn arithmetic(&self) -> Option<String> {
        None
    }

    /// Whether vectors for language `lang` (ISO 639-1) can be trusted.
    fn covers(&self, lang: &str) -> bool {
        self.languages().contains(&lang)
    }
}

/// Loads an encoder by model name (e.g. `use-m3`, looked up in the model cache, see
/// [`models::model_dir`]; `options.model_dir` overrides the cache location) or by the path
/// of a directory holding a model's files. An unknown, missing or corrupt model gives
/// [`EncodeError::Unavailable`].
pub fn load_encoder(
    name_or_path: &str,
    options: &LoadOptions,
) -> Result<Box<dyn Encoder>, EncodeError> {
    let unavailable = |error| EncodeError::Unavailable {
        name: name_or_path.to_string(),
        error,
    };
    // e5-small and Hugging Face model directories.
    if let Some(encoder) = e5::open_encoder(name_or_path, options)? {
        return Ok(encoder);
    }
    let path = Path::new(name_or_path);
    let dir = match models::info(name_or_path) {
        Ok(model) => {
            models::locate(model.name, options.model_dir.as_deref()).map_err(unavailable)?
        }
        Err(_) if path.is_dir() => path.to_path_buf(),
        Err(unknown) => return Err(unavailable(unknown)),
    };
    // Every known model is USE-m3 so far; a directory is taken to hold its files.
    Ok(Box::new(use_m3::UseM3::load(&dir, options)?))
}
