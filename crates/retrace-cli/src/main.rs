//! The `retrace` command-line tool.

use clap::{Parser, Subcommand};

/// Find where texts came from: copies, rewrites, translations and same-story reports.
#[derive(Parser)]
#[command(name = "retrace", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
