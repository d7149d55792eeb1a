//! `ocelli`: device information and kernel benchmarks.

mod bench;
mod info;

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => info::run(),
        Command::Bench(b) => bench::run(b),
    }
}
