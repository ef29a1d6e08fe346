//! Names and numbers: the one rule by which retrace takes a word for a name. A word of a
//! main-text sentence that starts with an upper-case letter and does not open its sentence
//! is *capitalised* (a proper name, in the languages that mark them). Same-story evidence
//! ([`crate::relate::entities`]) and cross-lingual name keys
//! ([`crate::candidates::namekeys`]) both read words through [`for_each_word`].

use super::normalize::{Token, Tokenizer};
use super::Prepared;

/// One word of a main-text sentence.
#[derive(Debug, Clone, Copy)]
pub struct Word<'t> {
    /// The token (hash and byte range).
    pub token: Token,
    /// Its text in the original document.
    pub text: &'t str,
    /// Whether it starts with an upper-case letter and is not the first word of its
    /// sentence.
    pub capitalised: bool,
}

/// Whether the word at position `k` of its sentence is capitalised in the sense of
/// [`Word::capitalised`].
#[inline]
pub fn is_capitalised(k: usize, word: &str) -> bool {
    k > 0 && word.chars().next().is_some_and(char::is_uppercase)
}

/// Call `f` for every word of the main-text sentences of a document, in order (`toks` is
/// room for a sentence's tokens).
pub fn for_each_word<'t>(
    text: &'t str,
    p: &Prepared,
    tk: &mut Tokenizer,
    toks: &mut Vec<Token>,
    mut f: impl FnMut(Word<'t>),
) {
    for s in &p.sentences {
        toks.clear();
        tk.tokenize(text, s.start as usize..s.end as usize, toks);
        for (k, t) in toks.iter().enumerate() {
            let w = &text[t.range()];
            f(Word {
                token: *t,
                text: w,
                capitalised: is_capitalised(k, w),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capitalised_word_does_not_open_its_sentence() {
        assert!(is_capitalised(1, "Paris"));
        assert!(is_capitalised(3, "Зеленський"));
        assert!(!is_capitalised(0, "The"));
        assert!(!is_capitalised(2, "minister"));
        assert!(!is_capitalised(2, "2024"));
        assert!(
            !is_capitalised(2, "東京"),
            "unicased scripts have no capitals"
        );
    }
}
