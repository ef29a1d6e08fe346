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

/// Decode named (common ones) and numeric character references.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(|c: char| c == ';' || c.is_whitespace() || c == '&');
        let decoded = match end {
            Some(e) if rest.as_bytes()[e + 1] == b';' && e <= 10 => {
                let ent = &rest[1..e + 1];
                entity(ent).map(|c| (c, e + 2))
            }
            _ => None,
        };
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
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

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse().ok()?
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "copy" => '©',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
