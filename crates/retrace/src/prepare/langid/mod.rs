//! Language identification per document, reported as ISO 639-1 codes where one exists.
//!
//! With the `lid176` model installed (fastText's `lid.176.ftz`, 176 languages, read by
//! [`fasttext`]), fastText identifies the language; without it whatlang does (trigram models
//! for ~70 languages, through [`exact::detect`], which gives whatlang's results faster), with a
//! warning. Languages fastText does not know are recognised as whatlang recognises them
//! (Zulu, Shona, Akan) and Xhosa by its words. Without the model, Icelandic is recognised by
//! its letters þ and ð (whatlang would otherwise report a Scandinavian language).

mod close;
mod exact;
pub mod fasttext;
mod profiles;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use thiserror::Error;
use whatlang::Lang;

/// Name of the language-identification model in the model cache.
pub const MODEL: &str = retrace_encode::models::LID176;
/// File of the model in its directory.
pub const MODEL_FILE: &str = "lid.176.ftz";

/// Why the installed language-identification model cannot be used.
#[derive(Debug, Error)]
pub enum LangIdError {
    /// The model cache could not be read, or the install is incomplete or damaged.
    #[error(transparent)]
    Model(#[from] retrace_encode::models::ModelError),
    /// The model file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The model file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The model file is not a model this reader can use.
    #[error("{} is corrupt ({source}); reinstall it with `retrace model install {MODEL}`", path.display())]
    Corrupt {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: fasttext::FastTextError,
    },
    /// The model predicts a label with no language code here.
    #[error("{} predicts label {label:?}, which is no language retrace knows", path.display())]
    UnknownLabel {
        /// The model file.
        path: PathBuf,
        /// The label.
        label: String,
    },
}

/// Which identifier [`identify`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    /// fastText's lid.176 (176 languages) with whatlang for those it lacks.
    FastText,
    /// whatlang alone (the model is not installed).
    Whatlang,
}

/// The loaded identifier.
enum Backend {
    FastText(Box<Lid>),
    Whatlang,
}

