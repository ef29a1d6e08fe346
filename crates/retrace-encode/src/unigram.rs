//! A generic SentencePiece unigram segmenter: a byte trie over the vocabulary and the
//! optimised Viterbi search of the reference C++ library (`unigram_model.cc`,
//! `EncodeOptimized`), independent of how the vocabulary was stored (a `.model` protobuf, a
//! `tokenizer.json` piece list, ...).
//!
//! The input of [`Unigram::encode`] is text that is *already normalised* the way the model
//! expects: for SentencePiece models that means the normaliser has run, spaces are replaced by
//! `'▁'` (U+2581) and the dummy prefix `'▁'` has been prepended. BOS/EOS are not added here.
//!
//! Behaviour matched with the C++ library:
//! * only [`PieceKind::Normal`], [`PieceKind::UserDefined`] and [`PieceKind::Unused`] pieces
//!   are in the trie; unused pieces are never emitted; control, unknown and byte pieces are
//!   never matched against text;
//! * a user-defined piece scores `len_bytes * max_score - 0.1` (so it always wins), where
//!   `max_score` is the highest score of a normal piece (`FLT_MIN` if all are negative, as in
//!   C++);
//! * a character where no piece of exactly that character's length starts becomes an unknown
//!   node scored `min_score - 10` (again over normal pieces);
//! * ties keep the earlier candidate (strictly-greater comparison), scores accumulate in `f32`;
//! * consecutive unknown pieces are fused into one `unk_id` (the C++ processor and the
//!   Hugging Face `tokenizers` Unigram both do this) unless [`UnigramOptions::fuse_unk`] is
//!   false; with [`UnigramOptions::byte_fallback`] an unknown piece is instead spelled as its
//!   UTF-8 bytes using the `<0xXX>` byte pieces.
//!
//! Lookup is a byte trie stored as flat arrays (a 256-entry table at the root, sorted child
//! labels below), so a call allocates nothing beyond growing `out` and a reusable
//! thread-local lattice.

use std::cell::RefCell;
use std::collections::HashMap;

use thiserror::Error;

/// Score penalty of an unknown node below the lowest piece score (`kUnkPenalty` in C++).
pub const UNK_PENALTY: f32 = 10.0;

const NO_PIECE: u32 = u32::MAX;

/// Errors building a [`Unigram`].
#[derive(Debug, Error, PartialEq)]
pub enum UnigramError {
    /// The vocabulary holds no piece.
    #[error("the unigram vocabulary is empty")]
    EmptyVocab,
    /// `unk_id` does not name a piece of the vocabulary.
    #[error("unknown-piece id {unk_id} is out of range for a vocabulary of {len} pieces")]
    UnkOutOfRange { unk_id: u32, len: usize },
    /// More pieces than ids fit in a `u32`.
    #[error("the vocabulary has too many pieces ({0})")]
    TooLarge(usize),
    /// Byte fallback was asked for but a `<0xXX>` byte piece is missing.
    #[error("byte fallback needs the byte piece {0}, which the vocabulary lacks")]
    MissingBytePiece(String),
}

/// The role of a piece, as in SentencePiece's `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PieceKind {
    /// An ordinary piece, matched against text with its score.
    Normal,
    /// The unknown piece.
    Unknown,
    /// A control symbol such as `<s>` or `</s>`: never matched against text.
    Control,
    /// A user-defined symbol: always preferred when it matches.
    UserDefined,
    /// In the vocabulary but never emitted.
    Unused,
    /// A byte piece `<0xXX>`, only used by byte fallback.
    Byte,
}

impl PieceKind {
    /// Maps SentencePiece's protobuf enum value (1 = normal, 2 = unknown, 3 = control,
    /// 4 = user-defined, 5 = unused, 6 = byte); other values are treated as normal.
    pub fn from_proto(value: u64) -> Self {
        match value {
            2 => PieceKind::Unknown,
            3 => PieceKind::Control,
            4 => PieceKind::UserDefined,
            5 => PieceKind::Unused,
            6 => PieceKind::Byte,
            _ => PieceKind::Normal,
        }
    }
}

