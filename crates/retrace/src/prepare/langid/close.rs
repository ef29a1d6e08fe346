//! Telling close languages apart by their function words, where fastText's lid.176 lacks one
//! of them (Xhosa beside Zulu, Faroese beside Icelandic) or confuses them on short sentences
//! (Malay and Indonesian, Danish and Norwegian Bokmål). The word lists are the grammatical
//! words and spellings that differ between each pair (conjunctions, pronouns, question words),
//! from the languages' grammars, not trained on any collection.

/// Words (lowercase) of each side of a pair of close languages.
struct Pair {
    a: &'static str,
    b: &'static str,
    a_words: &'static [&'static str],
    b_words: &'static [&'static str],
    /// Word beginnings (prefixes) of each side.
    a_prefixes: &'static [&'static str],
    b_prefixes: &'static [&'static str],
}

/// Xhosa and Zulu: "and", "that", "or", "where", "now", "what", "because"; Xhosa's first
/// person ndi- and locative kwi-, Zulu's first person ngi-.
const XHOSA_ZULU: Pair = Pair {
    a: "xh",
    b: "zu",
    a_words: &[
        "kwaye",
        "ukuba",
        "okanye",
        "apho",
        "ngoku",
        "ntoni",
        "kuba",
        "ngokuba",
        "njengoko",
        "ngoko",
        "kunye",
        "yaye",
        "nokuba",
        "kananjalo",
        "hayi",
        "phofu",
        "xa",
    ],
    b_words: &[
        "futhi", "ukuthi", "noma", "lapho", "manje", "yini", "ngoba", "uma", "kanye", "nokuthi",
        "lokhu", "lokho", "ngempela", "yebo", "cha", "kanjalo",
    ],
    a_prefixes: &["ndi", "kwi"],
    b_prefixes: &["ngi"],
};

/// Malay (Malaysian standard) and Indonesian: "can", "because", "that", "only", "want",
/// "money", "tomorrow", "car", "you"; Malay's -kah questions.
const MALAY_INDONESIAN: Pair = Pair {
    a: "ms",
    b: "id",
    a_words: &[
        "boleh",
        "kerana",
        "bahawa",
        "sahaja",
        "mahu",
        "wang",
        "esok",
        "kereta",
        "awak",
        "sesiapa",
        "hendak",
        "encik",
        "puan",
        "adakah",
        "mengapakah",
        "bagaimanakah",
        "sememangnya",
        "pejabat",
        "percuma",
        "bilik",
    ],
    b_words: &[
        "bisa", "karena", "bahwa", "saja", "mau", "uang", "besok", "mobil", "kalian", "nggak",
        "gak", "enggak", "banget", "kantor", "cuma", "gratis", "kamar", "bapak", "dong", "kok",
    ],
    a_prefixes: &[],
    b_prefixes: &[],
};

/// Norwegian (Bokmål) and Danish: me/you/self, of, after, than, what, became, something, now.
const NORWEGIAN_DANISH: Pair = Pair {
    a: "no",
    b: "da",
    a_words: &[
        "meg", "deg", "seg", "av", "etter", "enn", "hva", "ble", "noe", "nå", "mye", "veldig",
        "gutt", "ei", "kjøpe", "kjenner", "fikk",
    ],
    b_words: &[
        "mig", "dig", "sig", "af", "efter", "end", "hvad", "blev", "noget", "nu", "meget", "fik",
        "købe", "kender",
    ],
    a_prefixes: &[],
    b_prefixes: &[],
};

impl Pair {
    /// `a`, `b` or `None` (a tie) by which side's words occur more often in `text`.
    fn decide(&self, text: &str) -> Option<&'static str> {
        let (mut a, mut b) = (0usize, 0usize);
        for word in words(text) {
            let w = word.as_str();
            a += self.a_words.contains(&w) as usize
                + self.a_prefixes.iter().any(|p| w.starts_with(p)) as usize;
            b += self.b_words.contains(&w) as usize
                + self.b_prefixes.iter().any(|p| w.starts_with(p)) as usize;
        }
        match a.cmp(&b) {
            std::cmp::Ordering::Greater => Some(self.a),
            std::cmp::Ordering::Less => Some(self.b),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// The lowercase words (runs of letters) of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Xhosa or Zulu, for a text identified as Zulu (Zulu when its words do not say).
pub fn xhosa_or_zulu(text: &str) -> &'static str {
    XHOSA_ZULU.decide(text).unwrap_or("zu")
}

/// Malay or Indonesian, for a text identified as either (`guess` when its words do not say).
pub fn malay_or_indonesian(text: &str, guess: &'static str) -> &'static str {
    MALAY_INDONESIAN.decide(text).unwrap_or(guess)
}

/// Norwegian or Danish, for a text identified as Danish (Danish when its words do not say).
pub fn norwegian_or_danish(text: &str) -> &'static str {
    NORWEGIAN_DANISH.decide(text).unwrap_or("da")
}

/// True for Faroese in a text identified as Icelandic or a Scandinavian language: ð (which
/// Danish, Norwegian and Swedish lack) without þ (which Icelandic uses in its commonest words),
/// with ø (which Icelandic lacks) or a Faroese function word.
pub fn faroese(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "ikki", "tað", "hetta", "eisini", "hevur", "hvat", "eg", "vit",
    ];
    let mut eth = false;
    let mut o_slash = false;
    for c in text.chars() {
        match c {
            'þ' | 'Þ' => return false,
            'ð' | 'Ð' => eth = true,
            'ø' | 'Ø' => o_slash = true,
            _ => {}
        }
    }
    eth && (o_slash || words(text).any(|w| WORDS.contains(&w.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_pairs_are_told_apart_by_their_words() {
        assert_eq!(
            xhosa_or_zulu("Ndiyathetha kwaye ndiyahamba, ukuba uyafuna."),
            "xh"
        );
        assert_eq!(
            xhosa_or_zulu("Ngiyakhuluma futhi ngiyahamba, uma ufuna."),
            "zu"
        );
        assert_eq!(xhosa_or_zulu("Abantu"), "zu", "no evidence: Zulu");
        assert_eq!(
            malay_or_indonesian("Saya tidak boleh datang kerana hujan.", "id"),
            "ms"
        );
        assert_eq!(
            malay_or_indonesian("Saya tidak bisa datang karena hujan.", "ms"),
            "id"
        );
        assert_eq!(malay_or_indonesian("Saya makan nasi.", "ms"), "ms");
        assert_eq!(norwegian_or_danish("Hva sa hun til deg etter møtet?"), "no");
        assert_eq!(
            norwegian_or_danish("Hvad sagde hun til dig efter mødet?"),
            "da"
        );
    }

    #[test]
    fn faroese_has_eth_without_thorn() {
        assert!(faroese("Eg veit ikki, hvat tað merkir."));
        assert!(faroese("Hon býr í Tórshavn við sínum børnum og manni."));
        assert!(!faroese("Ég veit ekki hvað það þýðir."), "Icelandic");
        assert!(!faroese("Jeg ved ikke hvad det betyder."), "Danish");
    }
}
