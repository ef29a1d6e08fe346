//! Language-independent keys for cross-lingual candidates: the names and numbers of a
//! document reduced to a form that survives translation and transliteration, so that a
//! translation can be found even where no encoder reads its language well.
//!
//! A name (a capitalised word that does not open a sentence) becomes the first three
//! consonants of its skeleton in Latin letters: Cyrillic is transliterated, diacritics are
//! dropped, vowels are removed and consonants that scripts spell differently are merged
//! (`Zelensky`, `Zelenski`, `Зеленський` and the inflected `Zelenskog` all give `sln`). A number of two or more digits stays itself. Two documents score by the
//! inverse document frequency of the keys they share, normalised like a cosine, and each
//! query document keeps its best few partners. Keys held by more than `max_df` documents
//! are ignored, so the cost grows with the corpus times that cap, not with all pairs.

use super::NeighborPair;
use crate::document::Document;
use crate::id::DocId;
use crate::prepare::names::for_each_word;
use crate::prepare::normalize::Tokenizer;
use crate::prepare::Prepared;
use foldhash::HashMap;
use rayon::prelude::*;
use unicode_normalization::char::decompose_canonical;

/// Consonants a skeleton keeps as a key.
const KEY_CONSONANTS: usize = 3;

/// Latin spelling of a lower-case Cyrillic letter (empty for signs without a sound).
fn cyrillic(c: char) -> &'static str {
    match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' | 'є' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ї' | 'ы' => "i",
        'й' | 'ъ' | 'ь' => "",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ю' => "yu",
        'я' => "ya",
        'ђ' => "dj",
        'ј' => "j",
        'љ' => "lj",
        'њ' => "nj",
        'ћ' => "c",
        'џ' => "dz",
        _ => "?",
    }
}

/// The consonant class of a lower-case Latin letter, or `None` for a vowel or a letter
/// that scripts write inconsistently (j, y, w as a glide).
fn consonant(c: char) -> Option<char> {
    Some(match c {
        'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'j' => return None,
        'c' | 'k' | 'q' => 'k',
        'g' | 'h' => 'g',
        'v' | 'w' | 'f' => 'v',
        's' | 'z' | 'x' => 's',
        'b' | 'p' => 'p',
        'd' | 't' => 't',
        'l' | 'm' | 'n' | 'r' => c,
        _ => return None,
    })
}

/// The skeleton key of a word, or `None` when it has fewer than three consonants or a
/// letter outside the Latin and Cyrillic scripts.
pub fn name_key(word: &str) -> Option<String> {
    let mut latin = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' => latin.push(c),
            'þ' => latin.push_str("th"),
            'ð' | 'đ' => latin.push('d'),
            'æ' => latin.push_str("ae"),
            'ø' | 'œ' => latin.push('o'),
            'ß' => latin.push_str("ss"),
            'ł' => latin.push('l'),
            '\u{0400}'..='\u{04ff}' => match cyrillic(c) {
                "?" => return None,
                s => latin.push_str(s),
            },
            '\'' | '’' | '-' => {}
            c => {
                let mut base = None;
                decompose_canonical(c, |d| {
                    if base.is_none() {
                        base = Some(d);
                    }
                });
                match base {
                    Some(b @ 'a'..='z') => latin.push(b),
                    _ => return None,
                }
            }
        }
    }
    let mut key = String::with_capacity(KEY_CONSONANTS);
    let mut last = None;
    for c in latin.chars() {
        let k = consonant(c);
        if let Some(k) = k {
            if last != Some(k) {
                key.push(k);
                if key.len() == KEY_CONSONANTS {
                    return Some(key);
                }
            }
        }
        last = k;
    }
    None
}

/// ASCII digits of a number token of at least two digits (full-width digits folded).
fn number_key(word: &str) -> Option<String> {
    let mut out = String::new();
    for c in word.chars() {
        match c {
            '0'..='9' => out.push(c),
            '０'..='９' => out.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            _ => return None,
        }
    }
    (out.len() >= 2).then_some(out)
}