/// fastText's model and the static language code of each of its labels.
struct Lid {
    model: fasttext::Model,
    codes: Vec<&'static str>,
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Choose the identifier for this process: lid176 from `model_dir` (else the default model
/// cache) when installed, else whatlang with a warning. An error when the model is installed
/// but unusable. The first call decides; later calls (and [`identify`], which calls this
/// with the default cache when nothing has) report the choice made.
pub fn init(model_dir: Option<&Path>) -> Result<Identifier, LangIdError> {
    if let Some(b) = BACKEND.get() {
        return Ok(b.identifier());
    }
    let backend = load(model_dir)?;
    Ok(BACKEND.get_or_init(|| backend).identifier())
}

impl Backend {
    fn identifier(&self) -> Identifier {
        match self {
            Backend::FastText(_) => Identifier::FastText,
            Backend::Whatlang => Identifier::Whatlang,
        }
    }
}

/// Load lid176 from the model cache, or choose whatlang when it is not installed.
fn load(model_dir: Option<&Path>) -> Result<Backend, LangIdError> {
    use retrace_encode::models::{self, ModelError};
    let dir = match models::locate(MODEL, model_dir) {
        Ok(dir) => dir,
        Err(ModelError::NotInstalled { .. }) | Err(ModelError::NoCacheDir) => {
            tracing::warn!(
                "language identification with whatlang (about 70 languages): the {MODEL} \
                 model is not installed (`retrace model install {MODEL}` adds fastText's \
                 176 languages)"
            );
            return Ok(Backend::Whatlang);
        }
        Err(e) => return Err(e.into()),
    };
    let path = dir.join(MODEL_FILE);
    let bytes = std::fs::read(&path).map_err(|source| LangIdError::Read {
        path: path.clone(),
        source,
    })?;
    let model = fasttext::Model::from_bytes(&bytes).map_err(|source| LangIdError::Corrupt {
        path: path.clone(),
        source,
    })?;
    let codes = model
        .labels()
        .iter()
        .map(|l| {
            label_code(l).ok_or_else(|| LangIdError::UnknownLabel {
                path: path.clone(),
                label: l.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Backend::FastText(Box::new(Lid { model, codes })))
}

/// The identifier in use, chosen from the default model cache if [`init`] was not called;
/// an unusable model is logged as an error and whatlang used.
fn backend() -> &'static Backend {
    BACKEND.get_or_init(|| {
        load(None).unwrap_or_else(|e| {
            tracing::error!("language identification with whatlang: {e}");
            Backend::Whatlang
        })
    })
}

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

/// Identify the language of `text` (only its first [`SAMPLE_BYTES`] are read).
pub fn identify(text: &str) -> LangGuess {
    let sample = crate::prepare::segment::prefix(text, SAMPLE_BYTES);
    match backend() {
        Backend::FastText(lid) => identify_fasttext(lid, sample),
        Backend::Whatlang => identify_whatlang(sample),
    }
}

/// [`identify`] with the given identifier (whatlang when fastText's model is not loaded).
pub fn identify_with(identifier: Identifier, text: &str) -> LangGuess {
    let sample = crate::prepare::segment::prefix(text, SAMPLE_BYTES);
    match (identifier, backend()) {
        (Identifier::FastText, Backend::FastText(lid)) => identify_fasttext(lid, sample),
        _ => identify_whatlang(sample),
    }
}

/// fastText's guess, with whatlang's for languages fastText lacks.
fn identify_fasttext(lid: &Lid, sample: &str) -> LangGuess {
    // No letters, no language (fastText would guess from the end-of-line token alone).
    let p = match sample.chars().any(char::is_alphabetic) {
        true => lid.model.predict(sample),
        false => None,
    };
    let Some(p) = p else {
        return LangGuess {
            code: "und",
            confidence: 0.0,
        };
    };
    let mut guess = LangGuess {
        code: lid.codes[p.label],
        confidence: p.probability as f64,
    };
    // An unsure guess may be a language fastText lacks and whatlang knows.
    if p.probability < WHATLANG_BELOW {
        if let Some(info) = exact::detect(sample) {
            let code = iso639_1(info.lang());
            if matches!(code, "zu" | "sn" | "ak") && info.is_reliable() {
                guess = LangGuess {
                    code,
                    confidence: info.confidence(),
                };
            }
        }
    }
    guess.code = close_language(guess.code, sample);
    guess
}

/// fastText probability under which whatlang is asked for the languages lid.176 lacks (Zulu,
/// Shona, Akan): fastText gives texts in them 0.05-0.3 for some other language.
const WHATLANG_BELOW: f32 = 0.4;

/// `code`, or the close language ([`close`]) that `sample`'s words say it is.
fn close_language(code: &'static str, sample: &str) -> &'static str {
    match code {
        "is" | "no" | "nn" | "da" | "sv" if close::faroese(sample) => "fo",
        "zu" => close::xhosa_or_zulu(sample),
        "ms" | "id" => close::malay_or_indonesian(sample, code),
        "da" => close::norwegian_or_danish(sample),
        c => c,
    }
}

/// whatlang's guess, Icelandic recognised by its letters, close languages by their words.
fn identify_whatlang(sample: &str) -> LangGuess {
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
        code: close_language(code, sample),
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

/// The code of every label of lid.176 (its labels are ISO 639-1 codes where one exists, else
/// ISO 639-3 or Wikipedia codes), in the model's order: `als` (Wikipedia's code for Alemannic)
/// as ISO 639-3 `gsw`; `sh` (Serbo-Croatian, a deprecated code, which lid.176 gives some
/// Croatian) as `hr`.
static FASTTEXT_CODES: [&str; 175] = [
    "en", "ru", "de", "fr", "it", "ja", "es", "ceb", "tr", "pt", "uk", "eo", "pl", "sv", "nl",
    "he", "zh", "hu", "ar", "ca", "fi", "cs", "fa", "sr", "el", "vi", "bg", "ko", "no", "mk", "ro",
    "id", "th", "hy", "da", "ta", "hi", "hr", "be", "ka", "te", "kk", "war", "lt", "gl", "sk",
    "bn", "eu", "sl", "kn", "ml", "mr", "et", "az", "ms", "sq", "la", "bs", "nn", "ur", "lv", "my",
    "tt", "af", "oc", "nds", "ky", "ast", "tl", "is", "ia", "si", "gu", "km", "br", "ba", "uz",
    "bo", "pa", "vo", "gsw", "ne", "cy", "jbo", "fy", "mn", "lb", "ce", "ug", "tg", "sco", "sa",
    "cv", "jv", "min", "io", "or", "as", "new", "ga", "mg", "an", "ckb", "sw", "bar", "lmo", "yi",
    "arz", "mhr", "azb", "sah", "pnb", "su", "bpy", "pms", "ilo", "wuu", "ku", "ps", "ie", "xmf",
    "yue", "gom", "li", "mwl", "kw", "sd", "hsb", "scn", "gd", "pam", "bh", "mai", "vec", "mt",
    "dv", "wa", "mzn", "am", "qu", "eml", "cbk", "tk", "rm", "os", "vls", "yo", "lo", "lez", "so",
    "myv", "diq", "mrj", "dsb", "frr", "ht", "gn", "bxr", "kv", "sc", "nah", "krc", "bcl", "nap",
    "gv", "av", "rue", "xal", "pfl", "dty", "hif", "co", "lrc", "vep", "tyv",
];

/// The static code of a lid.176 label.
fn label_code(label: &str) -> Option<&'static str> {
    let code = match label {
        "als" => "gsw",
        "sh" => "hr",
        l => l,
    };
    FASTTEXT_CODES.iter().copied().find(|&c| c == code)
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
        "xh" => Some("xh"),
        "fo" => Some("fo"),
        _ => Lang::all()
            .iter()
            .map(|&l| iso639_1(l))
            .chain(FASTTEXT_CODES.iter().copied())
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
        for code in FASTTEXT_CODES.iter().chain(&["is", "und", "xh", "fo"]) {
            assert_eq!(known_code(code), Some(*code));
        }
        assert_eq!(known_code("xx"), None);
    }

    #[test]
    fn fasttext_labels_map_to_iso_codes() {
        assert_eq!(label_code("en"), Some("en"));
        assert_eq!(label_code("als"), Some("gsw"));
        assert_eq!(label_code("sh"), Some("hr"));
        assert_eq!(label_code("ceb"), Some("ceb"));
        assert_eq!(label_code("xx"), None);
        // Every e5-small language lid.176 or whatlang knows is reported with e5-small's code.
        let e5 = retrace_encode::e5::LANGUAGES;
        let missing: Vec<&str> = e5
            .iter()
            .copied()
            .filter(|c| known_code(c).is_none())
            .collect();
        // Hausa and Oromo: neither lid.176 nor whatlang knows them.
        assert_eq!(missing, ["ha", "om"], "e5-small languages never reported");
    }

    /// Languages whatlang lacks or confuses, identified with lid176 (skipped with a notice
    /// when it is not installed, except under CI).
    #[test]
    fn lid176_identifies_languages_whatlang_lacks() {
        match init(None) {
            Ok(Identifier::FastText) => {}
            Ok(Identifier::Whatlang) if std::env::var_os("CI").is_none() => {
                eprintln!("NOTICE: lid176 not installed (retrace model install lid176); skipping");
                return;
            }
            other => panic!("lid176 unusable: {other:?}"),
        }
        let cases = [
            ("sw", "Serikali imesema kwamba itaendelea kujenga barabara mpya katika mikoa yote ya nchi mwaka ujao."),
            ("xh", "Urhulumente uthe uza kuqhubeka nokwakha iindlela ezintsha kuwo onke amaphondo kwaye ndiyavuya."),
            ("zu", "Uhulumeni uthe uzoqhubeka nokwakha imigwaqo emisha kuzo zonke izifundazwe futhi ngiyajabula."),
            ("ms", "Kerajaan berkata bahawa ia akan terus membina jalan baharu di semua negeri kerana rakyat memerlukannya."),
            ("id", "Pemerintah mengatakan bahwa mereka akan terus membangun jalan baru di semua provinsi karena rakyat membutuhkannya."),
            ("ga", "Dúirt an rialtas go leanfadh sé ar aghaidh ag tógáil bóithre nua i ngach contae an bhliain seo chugainn."),
            ("kk", "Үкімет келесі жылы барлық облыстарда жаңа жолдар салуды жалғастыратынын мәлімдеді."),
        ];
        for (want, text) in cases {
            assert_eq!(identify(text).code, want, "{text}");
        }
    }

    #[test]
    fn icelandic_names_do_not_make_english_icelandic() {
        let text = "Brynjólfur Andersen Willumsson has been the subject of much talk this season \
            with Breiðablik. Breiðablik will host ÍA tonight on Stöð 2 Sport, said Guðmundur \
            Benediktsson, and Þorkell Máni Pétursson agreed with Hjörvar Hafliðason.";
        assert_eq!(identify(text).code, "en");
    }
}
