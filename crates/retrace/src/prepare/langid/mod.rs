//! Language identification per document, reported as ISO 639-1 codes where one exists.
//!
//! whatlang does the statistical work (trigram models for ~70 languages), through
//! [`exact::detect`], which gives whatlang's results faster. Languages it does not
//! model but that a distinctive alphabet identifies are recognised by their letters: Icelandic
//! by þ and ð (whatlang would otherwise report a Scandinavian language).

mod exact;
mod profiles;

use whatlang::Lang;

/// A language guess.
#[derive(Debug, Clone, PartialEq)]
pub struct LangGuess {
    /// ISO 639-1 code where one exists, else ISO 639-3; `und` when undetermined.
    pub code: &'static str,
    /// 0..1
    pub confidence: f64,
}

/// Bytes of text looked at: enough for a stable guess, cheap on long documents.
pub const SAMPLE_BYTES: usize = 640;

/// Identify the language of `text` (only its first few KiB are read).
pub fn identify(text: &str) -> LangGuess {
    let sample = crate::prepare::segment::prefix(text, SAMPLE_BYTES);
    let info = exact::detect(sample);
    let Some(info) = info else {
        return LangGuess {
            code: "und",
            confidence: 0.0,
        };
    };
    let mut code = iso639_1(info.lang());
    // Names with þ/ð in a text of another language (an English report on Icelandic
    // football) must not make it Icelandic: only a Nordic or unsure guess is overridden.
    let nordic = matches!(info.lang(), Lang::Dan | Lang::Nob | Lang::Swe);
    if info.script() == whatlang::Script::Latin
        && (nordic || !info.is_reliable())
        && icelandic_letters(sample)
    {
        code = "is";
    }
    LangGuess {
        code,
        confidence: info.confidence(),
    }
}

/// True when þ/ð make up a share of letters typical of Icelandic prose.
fn icelandic_letters(s: &str) -> bool {
    let mut letters = 0usize;
    let mut marked = 0usize;
    for c in s.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if matches!(c, 'þ' | 'ð' | 'Þ' | 'Ð') {
                marked += 1;
            }
        }
    }
    letters > 0 && marked * 100 >= letters
}

/// A language code as [`identify`] gives it: static, so that documents share it. (An alias,
/// not `&'static str` written out, so that serde reads it through [`deserialize_code`]
/// rather than borrowing it from the input.)
pub type LangCode = &'static str;

/// The static code of every language this module can report, for `code` as text: `None`
/// for a code it never reports.
pub fn known_code(code: &str) -> Option<&'static str> {
    match code {
        "und" => Some("und"),
        "is" => Some("is"),
        _ => Lang::all()
            .iter()
            .map(|&l| iso639_1(l))
            .find(|&c| c == code),
    }
}

/// Read a language code (a [`crate::prepare::Prepared`] read back from disk) as the
/// static code [`identify`] gives.
pub fn deserialize_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LangCode, D::Error> {
    let code = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    known_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown language code {code:?}")))
}

/// ISO 639-1 code of a whatlang language (ISO 639-3 where no 2-letter code exists).
pub fn iso639_1(l: Lang) -> &'static str {
    match l {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "no",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_common_languages() {
        let cases = [
            ("en", "The minister said on Wednesday that the government would not change its plans for the coming year."),
            ("fr", "Le ministre a déclaré mercredi que le gouvernement ne changerait pas ses projets pour l'année prochaine."),
            ("de", "Der Minister sagte am Mittwoch, dass die Regierung ihre Pläne für das kommende Jahr nicht ändern werde."),
            ("ru", "Министр заявил в среду, что правительство не изменит свои планы на следующий год."),
            ("ja", "大臣は水曜日、政府は来年の計画を変更しないと述べた。"),
            ("is", "Ráðherrann sagði á miðvikudag að ríkisstjórnin myndi ekki breyta áætlunum sínum fyrir næsta ár."),
        ];
        for (want, text) in cases {
            assert_eq!(identify(text).code, want, "{text}");
        }
        assert_eq!(identify("").code, "und");
    }

    #[test]
    fn every_reported_code_reads_back() {
        for &l in Lang::all() {
            assert_eq!(known_code(iso639_1(l)), Some(iso639_1(l)));
        }
        assert_eq!(known_code("is"), Some("is"));
        assert_eq!(known_code("und"), Some("und"));
        assert_eq!(known_code("xx"), None);
    }

    #[test]
    fn icelandic_names_do_not_make_english_icelandic() {
        let text = "Brynjólfur Andersen Willumsson has been the subject of much talk this season \
            with Breiðablik. Breiðablik will host ÍA tonight on Stöð 2 Sport, said Guðmundur \
            Benediktsson, and Þorkell Máni Pétursson agreed with Hjörvar Hafliðason.";
        assert_eq!(identify(text).code, "en");
    }
}
