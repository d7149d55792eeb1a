//! `ocelli`: device information, kernel benchmarks and plan profiles.

mod autoencode;
mod bench;
mod classify;
mod detect;
mod digits;
mod eval;
mod eval_diffusion;
mod info;
mod inputs;
mod ocr;
mod profile;
mod progress;
mod raw;
mod sample;
mod segment;

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
    /// Classify the shipped photos with MobileNetV2 and find faces in them, on the GPU.
    Demo,
    /// Classify images.
    Classify(classify::ClassifyArgs),
    /// Find faces (blazeface, tiny_face, mtcnn) or COCO objects (nanodet) in images: boxes, labels, scores, keypoints.
    Detect(detect::DetectArgs),
    /// Segment images: person masks (selfie, selfie_landscape) as coverage, mask PNGs, overlays or cut-outs.
    Segment(segment::SegmentArgs),
    /// Read the text in images (PP-OCRv4: detector, direction classifier, recogniser): lines with confidence and box.
    Ocr(ocr::OcrArgs),
    /// Draw MNIST digits with a diffusion (ddpm_mnist) or flow-matching (flow_mnist) model.
    Sample(sample::SampleArgs),
    /// Reconstruct digit images with an autoencoder (ae_mnist, dae_mnist): a grid of input, noisy input, output.
    Autoencode(autoencode::AutoencodeArgs),
    /// Accuracy and images/s of a model on a dataset's test split (mnist), or the quality of generated digits (diffusion).
    Eval(eval::EvalArgs),
    /// Write images' embeddings (the last hidden layer) to a safetensors file.
    Embed(classify::EmbedArgs),
    /// Demosaic a raw Bayer frame (PGM or headerless) into an RGB image.
    Demosaic(raw::DemosaicArgs),
    /// Sample an RGB image through a Bayer filter into a PGM test frame.
    Mosaic(raw::MosaicArgs),
    /// Per-node GPU time and memory of a compiled plan: a built-in graph or a model.
    Profile {
        /// Which built-in graph: cnn (a small ResNet/MobileNet-style CNN) or mlp.
        #[arg(long, value_parser = ["cnn", "mlp"], required_unless_present = "model", conflicts_with = "model")]
        graph: Option<String>,
        /// A model instead: an ImageNet classifier (mobilenet_v2, efficientnet_lite0) on one 224×224 image, or a detector (blazeface, tiny_face, nanodet, mtcnn) on the shipped astronaut.png, or a sampler step of ddpm_mnist or flow_mnist (batch 8).
        #[arg(long)]
        model: Option<String>,
        /// Images per batch for ddpm_mnist and flow_mnist.
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// Profiled runs (the fastest is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Profile the first run instead, without a warm-up: on drivers that compile pipelines
        /// at their first dispatch (lavapipe) each dispatch's time then includes that compile.
        #[arg(long, conflicts_with = "runs")]
        cold: bool,
    },
}

fn main() {
    // Mesa's Vulkan and EGL drivers print "XDG_RUNTIME_DIR is invalid or not set" on stderr when
    // it is missing (common in containers), which would break the one-line errors; the
    // directory only matters for display sockets, which Ocelli never opens.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Info => info::run(),
        Command::Bench(b) => bench::run(b),
        Command::Profile { graph, model, batch, runs, cold } => {
            profile::run(graph.as_deref(), model.as_deref(), batch, runs, cold)
        }
        Command::Demosaic(a) => raw::demosaic(a),
        Command::Demo => classify::demo(),
        Command::Classify(a) => classify::classify(a),
        Command::Detect(a) => detect::detect(a),
        Command::Segment(a) => segment::segment(a),
        Command::Ocr(a) => ocr::ocr(a),
        Command::Embed(a) => classify::embed(a),
        Command::Eval(a) => eval::eval(a),
        Command::Sample(a) => sample::sample(a),
        Command::Autoencode(a) => autoencode::autoencode(a),
        Command::Mosaic(a) => raw::mosaic_cmd(a),
    }
}