/// One vocabulary entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub text: String,
    pub score: f32,
    pub kind: PieceKind,
}

impl Piece {
    /// A piece of the given kind.
    pub fn new(text: impl Into<String>, score: f32, kind: PieceKind) -> Self {
        Piece {
            text: text.into(),
            score,
            kind,
        }
    }
}

/// Options of the segmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnigramOptions {
    /// Id emitted for text no piece covers.
    pub unk_id: u32,
    /// Merge runs of unknown pieces into one `unk_id` (default true, as in C++ and HF).
    pub fuse_unk: bool,
    /// Spell unknown text as `<0xXX>` byte pieces instead of `unk_id` (default false).
    pub byte_fallback: bool,
}

impl UnigramOptions {
    /// Defaults for the given unknown id: fuse unknowns, no byte fallback.
    pub fn new(unk_id: u32) -> Self {
        UnigramOptions {
            unk_id,
            fuse_unk: true,
            byte_fallback: false,
        }
    }
}

/// A trie node: its children are `labels[first..first + count]` / `targets[...]`, sorted by
/// label.
#[derive(Debug, Clone, Copy)]
struct Node {
    first: u32,
    count: u32,
    piece: u32,
}

/// One cell of the Viterbi lattice: the best path ending at this byte offset.
#[derive(Debug, Clone, Copy)]
struct Best {
    score: f32,
    starts_at: i32,
    id: u32,
    /// Filled by the backtrack: end offset of the best-path piece starting here.
    next: u32,
}

thread_local! {
    static LATTICE: RefCell<Vec<Best>> = const { RefCell::new(Vec::new()) };
}

/// A unigram language-model segmenter (see the module documentation).
#[derive(Debug, Clone)]
pub struct Unigram {
    pieces: Vec<Piece>,
    ids: HashMap<String, u32>,
    /// Effective score per id as used in the lattice (user-defined pieces get their bonus).
    lattice_score: Vec<f32>,
    nodes: Vec<Node>,
    labels: Vec<u8>,
    targets: Vec<u32>,
    /// Direct child table of the root node (`u32::MAX` when absent).
    root: Box<[u32; 256]>,
    unk_score: f32,
    options: UnigramOptions,
    byte_ids: Option<Box<[u32; 256]>>,
}

impl Unigram {
    /// Builds a segmenter from `(piece, score)` pairs in id order, all normal pieces except
    /// `unk_id`, which becomes the unknown piece. This is the form multilingual-e5 / XLM-R
    /// `tokenizer.json` files ship; mark control pieces with [`Unigram::with_pieces`].
    pub fn new(pieces: Vec<(String, f32)>, unk_id: u32) -> Result<Self, UnigramError> {
        let pieces = pieces
            .into_iter()
            .enumerate()
            .map(|(i, (text, score))| {
                let kind = if i as u64 == u64::from(unk_id) {
                    PieceKind::Unknown
                } else {
                    PieceKind::Normal
                };
                Piece { text, score, kind }
            })
            .collect();
        Self::with_pieces(pieces, UnigramOptions::new(unk_id))
    }

