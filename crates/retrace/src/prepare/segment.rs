//! Segmentation: lines, paragraphs and sentences as byte ranges of the original text.
//!
//! Sentences end at terminal punctuation followed by a space and a likely sentence start, at
//! ideographic terminal punctuation (。！？) without a space, and at line breaks. Initials and
//! short abbreviations ("J. Smith", "Dr.", "z. B.", "U.S.") do not end sentences. Thai, which
//! marks sentence ends with a space only, is split at spaces once a sentence is long enough.

use std::ops::Range;

/// The longest start of `s` of at most `max` bytes that ends at a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Non-empty lines, trimmed, with the number of blank lines before each.
pub fn lines(text: &str) -> Vec<(Range<usize>, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut blanks = 0;
    for raw in text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let lead = body.len() - body.trim_start().len();
        let t = body.trim();
        if t.is_empty() {
            blanks += 1;
            continue;
        }
        let s = start + lead;
        out.push((s..s + t.len(), blanks));
        blanks = 0;
    }
    out
}

/// Paragraphs: runs of lines with no blank line between them.
pub fn paragraphs(lines: &[(Range<usize>, usize)]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, (r, blanks)) in lines.iter().enumerate() {
        match out.last_mut() {
            Some(p) if i > 0 && *blanks == 0 => p.end = r.end,
            _ => out.push(r.clone()),
        }
    }
    out
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "etc", "inc", "ltd", "co", "corp",
    "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep", "rev", "no", "nr", "vol", "fig", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "z", "b", "u",
    "a", "d", "h", "e", "i", "bzw", "ca", "vgl", "usw", "hr", "fr", "mme", "mlle", "m", "str", "г",
    "гг", "т", "е", "др", "им", "ул", "пр", "тыс", "млн", "млрд", "см", "ст",
];

fn is_terminal(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '…' | '。' | '！' | '？' | '؟' | '।' | '۔'
    )
}

fn is_closing(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '」' | '』' | '）' | '“' | '«'
    ) && c != '«'
}

/// Bytes that begin (or continue) a character that neither ends a sentence nor a line, nor
/// is Thai: ASCII other than `\n . ! ?`, continuation bytes, and the lead bytes of no
/// terminal punctuation or Thai (terminal marks and Thai lead with D8, DB, E0, E2, E3, EF).
static PLAIN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = !matches!(
            b as u8,
            b'\n'
                | b'.'
                | b'!'
                | b'?'
                | 0xD8
                | 0xDB
                | 0xE0
                | 0xE2
                | 0xE3
                | 0xEF
                | 0xC0
                | 0xC1
                | 0xF5..=0xFF
        );
        b += 1;
    }
    t
};

fn is_thai(c: char) -> bool {
    ('\u{0E00}'..='\u{0E7F}').contains(&c)
}

/// Append the sentences of `text[range]` (a paragraph or line) to `out`.
pub fn sentences(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[range.clone()];
    let bytes = s.as_bytes();
    let base = range.start;
    let mut start = 0usize;
    let push = |out: &mut Vec<Range<usize>>, a: usize, b: usize| {
        let seg = &s[a..b];
        let lead = seg.len() - seg.trim_start().len();
        let t = seg.trim();
        if !t.is_empty() {
            out.push(base + a + lead..base + a + lead + t.len());
        }
    };
    let mut pos = 0usize;
    // Whether the character before `pos` is Thai.
    let mut prev_thai = false;
    while pos < bytes.len() {
        // Most characters decide nothing (unless a space follows Thai): skipped by byte.
        if !prev_thai {
            match bytes[pos..].iter().position(|&b| !PLAIN_BYTE[b as usize]) {
                Some(k) => pos += k,
                None => break,
            }
        }
        let c = s[pos..].chars().next().unwrap_or(' ');
        let next = pos + c.len_utf8();
        if c == '\n' {
            push(out, start, pos);
            start = next;
        } else if is_terminal(c) {
            // Swallow runs of terminal punctuation and closing quotes.
            let run = s[next..]
                .find(|x: char| !(is_terminal(x) || is_closing(x)))
                .unwrap_or(s.len() - next);
            let end = next + run;
            let ideographic = matches!(c, '。' | '！' | '？');
            let next_space = s[end..].chars().next().is_none_or(char::is_whitespace);
            if ideographic
                || (next_space && !is_abbreviation(s, pos, c) && starts_sentence(&s[end..]))
            {
                push(out, start, end);
                start = end;
            }
            prev_thai = s[..end].chars().next_back().is_some_and(is_thai);
            pos = end;
            continue;
        } else if c == ' ' && prev_thai {
            let len = s[start..pos].chars().count();
            if len >= 40 && s[next..].chars().next().is_some_and(is_thai) {
                push(out, start, pos);
                start = next;
            }
        }
        prev_thai = is_thai(c);
        pos = next;
    }
    push(out, start, s.len());
}

