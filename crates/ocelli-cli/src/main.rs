//! `ocelli`: device information, kernel benchmarks and plan profiles.

mod bench;
mod info;
mod profile;

use clap::{Parser, Subcommand};

/// Ocelli: computer-vision kernels on any GPU through wgpu.
#[derive(Parser)]
#[command(name = "ocelli", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the adapter Ocelli picks: name, backend, device type, driver, features and limits.
    Info,
    /// Time a kernel on the GPU or the CPU reference.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Per-node GPU time and memory of a built-in graph's compiled plan.
    Profile {
        /// Which built-in graph: cnn (a small ResNet/MobileNet-style CNN) or mlp.
        #[arg(long, value_parser = ["cnn", "mlp"])]
        graph: String,
        /// Profiled runs (the fastest is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => info::run(),
        Command::Bench(b) => bench::run(b),
        Command::Profile { graph, runs } => profile::run(&graph, runs),
    }
}