    /// Builds a segmenter from typed pieces in id order.
    pub fn with_pieces(pieces: Vec<Piece>, options: UnigramOptions) -> Result<Self, UnigramError> {
        if pieces.is_empty() {
            return Err(UnigramError::EmptyVocab);
        }
        if pieces.len() >= NO_PIECE as usize {
            return Err(UnigramError::TooLarge(pieces.len()));
        }
        if options.unk_id as usize >= pieces.len() {
            return Err(UnigramError::UnkOutOfRange {
                unk_id: options.unk_id,
                len: pieces.len(),
            });
        }
        let mut min_score = f32::MAX;
        let mut max_score = f32::MIN_POSITIVE; // C++ initialises max_score_ to FLT_MIN
        for p in pieces.iter().filter(|p| p.kind == PieceKind::Normal) {
            min_score = min_score.min(p.score);
            max_score = max_score.max(p.score);
        }
        if min_score == f32::MAX {
            min_score = 0.0;
        }
        let lattice_score = pieces
            .iter()
            .map(|p| match p.kind {
                PieceKind::UserDefined => p.text.len() as f32 * max_score - 0.1,
                _ => p.score,
            })
            .collect();

        let mut ids = HashMap::with_capacity(pieces.len());
        for (i, p) in pieces.iter().enumerate() {
            ids.entry(p.text.clone()).or_insert(i as u32);
        }

        let byte_ids = if options.byte_fallback {
            let mut table = Box::new([0u32; 256]);
            for (b, slot) in table.iter_mut().enumerate() {
                let name = format!("<0x{b:02X}>");
                *slot = *ids.get(&name).ok_or(UnigramError::MissingBytePiece(name))?;
            }
            Some(table)
        } else {
            None
        };

        let mut this = Unigram {
            pieces,
            ids,
            lattice_score,
            nodes: Vec::new(),
            labels: Vec::new(),
            targets: Vec::new(),
            root: Box::new([NO_PIECE; 256]),
            unk_score: min_score - UNK_PENALTY,
            options,
            byte_ids,
        };
        this.build_trie();
        Ok(this)
    }

