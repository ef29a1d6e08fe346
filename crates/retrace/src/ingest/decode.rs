//! Bytes to text: a byte order mark, an HTML `<meta charset>`, UTF-8, or else the legacy
//! encoding a detector (chardetng) finds, decoded with encoding_rs.

use encoding_rs::Encoding;

/// How the encoding of a file was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// A byte order mark (UTF-8, UTF-16LE or UTF-16BE).
    Bom,
    /// An HTML `<meta charset>` (or `http-equiv` content type) in the first 1024 bytes.
    Meta,
    /// Valid UTF-8 without a mark.
    Utf8,
    /// Detected from the bytes (neither declared nor valid UTF-8).
    Detected,
}

/// A file's text.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding it was decoded from.
    pub encoding: &'static Encoding,
    /// How that encoding was chosen.
    pub chosen: Chosen,
    /// Some bytes were not valid in that encoding (replaced with U+FFFD).
    pub lossy: bool,
    /// Offset of the first invalid byte, when `lossy` and known.
    pub first_bad: Option<usize>,
}

impl Decoded {
    /// Whether the text is the file's bytes as they are (UTF-8 without a mark, all valid).
    pub fn is_verbatim(&self) -> bool {
        self.chosen == Chosen::Utf8 && !self.lossy
    }
}

/// Whether `bytes` start with a UTF-16 byte order mark (such files hold NUL bytes and are
/// text all the same).
pub fn has_utf16_bom(bytes: &[u8]) -> bool {
    matches!(Encoding::for_bom(bytes), Some((e, _)) if e != encoding_rs::UTF_8)
}

/// Decode a file's bytes (`html`: look for a `<meta charset>` too).
pub fn decode(bytes: &[u8], html: bool) -> Decoded {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return with(enc, &bytes[bom..], Chosen::Bom, bom);
    }
    if html {
        if let Some(enc) = meta_charset(bytes) {
            return with(enc, bytes, Chosen::Meta, 0);
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: s.to_string(),
            encoding: encoding_rs::UTF_8,
            chosen: Chosen::Utf8,
            lossy: false,
            first_bad: None,
        };
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let enc = det.guess(None, true);
    if enc == encoding_rs::UTF_8 {
        // Invalid UTF-8 that looks like UTF-8 all the same.
        let at = std::str::from_utf8(bytes).err().map(|e| e.valid_up_to());
        let mut d = with(enc, bytes, Chosen::Utf8, 0);
        d.first_bad = at;
        return d;
    }
    with(enc, bytes, Chosen::Detected, 0)
}

fn with(enc: &'static Encoding, bytes: &[u8], chosen: Chosen, skipped: usize) -> Decoded {
    let (text, lossy) = enc.decode_without_bom_handling(bytes);
    let first_bad = if lossy && enc == encoding_rs::UTF_8 {
        std::str::from_utf8(bytes)
            .err()
            .map(|e| e.valid_up_to() + skipped)
    } else {
        None
    };
    Decoded {
        text: text.into_owned(),
        encoding: enc,
        chosen,
        lossy,
        first_bad,
    }
}

/// The encoding an HTML document declares in a `<meta>` of its first 1024 bytes, as the
/// HTML standard's prescan reads it (a UTF-16 label means UTF-8 there: the bytes were
/// read as ASCII to find it).
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let mut at = 0;
    while let Some(i) = find(&lower[at..], b"<meta") {
        let start = at + i + 5;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let mut rest = &tag[c + 7..];
            rest = trim_start(rest);
            if let Some(r) = rest.strip_prefix(b"=") {
                let r = trim_start(r);
                let r = r
                    .strip_prefix(b"\"")
                    .or_else(|| r.strip_prefix(b"'"))
                    .unwrap_or(r);
                let n = r
                    .iter()
                    .position(|&b| {
                        matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'\t' | b'\n' | b'\r')
                    })
                    .unwrap_or(r.len());
                if let Some(enc) = Encoding::for_label(&r[..n]) {
                    return Some(
                        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                            encoding_rs::UTF_8
                        } else if enc == encoding_rs::X_USER_DEFINED {
                            encoding_rs::WINDOWS_1252
                        } else {
                            enc
                        },
                    );
                }
            }
        }
        at = end.max(start);
    }
    None
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\n' | b'\r' | b'\x0c', rest @ ..] = s {
        s = rest;
    }
    s
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_meta_utf8_and_detected() {
        let d = decode(b"\xEF\xBB\xBFcaf\xC3\xA9", false);
        assert_eq!((d.text.as_str(), d.chosen), ("café", Chosen::Bom));
        let d = decode(b"\xFF\xFEc\x00a\x00f\x00\xE9\x00", false);
        assert_eq!((d.text.as_str(), d.encoding.name()), ("café", "UTF-16LE"));
        let page = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xE9</body>";
        let d = decode(page, true);
        assert_eq!(d.chosen, Chosen::Meta);
        assert!(d.text.ends_with("café</body>"), "{}", d.text);
        let page = b"<meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>\xCF\xF0\xE8\xE2\xE5\xF2";
        assert!(decode(page, true).text.ends_with("Привет"));
        let d = decode("plain café".as_bytes(), false);
        assert!(d.is_verbatim());
        let d = decode(
            b"He said \x93it is done\x94 \x96 and left; it\x92s over for the year.",
            false,
        );
        assert_eq!(d.chosen, Chosen::Detected);
        assert_eq!(d.encoding.name(), "windows-1252");
        assert_eq!(
            d.text,
            "He said “it is done” – and left; it’s over for the year."
        );
        assert!(!d.lossy);
    }
}