/// True when the next non-space character of `rest` could start a sentence.
fn starts_sentence(rest: &str) -> bool {
    match rest.chars().find(|c| !c.is_whitespace()) {
        None => true,
        Some(c) => !c.is_lowercase(),
    }
}

/// True when the '.' at byte `pos` ends an abbreviation or an initial, not a sentence.
fn is_abbreviation(s: &str, pos: usize, c: char) -> bool {
    if c != '.' {
        return false;
    }
    let before = &s[..pos];
    // The run of letters, digits and dots before `pos`.
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '.')
        .last()
        .map_or(pos, |(i, _)| i);
    let word = &before[start..];
    let last = word.rsplit('.').next().unwrap_or("");
    if last.is_empty() {
        return false;
    }
    // Initials and dotted abbreviations: "J.", "U.S."
    if last.chars().count() == 1 && last.chars().all(|c| c.is_uppercase()) {
        return true;
    }
    if word.contains('.') && last.chars().count() <= 2 {
        return true;
    }
    // Numbers like "1." in dates ("1. April") are ordinals in many languages.
    if last.chars().all(|c| c.is_ascii_digit()) && last.len() <= 2 {
        return true;
    }
    // No abbreviation is longer than this (lower-casing never shortens a word).
    const LONGEST_ABBREVIATION: usize = 4;
    last.chars().count() <= LONGEST_ABBREVIATION
        && ABBREVIATIONS.contains(&last.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(t: &str) -> Vec<&str> {
        let mut out = Vec::new();
        sentences(t, 0..t.len(), &mut out);
        out.into_iter().map(|r| &t[r]).collect()
    }

    #[test]
    fn a_prefix_ends_at_a_character_boundary() {
        assert_eq!(prefix("naïve", 3), "na");
        assert_eq!(prefix("naïve", 4), "naï");
        assert_eq!(prefix("naïve", 99), "naïve");
        assert_eq!(prefix("東京", 5), "東");
        assert_eq!(prefix("東京", 0), "");
    }

    #[test]
    fn latin_sentences_and_abbreviations() {
        assert_eq!(
            sents("Dr. Smith met J. Doe in the U.S. on Monday. They talked! Did it work? Yes."),
            vec![
                "Dr. Smith met J. Doe in the U.S. on Monday.",
                "They talked!",
                "Did it work?",
                "Yes."
            ]
        );
        assert_eq!(
            sents("He said: \"It is over.\" Then he left."),
            vec!["He said: \"It is over.\"", "Then he left."]
        );
        assert_eq!(
            sents("Am 1. April kam er. Gut."),
            vec!["Am 1. April kam er.", "Gut."]
        );
    }

    #[test]
    fn plain_bytes_never_start_a_character_that_decides() {
        for c in (0..0x11_0000u32).filter_map(char::from_u32) {
            if c == '\n' || is_terminal(c) || is_thai(c) {
                let mut b = [0u8; 4];
                let lead = c.encode_utf8(&mut b).as_bytes()[0];
                assert!(!PLAIN_BYTE[lead as usize], "{c:?}");
            }
        }
    }

    #[test]
    fn abbreviations_are_short() {
        assert!(ABBREVIATIONS.iter().all(|a| a.chars().count() <= 4));
    }

    #[test]
    fn cjk_cyrillic_arabic_thai() {
        assert_eq!(
            sents("今日は晴れ。明日は雨です！"),
            vec!["今日は晴れ。", "明日は雨です！"]
        );
        assert_eq!(sents("Привет. Как дела?"), vec!["Привет.", "Как дела?"]);
        assert_eq!(
            sents("مرحبا بكم. كيف حالك؟ جيد."),
            vec!["مرحبا بكم.", "كيف حالك؟", "جيد."]
        );
        let thai = "วันนี้อากาศดีมากและฉันอยากไปเที่ยวทะเลกับเพื่อนๆ ของฉัน พรุ่งนี้ฝนจะตก";
        assert_eq!(sents(thai).len(), 2);
    }

    #[test]
    fn lines_and_paragraphs() {
        let t = "  Title\n\nFirst line\nsecond line\n\n\n Last \n";
        let l = lines(t);
        assert_eq!(
            l.iter().map(|(r, _)| &t[r.clone()]).collect::<Vec<_>>(),
            vec!["Title", "First line", "second line", "Last"]
        );
        let p = paragraphs(&l);
        assert_eq!(
            p.iter().map(|r| &t[r.clone()]).collect::<Vec<_>>(),
            vec!["Title", "First line\nsecond line", "Last"]
        );
        let mut s = Vec::new();
        sentences(t, p[1].clone(), &mut s);
        assert_eq!(s.len(), 2, "a line break ends a sentence");
    }
}