    /// Builds the flat trie from the matchable pieces (first id wins on duplicates).
    fn build_trie(&mut self) {
        let mut keys: Vec<(&[u8], u32)> = self
            .pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                matches!(
                    p.kind,
                    PieceKind::Normal | PieceKind::UserDefined | PieceKind::Unused
                ) && !p.text.is_empty()
            })
            .map(|(i, p)| (p.text.as_bytes(), i as u32))
            .collect();
        keys.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
        keys.dedup_by(|b, a| a.0 == b.0);

        // Breadth-first construction over the sorted keys: each node owns the contiguous
        // key range sharing its prefix, so its children are found by scanning that range.
        let mut nodes = vec![Node {
            first: 0,
            count: 0,
            piece: NO_PIECE,
        }];
        let mut labels = Vec::new();
        let mut targets = Vec::new();
        // (node index, depth, key range)
        let mut queue = std::collections::VecDeque::new();
        queue.push_back((0usize, 0usize, 0usize, keys.len()));
        while let Some((node, depth, lo, hi)) = queue.pop_front() {
            let mut i = lo;
            // A key that ends exactly here is this node's piece (sorted first in the range).
            if i < hi && keys[i].0.len() == depth {
                nodes[node].piece = keys[i].1;
                i += 1;
            }
            nodes[node].first = labels.len() as u32;
            let mut count = 0;
            while i < hi {
                let b = keys[i].0[depth];
                let mut j = i + 1;
                while j < hi && keys[j].0[depth] == b {
                    j += 1;
                }
                let child = nodes.len();
                nodes.push(Node {
                    first: 0,
                    count: 0,
                    piece: NO_PIECE,
                });
                labels.push(b);
                targets.push(child as u32);
                queue.push_back((child, depth + 1, i, j));
                count += 1;
                i = j;
            }
            nodes[node].count = count;
        }
        let root = nodes[0];
        for k in root.first..root.first + root.count {
            self.root[labels[k as usize] as usize] = targets[k as usize];
        }
        self.nodes = nodes;
        self.labels = labels;
        self.targets = targets;
    }

    #[inline]
    fn child(&self, node: u32, byte: u8) -> Option<u32> {
        let n = self.nodes[node as usize];
        let lo = n.first as usize;
        let labels = &self.labels[lo..lo + n.count as usize];
        let k = if labels.len() <= 8 {
            labels.iter().position(|&l| l == byte)?
        } else {
            labels.binary_search(&byte).ok()?
        };
        Some(self.targets[lo + k])
    }

    /// Number of pieces (the vocabulary size).
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Always false: construction rejects an empty vocabulary.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The piece with id `id`.
    pub fn piece(&self, id: u32) -> Option<&Piece> {
        self.pieces.get(id as usize)
    }

    /// The id of the piece spelled `text` (any kind), if any.
    pub fn piece_to_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The options the segmenter was built with.
    pub fn options(&self) -> UnigramOptions {
        self.options
    }

    /// Segments `normalized` and appends the piece ids to `out` (nothing for empty input).
    pub fn encode(&self, normalized: &str, out: &mut Vec<u32>) {
        if normalized.is_empty() {
            return;
        }
        LATTICE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut lattice) => self.encode_with(normalized, &mut lattice, out),
            // Re-entrant call on this thread (cannot happen from this module): use a fresh one.
            Err(_) => self.encode_with(normalized, &mut Vec::new(), out),
        });
    }

    /// [`Unigram::encode`] with a caller-owned lattice buffer.
    fn encode_with(&self, normalized: &str, best: &mut Vec<Best>, out: &mut Vec<u32>) {
        let text = normalized.as_bytes();
        let size = text.len();
        best.clear();
        best.resize(
            size + 1,
            Best {
                score: 0.0,
                starts_at: -1,
                id: 0,
                next: 0,
            },
        );
        let unk_id = self.options.unk_id;
        let mut starts_at = 0usize;
        while starts_at < size {
            let base = best[starts_at].score;
            let mblen = utf8_len(text[starts_at]).min(size - starts_at);
            let mut has_single = false;
            let mut node = self.root[text[starts_at] as usize];
            let mut key_pos = starts_at + 1;
            while node != NO_PIECE {
                let id = self.nodes[node as usize].piece;
                if id != NO_PIECE && self.pieces[id as usize].kind != PieceKind::Unused {
                    let cand = base + self.lattice_score[id as usize];
                    let target = &mut best[key_pos];
                    if target.starts_at == -1 || cand > target.score {
                        *target = Best {
                            score: cand,
                            starts_at: starts_at as i32,
                            id,
                            next: 0,
                        };
                    }
                    if key_pos - starts_at == mblen {
                        has_single = true;
                    }
                }
                if key_pos >= size {
                    break;
                }
                node = self.child(node, text[key_pos]).unwrap_or(NO_PIECE);
                key_pos += 1;
            }
            if !has_single {
                let cand = base + self.unk_score;
                let target = &mut best[starts_at + mblen];
                if target.starts_at == -1 || cand > target.score {
                    *target = Best {
                        score: cand,
                        starts_at: starts_at as i32,
                        id: unk_id,
                        next: 0,
                    };
                }
            }
            starts_at += mblen;
        }

        // Backtrack, leaving a forward link at each piece's start, then emit in text order.
        let mut ends_at = size;
        while ends_at > 0 {
            let start = best[ends_at].starts_at.max(0) as usize;
            best[start].next = ends_at as u32;
            ends_at = start;
        }
        let mut pos = 0usize;
        let mut prev_unk = false;
        while pos < size {
            let end = best[pos].next as usize;
            let id = best[end].id;
            if id == unk_id {
                if let Some(bytes) = &self.byte_ids {
                    out.extend(text[pos..end].iter().map(|&b| bytes[b as usize]));
                } else if !(self.options.fuse_unk && prev_unk) {
                    out.push(id);
                }
                prev_unk = true;
            } else {
                out.push(id);
                prev_unk = false;
            }
            pos = end;
        }
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for a stray continuation byte).
#[inline]
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Unigram {
        let pieces = vec![
            ("<unk>".to_string(), 0.0),
            ("▁".to_string(), -2.0),
            ("▁a".to_string(), -1.5),
            ("a".to_string(), -2.0),
            ("b".to_string(), -2.5),
            ("ab".to_string(), -3.0),
            ("▁ab".to_string(), -3.5),
            ("c".to_string(), -6.0),
        ];
        Unigram::new(pieces, 0).expect("toy vocabulary")
    }

    fn ids(u: &Unigram, s: &str) -> Vec<u32> {
        let mut out = Vec::new();
        u.encode(s, &mut out);
        out
    }

    #[test]
    fn empty_input_gives_nothing() {
        assert!(ids(&toy(), "").is_empty());
    }

    #[test]
    fn picks_the_best_path() {
        let u = toy();
        // "▁ab" alone scores -3.5, better than "▁a"+"b" (-4.0) or "▁"+"ab" (-5.0).
        assert_eq!(ids(&u, "▁ab"), vec![6]);
        assert_eq!(ids(&u, "▁abc"), vec![6, 7]);
        assert_eq!(ids(&u, "▁a▁a"), vec![2, 2]);
    }

    #[test]
    fn unknown_runs_are_fused() {
        let u = toy();
        // 'x', 'é' and '日' are not in the vocabulary: one fused unknown.
        assert_eq!(ids(&u, "▁axé日"), vec![2, 0]);
        assert_eq!(ids(&u, "xa日b"), vec![0, 3, 0, 4]);
        let mut opts = UnigramOptions::new(0);
        opts.fuse_unk = false;
        let pieces = u.pieces.clone();
        let v = Unigram::with_pieces(pieces, opts).expect("vocabulary");
        assert_eq!(ids(&v, "▁axé日"), vec![2, 0, 0, 0]);
    }

    #[test]
    fn whitespace_runs_use_the_space_piece() {
        let u = toy();
        assert_eq!(ids(&u, "▁▁▁a"), vec![1, 1, 2]);
    }

    #[test]
    fn control_and_unused_pieces_are_never_emitted() {
        let pieces = vec![
            Piece::new("<unk>", 0.0, PieceKind::Unknown),
            Piece::new("<s>", 0.0, PieceKind::Control),
            Piece::new("a", -1.0, PieceKind::Normal),
            Piece::new("aa", -0.5, PieceKind::Unused),
            Piece::new("<s", -0.1, PieceKind::Normal),
        ];
        let u = Unigram::with_pieces(pieces, UnigramOptions::new(0)).expect("vocabulary");
        assert_eq!(ids(&u, "aa"), vec![2, 2]);
        assert_eq!(ids(&u, "<s>"), vec![4, 0]);
        assert_eq!(u.piece_to_id("<s>"), Some(1));
    }

    #[test]
    fn user_defined_pieces_always_win() {
        let pieces = vec![
            Piece::new("<unk>", 0.0, PieceKind::Unknown),
            Piece::new("a", -1.0, PieceKind::Normal),
            Piece::new("b", -1.0, PieceKind::Normal),
            Piece::new("ab", -100.0, PieceKind::UserDefined),
        ];
        let u = Unigram::with_pieces(pieces, UnigramOptions::new(0)).expect("vocabulary");
        assert_eq!(ids(&u, "abab"), vec![3, 3]);
    }

    #[test]
    fn byte_fallback_spells_unknown_text() {
        let mut pieces = vec![
            Piece::new("<unk>", 0.0, PieceKind::Unknown),
            Piece::new("a", -1.0, PieceKind::Normal),
        ];
        for b in 0..=255u8 {
            pieces.push(Piece::new(format!("<0x{b:02X}>"), 0.0, PieceKind::Byte));
        }
        let mut opts = UnigramOptions::new(0);
        opts.byte_fallback = true;
        let u = Unigram::with_pieces(pieces, opts).expect("vocabulary");
        // 'é' is C3 A9.
        assert_eq!(ids(&u, "aéa"), vec![1, 2 + 0xC3, 2 + 0xA9, 1]);
        let mut out = vec![7];
        u.encode("éé", &mut out);
        assert_eq!(out, vec![7, 2 + 0xC3, 2 + 0xA9, 2 + 0xC3, 2 + 0xA9]);
    }

    #[test]
    fn appends_to_existing_output() {
        let u = toy();
        let mut out = vec![42];
        u.encode("▁a", &mut out);
        u.encode("x", &mut out);
        assert_eq!(out, vec![42, 2, 0]);
    }

    #[test]
    fn rejects_bad_vocabularies() {
        assert_eq!(
            Unigram::new(vec![], 0).err(),
            Some(UnigramError::EmptyVocab)
        );
        assert!(matches!(
            Unigram::new(vec![("a".into(), -1.0)], 3),
            Err(UnigramError::UnkOutOfRange { .. })
        ));
    }
}
