//! Hugging Face model directories as encoders: BERT and XLM-R style models (LaBSE,
//! multilingual-e5-base/large, bge-m3, paraphrase-multilingual-MiniLM, ...) loaded from
//! `config.json`, `tokenizer.json` (through the `tokenizers` crate) and `*.safetensors`,
//! pooled as the sentence-transformers configuration says (`modules.json`, the pooling
//! module's `config.json`, an optional `Dense` layer, prompts from
//! `config_sentence_transformers.json`). Runs on the shared f32 forward pass in
//! [`crate::e5::bert`]; nothing is ever downloaded.

pub mod safetensors;

use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;
use thiserror::Error;
use tokenizers::Tokenizer;

use crate::e5::bert::{
    self, Activation, Bert, BertConfig, Layer, Linear, Pooling, Window, WordEmbeddings,
};
use crate::{Embeddings, EncodeError, Encoder, Family, LoadOptions};
use safetensors::SafeTensors;

/// Errors loading a model directory.
#[derive(Debug, Error)]
pub enum HfError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Json { path: String, reason: String },
    #[error("{path}: {reason}")]
    Safetensors { path: String, reason: String },
    #[error("the model has no tensor {0}")]
    MissingTensor(String),
    #[error("no *.safetensors file in {0} (PyTorch .bin checkpoints are not supported)")]
    NoWeights(String),
    #[error("tokenizer.json: {0}")]
    Tokenizer(String),
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error("device: {0}")]
    Device(String),
}

impl HfError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        HfError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default)]
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default = "default_act")]
    hidden_act: String,
    #[serde(default = "default_eps")]
    layer_norm_eps: f32,
    max_position_embeddings: usize,
    #[serde(default)]
    type_vocab_size: usize,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}

fn default_eps() -> f32 {
    1e-12
}

