//! Hugging Face directory loading, tested on tiny random models this test writes itself
//! (config.json, tokenizer.json, safetensors, sentence-transformers pooling / Dense / prompt
//! configuration); embeddings are checked against a naive forward pass written here.
#![cfg(feature = "hf")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use retrace_encode::e5::bert::{erf, Pooling};
use retrace_encode::hf::HfEncoder;
use retrace_encode::{Encoder, LoadOptions};
use serde_json::json;

/// Deterministic pseudo-random numbers, multiples of 1/1024 in [-0.25, 0.25] (exact in f16).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 20) % 513) as f32 / 1024.0 - 0.25
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// f32 → f16 bits for values exactly representable as normal f16 numbers (or zero).
fn f16_bits(v: f32) -> u16 {
    if v == 0.0 {
        return 0;
    }
    let b = v.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    assert!((1..31).contains(&exp), "{v} is not a normal f16");
    let man = (b >> 13) & 0x3ff;
    assert_eq!(b & 0x1fff, 0, "{v} is not exact in f16");
    sign | ((exp as u16) << 10) | man as u16
}

fn write_safetensors(path: &Path, tensors: &Tensors, f16: bool) {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut data = Vec::new();
    for name in names {
        let (shape, values) = &tensors[name];
        let start = data.len();
        for &v in values {
            if f16 {
                data.extend_from_slice(&f16_bits(v).to_le_bytes());
            } else {
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
        header.insert(
            name.clone(),
            json!({"dtype": if f16 {"F16"} else {"F32"}, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let h = serde_json::to_vec(&header).expect("header");
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    std::fs::write(path, out).expect("write safetensors");
}

struct Tiny {
    hidden: usize,
    heads: usize,
    ffn: usize,
    layers: usize,
    vocab: usize,
    positions: usize,
    position_offset: usize,
    gelu_tanh: bool,
    types: usize,
    prefix: &'static str,
}

fn random_weights(t: &Tiny, seed: u64) -> Tensors {
    let mut r = Rng(seed);
    let (h, f) = (t.hidden, t.ffn);
    let mut m = Tensors::new();
    let mut put = |name: String, shape: Vec<usize>, r: &mut Rng| {
        let n = shape.iter().product();
        m.insert(format!("{}{name}", t.prefix), (shape, r.vec(n)));
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        vec![t.vocab, h],
        &mut r,
    );
    put(
        "embeddings.position_embeddings.weight".into(),
        vec![t.positions, h],
        &mut r,
    );
    put(
        "embeddings.token_type_embeddings.weight".into(),
        vec![t.types, h],
        &mut r,
    );
    put("embeddings.LayerNorm.weight".into(), vec![h], &mut r);
    put("embeddings.LayerNorm.bias".into(), vec![h], &mut r);
    for l in 0..t.layers {
        let p = format!("encoder.layer.{l}");
        for (name, o, i) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", f, h),
            ("output.dense", h, f),
        ] {
            put(format!("{p}.{name}.weight"), vec![o, i], &mut r);
            put(format!("{p}.{name}.bias"), vec![o], &mut r);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(format!("{p}.{name}.weight"), vec![h], &mut r);
            put(format!("{p}.{name}.bias"), vec![h], &mut r);
        }
    }
    // LayerNorm gains near 1 keep activations in a sensible range.
    for (k, (_, v)) in m.iter_mut() {
        if k.ends_with("LayerNorm.weight") {
            v.iter_mut().for_each(|x| *x += 1.0);
        }
    }
    m
}

fn layer_norm(x: &mut [f32], w: &[f32], b: &[f32]) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
    for i in 0..x.len() {
        x[i] = (x[i] - mean) / (var + 1e-12).sqrt() * w[i] + b[i];
    }
}

fn linear(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let nin = x.len();
    b.iter()
        .enumerate()
        .map(|(o, bias)| bias + (0..nin).map(|i| w[o * nin + i] * x[i]).sum::<f32>())
        .collect()
}

/// Token vectors of one window, computed the obvious way.
fn naive_forward(t: &Tiny, w: &Tensors, ids: &[u32]) -> Vec<Vec<f32>> {
    let g = |n: &str| &w[&format!("{}{n}", t.prefix)].1;
    let h = t.hidden;
    let hd = h / t.heads;
    let mut x: Vec<Vec<f32>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let mut v: Vec<f32> = (0..h)
                .map(|i| {
                    g("embeddings.word_embeddings.weight")[id as usize * h + i]
                        + g("embeddings.position_embeddings.weight")
                            [(p + t.position_offset) * h + i]
                        + g("embeddings.token_type_embeddings.weight")[i]
                })
                .collect();
            layer_norm(
                &mut v,
                g("embeddings.LayerNorm.weight"),
                g("embeddings.LayerNorm.bias"),
            );
            v
        })
        .collect();
    for l in 0..t.layers {
        let p = |n: &str| format!("encoder.layer.{l}.{n}");
        let lin = |x: &[f32], n: &str| {
            linear(
                x,
                g(&p(&format!("{n}.weight"))),
                g(&p(&format!("{n}.bias"))),
            )
        };
        let q: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.query")).collect();
        let k: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.key")).collect();
        let v: Vec<Vec<f32>> = x.iter().map(|v| lin(v, "attention.self.value")).collect();
        let n = x.len();
        let mut ctx = vec![vec![0f32; h]; n];
        for head in 0..t.heads {
            let r = head * hd..(head + 1) * hd;
            for i in 0..n {
                let s: Vec<f32> = (0..n)
                    .map(|j| r.clone().map(|e| q[i][e] * k[j][e]).sum::<f32>() / (hd as f32).sqrt())
                    .collect();
                let mx = s.iter().copied().fold(f32::MIN, f32::max);
                let e: Vec<f32> = s.iter().map(|v| (v - mx).exp()).collect();
                let z: f32 = e.iter().sum();
                for j in 0..n {
                    for d in r.clone() {
                        ctx[i][d] += e[j] / z * v[j][d];
                    }
                }
            }
        }
        for i in 0..n {
            let a = lin(&ctx[i], "attention.output.dense");
            let mut y: Vec<f32> = x[i].iter().zip(&a).map(|(p, q)| p + q).collect();
            layer_norm(
                &mut y,
                g(&p("attention.output.LayerNorm.weight")),
                g(&p("attention.output.LayerNorm.bias")),
            );
            let mid: Vec<f32> = lin(&y, "intermediate.dense")
                .into_iter()
                .map(|v| {
                    if t.gelu_tanh {
                        0.5 * v * (1.0 + (0.797_884_6 * (v + 0.044_715 * v * v * v)).tanh())
                    } else {
                        0.5 * v * (1.0 + erf(v / 2f32.sqrt()))
                    }
                })
                .collect();
            let o = lin(&mid, "output.dense");
            let mut z: Vec<f32> = y.iter().zip(&o).map(|(p, q)| p + q).collect();
            layer_norm(
                &mut z,
                g(&p("output.LayerNorm.weight")),
                g(&p("output.LayerNorm.bias")),
            );
            x[i] = z;
        }
    }
    x
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        d < 1e-4,
        "{what}: max difference {d}\nours  {a:?}\nnaive {b:?}"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("retrace-hf-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write_json(path: &Path, v: serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(&v).expect("json")).expect("write json");
}

const WORDS: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "passage", ":", "the", "cat", "sat", "on", "mat", "a",
    "dog", "ran", "##s", "hello", "world",
];

/// A BERT model with a WordPiece tokenizer, mean pooling and a "passage: " prompt; only 12
/// positions, so long texts need several windows.
fn write_bert(dir: &Path) -> (Tiny, Tensors) {
    let t = Tiny {
        hidden: 32,
        heads: 4,
        ffn: 64,
        layers: 2,
        vocab: WORDS.len(),
        positions: 12,
        position_offset: 0,
        gelu_tanh: false,
        types: 2,
        prefix: "bert.",
    };
    let w = random_weights(&t, 0x9e37_79b9_7f4a_7c15);
    write_safetensors(&dir.join("model.safetensors"), &w, false);
    write_json(
        &dir.join("config.json"),
        json!({"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
               "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
               "layer_norm_eps": 1e-12, "max_position_embeddings": 12, "type_vocab_size": 2,
               "vocab_size": WORDS.len(), "pad_token_id": 0}),
    );
    let vocab: serde_json::Map<String, serde_json::Value> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
    let added: Vec<_> = (0..4)
        .map(|i| {
            json!({"id": i, "content": WORDS[i], "single_word": false, "lstrip": false,
                        "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    write_json(
        &dir.join("tokenizer.json"),
        json!({
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": 12, "strategy": "LongestFirst", "stride": 0},
            "padding": null,
            "added_tokens": added,
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": null,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab}
        }),
    );
    write_json(
        &dir.join("modules.json"),
        json!([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]),
    );
    std::fs::create_dir_all(dir.join("1_Pooling")).expect("pooling dir");
    write_json(
        &dir.join("1_Pooling/config.json"),
        json!({"word_embedding_dimension": 32, "pooling_mode_cls_token": false,
               "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
               "pooling_mode_mean_sqrt_len_tokens": false}),
    );
    write_json(
        &dir.join("config_sentence_transformers.json"),
        json!({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "passage"}),
    );
    (t, w)
}

fn mean(rows: &[Vec<f32>]) -> Vec<f32> {
    let mut m = vec![0f32; rows[0].len()];
    for r in rows {
        for (a, b) in m.iter_mut().zip(r) {
            *a += b / rows.len() as f32;
        }
    }
    m
}

#[test]
fn hf_bert_directory_mean_pooling_prompt_and_windows() {
    let dir = temp_dir("bert");
    let (t, w) = write_bert(&dir);
    let enc = HfEncoder::open(&dir, &LoadOptions::default()).expect("tiny BERT loads");
    assert_eq!(enc.dim(), 32);
    assert_eq!(enc.pooling(), Pooling::Mean);
    assert_eq!(enc.prompt(), "passage: ");
    assert_eq!(enc.languages(), &["en"]);

    let ids = enc.token_ids("The cats sat").expect("tokenize");
    assert_eq!(ids, vec![2, 4, 5, 6, 7, 14, 8, 3]);

    // Short text: one window, mean of the token vectors.
    let short = "The cats sat on a mat";
    let long =
        "the dog ran on the mat hello world a cat sat on the mat the dogs ran hello world the cat";
    let emb = enc.encode(&[short, long, ""]).expect("encode");
    assert_eq!(emb.len(), 3);
    let expect = normalized(mean(&naive_forward(
        &t,
        &w,
        &enc.token_ids(short).expect("ids"),
    )));
    assert_close(emb.row(0), &expect, "short text");

    // Long text: windows of 10 content tokens framed by [CLS] … [SEP], averaged by size.
    let full = enc.token_ids(long).expect("ids");
    let content = &full[1..full.len() - 1];
    assert!(content.len() > 20, "the long text needs three windows");
    let mut acc = vec![0f32; 32];
    for chunk in content.chunks(10) {
        let mut win = vec![2];
        win.extend_from_slice(chunk);
        win.push(3);
        let m = mean(&naive_forward(&t, &w, &win));
        for (a, b) in acc.iter_mut().zip(m) {
            *a += b * chunk.len() as f32;
        }
    }
    assert_close(emb.row(1), &normalized(acc), "windowed long text");

    // Empty text: the prompt alone.
    let e = normalized(mean(&naive_forward(&t, &w, &[2, 4, 5, 3])));
    assert_close(emb.row(2), &e, "empty text");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An XLM-R style model (positions from padding_idx + 1, unigram tokenizer with metaspace,
/// f16 weights) with CLS pooling and a Dense tanh layer, as LaBSE is configured.
#[test]
fn hf_xlmr_directory_cls_pooling_dense_and_f16() {
    let dir = temp_dir("xlmr");
    let t = Tiny {
        hidden: 32,
        heads: 2,
        ffn: 64,
        layers: 1,
        vocab: 16,
        positions: 40,
        position_offset: 2,
        gelu_tanh: true,
        types: 1,
        prefix: "",
    };
    let w = random_weights(&t, 42);
    write_safetensors(&dir.join("model.safetensors"), &w, true);
    write_json(
        &dir.join("config.json"),
        json!({"model_type": "xlm-roberta", "hidden_size": 32, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu_new",
               "layer_norm_eps": 1e-12, "max_position_embeddings": 40, "type_vocab_size": 1,
               "vocab_size": 16, "pad_token_id": 1}),
    );
    let pieces = [
        ("<s>", 0.0),
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("<unk>", 0.0),
        ("▁hello", -1.0),
        ("▁world", -1.5),
        ("▁", -2.0),
        ("h", -3.0),
        ("e", -3.0),
        ("l", -3.0),
        ("o", -3.0),
        ("w", -3.0),
        ("r", -3.0),
        ("d", -3.0),
        ("▁he", -2.5),
        ("llo", -2.5),
    ];
    let added: Vec<_> = (0..4)
        .map(|i| {
            json!({"id": i, "content": pieces[i].0, "single_word": false, "lstrip": false,
                        "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    write_json(
        &dir.join("tokenizer.json"),
        json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                               "trim_offsets": true, "add_prefix_space": true},
            "decoder": null,
            "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": false,
                      "vocab": pieces.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>()}
        }),
    );
    write_json(
        &dir.join("modules.json"),
        json!([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}]),
    );
    std::fs::create_dir_all(dir.join("1_Pooling")).expect("dir");
    std::fs::create_dir_all(dir.join("2_Dense")).expect("dir");
    write_json(
        &dir.join("1_Pooling/config.json"),
        json!({"word_embedding_dimension": 32, "pooling_mode_cls_token": true,
               "pooling_mode_mean_tokens": false}),
    );
    write_json(
        &dir.join("2_Dense/config.json"),
        json!({"in_features": 32, "out_features": 8, "bias": true,
               "activation_function": "torch.nn.modules.activation.Tanh"}),
    );
    let mut r = Rng(7);
    let mut dense = Tensors::new();
    dense.insert("linear.weight".into(), (vec![8, 32], r.vec(8 * 32)));
    dense.insert("linear.bias".into(), (vec![8], r.vec(8)));
    write_safetensors(&dir.join("2_Dense/model.safetensors"), &dense, false);

    let enc = HfEncoder::open(&dir, &LoadOptions::default()).expect("tiny XLM-R loads");
    assert_eq!(enc.dim(), 8);
    assert_eq!(enc.pooling(), Pooling::Cls);
    assert_eq!(enc.prompt(), "");
    assert!(
        enc.covers("uk") && enc.covers("is"),
        "xlm-roberta models cover XLM-R's languages"
    );
    let ids = enc.token_ids("hello world").expect("ids");
    assert_eq!(ids, vec![0, 4, 5, 2]);

    let emb = enc
        .encode(&["hello world", "world hello hello"])
        .expect("encode");
    for (i, text) in ["hello world", "world hello hello"].iter().enumerate() {
        let x = naive_forward(&t, &w, &enc.token_ids(text).expect("ids"));
        let (dw, db) = (&dense["linear.weight"].1, &dense["linear.bias"].1);
        let y: Vec<f32> = linear(&x[0], dw, db).into_iter().map(f32::tanh).collect();
        assert_close(emb.row(i), &normalized(y), text);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hf_errors_are_reported() {
    let dir = temp_dir("errors");
    let err = HfEncoder::open(&dir, &LoadOptions::default())
        .err()
        .expect("empty dir fails");
    assert!(err.to_string().contains("config.json"), "{err}");

    let (_, _) = write_bert(&dir);
    // A truncated safetensors file.
    std::fs::write(
        dir.join("model.safetensors"),
        [200u8, 0, 0, 0, 0, 0, 0, 0, b'{'],
    )
    .expect("write");
    let err = HfEncoder::open(&dir, &LoadOptions::default())
        .err()
        .expect("bad weights fail");
    assert!(err.to_string().contains("header length"), "{err}");

    // Unsupported pooling.
    let (_, _) = write_bert(&dir);
    write_json(
        &dir.join("1_Pooling/config.json"),
        json!({"pooling_mode_max_tokens": true}),
    );
    let err = HfEncoder::open(&dir, &LoadOptions::default())
        .err()
        .expect("max pooling is refused");
    assert!(err.to_string().contains("pooling"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hf_encoder_selection_by_path() {
    let dir = temp_dir("select");
    write_bert(&dir);
    let spec = dir.to_str().expect("utf-8 temp path");
    let enc = retrace_encode::load_encoder(spec, &LoadOptions::default())
        .expect("a directory with config.json is a Hugging Face model");
    assert_eq!(enc.dim(), 32);
    assert_eq!(enc.family(), retrace_encode::Family::Transformer);
    assert!(
        enc.name().starts_with("hf:retrace-hf-test-"),
        "{}",
        enc.name()
    );
    assert!(
        retrace_encode::e5::open_encoder("use-m3", &LoadOptions::default())
            .expect("not an error")
            .is_none()
    );
    // e5-small in an empty model dir: the error says it is not installed there.
    let empty = dir.join("models");
    std::fs::create_dir_all(&empty).expect("dir");
    let err = retrace_encode::load_encoder(
        "e5-small",
        &LoadOptions {
            model_dir: Some(empty),
            ..LoadOptions::default()
        },
    )
    .err()
    .expect("not installed");
    assert!(
        matches!(
            &err,
            retrace_encode::EncodeError::Unavailable {
                error: retrace_encode::models::ModelError::NotInstalled { name, .. },
                ..
            } if name == "e5-small"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("is not installed in"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
