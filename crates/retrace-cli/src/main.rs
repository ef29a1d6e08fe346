//! The `retrace` command-line tool.

use clap::{Parser, Subcommand};

mod embed;
mod model;

/// Find where texts came from: copies, rewrites, translations and same-story reports.
#[derive(Parser)]
#[command(name = "retrace", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install and list models.
    Model(model::ModelArgs),
    /// Embed sentences (one per line) as JSON Lines.
    Embed(embed::EmbedArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Model(args) => model::run(args),
        Command::Embed(args) => embed::run(args),
    }
}