#[derive(Debug, Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Debug, Deserialize)]
struct DenseConfig {
    in_features: usize,
    out_features: usize,
    #[serde(default = "yes")]
    bias: bool,
    #[serde(default)]
    activation_function: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
struct StConfig {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
    #[serde(default)]
    default_prompt_name: Option<String>,
}

/// A sentence-transformers `Dense` layer after pooling.
struct Dense {
    linear: Linear,
    tanh: bool,
}

/// An encoder loaded from a Hugging Face model directory.
pub struct HfEncoder {
    name: String,
    bert: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    dense: Vec<Dense>,
    prompt: String,
    /// Special tokens framing every window (e.g. `[CLS]` / `[SEP]`, `<s>` / `</s>`).
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    languages: &'static [&'static str],
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, HfError> {
    let raw = std::fs::read_to_string(path).map_err(|e| HfError::io(path, e))?;
    serde_json::from_str(&raw).map_err(|e| HfError::Json {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

impl HfEncoder {
    /// Load the model directory `dir` to run on `options.device` (the other options do not
    /// apply).
    pub fn open(dir: &Path, options: &LoadOptions) -> Result<Self, HfError> {
        let config: Config = read_json(&dir.join("config.json"))?;
        let files = safetensors::files_in(dir)?;
        if files.is_empty() {
            return Err(HfError::NoWeights(dir.display().to_string()));
        }
        let st = SafeTensors::open(&files)?;
        let mut bert = load_bert(&config, &st)?;
        bert.prepare(options.device).map_err(HfError::Device)?;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| HfError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| HfError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let (prefix, suffix) = special_frame(&tokenizer)?;

        // sentence-transformers modules: pooling, optional Dense layers, Normalize (rows are
        // always L2-normalised here anyway).
        let mut pooling = Pooling::Mean;
        let mut dense = Vec::new();
        let modules_path = dir.join("modules.json");
        if modules_path.is_file() {
            let modules: Vec<Module> = read_json(&modules_path)?;
            for m in modules {
                let mdir = dir.join(&m.path);
                if m.kind.ends_with(".Pooling") {
                    pooling = pooling_mode(&read_json(&mdir.join("config.json"))?)?;
                } else if m.kind.ends_with(".Dense") {
                    dense.push(load_dense(&mdir)?);
                } else if !(m.kind.ends_with(".Transformer") || m.kind.ends_with(".Normalize")) {
                    return Err(HfError::Unsupported(format!(
                        "sentence-transformers module {}",
                        m.kind
                    )));
                }
            }
        }
        let st_path = dir.join("config_sentence_transformers.json");
        let st_config: StConfig = if st_path.is_file() {
            read_json(&st_path)?
        } else {
            StConfig::default()
        };
        let prompt = st_config
            .default_prompt_name
            .as_ref()
            .and_then(|n| st_config.prompts.get(n))
            .or_else(|| st_config.prompts.get("passage"))
            .or_else(|| st_config.prompts.get("document"))
            .cloned()
            .unwrap_or_default();

        let multilingual =
            config.model_type.contains("xlm") || tokenizer.get_vocab_size(true) > 100_000;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(HfEncoder {
            name: format!("hf:{name}"),
            bert,
            tokenizer,
            pooling,
            dense,
            prompt,
            prefix,
            suffix,
            languages: if multilingual {
                crate::e5::LANGUAGES
            } else {
                &["en"]
            },
        })
    }

    /// Token ids of `text` (prompt included) before windowing, special tokens included.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EncodeError> {
        let mut ids = self.prefix.clone();
        ids.extend(self.content_ids(text)?);
        ids.extend_from_slice(&self.suffix);
        Ok(ids)
    }

    fn content_ids(&self, text: &str) -> Result<Vec<u32>, EncodeError> {
        let full = format!("{}{text}", self.prompt);
        let enc = self
            .tokenizer
            .encode(full.as_str(), false)
            .map_err(|e| EncodeError::Failed(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// How windows are pooled (from the sentence-transformers configuration).
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The prompt prepended to every text.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }
}

impl Encoder for HfEncoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn family(&self) -> Family {
        Family::Transformer
    }

    fn dim(&self) -> usize {
        self.dense
            .last()
            .map_or(self.bert.hidden(), |d| d.linear.nout)
    }

    fn languages(&self) -> &[&'static str] {
        self.languages
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        let n = self.content_ids(text).ok()?.len();
        Some(n + self.prefix.len() + self.suffix.len())
    }

    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        let max_len = self.bert.config.max_len;
        let per_text: Vec<Vec<Window>> = batch
            .par_iter()
            .enumerate()
            .map(|(i, text)| {
                let content = self.content_ids(text)?;
                let mut w = Vec::new();
                bert::windows(i, &self.prefix, &content, &self.suffix, max_len, &mut w);
                Ok(w)
            })
            .collect::<Result<_, EncodeError>>()?;
        let windows: Vec<Window> = per_text.into_iter().flatten().collect();
        self.bert.check(&windows).map_err(EncodeError::Failed)?;
        let mut data = self
            .bert
            .encode_windows(&windows, batch.len(), self.pooling)
            .map_err(EncodeError::Failed)?;
        for d in &self.dense {
            let h = d.linear.nin;
            let mut out = vec![0f32; batch.len() * d.linear.nout];
            for (x, y) in data
                .chunks_exact(h)
                .zip(out.chunks_exact_mut(d.linear.nout))
            {
                for ((o, w), b) in y
                    .iter_mut()
                    .zip(d.linear.w.chunks_exact(h))
                    .zip(&d.linear.b)
                {
                    let v = b + x.iter().zip(w).map(|(a, b)| a * b).sum::<f32>();
                    *o = if d.tanh { v.tanh() } else { v };
                }
            }
            data = out;
        }
        let dim = self.dim();
        for row in data.chunks_exact_mut(dim) {
            bert::l2_normalize(row);
        }
        Ok(Embeddings { dim, data })
    }
}

impl From<HfError> for EncodeError {
    fn from(e: HfError) -> Self {
        let name = "huggingface".to_string();
        match e {
            HfError::Device(reason) => EncodeError::Device { name, reason },
            e => EncodeError::Model {
                name,
                reason: e.to_string(),
            },
        }
    }
}

/// The special tokens the post-processor puts before and after a single sequence, found by
/// encoding a probe with and without them.
fn special_frame(tok: &Tokenizer) -> Result<(Vec<u32>, Vec<u32>), HfError> {
    let err = |e: tokenizers::Error| HfError::Tokenizer(e.to_string());
    let probe = "a";
    let plain = tok.encode(probe, false).map_err(err)?;
    let framed = tok.encode(probe, true).map_err(err)?;
    let (p, f) = (plain.get_ids(), framed.get_ids());
    let at = (0..=f.len().saturating_sub(p.len()))
        .find(|&i| f[i..].starts_with(p))
        .ok_or_else(|| {
            HfError::Tokenizer("the post-processor changes the text's own tokens".into())
        })?;
    Ok((f[..at].to_vec(), f[at + p.len()..].to_vec()))
}

fn pooling_mode(c: &PoolingConfig) -> Result<Pooling, HfError> {
    let others = c.pooling_mode_max_tokens
        || c.pooling_mode_mean_sqrt_len_tokens
        || c.pooling_mode_weightedmean_tokens
        || c.pooling_mode_lasttoken;
    match (c.pooling_mode_cls_token, c.pooling_mode_mean_tokens, others) {
        (true, false, false) => Ok(Pooling::Cls),
        (false, true, false) => Ok(Pooling::Mean),
        _ => Err(HfError::Unsupported(format!(
            "pooling {c:?} (only CLS or mean pooling is supported)"
        ))),
    }
}

fn load_dense(dir: &Path) -> Result<Dense, HfError> {
    let c: DenseConfig = read_json(&dir.join("config.json"))?;
    let tanh = match c.activation_function.rsplit('.').next().unwrap_or("") {
        "Tanh" => true,
        "Identity" | "" => false,
        other => return Err(HfError::Unsupported(format!("Dense activation {other}"))),
    };
    let files = safetensors::files_in(dir)?;
    if files.is_empty() {
        return Err(HfError::NoWeights(dir.display().to_string()));
    }
    let st = SafeTensors::open(&files)?;
    let w = st.f32("linear.weight", &[c.out_features, c.in_features])?;
    let b = if c.bias {
        st.f32("linear.bias", &[c.out_features])?
    } else {
        vec![0.0; c.out_features]
    };
    Ok(Dense {
        linear: Linear::new(w, b, c.in_features, c.out_features),
        tanh,
    })
}

/// Build the transformer from the checkpoint. Tensor names follow `transformers`' BERT /
/// RoBERTa layout, under whatever prefix the checkpoint uses (`""`, `bert.`, `roberta.`).
fn load_bert(c: &Config, st: &SafeTensors) -> Result<Bert, HfError> {
    if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
        return Err(HfError::Unsupported(format!(
            "hidden size {} with {} heads",
            c.hidden_size, c.num_attention_heads
        )));
    }
    if let Some(p) = c.position_embedding_type.as_deref() {
        if p != "absolute" {
            return Err(HfError::Unsupported(format!("position embeddings {p}")));
        }
    }
    let activation = match c.hidden_act.as_str() {
        "gelu" => Activation::Gelu,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        other => return Err(HfError::Unsupported(format!("activation {other}"))),
    };
    let word_key = "embeddings.word_embeddings.weight";
    let pre = st
        .names()
        .filter_map(|n| n.strip_suffix(word_key))
        .min_by_key(|p| p.len())
        .ok_or_else(|| HfError::MissingTensor(word_key.into()))?
        .to_string();
    let (h, ff) = (c.hidden_size, c.intermediate_size);
    let vocab = st
        .shape(&format!("{pre}{word_key}"))
        .and_then(|s| s.first().copied())
        .unwrap_or(0);
    // LayerNorm parameters are `weight`/`bias`, or `gamma`/`beta` in old checkpoints.
    let ln = |name: &str| -> Result<(Vec<f32>, Vec<f32>), HfError> {
        let w = format!("{pre}{name}.weight");
        if st.shape(&w).is_some() {
            Ok((
                st.f32(&w, &[h])?,
                st.f32(&format!("{pre}{name}.bias"), &[h])?,
            ))
        } else {
            Ok((
                st.f32(&format!("{pre}{name}.gamma"), &[h])?,
                st.f32(&format!("{pre}{name}.beta"), &[h])?,
            ))
        }
    };
    let linear = |name: &str, nout: usize, nin: usize| -> Result<Linear, HfError> {
        Ok(Linear::new(
            st.f32(&format!("{pre}{name}.weight"), &[nout, nin])?,
            st.f32(&format!("{pre}{name}.bias"), &[nout])?,
            nin,
            nout,
        ))
    };
    let mut layers = Vec::with_capacity(c.num_hidden_layers);
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        layers.push(Layer {
            qkv: Linear::concat(vec![
                linear(&format!("{p}.attention.self.query"), h, h)?,
                linear(&format!("{p}.attention.self.key"), h, h)?,
                linear(&format!("{p}.attention.self.value"), h, h)?,
            ]),
            attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_ln: ln(&format!("{p}.attention.output.LayerNorm"))?,
            ffn_in: linear(&format!("{p}.intermediate.dense"), ff, h)?,
            ffn_out: linear(&format!("{p}.output.dense"), h, ff)?,
            out_ln: ln(&format!("{p}.output.LayerNorm"))?,
        });
    }
    // RoBERTa-style models number positions from padding_idx + 1.
    let roberta = matches!(
        c.model_type.as_str(),
        "xlm-roberta" | "roberta" | "camembert" | "xlm-roberta-xl"
    );
    let position_offset = if roberta {
        c.pad_token_id.unwrap_or(1) + 1
    } else {
        0
    };
    if c.max_position_embeddings <= position_offset + 2 {
        return Err(HfError::Unsupported(format!(
            "max_position_embeddings {} leaves no room for tokens",
            c.max_position_embeddings
        )));
    }
    let token_type = if c.type_vocab_size > 0 {
        let mut t = st.f32(
            &format!("{pre}embeddings.token_type_embeddings.weight"),
            &[c.type_vocab_size, h],
        )?;
        t.truncate(h);
        t
    } else {
        vec![0.0; h]
    };
    Ok(Bert {
        config: BertConfig {
            hidden: h,
            heads: c.num_attention_heads,
            ffn: ff,
            eps: c.layer_norm_eps,
            activation,
            max_len: c.max_position_embeddings - position_offset,
            position_offset,
        },
        word: WordEmbeddings::F32 {
            data: st.f32(&format!("{pre}{word_key}"), &[vocab, h])?,
            rows: vocab,
        },
        position: st.f32(
            &format!("{pre}embeddings.position_embeddings.weight"),
            &[c.max_position_embeddings, h],
        )?,
        token_type,
        emb_ln: ln("embeddings.LayerNorm")?,
        layers,
        accel: Default::default(),
    })
}
