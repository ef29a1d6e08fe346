//! The `retrace` command-line tool.
//!
//! Exit codes: 0 success; 1 the run failed (bad input, I/O error; the message says where);
//! 2 the command line is invalid.

#![forbid(unsafe_code)]

mod compare;
mod compare_pairs;
mod embed;
mod index;
mod model;
mod progress;
mod report;
mod scan;
mod summary;

use clap::{Parser, Subcommand};

/// Exit codes, as `--help` lists them.
const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the run failed: bad input, a broken model, an I/O error (the message names the file
     and line)
  2  invalid command line (an unknown option, a value out of range)";

/// Find where texts came from: copies, excerpts, rewrites, translations and same-story
/// reports in a collection of documents.
#[derive(Parser)]
#[command(name = "retrace", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    /// Log more (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Number of worker threads (default: all cores; at most 64 a core).
    #[arg(long, global = true, value_parser = threads)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a collection and write pairs.jsonl and documents.jsonl.
    #[command(after_help = EXIT_CODES)]
    Scan(scan::Args),
    /// Write the HTML report of a run directory (one self-contained file).
    Report(report::Args),
    /// Explain one pair: kind, coverage and the aligned passages side by side.
    #[command(after_help = EXIT_CODES)]
    Compare(compare::Args),
    /// Install and list models.
    #[command(after_help = EXIT_CODES)]
    Model(model::ModelArgs),
    /// Embed sentences (one per line) as JSON Lines.
    #[command(after_help = EXIT_CODES)]
    Embed(embed::EmbedArgs),
    /// A living index on disk: create, add, query, remove, export, refresh.
    #[command(after_help = EXIT_CODES)]
    Index(index::IndexArgs),
    /// Serve an index over HTTP: a JSON API and a web page.
    #[command(after_help = EXIT_CODES)]
    Serve(index::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RETRACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
    // 0: the default (RAYON_NUM_THREADS, else one thread a core).
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(cli.threads.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            let n = cli.threads.unwrap_or(0);
            eprintln!("error: cannot set up {n} threads: {e}");
            std::process::exit(1);
        }
    };
    // The command runs on the pool's threads, its sequential steps included: they then take
    // memory from the same allocator arenas as the parallel ones, which reuse what the
    // others freed (with the main thread's arena beside them, a scan's peak memory was
    // ~10% higher).
    let result = pool.install(|| match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Model(a) => model::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Index(a) => index::run(a),
        Command::Serve(a) => index::serve(a),
    });
    if let Err(e) = result {
        // A reader that stopped early (`retrace model list | grep -q ...`) is not an error.
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe {
            std::process::exit(0);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Parse `--threads`: from 1 to 64 a core (a larger pool only exhausts memory).
fn threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = 64 * cores;
    if n == 0 || n > max {
        return Err(format!(
            "{n} is not from 1 to {max} (64 threads for each of this machine's {cores} cores)"
        ));
    }
    Ok(n)
}

/// The options encoders are loaded with, from the command line; `int8_kernel` is the name
/// given with `--int8-kernel` or `RETRACE_INT8_KERNEL` (an error when this CPU does not run
/// it, listing the ones it runs).
pub fn load_options(
    model_dir: Option<std::path::PathBuf>,
    device: retrace_encode::Device,
    precision: retrace_encode::use_m3::Precision,
    int8_kernel: Option<&str>,
) -> anyhow::Result<retrace_encode::LoadOptions> {
    let int8_kernel = int8_kernel
        .map(retrace_encode::qgemm::Kernel::by_name)
        .transpose()
        .map_err(|e| {
            anyhow::anyhow!("invalid int8 kernel (--int8-kernel or RETRACE_INT8_KERNEL): {e}")
        })?;
    // Language identification reads its model from the same cache (once per process).
    retrace::prepare::langid::init(model_dir.as_deref())
        .map_err(|e| anyhow::anyhow!("language identification: {e}"))?;
    Ok(retrace_encode::LoadOptions {
        model_dir,
        device,
        precision,
        int8_kernel,
    })
}

/// [`retrace_encode::load_encoder`], with the remedy added to a failure's message: the
/// library says what is wrong, the tool which command or flag fixes it.
pub fn load_encoder(
    name_or_path: &str,
    options: &retrace_encode::LoadOptions,
) -> anyhow::Result<Box<dyn retrace_encode::Encoder>> {
    retrace_encode::load_encoder(name_or_path, options)
        .map_err(|e| encode_error(e, options.model_dir.as_deref()))
}

/// An encoder error with its remedy, as an error of the command.
pub fn encode_error(
    e: retrace_encode::EncodeError,
    model_dir: Option<&std::path::Path>,
) -> anyhow::Error {
    match encode_hint(&e, model_dir) {
        Some(hint) => anyhow::anyhow!("{e}; {hint}"),
        None => e.into(),
    }
}

/// Whether loading failed only because the model is not installed at all (its directory
/// is absent), as opposed to installed but unusable.
pub fn not_installed(e: &retrace_encode::EncodeError) -> bool {
    use retrace_encode::models::ModelError;
    use retrace_encode::EncodeError;
    matches!(
        e,
        EncodeError::Unavailable {
            error: ModelError::NotInstalled { dir, .. },
            ..
        } if !dir.exists()
    )
}

/// What fixes an encoder that cannot be loaded, if a command or flag does.
fn encode_hint(
    e: &retrace_encode::EncodeError,
    model_dir: Option<&std::path::Path>,
) -> Option<String> {
    use retrace_encode::EncodeError;
    match e {
        EncodeError::Unavailable { error, .. } => model_hint(error, model_dir),
        EncodeError::Device { .. } if cfg!(feature = "cuda") => Some("use --device cpu".into()),
        EncodeError::Device { .. } => {
            Some("rebuild with `--features cuda`, or use --device cpu".into())
        }
        EncodeError::FeatureOff { feature, .. } => {
            Some(format!("rebuild with `--features {feature}`"))
        }
        _ => None,
    }
}

/// What fixes a model-cache error, if a command or flag does: installing the model (into
/// the `--model-dir` given, if any) or naming the cache.
pub fn model_hint(
    e: &retrace_encode::models::ModelError,
    model_dir: Option<&std::path::Path>,
) -> Option<String> {
    use retrace_encode::models::ModelError;
    match e {
        ModelError::NotInstalled { name, .. } => {
            Some(format!("run `{}`", install_command(name, model_dir)))
        }
        ModelError::Corrupt { name, .. } => Some(format!(
            "reinstall it with `{}`",
            install_command(name, model_dir)
        )),
        ModelError::NoCacheDir => Some("set RETRACE_MODEL_DIR or HOME, or pass --model-dir".into()),
        _ => None,
    }
}

/// A model-cache error with its remedy, as an error of the command.
pub fn model_error(
    e: retrace_encode::models::ModelError,
    model_dir: Option<&std::path::Path>,
) -> anyhow::Error {
    match model_hint(&e, model_dir) {
        Some(hint) => anyhow::anyhow!("{e}; {hint}"),
        None => e.into(),
    }
}

/// The command that installs model `name` into the cache `model_dir` (the default one
/// when `None`).
pub fn install_command(name: &str, model_dir: Option<&std::path::Path>) -> String {
    match model_dir {
        Some(dir) => format!("retrace model install {name} --model-dir {}", dir.display()),
        None => format!("retrace model install {name}"),
    }
}

/// Parse `--device`: `cpu`, `cuda` (GPU 0) or `cuda:N`.
pub fn parse_device(s: &str) -> Result<retrace_encode::Device, String> {
    match s {
        "cpu" => Ok(retrace_encode::Device::Cpu),
        "cuda" | "gpu" => Ok(retrace_encode::Device::Cuda(0)),
        _ => s
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(retrace_encode::Device::Cuda)
            .ok_or_else(|| format!("unknown device {s:?} (expected cpu, cuda or cuda:N)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrace_encode::models::ModelError;
    use std::path::{Path, PathBuf};

    #[test]
    fn model_errors_get_the_command_that_fixes_them() {
        let dir = Path::new("/tmp/models");
        let missing = ModelError::NotInstalled {
            name: "e5-small".into(),
            dir: dir.join("e5-small"),
            missing: vec!["installed.json"],
        };
        assert_eq!(
            model_hint(&missing, Some(dir)).as_deref(),
            Some("run `retrace model install e5-small --model-dir /tmp/models`")
        );
        assert_eq!(
            model_hint(&missing, None).as_deref(),
            Some("run `retrace model install e5-small`")
        );
        let corrupt = ModelError::Corrupt {
            name: "use-m3".into(),
            dir: PathBuf::from("x"),
            reason: "truncated".into(),
        };
        assert_eq!(
            model_error(corrupt, None).to_string(),
            "model use-m3 in x is corrupt (truncated); reinstall it with `retrace model install use-m3`"
        );
        assert!(
            model_hint(&ModelError::NoCacheDir, None).is_some_and(|h| h.contains("--model-dir"))
        );
        let unknown = retrace_encode::models::info("nope").expect_err("unknown");
        assert_eq!(model_hint(&unknown, Some(dir)), None);
    }
}