/// The sorted, unique name and number keys of one document's main text.
pub fn document_keys(text: &str, p: &Prepared, tk: &mut Tokenizer) -> Vec<u64> {
    let mut keys = Vec::new();
    for_each_word(text, p, tk, &mut Vec::new(), |w| {
        if let Some(n) = number_key(w.text) {
            keys.push(xxhash_rust::xxh3::xxh3_64_with_seed(n.as_bytes(), 1));
        } else if w.capitalised {
            if let Some(k) = name_key(w.text) {
                keys.push(xxhash_rust::xxh3::xxh3_64_with_seed(k.as_bytes(), 2));
            }
        }
    });
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys of every document.
pub fn corpus_keys(docs: &[Document], prepared: &[Prepared]) -> Vec<Vec<u64>> {
    docs.par_iter()
        .zip(prepared)
        .map_init(Tokenizer::default, |tk, (d, p)| {
            document_keys(&d.text, p, tk)
        })
        .collect()
}

/// For each query document, its `k` best partners among all documents, by shared key weight
/// normalised by the geometric mean of both documents' key weights. Partners need
/// `min_shared` shared keys; keys held by more than `max_df` documents are skipped. Sorted
/// by pair and deduplicated.
pub fn key_neighbors(
    keys: &[Vec<u64>],
    queries: &[bool],
    k: usize,
    max_df: usize,
    min_shared: usize,
) -> Vec<NeighborPair> {
    let n = keys.len();
    let mut postings: HashMap<u64, Vec<u32>> = HashMap::default();
    for (d, ks) in keys.iter().enumerate() {
        for &h in ks {
            postings.entry(h).or_default().push(d as u32);
        }
    }
    let idf = |df: usize| (1.0 + n as f32 / df as f32).ln();
    let weight: Vec<f32> = keys
        .iter()
        .map(|ks| ks.iter().map(|h| idf(postings[h].len())).sum())
        .collect();
    let mut out: Vec<(u32, u32, f32)> = (0..n)
        .into_par_iter()
        .filter(|&q| queries[q])
        .flat_map_iter(|q| {
            let mut acc: HashMap<u32, (f32, usize)> = HashMap::default();
            for h in &keys[q] {
                let list = &postings[h];
                if list.len() > max_df {
                    continue;
                }
                let w = idf(list.len());
                for &d in list {
                    if d as usize != q {
                        let e = acc.entry(d).or_default();
                        e.0 += w;
                        e.1 += 1;
                    }
                }
            }
            let mut best: Vec<(u32, f32)> = acc
                .into_iter()
                .filter(|(_, (_, c))| *c >= min_shared)
                .map(|(d, (w, _))| (d, w / (weight[q] * weight[d as usize]).sqrt().max(1e-6)))
                .collect();
            best.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            best.truncate(k);
            let q = q as u32;
            best.into_iter().map(move |(d, s)| (q.min(d), q.max(d), s))
        })
        .collect();
    out.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(y.2.total_cmp(&x.2)));
    out.dedup_by_key(|p| (p.0, p.1));
    out.into_iter()
        .map(|(a, b, similarity)| NeighborPair {
            a: DocId(a),
            b: DocId(b),
            similarity,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_agree_across_scripts_and_inflections() {
        let k = |w| name_key(w).unwrap();
        assert_eq!(k("Zelensky"), k("Зеленський"));
        assert_eq!(k("Zelensky"), k("Zelenskog"));
        assert_eq!(k("Trump"), k("Трамп"));
        assert_eq!(k("Trump"), k("Trumpa"));
        assert_eq!(k("Chernihiv"), k("Чернігів"));
        assert_eq!(k("Þórólfur"), k("Thorolfur"));
        assert_ne!(k("Trump"), k("Biden"));
        assert_eq!(
            name_key("Kyiv"),
            None,
            "two consonants are too few to be a key"
        );
        assert_eq!(name_key("東京"), None);
    }

    #[test]
    fn numbers_keep_their_digits() {
        assert_eq!(number_key("2019").as_deref(), Some("2019"));
        assert_eq!(number_key("２０１９").as_deref(), Some("2019"));
        assert_eq!(number_key("7"), None);
        assert_eq!(number_key("7th"), None);
    }

    #[test]
    fn a_translation_shares_rare_keys_with_its_source() {
        // 0 and 1 share rare keys; 2 shares only a key that every document has.
        let keys = vec![
            vec![1, 2, 3, 9],
            vec![1, 2, 4, 9],
            vec![5, 6, 9],
            vec![7, 8, 9],
        ];
        let pairs = key_neighbors(&keys, &[true, false, false, false], 2, 3, 2);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a, pairs[0].b), (DocId(0), DocId(1)));
        // Without the document-frequency cap the common key links everything.
        let pairs = key_neighbors(&keys, &[true, false, false, false], 3, 10, 1);
        assert_eq!(pairs.len(), 3);
        assert!(pairs[0].similarity > pairs[1].similarity, "{pairs:?}");
    }
}
