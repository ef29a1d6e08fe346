//! HTML to text: drops markup, scripts and styles, turns block elements into line breaks and
//! decodes character references, so that web pages enter the pipeline as plain text.

/// Text and `<title>` extracted from an HTML page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlText {
    /// The page's text, a line per block.
    pub text: String,
    /// Its `<title>`, when it has one.
    pub title: Option<String>,
}

const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "main",
    "hr",
    "dd",
    "dt",
    "dl",
    "form",
    "title",
    "address",
];
const SKIP: &[&str] = &["script", "style", "noscript", "template", "svg"];

/// Convert an HTML document to text. Never fails: malformed markup degrades to text.
pub fn html_to_text(html: &str) -> HtmlText {
    let mut out = String::with_capacity(html.len() / 2);
    let mut title: Option<String> = None;
    let mut in_title = false;
    let mut title_buf = String::new();
    let mut skip_until: Option<String> = None;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip_until.is_none() {
                push_text(&mut out, rest, in_title, &mut title_buf);
            }
            break;
        };
        if skip_until.is_none() && lt > 0 {
            push_text(&mut out, &rest[..lt], in_title, &mut title_buf);
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = match rest.find("-->") {
                Some(e) => &rest[e + 3..],
                None => "",
            };
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone '<' with no closing '>': keep it as text.
            if skip_until.is_none() {
                push_text(&mut out, rest, in_title, &mut title_buf);
            }
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(end) = &skip_until {
            if closing && &name == end {
                skip_until = None;
            }
            continue;
        }
        if name == "title" {
            if closing {
                in_title = false;
                let t = title_buf.split_whitespace().collect::<Vec<_>>().join(" ");
                if !t.is_empty() && title.is_none() {
                    title = Some(t);
                }
                title_buf.clear();
            } else {
                in_title = true;
            }
            continue;
        }
        if !closing && SKIP.contains(&name.as_str()) && !tag.ends_with('/') {
            skip_until = Some(name);
            continue;
        }
        if BLOCK.contains(&name.as_str()) && !out.ends_with('\n') {
            out.push('\n');
        }
        if name == "p" && closing {
            out.push('\n');
        }
    }
    // Collapse runs of blank lines and trailing spaces.
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.lines() {
        let l = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if l.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        text.push_str(&l);
    }
    HtmlText { text, title }
}

fn push_text(out: &mut String, raw: &str, in_title: bool, title_buf: &mut String) {
    let decoded = decode_entities(raw);
    if in_title {
        title_buf.push_str(&decoded);
    } else {
        out.push_str(&decoded);
    }
}

use super::entities::ENTITIES;

/// Decode character references as HTML5 does in text: every named reference of the
/// standard (case-sensitive: `&AMP;` and `&amp;`, not `&Amp;`), the legacy ones without
/// their `;` too (`&copy 2024`), and numeric ones (`&#233;`, `&#xE9;`; code points 0x80 to
/// 0x9F as windows-1252, invalid ones as U+FFFD). Anything else stays as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(&rest[1..]) {
            Some((len, text)) => {
                out.push_str(&text);
                rest = &rest[1 + len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The longest name in [`ENTITIES`] (with its `;`).
const LONGEST_NAME: usize = 32;
/// The longest legacy name (one that may end without `;`).
const LONGEST_LEGACY: usize = 6;

fn lookup(name: &str) -> Option<&'static str> {
    ENTITIES
        .binary_search_by(|(k, _)| k.as_bytes().cmp(name.as_bytes()))
        .ok()
        .map(|i| ENTITIES[i].1)
}

/// The character reference at the start of `s` (just after its `&`): the bytes it takes
/// and its text.
fn reference(s: &str) -> Option<(usize, std::borrow::Cow<'static, str>)> {
    if let Some(num) = s.strip_prefix('#') {
        let (hex, digits) = match num.strip_prefix(['x', 'X']) {
            Some(h) => (true, h),
            None => (false, num),
        };
        let n = digits
            .bytes()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if n == 0 {
            return None;
        }
        let code = u32::from_str_radix(&digits[..n], if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
        let len = 1 + usize::from(hex) + n + usize::from(digits[n..].starts_with(';'));
        return Some((len, numeric(code).to_string().into()));
    }
    let name_len = s
        .bytes()
        .take(LONGEST_NAME)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 {
        return None;
    }
    if s[name_len..].starts_with(';') {
        if let Some(t) = lookup(&s[..name_len + 1]) {
            return Some((name_len + 1, t.into()));
        }
    }
    // A legacy reference without its `;`: the longest one that starts here.
    (2..=name_len.min(LONGEST_LEGACY))
        .rev()
        .find_map(|n| lookup(&s[..n]).map(|t| (n, t.into())))
}

/// A numeric character reference's character, as HTML5 maps it.
fn numeric(code: u32) -> char {
    match code {
        0x80..=0x9f => {
            // The C1 controls are read as the windows-1252 characters at those bytes.
            let byte = [code as u8];
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&byte);
            text.chars().next().unwrap_or('\u{fffd}')
        }
        0 => '\u{fffd}',
        c => char::from_u32(c).unwrap_or('\u{fffd}'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_reference_case_sensitive_and_numeric_ones() {
        assert_eq!(ENTITIES.len(), 2231);
        assert_eq!(
            decode_entities("Se&ntilde;or caf&eacute; &aacute; &AMP; &Amp; &amp;"),
            "Señor café á & &Amp; &"
        );
        // Legacy references end without `;` too; others do not.
        assert_eq!(
            decode_entities("&copy 2024 &notit; &hellip"),
            "© 2024 ¬it; &hellip"
        );
        assert_eq!(
            decode_entities("&NotEqualTilde; &fjlig;"),
            "\u{2242}\u{338} fj"
        );
        assert_eq!(
            decode_entities("&#150; &#x2014; &#233 &#0; &#x110000; &#; &#xZ"),
            "– — é \u{fffd} \u{fffd} &#; &#xZ"
        );
        assert_eq!(decode_entities("a & b &unknown; &"), "a & b &unknown; &");
    }

    #[test]
    fn strips_markup_and_keeps_blocks() {
        let h = "<html><head><title>T &amp; U</title><style>p{}</style></head><body>\
                 <h1>Head</h1><p>One &lt;two&gt; &#233;t&eacute;</p><script>var x=1;</script>\
                 <p>Second<br>line</p><!-- hidden --></body></html>";
        let t = html_to_text(h);
        assert_eq!(t.title.as_deref(), Some("T & U"));
        assert_eq!(t.text, "Head\nOne <two> été\n\nSecond\nline");
    }

    #[test]
    fn malformed_markup_degrades_to_text() {
        let t = html_to_text("a < b and &bogus; c");
        assert_eq!(t.text, "a < b and &bogus; c");
    }
}
